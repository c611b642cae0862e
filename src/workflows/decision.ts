import type { ExperimentRecord, ExperimentStatus } from './types.js';

/** How an experiment ended, before the decision. */
export type Outcome = { kind: 'trained'; valBpb: number } | { kind: 'crash' } | { kind: 'invalid' };

export interface DecisionOptions {
  /** A gain must beat the best by more than this to be kept (noise margin, in bpb). */
  minImprovement?: number;
}

/** The best kept experiment so far, if any. */
export function bestOf(history: ExperimentRecord[]): ExperimentRecord | undefined {
  return history.filter((r) => r.status === 'keep').reduce<ExperimentRecord | undefined>((b, r) => (!b || r.valBpb < b.valBpb ? r : b), undefined);
}

/**
 * keep or revert: a pure function of the whole history (so noise-aware rules can come later
 * without changing callers). A trained result is kept when it beats the best kept one by more than
 * the margin; the first trained result (normally the baseline) is kept as the reference.
 */
export function decide(history: ExperimentRecord[], outcome: Outcome, options: DecisionOptions = {}): ExperimentStatus {
  if (outcome.kind !== 'trained') return outcome.kind;
  const best = bestOf(history);
  if (!best) return 'keep';
  return outcome.valBpb < best.valBpb - (options.minImprovement ?? 0) ? 'keep' : 'discard';
}
