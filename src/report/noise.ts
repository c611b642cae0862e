/**
 * The noise the keep decisions saw, as the report shows it: the σ behind each row, and the keeps
 * whose gain was within ±k·σ of the best before them (the band itself: band.ts). Pure.
 */
import { DEFAULT_K } from '../core/decisionConfig.js';
import type { ResultRow } from '../core/resultsTsv.js';

/** A row as the noise sees it: results.tsv's fields, the best before it and the σ it is judged with (summarize.ts annotates them). */
type JudgedRow = Pick<ResultRow, 'status' | 'delta' | 'sigma' | 'valBpb' | 'extraRuns'> & { bestBefore?: number; noiseSigma?: number };

/**
 * The machine class a row was compared on, from its reason ("… vs the incumbent's 3 on NVIDIA H100
 * 80GB HBM3"): the keep rule names it whenever the runs had one. Undefined for rows with none.
 */
export function comparedClassOf(reason: string | undefined): string | undefined {
  return reason ? / vs the incumbent's \d+ on (.+?)(?=: |; |, |$)/.exec(reason)?.[1] : undefined;
}

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
function gainOf(row: Omit<JudgedRow, 'status' | 'extraRuns' | 'noiseSigma'>): number | undefined {
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
export function isWithinNoise(row: JudgedRow): boolean {
  // The first keep is the reference, whatever delta it records (0 where the baseline crashed).
  if (row.status !== 'keep' || row.bestBefore === undefined || (row.extraRuns ?? 0) > 0) return false;
  const gain = gainOf(row);
  return gain !== undefined && row.noiseSigma !== undefined && gain < BAND_K * row.noiseSigma;
}
