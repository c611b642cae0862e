/**
 * The noise the keep decisions saw, as the report shows it: the σ behind each row, the band of
 * ±k·σ around the running best, and the keeps whose gain was within it. Pure.
 */
import { DEFAULT_K } from '../core/decisionConfig.js';
import type { ResultRow } from '../core/resultsTsv.js';
import { bestSoFarSteps, type ReportRow } from './summarize.js';

/** The band's half-width in σ: the keep rule's default k. A neutral single run lands outside it about 5% of the time. */
export const BAND_K = DEFAULT_K;

/**
 * σ of one run for each row: its own where its decision had one, else the latest before it, else
 * `assumed` (given by the person for files with none: greedy runs, the original's). A σ of 0 is the
 * greedy rule's "no estimate", not a measurement.
 */
export function sigmaPerRow(rows: Pick<ResultRow, 'sigma'>[], assumed?: number): (number | undefined)[] {
  let latest: number | undefined;
  return rows.map((row) => {
    if (row.sigma !== undefined && row.sigma > 0) latest = row.sigma;
    return latest ?? assumed;
  });
}

/**
 * What the keep compared, bpb, positive = better: results.tsv's delta where the file records
 * decisions, else (the original's files) the best before it minus this val_bpb. Undefined where
 * there was nothing to compare with.
 */
export function gainOf(row: Pick<ReportRow, 'delta' | 'sigma' | 'valBpb' | 'bestBefore'>): number | undefined {
  if (row.delta !== undefined) return row.delta;
  // A row with a σ but no delta was decided with no incumbent (the reference run).
  if (row.sigma !== undefined || row.bestBefore === undefined) return undefined;
  return row.bestBefore - row.valBpb;
}

/**
 * A keep that rested on one run whose gain is under k·σ of one run: only the greedy rule keeps
 * those. A confirmed keep is judged on a mean over several runs, whose noise is smaller than one
 * run's (the keep rule's k·SE bar, in its reason), so the band does not judge it.
 */
export function isWithinNoise(
  row: Pick<ReportRow, 'status' | 'delta' | 'sigma' | 'valBpb' | 'bestBefore' | 'noiseSigma' | 'confirmations'>,
): boolean {
  // The first keep is the reference, whatever delta it records (0 where the baseline crashed).
  if (row.status !== 'keep' || row.bestBefore === undefined || (row.confirmations ?? 0) > 0) return false;
  const gain = gainOf(row);
  return gain !== undefined && row.noiseSigma !== undefined && gain < BAND_K * row.noiseSigma;
}

/** One stretch of the band: from a new best to the next (or the end), centred on that best. */
export interface BandSegment {
  fromIndex: number;
  /** The next new best's index, or undefined for the last stretch (it runs to the chart's edge). */
  toIndex?: number;
  best: number;
  /** k·σ, bpb. */
  halfWidth: number;
}

/** The band around the best-so-far line; stretches whose kept row has no known σ are left out. */
export function noiseBand(rows: ReportRow[]): BandSegment[] {
  const steps = bestSoFarSteps(rows);
  return steps.flatMap((step, i) => {
    const sigma = rows[step.index].noiseSigma;
    if (sigma === undefined) return [];
    return [{ fromIndex: step.index, toIndex: steps[i + 1]?.index, best: step.valBpb, halfWidth: BAND_K * sigma }];
  });
}
