/**
 * The default keep rule's two departures from the first noise rule, chosen on the research
 * benchmark (bench/research.ts, docs/decisions.md): a mean confirmed by more runs is kept on a
 * lower bar than a single run, and a new best's reference is the runs that got it kept, with no
 * fresh runs. A run started before these knobs carries neither and decides as it always did.
 */

/**
 * A mean over confirmations is kept above 1.5 standard errors, a single run only above k. The
 * confirmation re-runs the incumbent and was earned by a promising first run, so the lower bar
 * keeps real gains that one more run has not yet made certain: at equal training runs the final
 * best gains 0.83x greedy's on average in place of 0.76x, with at most 1 keep in 5 not really better.
 */
export const DEFAULT_K_CONFIRMED = 1.5;

/**
 * No fresh runs of a new best: three of them cost more than the winner's curse they cure. Its own
 * runs, confirmations included, are its reference, and the re-runs beside later confirmations
 * correct a lucky one.
 */
export const DEFAULT_FRESH_RUNS = 0;

/** The bar, in standard errors before widening, for a candidate with `confirmations` confirmations behind it. */
export function keepK(config: { k: number; kConfirmed?: number }, confirmations: number): number {
  return confirmations > 0 ? config.kConfirmed ?? config.k : config.k;
}

/** What a keep decision knows of the runs that got it kept. */
export interface KeptRuns {
  remeasures: number;
  /** The latest run's throughput over the incumbent's typical one. */
  throughputRatio?: number;
}

/**
 * What a keep decision's runs say for `freshRunsOf`. Under a token budget the machine's speed
 * moves nothing measured, so a run that was slow or fast (a busy machine) asks for no fresh runs.
 */
export function keptRunsOf(d: KeptRuns, budget: 'time' | 'tokens'): KeptRuns {
  return budget === 'time' ? { remeasures: d.remeasures, throughputRatio: d.throughputRatio } : { remeasures: d.remeasures };
}

/**
 * Runs of each new best with new seeds, its reference from then on. With `freshRuns` 0 there are
 * none: the runs that got it kept are its reference. A best whose speed is not the incumbent's
 * (a model shape change, or a run on an odd machine that needed a re-measurement) is measured
 * afresh all the same, `repeats` times: a reference must not hold a lucky machine, and a
 * changed model's typical throughput is not known yet.
 */
export function freshRunsOf(config: { repeats: number; freshRuns?: number; throughputTolerance: number }, kept: KeptRuns = { remeasures: 0 }): number {
  const fresh = config.freshRuns ?? config.repeats;
  const offSpeed = kept.throughputRatio !== undefined && Math.abs(kept.throughputRatio - 1) > config.throughputTolerance;
  return fresh === 0 && (kept.remeasures > 0 || offSpeed) ? config.repeats : fresh;
}
