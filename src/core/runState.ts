/**
 * The run's state, carried across continue-as-new, and every transition of it as a pure
 * function: an experiment starts, its proposer spends, it moves to another lane, it finishes
 * (judged and recorded). What the run does next is nextStep.ts. Unit-tested on their own
 * (test/unit/decisions.test.ts).
 */
import type { RunConfig } from './runInput.js';
import type { Proposal, ProposeResult } from './proposal.js';
import { noiseTotals, NO_NOISE_TOTALS, type NoiseTotals } from './noiseEstimate.js';
import { budgetOf, INCUMBENT_RUNS, type Incumbent, type Measured } from './keepDecision.js';
import { failedRecord, judgedRecord, type ExperimentResult } from './experimentResult.js';
import type { RunPaths } from './names.js';
import { bestCommitOf, type BestResult, type ExperimentRecord, type ExperimentStatus } from './results.js';
import { afterResult, initialSearchState, startNode, type SearchConfig, type SearchNode, type SearchState } from './searchTree.js';

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
  /** The branch node tree search started it from; absent: the best. */
  branchFrom?: number;
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
  /** The node tree search started it from, when not the best (a branch). */
  start?: SearchNode;
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
  /** Proposals refused because the journal had trained their code: those of the experiments recorded. */
  refusals?: number;
  /** Those of proposals made ahead (pipelining), not yet counted by the experiment that follows them. */
  refusedAhead?: number;
  lastPromptChars?: number;
  /** The latest RECENT_WINDOW results, oldest first: for the proposer's prompt and the UI. */
  recent: ExperimentRecord[];
  /** The end of the latest crash's log, for the proposer (bounded). */
  lastCrashLog?: string;
  steeringNotes: SteeringNote[];
  /** How many notes steering.tsv holds already. */
  notesRecorded: number;
  programOverride?: string;
  /** Tree search's state (searchTree.ts); absent under greedy search. */
  search?: SearchState;
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

/**
 * Starts the next experiment: one that lost its lane if any (as it was, from the same node), else
 * number `nextExperiment`, from the node the search gives (the best, unless tree search branched),
 * which takes the prepared proposal. A proposal made ahead was made from the best: a branch's
 * experiment leaves it to the next one that starts from the best.
 */
export function startExperiment(state: RunState, search?: SearchConfig): { state: RunState; started: InFlight } {
  const [again, ...moved] = state.moved;
  if (again) return { state: { ...state, moved, running: [...state.running, again] }, started: again };
  const n = state.nextExperiment;
  const tree = search?.kind === 'tree' ? startNode(search, state.search ?? initialSearchState(), n) : undefined;
  const start = tree?.node;
  const prepared = start ? undefined : state.prepared;
  const started: InFlight = { experiment: n, startedFrom: state.best, prepared, preparedUsd: prepared?.costUsd ?? 0, ...(start ? { start } : {}) };
  return {
    state: { ...state, nextExperiment: n + 1, running: [...state.running, started], prepared: start ? state.prepared : undefined, ...(tree ? { search: tree.state } : {}) },
    started,
  };
}

/** The experiment a started one's code comes from: its branch node, else the best when it started; none for a baseline. */
export function parentOf(started: Pick<InFlight, 'start' | 'startedFrom'> | undefined): number | undefined {
  return started?.start?.experiment ?? started?.startedFrom?.experiment;
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

/** `poolReruns`: a keep's closed group holds the former incumbent's runs beside its confirmations (runs recorded before it did not). */
export interface RecordOptions {
  poolReruns?: boolean;
}

/** The state after an experiment's record arrives: the one place the best and the counts change. */
export function recordExperiment(
  state: RunState, record: ExperimentRecord, logTail?: string, measured?: Measured, config?: RunConfig, opts: RecordOptions = {},
): RunState {
  const clip = (s: string | undefined) => (s && s.length > WINDOW_TEXT_CHARS ? `${s.slice(0, WINDOW_TEXT_CHARS)}…` : s);
  const kept = record.status === 'keep';
  const failed = record.status === 'crash' || record.status === 'invalid';
  const started = state.running.find((r) => r.experiment === record.experiment);
  let { incumbent, noise } = state;
  const sameBest = started?.startedFrom?.experiment === state.best?.experiment;
  if (kept && measured) {
    // The former incumbent's runs are a closed group now: its spread stays in σ as sums, with its
    // runs made beside this experiment's confirmations, as the research benchmark's rule pools them.
    const former = opts.poolReruns && sameBest ? [...incumbent.runs, ...measured.incumbentReruns] : incumbent.runs;
    const closed = config ? noiseTotals([former], budgetOf(config), config.decision) : NO_NOISE_TOTALS;
    noise = { squares: noise.squares + closed.squares, df: noise.df + closed.df };
    incumbent = { runs: (measured.fresh.length ? measured.fresh : measured.candidate).slice(-INCUMBENT_RUNS), shape: measured.shape };
  } else if (measured && sameBest) {
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
    refusals: (state.refusals ?? 0) + (record.refusals ?? 0),
    lastPromptChars: record.promptChars ?? state.lastPromptChars,
    recent: [...state.recent, { ...record, hypothesis: clip(record.hypothesis)!, reason: clip(record.reason) }].slice(-RECENT_WINDOW),
    lastCrashLog: record.status === 'crash' ? logTail?.slice(-WINDOW_TEXT_CHARS * 12) : state.lastCrashLog,
  };
}

/** A proposal made ahead arrived: the next experiment takes it, and what it cost counts now. */
export function proposedAhead(state: RunState, made: ProposeResult): RunState {
  return { ...state, prepared: { proposal: made.proposal, costUsd: made.usage.costUsd, promptChars: made.promptChars }, costUsd: state.costUsd + made.usage.costUsd };
}

/** A proposal made ahead that cannot be used (the experiment asks again itself): what its calls cost counts all the same. */
export function paidAhead(state: RunState, costUsd: number): RunState {
  return { ...state, costUsd: state.costUsd + costUsd };
}

/**
 * An experiment ended: its result judged against the best of now, and recorded. `expectedBest` is
 * the branch's commit before this decision, what a keep moves the branch from (compare-and-set).
 */
export function finishExperiment(
  config: RunConfig, state: RunState, runWorkflowId: string, experiment: number, ended: { result: ExperimentResult } | { failure: { cause: string; message: string } },
  opts: RecordOptions = {},
): { state: RunState; record: ExperimentRecord; expectedBest: string } {
  const started = state.running.find((r) => r.experiment === experiment);
  const baseline = experiment === state.firstExperiment;
  const judged = 'result' in ended
    ? judgedRecord(config, state, { runWorkflowId, experiment, startedFrom: started?.startedFrom, baseline }, ended.result)
    : failedRecord(runWorkflowId, experiment, ended.failure);
  const parent = baseline ? undefined : parentOf(started);
  const record = parent === undefined ? judged : { ...judged, parent };
  const result = 'result' in ended ? ended.result : undefined;
  let next = recordExperiment(state, record, result?.logTail, result?.measured, config, opts);
  // Carried configs from before the search field have none: greedy.
  if (config.search?.kind === 'tree') {
    next = { ...next, search: afterResult(config.search, state.search ?? initialSearchState(), record) };
  }
  return { state: next, record, expectedBest: bestCommitOf(state) };
}
