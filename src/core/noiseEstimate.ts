/**
 * How noisy one training run is: σ pooled from groups of runs of the same code, carried as sums
 * across a long run, with runs at an unusual speed left out under a time budget; and how far k
 * standard errors stretch when σ comes from few runs. Pure.
 */
import { DEFAULT_DECISION_CONFIG, DEFAULT_SIGMA_FLOOR, type BudgetKind, type DecisionConfig } from './decisionConfig.js';
import { byClass } from './machineClass.js';

/** One training run of one version of the code, as its summary block reports it. */
export interface Measurement {
  valBpb: number;
  steps?: number;
  tokens?: number;
  /** Seconds of training (the summary's training_seconds): with steps or tokens, the throughput. */
  trainingSeconds?: number;
  /** The lane's machine class (machineClass.ts); absent: none, as every run before classes. */
  machineClass?: string;
  /** The trainer's seed, recorded where runs are paired by seed (pairedKeep.ts). */
  seed?: number;
}

/** Tokens per second when the trainer reports tokens, else steps per second; undefined when unknown. */
export function throughputOf(m: Measurement): number | undefined {
  if (!m.trainingSeconds || m.trainingSeconds <= 0) return undefined;
  const work = m.tokens ?? m.steps;
  return work !== undefined && work > 0 ? work / m.trainingSeconds : undefined;
}

/** Sums behind a pooled σ, so that closed groups can be carried in a bounded state. */
export interface NoiseTotals {
  /** Σ over groups of Σ (x − group mean)², in bpb². */
  squares: number;
  /** Σ over groups of (runs − 1). */
  df: number;
}

export const NO_NOISE_TOTALS: NoiseTotals = { squares: 0, df: 0 };

export interface NoiseEstimate {
  /** σ of one run's val_bpb, never below the floor. */
  sigma: number;
  /** Degrees of freedom behind it. 0: σ is only the floor. */
  df: number;
  /** The pooled estimate before the floor (0 without any repeated group). */
  pooled: number;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Adds groups of val_bpb values of the same code to the totals (a group of one run adds nothing). */
export function addGroups(totals: NoiseTotals, groups: readonly (readonly number[])[]): NoiseTotals {
  let { squares, df } = totals;
  for (const g of groups) {
    if (g.length < 2) continue;
    const m = mean(g);
    squares += g.reduce((a, x) => a + (x - m) ** 2, 0);
    df += g.length - 1;
  }
  return { squares, df };
}

/**
 * σ from groups of runs of the same code: the pooled sample standard deviation,
 * Σ (x − group mean)² over Σ (n − 1). Pooling is what makes three baseline runs enough to start
 * with: every later group adds its own degrees of freedom, while each group's own mean (a
 * different code's true value) drops out. The floor keeps a trainer that ignores its seed
 * (σ measured 0) from turning every positive difference into a keep.
 */
export function pooledSigma(groups: readonly (readonly number[])[], floor = DEFAULT_SIGMA_FLOOR, carried = NO_NOISE_TOTALS): NoiseEstimate {
  const { squares, df } = addGroups(carried, groups);
  const pooled = df > 0 ? Math.sqrt(squares / df) : 0;
  return { sigma: Math.max(pooled, floor), df, pooled };
}

/**
 * The noise estimate from groups of runs nobody chose for their value: the runs of each
 * incumbent (the baseline's repeats, each new best's fresh runs, its re-runs beside
 * confirmations and re-measurements). A candidate's runs are not used: its first run was
 * chosen for looking good, and a group holding it would inflate σ. Under a time budget a run
 * whose throughput is off its group's median by more than the tolerance measured the machine,
 * not the seed, so it is left out. A group's runs on different machine classes are groups of their
 * own: a class's shift is the machine, not the seed, and drops out with its group's mean.
 */
export function estimateNoise(
  groups: readonly (readonly Measurement[])[], budget: BudgetKind, config: DecisionConfig = DEFAULT_DECISION_CONFIG, carried = NO_NOISE_TOTALS,
): NoiseEstimate {
  return pooledSigma(noiseValues(groups, budget, config), config.sigmaFloor, carried);
}

/** The totals of groups that are closed (a former incumbent's runs), to carry instead of the runs. */
export function noiseTotals(groups: readonly (readonly Measurement[])[], budget: BudgetKind, config: DecisionConfig = DEFAULT_DECISION_CONFIG): NoiseTotals {
  return addGroups(NO_NOISE_TOTALS, noiseValues(groups, budget, config));
}

function noiseValues(groups: readonly (readonly Measurement[])[], budget: BudgetKind, config: DecisionConfig): number[][] {
  return groups.flatMap((g) => byClass(g)).map((g) => (budget === 'time' ? atTypicalThroughput(g, config.throughputTolerance) : g).map((m) => m.valBpb));
}

function atTypicalThroughput(runs: readonly Measurement[], tolerance: number): readonly Measurement[] {
  const known = runs.map(throughputOf).filter((t): t is number => t !== undefined);
  if (known.length === 0) return runs;
  const ref = median(known);
  return runs.filter((m) => !offBy(throughputOf(m), ref, tolerance));
}

/** Whether a throughput differs from the reference by more than the tolerance (unknown never does). */
export function offBy(t: number | undefined, ref: number | undefined, tolerance: number): boolean {
  return t !== undefined && ref !== undefined && ref > 0 && Math.abs(t / ref - 1) > tolerance;
}

// ---------------------------------------------------------------------------------------------
// Small-sample widening of k

/** Standard normal CDF (Abramowitz & Stegun 7.1.26, error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/**
 * The Student-t quantile with `df` degrees of freedom at the probability the normal gives to z:
 * how far k standard errors must stretch when σ itself is estimated from few runs. Exact for 1
 * and 2 degrees of freedom, a Cornish-Fisher expansion above (within 1% from 3 on); z itself
 * for df = Infinity.
 */
export function widenForDf(z: number, df: number): number {
  if (!Number.isFinite(df)) return z;
  const p = normalCdf(z);
  if (df <= 1) return Math.tan(Math.PI * (p - 0.5));
  if (df <= 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  const z3 = z ** 3, z5 = z ** 5, z7 = z ** 7, z9 = z ** 9;
  return z
    + (z3 + z) / (4 * df)
    + (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2)
    + (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3)
    + (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * df ** 4);
}
