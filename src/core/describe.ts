/** The run's figures in words: one wording each, in the web UI, the CLI and the summary. */
import type { BestResult } from './results.js';
import type { ResearchPhase } from './runState.js';

/** "best val_bpb 0.997900 at abc1234 (exp 12)". */
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

/** The run's lanes in words, "holds no lanes, waiting for 1 lane"; undefined while it prepares, once done, or from a worker too old to say. */
export function describeLanes(s: { phase: ResearchPhase; lanesHeld?: number; lanesWaitingFor?: number }): string | undefined {
  if (s.lanesHeld === undefined || s.phase === 'preparing' || s.phase === 'done') return undefined;
  const lanes = (n: number) => `${n} lane${n === 1 ? '' : 's'}`;
  const held = s.lanesHeld ? `holds ${lanes(s.lanesHeld)}` : 'holds no lanes';
  return s.lanesWaitingFor ? `${held}, waiting for ${lanes(s.lanesWaitingFor)}` : held;
}
