/**
 * One experiment, as a child workflow of the run: hypothesize → edit → commit → train → evaluate
 * → keep/revert → its results.tsv row. Its own page in the web UI shows the live phase.
 */
import { getExternalWorkflowHandle, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { RunConfig, TrainerConfig } from '../config/runInput.js';
import type { Proposal } from '../proposers/proposal.js';
import type { Usage } from '../proposers/context.js';
import {
  applicationFailureOf, experimentName, experimentTrainingSignal, NON_RETRYABLE, REPAIRABLE, type BestResult, type ExperimentRecord,
  type FailureType, type RunPaths,
} from '../definitions.js';
import { decide, worstCaseCallUsd, type Outcome } from './decisions.js';

/** Short local steps (git, files): quick retries. */
export const steps = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** The proposer: an LLM endpoint may be down for a while; the run waits for it rather than failing. */
const proposer = proxyActivities<Activities>({
  // Covers the proposer's own bounded retries (4 attempts of up to 300 s plus backoff).
  startToCloseTimeout: '25 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Training: the hard limit is the trainer's timeoutSeconds; heartbeats reveal a dead worker early. */
function trainer(config: TrainerConfig) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${config.timeoutSeconds} seconds`,
    heartbeatTimeout: `${config.heartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '5 seconds', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
  });
}

/** What an experiment gets from its run: the best so far and a bounded window, never the whole results list. */
export interface ExperimentInput {
  experiment: number;
  experimentId: string;
  config: RunConfig;
  paths: RunPaths;
  /** The commit the run started from: the best commit until something is kept. */
  baseCommit: string;
  best?: BestResult;
  /** The latest results, oldest first, and how many there are in all. */
  recent: ExperimentRecord[];
  experimentsDone: number;
  steeringNotes: string[];
  programOverride?: string;
  /** The latest crashed experiment, whose log tail the proposer sees. */
  lastCrash?: number;
  /** What the cost cap leaves for this experiment's proposer calls (absent: no cap). */
  costBudgetUsd?: number;
}

export const BASELINE: Proposal = { hypothesis: 'baseline: the unmodified trainer', description: 'baseline', edits: [] };

export async function experiment(input: ExperimentInput): Promise<ExperimentRecord> {
  const { config, paths, experiment: n, experimentId } = input;
  const name = experimentName(n);
  const bestCommit = input.best?.commitFull ?? input.baseCommit;
  const show = (phase: string, hypothesis?: string) => setCurrentDetails(`**${name}** · phase **${phase}**${hypothesis ? `\n\n${hypothesis}` : ''}`);
  const record = async (r: Omit<ExperimentRecord, 'experiment' | 'experimentId'>): Promise<ExperimentRecord> => {
    const row = { experiment: n, experimentId, ...r };
    await steps.recordResult.executeWithOptions({ summary: `results.tsv: ${name} ${r.status}` }, [{ paths, record: row }]);
    show(`${r.status}${r.status === 'keep' || r.status === 'discard' ? ` · val_bpb ${r.valBpb.toFixed(6)}` : ''}`, r.hypothesis);
    return row;
  };

  const { proposal, costUsd, promptChars, error } = n === 0 ? { proposal: BASELINE, costUsd: 0 } : await proposeAndEdit(input, bestCommit, show);
  if (error) {
    // Not trained: the branch never moved (edit resets to the best commit first), so only the worktree is restored.
    await steps.keepOrRevert({ paths, keep: false, bestCommit, experimentName: name });
    return record({ commit: '', commitFull: '', valBpb: 0, memoryGb: 0, status: 'invalid', description: proposal.description,
      hypothesis: proposal.hypothesis, costUsd, error, promptChars });
  }

  show('commit', proposal.hypothesis);
  // The baseline gets an (empty) commit too, so every row has a commit carrying its experiment id.
  const committed = await steps.commit.executeWithOptions({ summary: `commit ${name}: ${proposal.description}` }, [
    { paths, trainerDirRel: config.trainer.dir, editable: config.trainer.editable, experimentId, description: proposal.description, hypothesis: proposal.hypothesis },
  ]);

  show('train', proposal.hypothesis);
  const parent = workflowInfo().parent;
  if (parent) await getExternalWorkflowHandle(parent.workflowId).signal(experimentTrainingSignal, { experiment: n, hypothesis: proposal.hypothesis });
  const trained = await trainer(config.trainer).train.executeWithOptions(
    { summary: `train ${name}: ${proposal.description} (${config.trainer.timeBudgetSeconds} s)` },
    [{ experimentId, trainerDir: paths.trainerDir, logFile: `${paths.logsDir}/${name}.log`, trainer: config.trainer }],
  );

  show('evaluate', proposal.hypothesis);
  const evaluation = await steps.evaluate.executeWithOptions({ summary: `evaluate ${name}` }, [trained]);
  const outcome: Outcome = evaluation.ok ? { kind: 'trained', valBpb: evaluation.summary.val_bpb } : { kind: 'crash' };
  const status = decide(input.best, outcome);

  show(status === 'keep' ? 'keep' : 'revert', proposal.hypothesis);
  await steps.keepOrRevert.executeWithOptions({ summary: `${status === 'keep' ? 'keep' : 'revert'} ${name}` },
    [{ paths, keep: status === 'keep', commitFull: committed.commitFull, bestCommit, experimentName: name }]);

  const summary = evaluation.ok ? evaluation.summary : undefined;
  return record({
    commit: committed.commit,
    commitFull: committed.commitFull,
    valBpb: summary?.val_bpb ?? 0,
    memoryGb: summary?.peak_vram_mb !== undefined ? Math.round((summary.peak_vram_mb / 1024) * 10) / 10 : 0,
    status,
    description: proposal.description,
    hypothesis: proposal.hypothesis,
    costUsd,
    error: evaluation.ok ? undefined : evaluation.reason,
    promptChars,
  });
}

/** hypothesize → edit, with a bounded repair loop: an edit that fails goes back to the proposer with the error. */
async function proposeAndEdit(input: ExperimentInput, bestCommit: string, show: (phase: string, hypothesis?: string) => void) {
  const { config, paths, experiment: n } = input;
  const usage: Usage[] = [];
  const spent = () => usage.reduce((s, u) => s + u.costUsd, 0);
  let proposal = BASELINE;
  let previousProposal: Proposal | undefined;
  let repairError: string | undefined;
  let promptChars: number | undefined;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 0 && input.costBudgetUsd !== undefined && spent() + worstCaseCallUsd(config, promptChars) > input.costBudgetUsd) {
      return { proposal, costUsd: spent(), promptChars, error: `${repairError}\n(no repair: the cost cap leaves no room for another call)` };
    }
    show('hypothesize');
    try {
      const proposed = await proposer.hypothesize.executeWithOptions(
        { summary: `hypothesize ${experimentName(n)}${repairError ? ` (repair ${attempt})` : ''}` },
        [{ experiment: n, config, paths, programOverride: input.programOverride, recent: input.recent, experimentsDone: input.experimentsDone,
          best: input.best, lastCrash: input.lastCrash, steeringNotes: input.steeringNotes, repairError, previousProposal }],
      );
      usage.push(proposed.usage);
      promptChars = proposed.promptChars ?? promptChars;
      proposal = proposed.proposal;
      show('edit', proposal.hypothesis);
      await steps.edit.executeWithOptions({ summary: `edit ${experimentName(n)}: ${proposal.description}` },
        [{ paths, editable: config.trainer.editable, bestCommit, proposal }]);
      return { proposal, costUsd: spent(), promptChars, error: undefined };
    } catch (err) {
      const failure = applicationFailureOf(err);
      const billed = failure?.details?.[0] as Usage | undefined; // a billed call that gave nothing usable
      if (billed) usage.push(billed);
      if (!REPAIRABLE.includes(failure?.type as FailureType)) throw err;
      repairError = failure!.message;
      previousProposal = failure!.type === 'EditRejected' ? proposal : undefined;
      if (attempt >= config.proposer.maxRepairs) return { proposal, costUsd: spent(), promptChars, error: repairError };
    }
  }
}
