/**
 * One experiment, as a child workflow of the run, on the lane the run gives it: hypothesize →
 * edit → commit → train → evaluate, and it returns what it measured; the run decides keep or
 * revert. Its own page in the web UI shows the live phase.
 */
import { ApplicationFailure, getExternalWorkflowHandle, isCancellation, proxyActivities, setCurrentDetails, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../api/activities.js';
import type { RunConfig } from '../core/runInput.js';
import type { Proposal } from '../core/proposal.js';
import type { Usage } from '../core/usage.js';
import { applicationFailureOf } from '../api/failures.js';
import { bestRefOf, experimentName, experimentRef, type Lane } from '../core/names.js';
import { experimentTrainingSignal } from '../api/messages.js';
import { FAILURE, NON_RETRYABLE, REPAIRABLE, type FailureType } from '../core/failures.js';
import type { BestResult, ExperimentRecord } from '../core/results.js';
import { type RunningExperiment, worstCaseCallUsd, type Outcome, type PreparedProposal } from '../core/runState.js';
import type { Incumbent } from '../core/keepDecision.js';
import { measure } from './measuring.js';
import type { NoiseTotals } from '../core/noiseEstimate.js';

/**
 * Git and file steps retry until they succeed (a full disk for a minute, a lock): the run waits,
 * and the web UI shows the pending step's last failure. They heartbeat (every activity but train
 * and the lease does, from a wrapper), so a dead worker is noticed in SHORT_HEARTBEAT, not at the
 * start-to-close timeout.
 */
const RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE };
const SHORT_HEARTBEAT = '20 seconds';
export const SHORT_STEP = { startToCloseTimeout: '10 minutes', heartbeatTimeout: SHORT_HEARTBEAT, retry: RETRY } as const;

/** Short git and file steps on the shared queue (any host). */
export const steps = proxyActivities<Activities>(SHORT_STEP);

/** The proposer: an LLM endpoint may be down for a while; the run waits for it rather than failing. */
export const proposer = proxyActivities<Activities>({
  // Covers the proposer's own bounded retries (4 attempts of up to 300 s plus backoff).
  startToCloseTimeout: '25 minutes',
  heartbeatTimeout: SHORT_HEARTBEAT,
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: NON_RETRYABLE },
});

/** What an experiment gets from its run: the best so far and a bounded window, never the whole results list. */
export interface ExperimentInput {
  experiment: number;
  experimentId: string;
  config: RunConfig;
  /** The lane the run holds for it: its host-local steps run on the lane's queue. */
  lane: Lane;
  /** The commit the run started from: the best commit until something is kept. */
  baseCommit: string;
  best?: BestResult;
  /** The latest results, oldest first, and how many there are in all. */
  recent: ExperimentRecord[];
  experimentsDone: number;
  steeringNotes: string[];
  programOverride?: string;
  /** The end of the latest crashed experiment's log. */
  lastCrashLog?: string;
  /** Experiments running on other lanes: the proposer avoids their ideas. */
  inFlight: RunningExperiment[];
  /** What the cost cap leaves for this experiment's proposer calls (absent: no cap). */
  costBudgetUsd?: number;
  /** Made while another experiment trained; absent: this experiment asks the proposer itself. */
  prepared?: PreparedProposal;
  /** It lost its lane before: its commit may be on the remote already. */
  restarted?: boolean;
  /** The run's first experiment: the unmodified trainer, trained `decision.repeats` times. */
  baseline: boolean;
  /** What the keep rule compares with: the best's own runs and shape, and former incumbents' noise. */
  incumbent: Incumbent;
  noise: NoiseTotals;
}

/** A cancelled experiment (its lane died) hands back what it had: its proposal, and what the proposer was paid. */
export interface CancelledExperiment {
  proposal?: Proposal;
  costUsd: number;
}
export const EXPERIMENT_CANCELLED = 'ExperimentCancelled';

/** What the experiment measured; the run decides keep or revert on it. */
export type ExperimentResult = Omit<ExperimentRecord, 'experiment' | 'experimentId' | 'status' | 'valBpb'> & {
  outcome: Outcome;
  /** The end of the log of a crashed experiment. */
  logTail?: string;
  /** Its runs and the keep decision they led to (absent when it did not train). */
  measured?: import('../core/keepDecision.js').Measured;
};

export const BASELINE: Proposal = { hypothesis: 'baseline: the unmodified trainer', description: 'baseline', edits: [] };

export async function experiment(input: ExperimentInput): Promise<ExperimentResult> {
  const name = experimentName(input.experiment);
  const show = (phase: string, hypothesis?: string) => setCurrentDetails(`**${name}** on ${input.lane.id} · phase **${phase}**${hypothesis ? `\n\n${hypothesis}` : ''}`);
  const proposal = new ProposalState(input);
  try {
    return await onLane(input, input.lane, proposal, show);
  } catch (err) {
    // The run cancels an experiment whose lane died: what it was paid for must still count.
    if (!isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      type: EXPERIMENT_CANCELLED, message: `${name} was cancelled`, nonRetryable: true,
      details: [{ proposal: proposal.current, costUsd: proposal.costUsd() } satisfies CancelledExperiment],
    });
  }
}

/** The experiment's steps on one lane. */
async function onLane(input: ExperimentInput, lane: Lane, proposal: ProposalState, show: (phase: string, hypothesis?: string) => void): Promise<ExperimentResult> {
  const { config, experiment: n, experimentId } = input;
  const name = experimentName(n);
  const laneSteps = proxyActivities<Activities>({ taskQueue: lane.queue, ...SHORT_STEP });
  const trainer = proxyActivities<Activities>({
    taskQueue: lane.queue,
    startToCloseTimeout: `${config.trainer.timeoutSeconds} seconds`,
    heartbeatTimeout: `${config.trainer.heartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '5 seconds', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
  });
  const bestCommit = input.best?.commitFull ?? input.baseCommit;
  const bestRef = bestRefOf(config.tag, input.best);
  const laneInput = { config, laneId: lane.id, bestCommit, bestRef };
  // A lane that died may have committed this experiment already: it then carries on from that commit.
  const existing = input.restarted ? await laneSteps.prepareLane.executeWithOptions({ summary: `lane ${lane.id} takes over ${name}` },
    [{ ...laneInput, experimentRef: experimentRef(config.tag, n) }]) : undefined;
  if (existing) proposal.current = { hypothesis: existing.hypothesis, description: existing.description, edits: [] };

  // hypothesize → edit, with a bounded repair loop: an edit that fails goes back to the proposer with the error.
  for (let attempt = 0; !input.baseline && !existing; attempt++) {
    if (!proposal.current || proposal.repairError) {
      if (attempt > 0 && input.costBudgetUsd !== undefined && proposal.costUsd() + worstCaseCallUsd(config, proposal.promptChars) > input.costBudgetUsd) {
        proposal.repairError = `${proposal.repairError}\n(no repair: the cost cap leaves no room for another call)`;
        break;
      }
      show('hypothesize');
      const asked = await proposal.ask(() => proposer.hypothesize.executeWithOptions(
        { summary: `hypothesize ${name}${proposal.repairError ? ` (repair ${attempt})` : ''}` },
        [{ experiment: n, config, bestCommit, bestRef, programOverride: input.programOverride, recent: input.recent,
          experimentsDone: input.experimentsDone, best: input.best, lastCrashLog: input.lastCrashLog, steeringNotes: input.steeringNotes,
          inFlight: input.inFlight, repairError: proposal.repairError, previousProposal: proposal.previous }],
      ));
      if (!asked && attempt >= config.proposer.maxRepairs) break;
      if (!asked) continue;
    }
    show('edit', proposal.current!.hypothesis);
    const edited = await proposal.ask(() => laneSteps.edit.executeWithOptions({ summary: `edit ${name}: ${proposal.current!.description}` },
      [{ lane: laneInput, editable: config.trainer.editable, proposal: proposal.current! }]).then(() => undefined));
    if (edited) break;
    if (attempt >= config.proposer.maxRepairs) break;
  }
  const { hypothesis, description } = proposal.current ?? BASELINE;
  if (proposal.repairError) {
    return { outcome: { kind: 'invalid' }, commit: '', commitFull: '', memoryGb: 0, description, hypothesis, costUsd: proposal.costUsd(),
      error: proposal.repairError, promptChars: proposal.promptChars, lane: lane.id };
  }

  show('commit', hypothesis);
  // The baseline gets an (empty) commit too, so every row has a commit carrying its experiment id.
  const committed = await laneSteps.commit.executeWithOptions({ summary: `commit ${name}: ${description}` }, [
    { lane: laneInput, experimentId, experimentRef: experimentRef(config.tag, n), description, hypothesis, restarted: input.restarted,
      edited: !input.baseline && !existing },
  ]);
  const { paths } = committed;

  show('train', hypothesis);
  const parent = workflowInfo().parent;
  // Sent beside the first train step, not before it: the run learns of it as the trainer starts.
  const told = parent && getExternalWorkflowHandle(parent.workflowId).signal(experimentTrainingSignal, {
    experiment: n, hypothesis, description, lane: lane.id, costUsd: proposal.costUsd() });
  const runs = await measure({ input, lane, laneSteps, trainer, laneInput, candidate: committed, paths, show: (phase) => show(phase, hypothesis) });
  await told;
  const { first, measured } = runs;
  const summary = first.ok ? first.summary : undefined;
  return {
    outcome: measured ? { kind: 'trained', valBpb: measured.valBpb } : { kind: 'crash' },
    measured: measured?.measured,
    commit: committed.commit,
    commitFull: committed.commitFull,
    memoryGb: summary?.peak_vram_mb !== undefined ? Math.round((summary.peak_vram_mb / 1024) * 10) / 10 : 0,
    description,
    hypothesis,
    costUsd: proposal.costUsd(),
    error: first.ok ? (measured?.failure ?? first.warning) : first.reason,
    logTail: first.ok ? undefined : first.logTail,
    promptChars: proposal.promptChars,
    lane: lane.id,
  };
}

/** The proposal and its repair state; it survives a move to another lane. */
class ProposalState {
  current?: Proposal;
  previous?: Proposal;
  repairError?: string;
  promptChars?: number;
  private readonly usage: Usage[] = [];
  private readonly preparedUsd: number;

  constructor(input: ExperimentInput) {
    this.current = input.baseline ? BASELINE : input.prepared?.proposal;
    this.preparedUsd = input.prepared?.costUsd ?? 0;
    this.promptChars = input.prepared?.promptChars;
  }

  costUsd(): number {
    return this.usage.reduce((s, u) => s + u.costUsd, this.preparedUsd);
  }

  /**
   * Runs a hypothesize (returns a proposal result) or an edit (returns undefined); true when it
   * worked. A failure the proposer can repair is kept for the next ask; any other is thrown.
   */
  async ask(step: () => Promise<{ proposal: Proposal; usage: Usage; promptChars?: number } | undefined>): Promise<boolean> {
    try {
      const asked = await step();
      if (asked) {
        this.usage.push(asked.usage);
        this.promptChars = asked.promptChars ?? this.promptChars;
        this.current = asked.proposal;
      }
      this.repairError = undefined;
      return true;
    } catch (err) {
      const failure = applicationFailureOf(err);
      const billed = failure?.details?.[0] as Usage | undefined; // a billed call that gave nothing usable
      if (billed) this.usage.push(billed);
      if (!REPAIRABLE.includes(failure?.type as FailureType)) throw err;
      this.repairError = failure!.message;
      this.previous = failure!.type === FAILURE.EditRejected ? this.current : undefined;
      return false;
    }
  }
}
