/**
 * The keep rule: when a gain is real, when a result must be trained again before it can be kept
 * (how noisy one run is: noiseEstimate.ts; the settings: decisionConfig.ts). Pure functions, safe in workflow code (no
 * I/O, no clock, no randomness); the workflow schedules the runs they ask for (`followUp`).
 * The rules, their defaults and the benchmark behind them: docs/decisions.md.
 */
import { DEFAULT_DECISION_CONFIG, GREEDY_DECISION_CONFIG, type BudgetKind, type DecisionConfig } from './decisionConfig.js';
import { freshRunsOf, keepK, type KeptRuns } from './confirmedKeep.js';
import { onWords } from './machineClass.js';
import { pairedVerdict, pairsOf } from './pairedKeep.js';
import { mean, median, offBy, throughputOf, widenForDf, type Measurement, type NoiseEstimate } from './noiseEstimate.js';

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
  /**
   * The candidate's machine class, which the incumbent's runs given were all made on (the caller
   * chose them: keepDecision.ts). Only named in the reason; absent for runs with no class.
   */
  machineClass?: string;
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
  /** The machine class the runs compared were made on (absent: runs with none). */
  machineClass?: string;
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
function greedyDecision(c: Comparison): Decision {
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
function standardError(sigma: number, incumbentRuns: number, candidateRuns: number): number {
  return sigma * Math.sqrt(1 / incumbentRuns + 1 / candidateRuns);
}

/** k widened for a σ estimated with `df` degrees of freedom (a σ that is only the floor is taken as given). */
export function effectiveK(k: number, df: number): number {
  return df > 0 ? widenForDf(k, df) : k;
}

/** Candidate runs that were confirmations: all but the first and the re-measurements. */
function confirmationsOf(c: Pick<Comparison, 'candidate' | 'remeasured'>): number {
  return Math.max(0, c.candidate.length - 1 - (c.remeasured ?? 0));
}

function noiseDecision(c: Comparison, config: DecisionConfig): Decision {
  const guard = throughputGuard(c, config);
  if (!guard.suspect) return applyRule(c, config, guard.candidateRuns, guard.incumbentRuns, guard.ratio);
  // Judged as measured only to spare a re-measurement for results that are discarded anyway.
  const asMeasured = applyRule(c, config, allIndices(c.candidate), allIndices(c.incumbent), guard.ratio);
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
  const d = applyRule(c, { ...config, confirmations: 0 }, guard.candidateRuns, guard.incumbentRuns, guard.ratio);
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
 * its change explains the speed. Under a token budget speed changes nothing measured.
 */
function throughputGuard(c: Comparison, config: DecisionConfig): GuardResult {
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
 * up to `confirmations` times; the mean over all runs then meets the bar kConfirmed·SE
 * (confirmedKeep.ts). Below: discard.
 * A diff with fewer lines only has to be no worse: a gain ≥ 0 (its credit included) confirmed once.
 */
function applyRule(c: Comparison, config: DecisionConfig, candidateRuns: number[], incumbentRuns: number[], ratio: number | undefined): Decision {
  const delta = mean(incumbentRuns.map((i) => c.incumbent[i].valBpb)) - mean(candidateRuns.map((i) => c.candidate[i].valBpb));
  const cost = lineCost(c.netAddedLines, config.pricePerLine);
  const gain = delta - cost;
  const se = standardError(c.noise.sigma, incumbentRuns.length, candidateRuns.length);
  const confirmations = confirmationsOf(c);
  const threshold = effectiveK(keepK(config, confirmations), c.noise.df) * se;
  const d: Decision = {
    ...baseDecision(c, config), delta, lineCost: cost, gain, threshold, confirmations,
    incumbentRuns: incumbentRuns.length, candidateRuns: candidateRuns.length, throughputRatio: ratio,
  };
  const shown = `gain ${fmt(gain)}${cost ? ` (delta ${fmt(delta)}, lines ${fmt(-cost)})` : ''}`;
  // With a class, every reason names what it was compared with; runs with none read as they always did.
  const classed = c.machineClass !== undefined;
  const vs = classed ? `vs the incumbent's ${incumbentRuns.length}${onWords(c.machineClass)}` : `vs ${incumbentRuns.length}`;
  const over = `over ${candidateRuns.length} run(s) ${vs}`;
  const compared = classed ? `, ${over}` : '';
  const canConfirm = confirmations < config.confirmations;
  if (config.paired) {
    // Runs of the same seed on both sides: judged on their differences (pairedKeep.ts); runs with no seed, as before.
    const pairs = pairsOf(incumbentRuns.map((i) => c.incumbent[i]), candidateRuns.map((i) => c.candidate[i]));
    if (pairs.length > 0) {
      const p = pairedVerdict(pairs, cost, keepK(config, confirmations), canConfirm, config.sigmaFloor);
      return { ...d, verdict: p.verdict, delta: p.delta, gain: p.delta - cost, threshold: p.threshold, reason: `${p.reason}${compared}` };
    }
  }
  if (gain > threshold) return { ...d, verdict: 'keep', reason: `${shown} > ${fmt(threshold)} (k·SE) ${over}` };
  if ((c.netAddedLines ?? 0) < 0 && gain >= 0) {
    if (confirmations > 0 || config.confirmations === 0) return { ...d, verdict: 'keep', reason: `fewer lines and no worse: ${shown} >= 0 ${over}` };
    return { ...d, verdict: 'confirm', reason: `fewer lines, ${shown} >= 0${compared}: confirm it is no worse` };
  }
  if (canConfirm && gain > config.confirmFrom * se) {
    return { ...d, verdict: 'confirm', reason: `${shown} in (${fmt(config.confirmFrom * se)}, ${fmt(threshold)}]${compared}: confirm with another seed` };
  }
  if (canConfirm) return { ...d, verdict: 'discard', reason: `${shown} <= ${fmt(config.confirmFrom * se)}${compared}: too small to confirm` };
  return { ...d, verdict: 'discard', reason: `${shown} <= ${fmt(threshold)} (k·SE) ${over}` };
}

function baseDecision(c: Comparison, config: DecisionConfig): Decision {
  const last = c.candidate[c.candidate.length - 1];
  const greedy = config.mode === 'greedy';
  return {
    verdict: 'discard', delta: 0, lineCost: 0, gain: 0, sigma: greedy ? 0 : c.noise.sigma, sigmaDf: greedy ? 0 : c.noise.df, threshold: 0,
    confirmations: confirmationsOf(c), remeasures: c.remeasured ?? 0, incumbentRuns: c.incumbent.length, candidateRuns: c.candidate.length,
    steps: last?.steps, tokens: last?.tokens, reason: '', ...(c.machineClass !== undefined ? { machineClass: c.machineClass } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// ---------------------------------------------------------------------------------------------
// What the workflow does next

export type FollowUp =
  | { kind: 'none' }
  /** One more run of the candidate and one of the incumbent, each with a new seed; then decide again. A re-measurement runs them back to back. */
  | { kind: 'pair'; remeasure: boolean }
  /** The kept commit is the new incumbent: train it `runs` times with new seeds; those runs are its reference. */
  | { kind: 'measureNewIncumbent'; runs: number };

/**
 * The runs a verdict asks for. A confirmation also re-runs the incumbent: its reference and σ
 * improve with every one, and a lucky low incumbent cannot stay unchallenged. A re-measurement
 * runs both back to back so that they see the same machine. A keep measures the new best afresh
 * `freshRuns` times, if any: the runs that got it kept were chosen for being low. `kept`: what the
 * keep decision knew of them (confirmedKeep.ts).
 */
export function followUp(verdict: Verdict, config: DecisionConfig = DEFAULT_DECISION_CONFIG, kept?: KeptRuns): FollowUp {
  if (config.mode === 'greedy') return { kind: 'none' };
  if (verdict === 'confirm') return { kind: 'pair', remeasure: false };
  if (verdict === 'remeasure') return { kind: 'pair', remeasure: true };
  const fresh = freshRunsOf(config, kept);
  if (verdict === 'keep' && fresh > 0) return { kind: 'measureNewIncumbent', runs: fresh };
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
