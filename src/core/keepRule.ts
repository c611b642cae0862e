/**
 * Keep decisions that see the noise: how noisy one training run is, when a gain is real, when a
 * result must be trained again before it can be kept. Pure functions, safe in workflow code (no
 * I/O, no clock, no randomness); the workflow schedules the runs they ask for (`followUp`).
 * The rules, their defaults and the benchmark behind them: docs/decisions.md.
 */

// ---------------------------------------------------------------------------------------------
// Configuration

/** `greedy`: the original's rule (keep iff strictly below the best). `noise`: the rules below. */
export const DECISION_MODES = ['greedy', 'noise'] as const;
export type DecisionMode = (typeof DECISION_MODES)[number];

/** What the trainer's budget counts. Only a time budget lets the machine's speed move val_bpb. */
export const BUDGET_KINDS = ['time', 'tokens', 'steps'] as const;
export type BudgetKind = (typeof BUDGET_KINDS)[number];

export interface DecisionConfig {
  mode: DecisionMode;
  /** A gain is kept when it exceeds k standard errors of the measured difference (widened for a σ from few runs). */
  k: number;
  /** Gains between confirmFrom standard errors and the keep threshold earn a confirmation; smaller ones are discarded. */
  confirmFrom: number;
  /** Runs (each with its own seed) of the baseline and of every new best: its reference value and σ. */
  repeats: number;
  /** At most this many confirmations per candidate (each one more run of the candidate and of the incumbent). */
  confirmations: number;
  /** Under a time budget, throughput may differ from the incumbent's by this fraction before a result is suspect. */
  throughputTolerance: number;
  /** At most this many re-measurements (the candidate and the incumbent again, back to back) per candidate. */
  remeasures: number;
  /** What one net added line of the diff costs, in bpb. */
  pricePerLine: number;
  /** The smallest σ believed, in bpb: a trainer that ignores its seed measures σ = 0. */
  sigmaFloor: number;
}

/** k: a neutral change passes one comparison 2.3% of the time. */
export const DEFAULT_K = 2;
/**
 * A gain under 1.75 standard errors rarely clears the bar after one more run; confirming every
 * positive gain spends 2.5x greedy's runs in the benchmark (bench/decisions.ts).
 */
export const DEFAULT_CONFIRM_FROM = 1.75;
/** Three runs: the least that gives σ two degrees of freedom and the incumbent a mean worth comparing to. */
export const DEFAULT_REPEATS = 3;
/** A second confirmation rescues a few more real gains for few runs: few candidates get that far. */
export const DEFAULT_CONFIRMATIONS = 2;
export const DEFAULT_THROUGHPUT_TOLERANCE = 0.15;
export const DEFAULT_REMEASURES = 1;
/** 100 added lines must buy 0.001 bpb, about the size of the original's typical kept gain. */
export const DEFAULT_PRICE_PER_LINE = 0.00001;
/** val_bpb is printed with six decimals: nothing below that is measured. */
export const DEFAULT_SIGMA_FLOOR = 0.000001;

export const DEFAULT_DECISION_CONFIG: DecisionConfig = {
  mode: 'noise',
  k: DEFAULT_K,
  confirmFrom: DEFAULT_CONFIRM_FROM,
  repeats: DEFAULT_REPEATS,
  confirmations: DEFAULT_CONFIRMATIONS,
  throughputTolerance: DEFAULT_THROUGHPUT_TOLERANCE,
  remeasures: DEFAULT_REMEASURES,
  pricePerLine: DEFAULT_PRICE_PER_LINE,
  sigmaFloor: DEFAULT_SIGMA_FLOOR,
};

/** The original's rule: one run each, no noise estimate, no confirmations. */
export const GREEDY_DECISION_CONFIG: DecisionConfig = { ...DEFAULT_DECISION_CONFIG, mode: 'greedy', repeats: 1, confirmations: 0, remeasures: 0, pricePerLine: 0 };

// ---------------------------------------------------------------------------------------------
// Measurements and the noise estimate

/** One training run of one version of the code, as its summary block reports it. */
export interface Measurement {
  valBpb: number;
  steps?: number;
  tokens?: number;
  /** Seconds of training (the summary's training_seconds): with steps or tokens, the throughput. */
  trainingSeconds?: number;
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

function median(xs: readonly number[]): number {
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
 * not the seed, so it is left out.
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
  return groups.map((g) => (budget === 'time' ? atTypicalThroughput(g, config.throughputTolerance) : g).map((m) => m.valBpb));
}

function atTypicalThroughput(runs: readonly Measurement[], tolerance: number): readonly Measurement[] {
  const known = runs.map(throughputOf).filter((t): t is number => t !== undefined);
  if (known.length === 0) return runs;
  const ref = median(known);
  return runs.filter((m) => !offBy(throughputOf(m), ref, tolerance));
}

/** Whether a throughput differs from the reference by more than the tolerance (unknown never does). */
function offBy(t: number | undefined, ref: number | undefined, tolerance: number): boolean {
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

// ---------------------------------------------------------------------------------------------
// The keep rule

export type Verdict = 'keep' | 'discard' | 'confirm' | 'remeasure';

/** Everything one decision looks at. */
export interface Comparison {
  /** The incumbent's (the best's) fresh runs, oldest first: never the runs that got it kept. Empty: the candidate is the baseline. */
  incumbent: readonly Measurement[];
  /** Every run of the candidate's code so far, oldest first: its first run, confirmations, re-measurements. */
  candidate: readonly Measurement[];
  noise: NoiseEstimate;
  budget: BudgetKind;
  /** Lines the diff adds minus lines it removes. */
  netAddedLines?: number;
  /** The change itself alters throughput (model size, batch, sequence length), so the guard does not apply. */
  throughputExplained?: boolean;
  /** Re-measurements this candidate had already (each added one candidate run and one incumbent run). */
  remeasured?: number;
}

/** A decision and its inputs: what results.tsv records beside the status. */
export interface Decision {
  verdict: Verdict;
  /** Incumbent mean − candidate mean over the compared runs, bpb: positive is better. */
  delta: number;
  /** What the diff's lines cost, bpb (negative, a credit, when it removes lines). */
  lineCost: number;
  /** delta − lineCost: what the rule judges. */
  gain: number;
  /** σ of one run, bpb (0 in greedy mode, which has none). */
  sigma: number;
  /** Degrees of freedom behind σ. */
  sigmaDf: number;
  /** The gain that keeps at this point, bpb: k standard errors, widened for a σ from few runs (0 in greedy mode). */
  threshold: number;
  /** Confirmations behind this decision. */
  confirmations: number;
  /** Re-measurements behind this decision. */
  remeasures: number;
  /** Runs compared on each side (those at comparable throughput). */
  incumbentRuns: number;
  candidateRuns: number;
  /** The candidate's latest run. */
  steps?: number;
  tokens?: number;
  /** Its throughput over the incumbent's typical throughput (1: the same speed). */
  throughputRatio?: number;
  reason: string;
}

/** The decision for one candidate. After `confirm` or `remeasure`, call it again with the new runs appended. */
export function decideKeep(c: Comparison, config: DecisionConfig = DEFAULT_DECISION_CONFIG): Decision {
  const base = baseDecision(c, config);
  if (c.candidate.length === 0) return { ...base, reason: 'no measurement of the candidate' };
  if (c.candidate.some((m) => !Number.isFinite(m.valBpb))) return { ...base, reason: 'a run of the candidate has no finite val_bpb' };
  if (c.incumbent.length === 0) return { ...base, verdict: 'keep', reason: 'no incumbent: the first result is the reference' };
  return config.mode === 'greedy' ? greedyDecision(c) : noiseDecision(c, config);
}

/** The original's rule exactly: keep iff strictly below the best. It trains once, so each side is one run. */
export function greedyDecision(c: Comparison): Decision {
  const best = mean(c.incumbent.map((m) => m.valBpb));
  const value = mean(c.candidate.map((m) => m.valBpb));
  const kept = value < best;
  return {
    ...baseDecision(c, GREEDY_DECISION_CONFIG), delta: best - value, gain: best - value, verdict: kept ? 'keep' : 'discard',
    reason: `greedy: ${fmt(value)} ${kept ? '<' : '>='} best ${fmt(best)}`,
  };
}

/** The net added lines' price, bpb: a diff that removes lines earns a credit. */
export function lineCost(netAddedLines: number | undefined, pricePerLine: number): number {
  return (netAddedLines ?? 0) * pricePerLine;
}

/** Standard error of the difference of two means of runs with σ each. */
export function standardError(sigma: number, incumbentRuns: number, candidateRuns: number): number {
  return sigma * Math.sqrt(1 / incumbentRuns + 1 / candidateRuns);
}

/** k widened for a σ estimated with `df` degrees of freedom (a σ that is only the floor is taken as given). */
export function effectiveK(k: number, df: number): number {
  return df > 0 ? widenForDf(k, df) : k;
}

/** Candidate runs that were confirmations: all but the first and the re-measurements. */
export function confirmationsOf(c: Pick<Comparison, 'candidate' | 'remeasured'>): number {
  return Math.max(0, c.candidate.length - 1 - (c.remeasured ?? 0));
}

function noiseDecision(c: Comparison, config: DecisionConfig): Decision {
  const guard = throughputGuard(c, config);
  if (!guard.suspect) return judge(c, config, guard.candidateRuns, guard.incumbentRuns, guard.ratio);
  // Judged as measured only to spare a re-measurement for results that are discarded anyway.
  const asMeasured = judge(c, config, allIndices(c.candidate), allIndices(c.incumbent), guard.ratio);
  const off = `throughput ${describeRatio(guard.ratio)} the incumbent's`;
  if (asMeasured.verdict === 'discard') return { ...asMeasured, reason: `${asMeasured.reason}; ${off}` };
  const remeasured = c.remeasured ?? 0;
  if (remeasured < config.remeasures) {
    return { ...asMeasured, verdict: 'remeasure', reason: `${off} with no change that explains it: train the candidate and the incumbent again, back to back` };
  }
  if (guard.candidateRuns.length === 0) {
    return { ...asMeasured, verdict: 'discard', reason: `${off} after ${remeasured} re-measurement(s): no comparable run, not kept` };
  }
  // Out of re-measurements: what is left is the runs at a comparable speed, with no further confirmation.
  const d = judge(c, { ...config, confirmations: 0 }, guard.candidateRuns, guard.incumbentRuns, guard.ratio);
  return { ...d, reason: `${d.reason}; latest run left out (${off})` };
}

export interface GuardResult {
  /** The candidate's latest run is off the incumbent's throughput and nothing explains it. */
  suspect: boolean;
  /** Indices of the runs at comparable throughput, each side. */
  candidateRuns: number[];
  incumbentRuns: number[];
  /** The latest candidate run's throughput over the incumbent's typical one. */
  ratio?: number;
}

/**
 * Under a time budget a faster machine trains more steps and lowers val_bpb by itself. Runs are
 * compared only at the incumbent's typical throughput (the median of its runs, robust to one
 * busy run); a candidate whose latest run is off it by more than the tolerance is suspect unless
 * its change explains the speed. Under a token or step budget speed changes nothing measured.
 */
export function throughputGuard(c: Comparison, config: DecisionConfig): GuardResult {
  const all = { candidateRuns: allIndices(c.candidate), incumbentRuns: allIndices(c.incumbent) };
  const known = c.incumbent.map(throughputOf).filter((t): t is number => t !== undefined);
  const ref = known.length ? median(known) : undefined;
  const latest = throughputOf(c.candidate[c.candidate.length - 1]);
  const ratio = latest !== undefined && ref ? latest / ref : undefined;
  if (c.budget !== 'time' || ref === undefined) return { suspect: false, ...all, ratio };
  const tol = config.throughputTolerance;
  const incumbentRuns = all.incumbentRuns.filter((i) => !offBy(throughputOf(c.incumbent[i]), ref, tol));
  if (c.throughputExplained) return { suspect: false, candidateRuns: all.candidateRuns, incumbentRuns, ratio };
  const candidateRuns = all.candidateRuns.filter((i) => !offBy(throughputOf(c.candidate[i]), ref, tol));
  return { suspect: offBy(latest, ref, tol), candidateRuns, incumbentRuns, ratio };
}

/**
 * The keep rule on the chosen runs. Above k·SE: keep. Between confirmFrom·SE and k·SE: confirm,
 * up to `confirmations` times; the mean over all runs then meets the same bar. Below: discard.
 * A diff with fewer lines only has to be no worse: a gain ≥ 0 (its credit included) confirmed once.
 */
function judge(c: Comparison, config: DecisionConfig, candidateRuns: number[], incumbentRuns: number[], ratio: number | undefined): Decision {
  const delta = mean(incumbentRuns.map((i) => c.incumbent[i].valBpb)) - mean(candidateRuns.map((i) => c.candidate[i].valBpb));
  const cost = lineCost(c.netAddedLines, config.pricePerLine);
  const gain = delta - cost;
  const se = standardError(c.noise.sigma, incumbentRuns.length, candidateRuns.length);
  const threshold = effectiveK(config.k, c.noise.df) * se;
  const confirmations = confirmationsOf(c);
  const d: Decision = {
    ...baseDecision(c, config), delta, lineCost: cost, gain, threshold, confirmations,
    incumbentRuns: incumbentRuns.length, candidateRuns: candidateRuns.length, throughputRatio: ratio,
  };
  const shown = `gain ${fmt(gain)}${cost ? ` (delta ${fmt(delta)}, lines ${fmt(-cost)})` : ''}`;
  const over = `over ${candidateRuns.length} run(s) vs ${incumbentRuns.length}`;
  const canConfirm = confirmations < config.confirmations;
  if (gain > threshold) return { ...d, verdict: 'keep', reason: `${shown} > ${fmt(threshold)} (k·SE) ${over}` };
  if ((c.netAddedLines ?? 0) < 0 && gain >= 0) {
    if (confirmations > 0 || config.confirmations === 0) return { ...d, verdict: 'keep', reason: `fewer lines and no worse: ${shown} >= 0 ${over}` };
    return { ...d, verdict: 'confirm', reason: `fewer lines, ${shown} >= 0: confirm it is no worse` };
  }
  if (canConfirm && gain > config.confirmFrom * se) {
    return { ...d, verdict: 'confirm', reason: `${shown} in (${fmt(config.confirmFrom * se)}, ${fmt(threshold)}]: confirm with another seed` };
  }
  if (canConfirm) return { ...d, verdict: 'discard', reason: `${shown} <= ${fmt(config.confirmFrom * se)}: too small to confirm` };
  return { ...d, verdict: 'discard', reason: `${shown} <= ${fmt(threshold)} (k·SE) ${over}` };
}

function baseDecision(c: Comparison, config: DecisionConfig): Decision {
  const last = c.candidate[c.candidate.length - 1];
  const greedy = config.mode === 'greedy';
  return {
    verdict: 'discard', delta: 0, lineCost: 0, gain: 0, sigma: greedy ? 0 : c.noise.sigma, sigmaDf: greedy ? 0 : c.noise.df, threshold: 0,
    confirmations: confirmationsOf(c), remeasures: c.remeasured ?? 0, incumbentRuns: c.incumbent.length, candidateRuns: c.candidate.length,
    steps: last?.steps, tokens: last?.tokens, reason: '',
  };
}

// ---------------------------------------------------------------------------------------------
// What the workflow does next

export type FollowUp =
  | { kind: 'none' }
  /** One more run of the candidate and one of the incumbent, each with a new seed; then decide again. */
  | { kind: 'pair'; backToBack: boolean; remeasure: boolean }
  /** The kept commit is the new incumbent: train it `runs` times with new seeds; those runs are its reference. */
  | { kind: 'measureNewIncumbent'; runs: number };

/**
 * The runs a verdict asks for. A confirmation also re-runs the incumbent: its reference and σ
 * improve with every one, and a lucky low incumbent cannot stay unchallenged. A re-measurement
 * runs both back to back so that they see the same machine. A keep measures the new best afresh,
 * because the runs that got it kept were chosen for being low.
 */
export function followUp(verdict: Verdict, config: DecisionConfig = DEFAULT_DECISION_CONFIG): FollowUp {
  if (config.mode === 'greedy') return { kind: 'none' };
  if (verdict === 'confirm') return { kind: 'pair', backToBack: false, remeasure: false };
  if (verdict === 'remeasure') return { kind: 'pair', backToBack: true, remeasure: true };
  if (verdict === 'keep' && config.repeats > 0) return { kind: 'measureNewIncumbent', runs: config.repeats };
  return { kind: 'none' };
}

/**
 * A default for `throughputExplained`: a change of the model's size or depth (from the summary's
 * num_params_M and depth) explains a change of speed. Batch or sequence changes the caller knows.
 */
export function modelShapeChanged(a: { numParamsM?: number; depth?: number }, b: { numParamsM?: number; depth?: number }): boolean {
  const params = a.numParamsM !== undefined && b.numParamsM !== undefined && Math.abs(a.numParamsM - b.numParamsM) > 0.01 * Math.max(a.numParamsM, b.numParamsM);
  const depth = a.depth !== undefined && b.depth !== undefined && a.depth !== b.depth;
  return params || depth;
}

function allIndices(xs: readonly unknown[]): number[] {
  return xs.map((_, i) => i);
}

function fmt(x: number): string {
  return x.toFixed(6);
}

function describeRatio(r: number | undefined): string {
  if (r === undefined) return 'unlike';
  return `${Math.abs((r - 1) * 100).toFixed(0)}% ${r >= 1 ? 'above' : 'below'}`;
}
