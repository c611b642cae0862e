/**
 * What the run does next, decided on its state: start another experiment or end, how many lanes
 * to hold, whether to propose ahead, where a steering note takes effect, the breaker, and the
 * end of a run whose baseline crashed. Pure.
 */
import type { RunConfig } from './runInput.js';
import { estimateMaxCallCostUsd } from './cost.js';
import { BASELINE_CRASHED } from './describe.js';
import { experimentName } from './names.js';
import type { ExperimentRecord } from './results.js';
import type { ResearchPhase, RunState } from './runState.js';

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
  const why = (record.reason ?? '').replace(/\s+/g, ' ').trim().slice(0, 300) || 'no reason given';
  const log = state.paths ? `${state.paths.logsDir}/${experimentName(record.experiment)}.log` : `${experimentName(record.experiment)}.log`;
  return `${BASELINE_CRASHED}: ${why}, log ${log}`;
}

export type NextStep = { kind: 'experiment' } | { kind: 'end'; reason: string };

/** Whether another experiment may start, once the run is not paused; the run ends when none may and none runs. */
export function nextStep(config: RunConfig, state: RunState): NextStep {
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
const DEFAULT_PROMPT_CHARS = 60_000;

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
