import type { RunConfig } from '../config/runInput.js';
import type { ResearchPhase } from './messages.js';
import type { ExperimentRecord } from './types.js';

export type Step = { kind: 'experiment' } | { kind: 'end'; reason: string };

/** What the run does next, once it is not paused: pure, so it is unit-tested on its own. */
export function nextStep(config: RunConfig, state: { records: ExperimentRecord[]; stopRequested: boolean }): Step {
  if (state.stopRequested) return { kind: 'end', reason: 'stopped on request' };
  if (config.maxExperiments !== undefined && state.records.length >= config.maxExperiments) {
    return { kind: 'end', reason: `reached maxExperiments (${config.maxExperiments})` };
  }
  const spent = state.records.reduce((s, r) => s + r.costUsd, 0);
  const cap = config.proposer.maxCostUsd;
  if (cap !== undefined && spent >= cap) return { kind: 'end', reason: `cost cap reached: $${spent.toFixed(4)} of $${cap.toFixed(2)}` };
  return { kind: 'experiment' };
}

/**
 * The experiment whose hypothesis first sees a steering note sent now. Each experiment gets the
 * notes when it starts, so one that is already running sees it only from the next experiment on.
 */
export function effectiveExperiment(phase: ResearchPhase, experimentsDone: number): number {
  const notStarted = phase === 'idle' || phase === 'paused' || phase === 'preparing';
  return notStarted ? experimentsDone : experimentsDone + 1;
}
