/**
 * The run's state and every decision made on it, as pure functions: keep or revert, what to do
 * next, where a steering note takes effect, how a finished experiment changes the state.
 * Unit-tested on their own (test/unit/decisions.test.ts).
 */
import { rootCause } from '@temporalio/common';
import type { RunConfig } from './runInput.js';
import { estimateMaxCallCostUsd } from './cost.js';
import type { Proposal } from './proposal.js';
import { noiseTotals, NO_NOISE_TOTALS, type NoiseTotals } from './noiseEstimate.js';
import { budgetOf, INCUMBENT_RUNS, type Incumbent, type Measured } from './keepDecision.js';
import { BASELINE_CRASHED } from './describe.js';
import { experimentId, experimentName, type RunPaths } from './names.js';
import type { BestResult, ExperimentRecord, ExperimentStatus } from './results.js';

/** Where the run is, as the UI, `research status` and the ResearchPhase search attribute show it. */
export type ResearchPhase = 'preparing' | 'hypothesize' | 'train' | 'idle' | 'paused' | 'done';

/** A person's note for the proposer, and the first experiment whose hypothesis sees it. */
export interface SteeringNote {
  note: string;
  fromExperiment: number;
}

/** An experiment in flight, as its run knows it. */
export interface RunningExperiment {
  experiment: number;
  hypothesis?: string;
  description?: string;
  lane?: string;
  trainingStartedAt?: string;
}

/** A proposal made ahead (pipelining), and what it cost. */
export interface PreparedProposal {
  proposal: Proposal;
  costUsd: number;
  promptChars?: number;
}

/** An experiment in flight, with what the run must remember to decide on it. */
export interface InFlight extends RunningExperiment {
  /** The best when it started: a result that beat this but not the best at its end says so. */
  startedFrom?: BestResult;
  /** Its prepared proposal, kept until it ends so that a move to another lane can use it again. */
  prepared?: PreparedProposal;
  /** What of its proposer cost the run counted already: a proposal made ahead, and its own calls once it trains. */
  preparedUsd: number;
  /** It lost its lane once: a lane that died may have pushed its commit. */
  restarted?: boolean;
}

/** Everything the run carries across continue-as-new. Nothing in it grows with the number of experiments. */
export interface RunState {
  /** The run input as resolved when the run started: every default and price filled in. */
  config?: RunConfig;
  /** The paths of the host that prepared the run (shown in status; each host resolves its own). */
  paths?: RunPaths;
  /** The commit the run started from. */
  baseCommit?: string;
  phase: ResearchPhase;
  paused: boolean;
  stopRequested: boolean;
  endReason?: string;
  /** The experiments running now, at most `lanes`. */
  running: InFlight[];
  /** Experiments whose lane died, waiting for another; they start before any new one. */
  moved: InFlight[];
  /** The number the next experiment gets. */
  nextExperiment: number;
  /** The run's first experiment, its baseline: 0, or the next number of a resumed tag. */
  firstExperiment: number;
  /** Crash or invalid results in a row: the breaker pauses the run at `pauseAfterFailures`. */
  consecutiveFailures: number;
  /** Why the run paused itself, until resume, a steer or stop. */
  pausedReason?: string;
  /** The best's own runs, not the ones that got it kept (bounded), and its model's shape: what candidates are compared with. */
  incumbent: Incumbent;
  /** The noise of former incumbents' runs, as sums: σ pools them with the incumbent's. */
  noise: NoiseTotals;
  /** The next experiment's proposal, made while another trained; and whether one is being made. */
  prepared?: PreparedProposal;
  proposing: boolean;
  experimentsDone: number;
  counts: Record<ExperimentStatus, number>;
  best?: BestResult;
  baselineValBpb?: number;
  costUsd: number;
  lastPromptChars?: number;
  /** The latest RECENT_WINDOW results, oldest first: for the proposer's prompt and the UI. */
  recent: ExperimentRecord[];
  /** The end of the latest crash's log, for the proposer (bounded). */
  lastCrashLog?: string;
  steeringNotes: SteeringNote[];
  /** How many notes steering.tsv holds already. */
  notesRecorded: number;
  programOverride?: string;
}

/** Results the proposer sees in full; results.tsv has every row. */
export const RECENT_WINDOW = 20;
/** Text kept per result in the window, so its size is bounded too. */
const WINDOW_TEXT_CHARS = 500;

export function initialRunState(): RunState {
  return {
    phase: 'preparing', paused: false, stopRequested: false, running: [], moved: [], nextExperiment: 0, firstExperiment: 0, consecutiveFailures: 0,
    incumbent: { runs: [] }, noise: NO_NOISE_TOTALS, proposing: false, experimentsDone: 0,
    counts: { keep: 0, discard: 0, crash: 0, invalid: 0 }, costUsd: 0, recent: [], steeringNotes: [], notesRecorded: 0,
  };
}

/** How an experiment ended, before the decision. */
export type Outcome = { kind: 'trained'; valBpb: number } | { kind: 'crash' } | { kind: 'invalid' };

/** The breaker: the reason the run pauses itself, when the latest results failed `pauseAfterFailures` times in a row. */
export function breakerReason(config: RunConfig, state: Pick<RunState, 'consecutiveFailures'>, lastError?: string): string | undefined {
  const k = config.pauseAfterFailures;
  if (k === 0 || state.consecutiveFailures < k) return undefined;
  const last = lastError ? ` (the last: ${lastError.replace(/\s+/g, ' ').slice(0, 200)})` : '';
  return `paused itself after ${state.consecutiveFailures} crash or invalid results in a row${last}; resume, steer or stop it`;
}

/**
 * Why the run ends after this record: its baseline (the first experiment, on a resumed tag too)
 * crashed, so there is no incumbent and no proposal could be judged. The breaker would wait
 * `pauseAfterFailures` experiments, each paying the proposer, for a trainer that cannot run.
 * `state` is the state after the record.
 */
export function baselineCrashReason(state: Pick<RunState, 'firstExperiment' | 'best' | 'paths'>, record: ExperimentRecord): string | undefined {
  if (record.experiment !== state.firstExperiment || record.status !== 'crash' || state.best) return undefined;
  const why = (record.error ?? '').replace(/\s+/g, ' ').trim().slice(0, 300) || 'no reason given';
  const log = state.paths ? `${state.paths.logsDir}/${experimentName(record.experiment)}.log` : `${experimentName(record.experiment)}.log`;
  return `${BASELINE_CRASHED}: ${why}, log ${log}`;
}

/**
 * Starts the next experiment: one that lost its lane if any (as it was), else number
 * `nextExperiment`, which takes the prepared proposal.
 */
export function startExperiment(state: RunState): { state: RunState; started: InFlight } {
  const [again, ...moved] = state.moved;
  if (again) return { state: { ...state, moved, running: [...state.running, again] }, started: again };
  const started: InFlight = { experiment: state.nextExperiment, startedFrom: state.best, prepared: state.prepared, preparedUsd: state.prepared?.costUsd ?? 0 };
  return { state: { ...state, nextExperiment: state.nextExperiment + 1, running: [...state.running, started], prepared: undefined }, started };
}

/**
 * An experiment that starts training has made its proposer calls: what they cost counts now, so
 * that the cost cap sees it before the run pays for the next proposal.
 */
export function countSpent(state: RunState, experiment: number, costUsd: number): RunState {
  const r = state.running.find((x) => x.experiment === experiment);
  if (!r || costUsd <= r.preparedUsd) return state;
  return {
    ...state, costUsd: state.costUsd + costUsd - r.preparedUsd,
    running: state.running.map((x) => (x === r ? { ...x, preparedUsd: costUsd } : x)),
  };
}

/**
 * An experiment whose lane died waits for another lane. What its proposer calls cost counts now,
 * and its proposal goes with it, as if made ahead, so that it is neither lost nor paid for twice.
 */
export function moveExperiment(state: RunState, experiment: number, cancelled?: { proposal?: Proposal; costUsd: number }): RunState {
  const lost = state.running.find((r) => r.experiment === experiment);
  if (!lost) return state;
  const { hypothesis: _h, description: _d, lane: _l, trainingStartedAt: _t, ...waiting } = lost;
  const spent = cancelled ? Math.max(0, cancelled.costUsd - lost.preparedUsd) : 0;
  const carried: Pick<InFlight, 'prepared' | 'preparedUsd'> = !cancelled ? { prepared: lost.prepared, preparedUsd: lost.preparedUsd }
    : cancelled.proposal ? { prepared: { proposal: cancelled.proposal, costUsd: cancelled.costUsd }, preparedUsd: cancelled.costUsd }
      : { prepared: undefined, preparedUsd: 0 };
  return {
    ...state, costUsd: state.costUsd + spent, running: state.running.filter((r) => r !== lost),
    moved: [...state.moved, { ...waiting, ...carried, restarted: true }],
  };
}

/** The state after an experiment's record arrives: the one place the best, counts and cost change. */
export function recordExperiment(state: RunState, record: ExperimentRecord, logTail?: string, measured?: Measured, config?: RunConfig): RunState {
  const clip = (s: string | undefined) => (s && s.length > WINDOW_TEXT_CHARS ? `${s.slice(0, WINDOW_TEXT_CHARS)}…` : s);
  const kept = record.status === 'keep';
  const failed = record.status === 'crash' || record.status === 'invalid';
  const started = state.running.find((r) => r.experiment === record.experiment);
  let { incumbent, noise } = state;
  if (kept && measured) {
    // The former incumbent's runs are a closed group now: its spread stays in σ as sums.
    const closed = config ? noiseTotals([incumbent.runs], budgetOf(config), config.decision) : NO_NOISE_TOTALS;
    noise = { squares: noise.squares + closed.squares, df: noise.df + closed.df };
    incumbent = { runs: (measured.fresh.length ? measured.fresh : measured.candidate).slice(-INCUMBENT_RUNS), shape: measured.shape };
  } else if (measured && started?.startedFrom?.experiment === state.best?.experiment) {
    incumbent = { ...incumbent, runs: [...incumbent.runs, ...measured.incumbentReruns].slice(-INCUMBENT_RUNS) };
  }
  const preparedUsd = state.running.find((r) => r.experiment === record.experiment)?.preparedUsd ?? 0;
  return {
    ...state,
    running: state.running.filter((r) => r.experiment !== record.experiment),
    nextExperiment: Math.max(state.nextExperiment, record.experiment + 1),
    experimentsDone: state.experimentsDone + 1,
    counts: { ...state.counts, [record.status]: state.counts[record.status] + 1 },
    best: kept ? { experiment: record.experiment, commit: record.commit, commitFull: record.commitFull, valBpb: record.valBpb } : state.best,
    baselineValBpb: record.experiment === state.firstExperiment && kept ? record.valBpb : state.baselineValBpb,
    consecutiveFailures: failed ? state.consecutiveFailures + 1 : 0,
    incumbent,
    noise,
    costUsd: state.costUsd + record.costUsd - preparedUsd,
    lastPromptChars: record.promptChars ?? state.lastPromptChars,
    recent: [...state.recent, { ...record, hypothesis: clip(record.hypothesis)!, error: clip(record.error) }].slice(-RECENT_WINDOW),
    lastCrashLog: record.status === 'crash' ? logTail?.slice(-WINDOW_TEXT_CHARS * 12) : state.lastCrashLog,
  };
}

/** The results row of an experiment whose child workflow failed past its retries. */
export function failedExperiment(runWorkflowId: string, experiment: number, err: unknown): ExperimentRecord {
  return {
    experiment, experimentId: experimentId(runWorkflowId, experiment), commit: '', commitFull: '', valBpb: 0, memoryGb: 0,
    status: 'crash', description: `experiment failed: ${rootCause(err as Error) ?? String(err)}`.slice(0, 200),
    hypothesis: '', costUsd: 0, error: String((err as Error)?.message ?? err),
  };
}

export type Step = { kind: 'experiment' } | { kind: 'end'; reason: string };

/** Whether another experiment may start, once the run is not paused; the run ends when none may and none runs. */
export function nextStep(config: RunConfig, state: RunState): Step {
  // Decided already (the baseline crashed): the run ends once its last writes are done.
  if (state.endReason) return { kind: 'end', reason: state.endReason };
  if (state.stopRequested) return { kind: 'end', reason: 'stopped on request' };
  if (config.maxExperiments !== undefined && state.nextExperiment >= config.maxExperiments) {
    return { kind: 'end', reason: `reached maxExperiments (${config.maxExperiments})` };
  }
  const cap = config.proposer.maxCostUsd;
  if (cap !== undefined) {
    // Money already spent plus the worst case of the call about to start must fit under the cap.
    const next = state.nextExperiment === state.firstExperiment || state.prepared ? 0 : worstCaseCallUsd(config, state.lastPromptChars);
    if (state.costUsd + next > cap) {
      return { kind: 'end', reason: `cost cap reached: spent $${state.costUsd.toFixed(4)}, next call up to $${next.toFixed(4)}, cap $${cap.toFixed(2)}` };
    }
  }
  return { kind: 'experiment' };
}

/** Before any prompt was sent we assume a large one (the default train.py alone is ~20k chars). */
export const DEFAULT_PROMPT_CHARS = 60_000;

export function worstCaseCallUsd(config: RunConfig, promptChars: number | undefined): number {
  if (config.proposer.kind === 'offline') return 0;
  return estimateMaxCallCostUsd(config.proposer, Math.max(promptChars ?? DEFAULT_PROMPT_CHARS, 1));
}

/**
 * Whether an experiment may start on one of the run's free lanes. The baseline runs alone: every
 * other experiment needs its result as the reference.
 */
export function mayStart(state: Pick<RunState, 'paused' | 'running' | 'experimentsDone'>, freeLanes: number): boolean {
  return !state.paused && freeLanes > 0 && (state.experimentsDone > 0 || state.running.length === 0);
}

/**
 * How many lane leases the run should hold now. A paused run keeps only the lanes its experiments
 * in flight train on, and an ending one (stop, maxExperiments, the cost cap) only those its last
 * experiments need, a moved one included: an idle lane goes back to its worker, where another run
 * may take it. Resumed, the run asks for `lanes` again.
 */
export function lanesToHold(config: RunConfig, state: RunState): number {
  if (state.paused) return Math.min(config.lanes, state.running.length);
  if (nextStep(config, state).kind === 'end') return Math.min(config.lanes, state.running.length + state.moved.length);
  return config.lanes;
}

/** Whether to prepare the next proposal now, while a lane trains. */
export function shouldPrepare(config: RunConfig, state: RunState, pipeline: boolean): boolean {
  // Not before the baseline has trained: a trainer that cannot run (no python3) ends the run before any proposer call is paid.
  return pipeline && !state.prepared && !state.proposing && state.experimentsDone > 0 && nextStep(config, state).kind === 'experiment';
}

/**
 * The experiment whose hypothesis first sees a steering note sent now: the next one to start, or
 * the one after when its proposal is already made (or being made).
 */
export function effectiveExperiment(state: Pick<RunState, 'nextExperiment' | 'prepared' | 'proposing'>): number {
  return state.nextExperiment + (state.prepared || state.proposing ? 1 : 0);
}

/** The run's phase: training when any lane trains, hypothesizing when experiments run but none trains yet. */
export function phaseOf(state: Pick<RunState, 'running' | 'paused' | 'phase'>): ResearchPhase {
  if (state.phase === 'preparing' || state.phase === 'done') return state.phase;
  if (state.running.some((r) => r.trainingStartedAt)) return 'train';
  if (state.running.length) return 'hypothesize';
  return state.paused ? 'paused' : 'idle';
}
