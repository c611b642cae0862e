/**
 * The run's state and every decision made on it, as pure functions: keep or revert, what to do
 * next, where a steering note takes effect, how a finished experiment changes the state.
 * Unit-tested on their own (test/unit/decisions.test.ts).
 */
import { rootCause } from '@temporalio/common';
import type { RunConfig } from '../config/runInput.js';
import { estimateMaxCallCostUsd } from '../proposers/cost.js';
import {
  experimentId, type BestResult, type ExperimentRecord, type ExperimentStatus, type ResearchPhase, type RunPaths, type SteeringNote,
} from '../definitions.js';

/** Everything the run carries across continue-as-new. Nothing in it grows with the number of experiments. */
export interface RunState {
  paths?: RunPaths;
  /** The commit the run started from. */
  baseCommit?: string;
  phase: ResearchPhase;
  paused: boolean;
  stopRequested: boolean;
  endReason?: string;
  /** The experiment running now, as far as the run knows it. */
  current?: { experiment: number; hypothesis?: string; trainingStartedAt?: string };
  experimentsDone: number;
  counts: Record<ExperimentStatus, number>;
  best?: BestResult;
  baselineValBpb?: number;
  costUsd: number;
  lastPromptChars?: number;
  /** The latest RECENT_WINDOW results, oldest first: for the proposer's prompt and the UI. */
  recent: ExperimentRecord[];
  /** The latest crash, whose log tail the proposer sees. */
  lastCrash?: number;
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
    phase: 'preparing', paused: false, stopRequested: false, experimentsDone: 0,
    counts: { keep: 0, discard: 0, crash: 0, invalid: 0 }, costUsd: 0, recent: [], steeringNotes: [], notesRecorded: 0,
  };
}

/** How an experiment ended, before the decision. */
export type Outcome = { kind: 'trained'; valBpb: number } | { kind: 'crash' } | { kind: 'invalid' };

/** Keep or revert: a trained result is kept when it beats the best; the first one (the baseline) is the reference. */
export function decide(best: Pick<BestResult, 'valBpb'> | undefined, outcome: Outcome): ExperimentStatus {
  if (outcome.kind !== 'trained') return outcome.kind;
  return !best || outcome.valBpb < best.valBpb ? 'keep' : 'discard';
}

/** The state after an experiment's record arrives: the one place the best, counts and cost change. */
export function recordExperiment(state: RunState, record: ExperimentRecord): RunState {
  const clip = (s: string | undefined) => (s && s.length > WINDOW_TEXT_CHARS ? `${s.slice(0, WINDOW_TEXT_CHARS)}…` : s);
  const kept = record.status === 'keep';
  return {
    ...state,
    current: undefined,
    experimentsDone: state.experimentsDone + 1,
    counts: { ...state.counts, [record.status]: state.counts[record.status] + 1 },
    best: kept ? { experiment: record.experiment, commit: record.commit, commitFull: record.commitFull, valBpb: record.valBpb } : state.best,
    baselineValBpb: record.experiment === 0 && kept ? record.valBpb : state.baselineValBpb,
    costUsd: state.costUsd + record.costUsd,
    lastPromptChars: record.promptChars ?? state.lastPromptChars,
    recent: [...state.recent, { ...record, hypothesis: clip(record.hypothesis)!, error: clip(record.error) }].slice(-RECENT_WINDOW),
    lastCrash: record.status === 'crash' ? record.experiment : state.lastCrash,
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

/** What the run does next, once it is not paused. */
export function nextStep(config: RunConfig, state: RunState): Step {
  if (state.stopRequested) return { kind: 'end', reason: 'stopped on request' };
  if (config.maxExperiments !== undefined && state.experimentsDone >= config.maxExperiments) {
    return { kind: 'end', reason: `reached maxExperiments (${config.maxExperiments})` };
  }
  const cap = config.proposer.maxCostUsd;
  if (cap !== undefined) {
    // Money already spent plus the worst case of the call about to start must fit under the cap.
    const next = state.experimentsDone === 0 ? 0 : worstCaseCallUsd(config, state.lastPromptChars);
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
 * The experiment whose hypothesis first sees a steering note sent now. Each experiment gets the
 * notes when it starts, so one that is already running sees it only from the next experiment on.
 */
export function effectiveExperiment(state: Pick<RunState, 'current' | 'experimentsDone'>): number {
  return state.current ? state.experimentsDone + 1 : state.experimentsDone;
}

/** The phase shown between experiments. */
export function restingPhase(state: Pick<RunState, 'paused'>): ResearchPhase {
  return state.paused ? 'paused' : 'idle';
}
