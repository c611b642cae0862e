import type { RunConfig } from '../config/runInput.js';
import { estimateMaxCallCostUsd } from '../proposers/cost.js';
import type { ResearchPhase } from './messages.js';
import { spentUsd, type ExperimentRecord } from './types.js';

export type Step = { kind: 'experiment' } | { kind: 'end'; reason: string };

/** What the run does next, once it is not paused: pure, so it is unit-tested on its own. */
export function nextStep(config: RunConfig, state: { records: ExperimentRecord[]; stopRequested: boolean }): Step {
  if (state.stopRequested) return { kind: 'end', reason: 'stopped on request' };
  if (config.maxExperiments !== undefined && state.records.length >= config.maxExperiments) {
    return { kind: 'end', reason: `reached maxExperiments (${config.maxExperiments})` };
  }
  const cap = config.proposer.maxCostUsd;
  if (cap !== undefined) {
    // Money already spent plus the worst case of the call about to start must fit under the cap.
    const spent = spentUsd(state.records);
    const next = state.records.length === 0 ? 0 : worstCaseCallUsd(config, lastPromptChars(state.records));
    if (spent + next > cap) {
      return { kind: 'end', reason: `cost cap reached: spent $${spent.toFixed(4)}, next call up to $${next.toFixed(4)}, cap $${cap.toFixed(2)}` };
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

function lastPromptChars(records: ExperimentRecord[]): number | undefined {
  return [...records].reverse().find((r) => r.promptChars !== undefined)?.promptChars;
}

/**
 * The experiment whose hypothesis first sees a steering note sent now. Each experiment gets the
 * notes when it starts, so one that is already running sees it only from the next experiment on.
 */
export function effectiveExperiment(phase: ResearchPhase, experimentsDone: number): number {
  const notStarted = phase === 'idle' || phase === 'paused' || phase === 'preparing';
  return notStarted ? experimentsDone : experimentsDone + 1;
}
