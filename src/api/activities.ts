/**
 * The activities' interface: what the workflows schedule, and the payloads that cross between a
 * workflow and a worker. The workflows proxy `Activities`; src/activities implements it (its
 * index.ts is checked against it). Payloads are kept in saved histories: a field renamed here
 * must still read what older runs wrote.
 */
import type { Proposal, ProposeResult } from '../core/proposal.js';
import type { ExperimentRecord } from '../core/results.js';
import type { ProposerView } from '../core/proposerView.js';
import type { RunConfig, TrainerConfig } from '../core/runInput.js';
import type { LanePaths, RunPaths } from '../core/names.js';
import type { SteeringNote } from '../core/runState.js';
import type { TrainerSummary } from '../core/trainerSummary.js';

// ---------------------------------------------------------------------------------------------
// The run's shared state on the remote (remote.ts)

export interface PrepareRunInput {
  config: RunConfig;
  /**
   * The run's identity: its workflow id and first execution's run id. The same across its retries
   * and continue-as-new, new for a second run of the tag (even under the same workflow id). Absent:
   * taken from the calling workflow execution, which is the same while the run's first execution calls.
   */
  runKey?: string;
}

export interface PrepareRunResult {
  paths: RunPaths;
  /** The commit the run starts from: `base` for a new tag, the branch's tip for a resumed one. */
  baseCommit: string;
  /** Present when this run took over an existing tag (`resume: true`): where its numbering starts. */
  resumed?: { nextExperiment: number };
}

export interface KeepInput {
  config: RunConfig;
  experimentRef: string;
  commitFull: string;
  /** The branch's commit the run believes: the move is a compare-and-set against it. */
  expectedBest: string;
}

// ---------------------------------------------------------------------------------------------
// An experiment's steps around its lane's worktree (workspace.ts, measure.ts)

/**
 * Which lane, and the best commit (with a ref on the remote that holds it): what the incumbent's
 * runs train and a diff is counted from. Edits start from it too, unless tree search started the
 * experiment from another node: `startCommit` (held by `startRef`).
 */
export interface LaneInput {
  config: RunConfig;
  laneId: string;
  bestCommit: string;
  bestRef: string;
  startCommit?: string;
  startRef?: string;
}

/** An experiment's commit found on the remote, made by a lane that has since died. */
export interface ExistingCommit {
  commitFull: string;
  description: string;
  hypothesis: string;
}

export interface HypothesizeInput extends ProposerView {
  experiment: number;
  config: RunConfig;
  /** The files the proposer sees are this commit's (the best's, or tree search's start node's), read from any host's clone (bestRef holds it on the remote). */
  bestCommit: string;
  bestRef: string;
  repairError?: string;
  previousProposal?: Proposal;
}

export interface EditInput {
  /** Every edit starts from the best commit, which makes a retry idempotent. */
  lane: LaneInput;
  editable: string[];
  proposal: Proposal;
}

export interface CommitInput {
  lane: LaneInput;
  experimentId: string;
  /** Where the commit goes on the remote: `refs/autoresearch/<tag>/exp-NNNN`. */
  experimentRef: string;
  description: string;
  hypothesis: string;
  /** It lost its lane before (another lane may have pushed its commit before it died; the remote is checked either way). */
  restarted?: boolean;
  /** Whether edit left the change in the worktree (the baseline has none). */
  edited: boolean;
}

export interface CommitResult {
  commit: string;
  commitFull: string;
  paths: LanePaths;
}

// ---------------------------------------------------------------------------------------------
// Training and evaluation (training.ts)

export interface TrainInput {
  experimentId: string;
  trainerDir: string;
  logFile: string;
  trainer: TrainerConfig;
  /** The lane it trains on, and the lane's GPU when it has one: the trainer sees only that device. */
  lane?: string;
  gpu?: string;
  /** The run's base commit: the harness and every non-editable file must match it. */
  baseCommit?: string;
  /** The run's seed for this training run (AUTORESEARCH_SEED): each run of the same code gets its own. */
  seed?: number;
}

/** The worker's Python environment for a trainer run through uv (trainerPython.ts builds it). */
export interface TrainerPython {
  /** The environment's directory (UV_PROJECT_ENVIRONMENT). */
  dir: string;
  /** Its interpreter: the evaluator runs it directly. */
  python: string;
}

/** What evaluate needs to score a trained experiment by the harness (and to check the harness again). */
export interface HarnessContext {
  experimentId: string;
  trainerDir: string;
  trainer: TrainerConfig;
  lane?: string;
  gpu?: string;
  /** The worker's Python environment the trainer ran in (a `uv run` command): the evaluator runs its interpreter. */
  python?: TrainerPython;
  seed?: number;
  baseCommit?: string;
  /** Where the trainer exported its model (harness evaluation only). */
  modelFile?: string;
  /** Whether the trainer's sandbox hid the validation split, and why not. */
  validation?: { hidden: true } | { hidden: false; reason: string };
}

export interface TrainResult {
  exitCode: number | null;
  signal?: string;
  timedOut: boolean;
  seconds: number;
  logFile: string;
  /** Set when the trainer was not run: why (a changed harness file). */
  refused?: string;
  harness?: HarnessContext;
}

/** One training run scored: its summary, or why it crashed with the end of its log (for the proposer's next attempt, on any host). */
export type Evaluation = { ok: true; summary: TrainerSummary; warning?: string; deviceName?: string } | { ok: false; reason: string; logTail: string };

// ---------------------------------------------------------------------------------------------
// The contract

/** Every activity a workflow schedules, the lane lease included. */
export interface Activities {
  /** A local activity: the run input validated, every default and price filled in. */
  resolveRunConfig(input: unknown): Promise<RunConfig>;
  prepareRun(input: PrepareRunInput | RunConfig): Promise<PrepareRunResult>;
  hypothesize(input: HypothesizeInput): Promise<ProposeResult>;
  prepareLane(input: LaneInput & { experimentRef: string }): Promise<ExistingCommit | undefined>;
  edit(input: EditInput): Promise<void>;
  commit(input: CommitInput): Promise<CommitResult>;
  train(input: TrainInput): Promise<TrainResult>;
  evaluate(result: TrainResult): Promise<Evaluation>;
  checkoutCommit(input: { lane: LaneInput; commitFull: string; ref: string }): Promise<{ paths: LanePaths }>;
  diffLines(input: { lane: LaneInput; commitFull: string }): Promise<number>;
  keepOrRevert(input: KeepInput): Promise<void>;
  recordResult(input: { config: RunConfig; record: ExperimentRecord }): Promise<void>;
  recordSteering(input: { config: RunConfig; notes: SteeringNote[] }): Promise<void>;
  /** The lease on a lane: runs on a worker with a free lane for as long as the run keeps it. */
  holdLane(input: { lease: number }): Promise<void>;
}

/** What a worker's createActivities provides: all but the lease, which comes with its lanes. */
export type WorkerActivities = Omit<Activities, 'holdLane'>;
