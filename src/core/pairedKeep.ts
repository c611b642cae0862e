/**
 * Paired comparisons (common random numbers): with `decision.paired`, the j-th run of every code
 * uses the same seed (pairedSeed), so a candidate's run and the incumbent's run of that seed share
 * the initialisation and the data order. Their difference then carries only the noise of the
 * change itself, not the seed's: on the CPU preset a new seed moves val_bpb by 0.015–0.03 while
 * the same seed moves a one-constant change's effect by about 0.002. σ of the differences is
 * estimated from the candidate's own pairs (a change that interacts with the seed is not judged by
 * another change's spread), so a keep needs two pairs at least: the first run, one confirmation.
 * Pure.
 */
import type { Measurement } from './noiseEstimate.js';
import { mean, widenForDf } from './noiseEstimate.js';

/** The seed of a code's j-th run (0: its first), the same for every code of the run. */
export function pairedSeed(j: number): number {
  return j + 1;
}

/** The seed a code's next run takes: the first of the sequence it has no run of. */
export function nextPairedSeed(runs: readonly Measurement[]): number {
  const seen = new Set(runs.map((m) => m.seed));
  let j = 0;
  while (seen.has(pairedSeed(j))) j++;
  return pairedSeed(j);
}

/** One seed run by both sides: the incumbent's value minus the candidate's (positive is better). */
export interface Pair {
  seed: number;
  difference: number;
}

/** Candidate runs matched with the incumbent's runs of the same seed (several of one seed: their mean). */
export function pairsOf(incumbent: readonly Measurement[], candidate: readonly Measurement[]): Pair[] {
  const bySeed = (runs: readonly Measurement[]) => {
    const m = new Map<number, number[]>();
    for (const r of runs) if (r.seed !== undefined && Number.isFinite(r.valBpb)) m.set(r.seed, [...(m.get(r.seed) ?? []), r.valBpb]);
    return m;
  };
  const inc = bySeed(incumbent);
  return [...bySeed(candidate)].filter(([seed]) => inc.has(seed)).sort(([a], [b]) => a - b)
    .map(([seed, values]) => ({ seed, difference: mean(inc.get(seed)!) - mean(values) }));
}

export interface PairedVerdict {
  verdict: 'keep' | 'discard' | 'confirm';
  /** Mean difference over the pairs, bpb (positive: the candidate is better). */
  delta: number;
  /** σ of one pair's difference (0 with one pair: unknown). */
  sigma: number;
  /** The gain that keeps, bpb (Infinity with one pair). */
  threshold: number;
  reason: string;
}

/**
 * The paired rule on `pairs`: keep when the mean gain (delta − lineCost) exceeds k standard errors
 * of the mean difference, k widened for σ from pairs − 1 degrees of freedom; with one pair, σ is
 * unknown, so a positive gain earns a confirmation (one run of the candidate: the incumbent has
 * that seed already) and anything else is discarded.
 */
export function pairedVerdict(pairs: readonly Pair[], lineCost: number, k: number, canConfirm: boolean, sigmaFloor: number): PairedVerdict {
  const ds = pairs.map((p) => p.difference);
  const delta = mean(ds);
  const gain = delta - lineCost;
  const shown = `paired gain ${fmt(gain)} over ${pairs.length} seed(s) (${pairs.map((p) => p.seed).join(', ')})`;
  if (pairs.length < 2) {
    if (canConfirm && gain > 0) return { verdict: 'confirm', delta, sigma: 0, threshold: Infinity, reason: `${shown} > 0: confirm on the next seed` };
    return { verdict: 'discard', delta, sigma: 0, threshold: Infinity, reason: `${shown} <= 0${canConfirm ? '' : ', no confirmation left'}` };
  }
  const sd = Math.max(Math.sqrt(ds.reduce((s, d) => s + (d - delta) ** 2, 0) / (ds.length - 1)), sigmaFloor);
  const threshold = widenForDf(k, ds.length - 1) * sd / Math.sqrt(ds.length);
  const shownSigma = `${shown}, σ of a pair ${fmt(sd)}`;
  if (gain > threshold) return { verdict: 'keep', delta, sigma: sd, threshold, reason: `${shownSigma}: > ${fmt(threshold)} (k·SE)` };
  if (canConfirm && gain > 0) return { verdict: 'confirm', delta, sigma: sd, threshold, reason: `${shownSigma}: in (0, ${fmt(threshold)}]: confirm on the next seed` };
  return { verdict: 'discard', delta, sigma: sd, threshold, reason: `${shownSigma}: <= ${fmt(threshold)} (k·SE)` };
}

function fmt(x: number): string {
  return x.toFixed(6);
}
