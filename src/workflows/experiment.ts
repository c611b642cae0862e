import { getExternalWorkflowHandle, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { RunConfig } from '../config/runInput.js';
import type { RunPaths } from '../activities/runPaths.js';
import type { Proposal } from '../proposers/proposal.js';
import type { Usage } from '../proposers/context.js';
import { io, proposer, trainer } from './activityOptions.js';
import { decide, type Outcome } from './decision.js';
import { worstCaseCallUsd } from './nextStep.js';
import { applicationFailureOf } from './experimentFailure.js';
import { experimentPhaseSignal, type ResearchPhase } from './messages.js';
import { experimentName, type ExperimentRecord } from './types.js';

export interface ExperimentInput {
  runId: string;
  index: number;
  config: RunConfig;
  paths: RunPaths;
  /** Best commit so far: edits start from it and a revert returns to it. */
  bestCommit: string;
  history: ExperimentRecord[];
  steeringNotes: string[];
  programOverride?: string;
  lastCrashLogFile?: string;
  /** What the cost cap leaves for this experiment's proposer calls (absent: no cap). */
  costBudgetUsd?: number;
}

export const BASELINE: Proposal = { hypothesis: 'baseline: the unmodified trainer', description: 'baseline', edits: [] };

/** One experiment: hypothesize → edit → commit → train → evaluate → keep/revert (DESIGN §2). */
export async function experiment(input: ExperimentInput): Promise<ExperimentRecord> {
  const { config, paths, index } = input;
  const experimentId = `${input.runId}/${experimentName(index)}`;
  const name = experimentName(index);
  const parent = workflowInfo().parent;
  const phase = async (p: ResearchPhase, hypothesis?: string) => {
    // The child starts before its hypothesis exists (staticSummary is only 'experiment N'), so the
    // UI's "current details" of this workflow carry the hypothesis as soon as there is one.
    setCurrentDetails(`**${name}** · phase **${p}**${hypothesis ? `\n\n${hypothesis}` : ''}`);
    if (parent) await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(experimentPhaseSignal, { experiment: index, phase: p, hypothesis });
  };
  const base = { index, experimentId, memoryGb: 0, valBpb: 0 };

  // hypothesize → edit, with a bounded repair loop: a failing edit goes back to the proposer.
  let proposal = BASELINE;
  const usage: Usage[] = [];
  let repairError: string | undefined;
  let previousProposal: Proposal | undefined;
  let promptChars: number | undefined;
  for (let attempt = 0; index > 0; attempt++) {
    const spent = usage.reduce((s, u) => s + u.costUsd, 0);
    if (attempt > 0 && input.costBudgetUsd !== undefined && spent + worstCaseCallUsd(config, promptChars) > input.costBudgetUsd) {
      repairError = `${repairError}\n(no repair: the cost cap leaves no room for another call)`;
      break;
    }
    await phase('hypothesize');
    try {
      const proposed = await proposer.hypothesize.executeWithOptions(
        { summary: `hypothesize exp ${index}${repairError ? ` (repair ${attempt})` : ''}` },
        [{ experiment: index, config, paths, programOverride: input.programOverride, results: input.history,
          lastCrashLogFile: input.lastCrashLogFile, steeringNotes: input.steeringNotes, repairError, previousProposal }],
      );
      usage.push(proposed.usage);
      promptChars = proposed.promptChars ?? promptChars;
      proposal = proposed.proposal;
      await phase('edit', proposal.hypothesis);
      await io.edit.executeWithOptions({ summary: `edit exp ${index}: ${proposal.description}` },
        [{ paths, editable: config.trainer.editable, baseCommit: input.bestCommit, proposal }]);
      repairError = undefined;
      break;
    } catch (err) {
      const failure = applicationFailureOf(err);
      const billed = failure?.details?.[0] as Usage | undefined; // a billed call that gave nothing usable
      if (billed) usage.push(billed);
      const type = failure?.type;
      if (type !== 'EditRejected' && type !== 'ProposalInvalid') throw err;
      repairError = failure!.message;
      previousProposal = type === 'EditRejected' ? proposal : undefined;
      if (attempt >= config.proposer.maxRepairs) break;
    }
  }
  const costUsd = usage.reduce((s, u) => s + u.costUsd, 0);

  if (repairError) {
    // Not trained: the branch never moved (edit resets to the best commit first), so only the worktree is restored.
    await io.finalize({ paths, keep: false, bestCommit: input.bestCommit, experimentName: name });
    return { ...base, commit: '', commitFull: '', status: 'invalid', description: proposal.description,
      hypothesis: proposal.hypothesis, costUsd, error: repairError, promptChars };
  }

  await phase('commit', proposal.hypothesis);
  // The baseline gets an (empty) commit too, so every row has a commit carrying its experiment id.
  const committed = await io.commit.executeWithOptions({ summary: `commit exp ${index}: ${proposal.description}` }, [
    { paths, trainerDirRel: config.trainer.dir, editable: config.trainer.editable, experimentId, description: proposal.description, hypothesis: proposal.hypothesis },
  ]);

  await phase('train', proposal.hypothesis);
  const logFile = `${paths.logsDir}/${name}.log`;
  const trained = await trainer(config.trainer).train.executeWithOptions(
    { summary: `train exp ${index}: ${proposal.description} (${config.trainer.timeBudgetSeconds} s)` },
    [{ experimentId, trainerDir: paths.trainerDir, logFile, trainer: config.trainer }],
  );

  await phase('evaluate', proposal.hypothesis);
  const evaluation = await io.evaluate.executeWithOptions({ summary: `evaluate exp ${index}` }, [trained]);
  const outcome: Outcome = evaluation.ok ? { kind: 'trained', valBpb: evaluation.summary.val_bpb } : { kind: 'crash' };
  const status = decide(input.history, outcome);

  await phase('decide', proposal.hypothesis);
  await io.finalize.executeWithOptions({ summary: `${status === 'keep' ? 'keep' : 'revert'} exp ${index}` },
    [{ paths, keep: status === 'keep', commitFull: committed.commitFull, bestCommit: input.bestCommit, experimentName: name }]);

  const summary = evaluation.ok ? evaluation.summary : undefined;
  setCurrentDetails(`**${name}** · **${status}**${summary ? ` · val_bpb ${summary.val_bpb.toFixed(6)}` : ''}\n\n${proposal.hypothesis}`);
  return {
    ...base,
    commit: committed.commit,
    commitFull: committed.commitFull,
    valBpb: summary?.val_bpb ?? 0,
    memoryGb: summary?.peak_vram_mb !== undefined ? Math.round((summary.peak_vram_mb / 1024) * 10) / 10 : 0,
    status,
    description: proposal.description,
    hypothesis: proposal.hypothesis,
    costUsd,
    metrics: summary ? Object.fromEntries(Object.entries(summary).filter(([k]) => k !== 'val_bpb')) as Record<string, number> : undefined,
    error: evaluation.ok ? undefined : evaluation.reason,
    promptChars,
  };
}
