/**
 * Definitions shared by the workflows, the activities, the proposers, the CLI and the report: one
 * home per meaning. Workflow-safe: no Node built-ins, no side effects.
 * How they fit together: docs/architecture.md.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType, TemporalFailure } from '@temporalio/common';

/** The shared task queue: workflows, proposer calls and the run's git remote steps. */
export const TASK_QUEUE = 'autoresearch';

// ---------------------------------------------------------------------------------------------
// Lanes: one GPU (or one CPU slot) each; an experiment's host-local steps run on its lane's queue

export interface Lane {
  /** `<host>-gpu0`, `<host>-cpu0`: unique across the cluster. */
  id: string;
  host: string;
  /** The task queue of this lane's host-local steps. */
  queue: string;
  /** CUDA_VISIBLE_DEVICES for its trainer; absent on a CPU lane. */
  gpu?: string;
}

/** Queue names derive from the shared queue, so a test's own queue gets its own lanes. */
export const leaseQueue = (sharedQueue: string) => `${sharedQueue}-lanes`;
export const laneQueue = (sharedQueue: string, laneId: string) => `${sharedQueue}-lane-${laneId}`;

/** A worker tells an experiment which lane it holds; `lease` tells a stale grant from the current one. */
export interface LaneGrant {
  lease: number;
  lane: Lane;
}
export const laneGrantedSignal = defineSignal<[LaneGrant]>('laneGranted');

// ---------------------------------------------------------------------------------------------
// Experiments and their results

export const EXPERIMENT_STATUSES = ['keep', 'discard', 'crash', 'invalid'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

/** One experiment's outcome: one row of results.tsv, plus what the run needs to decide and report. */
export interface ExperimentRecord {
  /** The experiment number, from 0 (the unmodified baseline). */
  experiment: number;
  /** `<workflow id of the run>/exp-NNNN`: the child workflow's id and the commit trailer. */
  experimentId: string;
  /** Short commit hash ('' for an invalid proposal that was never committed). */
  commit: string;
  commitFull: string;
  /** 0 for crash and invalid rows. */
  valBpb: number;
  /** Peak memory in GB (0 for crash and invalid rows). */
  memoryGb: number;
  status: ExperimentStatus;
  description: string;
  hypothesis: string;
  /** Cost of this experiment's proposer calls, USD. */
  costUsd: number;
  /** Why it crashed, was invalid, or was not kept although it beat its starting point. */
  error?: string;
  /** The lane it trained on. */
  lane?: string;
  /** Size of the last prompt sent, for the worst-case cost of the next call. */
  promptChars?: number;
  /** The keep decision's inputs: the incumbent's mean minus this one's, bpb (positive is better). */
  delta?: number;
  /** σ of one training run, bpb, as the decision saw it (0 under the greedy rule). */
  sigma?: number;
  /** Runs of this experiment beyond its first that the decision asked for (confirmations and re-measurements). */
  confirmations?: number;
  /** Training steps and tokens of its latest run, as the trainer reported them. */
  steps?: number;
  tokens?: number;
}

/** Where a run lives on one host's disk (each host resolves its own), and the remote they share. */
export interface RunPaths {
  /** This host's clone of the research repository. */
  repo: string;
  workDir: string;
  /** A copy of results.tsv, as this host last wrote it (the remote's results ref has them all). */
  resultsFile: string;
  logsDir: string;
  branch: string;
  /** The git remote every lane shares: a path or URL. */
  remote: string;
}

/** A lane's own git worktree, detached at the commit it works on; the user's checkout is never touched. */
export interface LanePaths extends RunPaths {
  worktree: string;
  trainerDir: string;
}

/** The best kept experiment: where edits start and reverts return. */
export interface BestResult {
  experiment: number;
  commit: string;
  commitFull: string;
  valBpb: number;
}

/** `exp-0007`: child workflow id suffix, log file name, ref name. */
export function experimentName(experiment: number): string {
  return `exp-${String(experiment).padStart(4, '0')}`;
}

export function experimentId(runWorkflowId: string, experiment: number): string {
  return `${runWorkflowId}/${experimentName(experiment)}`;
}

/** The run's branch, at the best commit on the remote. */
export const branchOf = (tag: string) => `autoresearch/${tag}`;
/** Every experiment's commit, kept or not, stays reachable on the remote under this ref. */
export const experimentRef = (tag: string, experiment: number) => `refs/autoresearch/${tag}/${experimentName(experiment)}`;
/** A ref on the remote that holds the best commit: the best experiment's, or the run's branch (the base commit) until one is kept. */
export const bestRefOf = (tag: string, best: Pick<BestResult, 'experiment'> | undefined) =>
  best ? experimentRef(tag, best.experiment) : `refs/heads/${branchOf(tag)}`;
/** A commit whose tree holds results.tsv and steering.tsv: the results travel with the remote. */
export const resultsRef = (tag: string) => `refs/autoresearch/${tag}/results`;

/** "best val_bpb 0.997900 at abc1234 (exp 12)": the one wording, in the UI, the CLI and the summary. */
export function describeBest(best: Pick<BestResult, 'valBpb' | 'commit' | 'experiment'> | undefined): string {
  return best ? `best val_bpb ${best.valBpb.toFixed(6)} at ${best.commit} (exp ${best.experiment})` : 'no result yet';
}

/** How the end reason of a run whose baseline crashed begins: `research wait` fails with it. */
export const BASELINE_CRASHED = 'nothing to compare against: the baseline crashed';

/**
 * The training budget as configured, "163,840 tokens" or "300 s": a token budget replaces the time
 * budget (trainer.tokenBudget), so showing the seconds would be untrue. Digits grouped by hand, not
 * by the host's locale: the workflow shows it too.
 */
export function describeBudget(t: { timeBudgetSeconds: number; tokenBudget?: number }): string {
  return t.tokenBudget ? `${String(t.tokenBudget).replace(/\B(?=(\d{3})+$)/g, ',')} tokens` : `${t.timeBudgetSeconds} s`;
}

// ---------------------------------------------------------------------------------------------
// results.tsv: the original's five columns first; ours follow and never replace them

export const RESULTS_COLUMNS = [
  'commit', 'val_bpb', 'memory_gb', 'status', 'description', 'cost_usd', 'experiment_id', 'lane', 'delta', 'sigma', 'confirmations', 'steps',
  'tokens', 'reason',
] as const;
/** The columns every results.tsv has, ours and the original's. */
export const ORIGINAL_COLUMNS = RESULTS_COLUMNS.slice(0, 5);
export const RESULTS_HEADER = `${RESULTS_COLUMNS.join('\t')}\n`;

export function formatResultsRow(r: ExperimentRecord): string {
  const trained = r.status === 'keep' || r.status === 'discard';
  return [
    r.commit || '-',
    (trained ? r.valBpb : 0).toFixed(6),
    (trained ? r.memoryGb : 0).toFixed(1),
    r.status,
    oneLine(r.description),
    r.costUsd.toFixed(4),
    r.experimentId,
    r.lane ?? '-',
    r.delta === undefined ? '-' : r.delta.toFixed(6),
    r.sigma === undefined ? '-' : r.sigma.toFixed(6),
    String(r.confirmations ?? 0),
    r.steps === undefined ? '-' : String(r.steps),
    r.tokens === undefined ? '-' : String(r.tokens),
    oneLine(r.error ?? '').slice(0, 300),
  ].join('\t') + '\n';
}

/** Beside results.tsv: the person's steering notes, for the report. */
export const STEERING_FILE = 'steering.tsv';

export function oneLine(s: string): string {
  return s.replace(/[\t\r\n]+/g, ' ').trim();
}

// ---------------------------------------------------------------------------------------------
// Failure types: what an activity raises as a non-retryable ApplicationFailure

export const FAILURE = {
  /** The run input cannot work (names the field). Ends the run. */
  InvalidRunInput: 'InvalidRunInput',
  /** The proposer cannot work (bad key, unknown model). Ends the run. */
  ProposerFatal: 'ProposerFatal',
  /** The trainer command cannot start. Ends the run. */
  TrainerConfig: 'TrainerConfig',
  /** An edit that does not apply or parse: goes back to the proposer. */
  EditRejected: 'EditRejected',
  /** Proposer output that is not a valid proposal: goes back to the proposer. */
  ProposalInvalid: 'ProposalInvalid',
} as const;
export type FailureType = (typeof FAILURE)[keyof typeof FAILURE];

/** Failures no later experiment can get past: the run ends with them. */
export const RUN_FATAL: FailureType[] = [FAILURE.InvalidRunInput, FAILURE.ProposerFatal, FAILURE.TrainerConfig];
/** Failures the proposer can repair. */
export const REPAIRABLE: FailureType[] = [FAILURE.EditRejected, FAILURE.ProposalInvalid];
export const NON_RETRYABLE: FailureType[] = [...RUN_FATAL, ...REPAIRABLE];

/** The typed ApplicationFailure in a failure chain (ChildWorkflowFailure → ActivityFailure → ApplicationFailure). */
export function applicationFailureOf(err: unknown): ApplicationFailure | undefined {
  for (let e: unknown = err; e instanceof TemporalFailure; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type) return e;
  }
  return undefined;
}

export function isRunFatal(err: unknown): boolean {
  return RUN_FATAL.includes(applicationFailureOf(err)?.type as FailureType);
}

// ---------------------------------------------------------------------------------------------
// Search attributes of the run: `temporal workflow list --query "BestValBpb < 1.0"`

export const ResearchTag = defineSearchAttributeKey('ResearchTag', SearchAttributeType.KEYWORD);
export const BestValBpb = defineSearchAttributeKey('BestValBpb', SearchAttributeType.DOUBLE);
export const ExperimentCount = defineSearchAttributeKey('ExperimentCount', SearchAttributeType.INT);
export const ResearchPhaseKey = defineSearchAttributeKey('ResearchPhase', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [ResearchTag, BestValBpb, ExperimentCount, ResearchPhaseKey];

// ---------------------------------------------------------------------------------------------
// Messages: the run's public interface (the plain temporal CLI uses these names)

/** Where the run is, as the UI, `research status` and the ResearchPhase search attribute show it. */
export type ResearchPhase = 'preparing' | 'hypothesize' | 'train' | 'idle' | 'paused' | 'done';

/** No new experiment starts; the running one finishes. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Finish the current experiment, then complete the run. */
export const stopSignal = defineSignal('stop');

export interface SteerInput {
  note: string;
}
export interface SteerResult {
  /** The experiment number whose hypothesis first sees the note. */
  effectiveFromExperiment: number;
  notes: number;
}
/** An update, not a signal: the caller learns where the note takes effect. */
export const steerUpdate = defineUpdate<SteerResult, [SteerInput]>('steer');
export const MAX_NOTE_CHARS = 2000;
/** Notes travel with every experiment: their number and total size are bounded, so the payload is. */
export const MAX_NOTES = 50;
export const MAX_NOTES_TOTAL_CHARS = 20_000;

export interface SetProgramInput {
  program: string;
}
/** Replaces the direction of program.md for the rest of the run. */
export const setProgramUpdate = defineUpdate<SteerResult, [SetProgramInput]>('setProgram');
export const MAX_PROGRAM_CHARS = 50_000;

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

export interface RunStatus {
  tag: string;
  phase: ResearchPhase;
  running: RunningExperiment[];
  paused: boolean;
  stopRequested: boolean;
  /** Number of the experiment running or next to run. */
  experiment: number;
  experimentsDone: number;
  counts: Record<ExperimentStatus, number>;
  maxExperiments?: number;
  best?: BestResult;
  currentHypothesis?: string;
  trainingStartedAt?: string;
  timeBudgetSeconds: number;
  /** The training budget in tokens, when the run has one: it replaces the time budget. */
  tokenBudget?: number;
  costUsd: number;
  steeringNotes: string[];
  branch?: string;
  resultsFile?: string;
  endReason?: string;
  /** Why the run paused itself (the breaker), until resume, a steer or stop. */
  pausedReason?: string;
  /** σ of one training run as the keep rule sees it now, bpb (absent before the baseline or under the greedy rule). */
  sigma?: number;
  /** Lanes the run holds now (a paused run holds only those its experiments in flight train on). */
  lanesHeld?: number;
  /** Lanes the run has asked for and not yet been granted: it waits for a worker with a free lane. */
  lanesWaitingFor?: number;
}

/** The run's lanes in words, "holds no lanes, waiting for 1 lane"; undefined while it prepares, once done, or from a worker too old to say. */
export function describeLanes(s: Pick<RunStatus, 'phase' | 'lanesHeld' | 'lanesWaitingFor'>): string | undefined {
  if (s.lanesHeld === undefined || s.phase === 'preparing' || s.phase === 'done') return undefined;
  const lanes = (n: number) => `${n} lane${n === 1 ? '' : 's'}`;
  const held = s.lanesHeld ? `holds ${lanes(s.lanesHeld)}` : 'holds no lanes';
  return s.lanesWaitingFor ? `${held}, waiting for ${lanes(s.lanesWaitingFor)}` : held;
}
export const statusQuery = defineQuery<RunStatus>('status');
/** The latest results (a bounded window; results.tsv has them all). */
export const resultsQuery = defineQuery<ExperimentRecord[]>('results');

/** Internal: an experiment tells its run that it trains, and what it tests (one signal per experiment). */
export interface TrainingInput {
  experiment: number;
  hypothesis: string;
  description: string;
  lane: string;
  /** What its proposer calls cost, all made by now: the run counts it toward the cap at once. */
  costUsd?: number;
}
export const experimentTrainingSignal = defineSignal<[TrainingInput]>('experimentTraining');

/** What a completed run returns. */
export interface RunSummary {
  tag: string;
  experiments: number;
  kept: number;
  best?: BestResult;
  baselineValBpb?: number;
  costUsd: number;
  branch: string;
  resultsFile: string;
  endReason: string;
}
