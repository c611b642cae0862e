/**
 * The figures the report shows, computed once from the rows. "The best" is the run's own: the
 * latest keep, its branch's tip (../core/results.ts bestOf), not the lowest val_bpb kept. Pure.
 */
import { formatBpb, formatDelta } from './html.js';
import { isWithinNoise, sigmaPerRow } from './noise.js';
import { bestOf, wasTrained } from '../core/results.js';
import type { ResultRow } from '../core/resultsTsv.js';

/** A row with its place in the file and its context. */
export interface ReportRow extends ResultRow {
  /** Its row in results.tsv, from 0 (usually the baseline); not the experiment number, which a resumed tag or a missing row shifts. */
  index: number;
  /** Did the trainer produce a val_bpb? (keep and discard rows do; crash and invalid rows do not.) */
  measured: boolean;
  /** val_bpb of the best before this row: the latest keep before it. */
  bestBefore?: number;
  /** valBpb - bestBefore, for measured rows that have a best before them (not results.tsv's delta, which is the other way round). */
  vsBest?: number;
  /** σ of one run the report judges this row with (see sigmaPerRow); undefined where none is known. */
  noiseSigma?: number;
  /** A keep whose gain is under k·σ (see isWithinNoise). */
  withinNoise: boolean;
}

export interface ReportSummary {
  experiments: number;
  kept: number;
  discarded: number;
  crashed: number;
  /** Proposals that never trained. */
  invalid: number;
  /** The first measured row. */
  baseline?: ReportRow;
  /** The latest kept row: the branch's tip. */
  best?: ReportRow;
  /** baseline.valBpb - best.valBpb (positive = better). */
  improvement?: number;
  /** Keeps within the noise. */
  withinNoise: number;
  /** The last row's σ, as the report judges it. */
  latestSigma?: number;
}

/** "12 experiments · 5 kept · 4 discarded · 2 crashed · 1 invalid" */
export function countsLine(summary: ReportSummary): string {
  const invalid = summary.invalid > 0 ? ` · ${summary.invalid} invalid` : '';
  return `${summary.experiments} experiments · ${summary.kept} kept · ${summary.discarded} discarded · ${summary.crashed} crashed${invalid}`;
}

/** "0.997900 → 0.983800 (−0.014100, −1.41%)", or undefined before anything was kept. */
export function progressLine(summary: ReportSummary): string | undefined {
  if (!summary.baseline || !summary.best || summary.improvement === undefined) return undefined;
  const percent = (summary.improvement / summary.baseline.valBpb) * 100;
  return `${formatBpb(summary.baseline.valBpb)} → ${formatBpb(summary.best.valBpb)} (${formatDelta(-summary.improvement)}, ${formatDelta(-percent, 2)}%)`;
}

/** `assumedSigma`: σ of one run for rows whose file has none (a greedy run's, the original's). */
export function annotateRows(rows: ResultRow[], assumedSigma?: number): ReportRow[] {
  const sigmas = sigmaPerRow(rows, assumedSigma);
  let best: number | undefined;
  return rows.map((row, index) => {
    const measured = wasTrained(row);
    const annotated: ReportRow = { ...row, index, measured, bestBefore: best, noiseSigma: sigmas[index], withinNoise: false };
    if (measured && best !== undefined) annotated.vsBest = row.valBpb - best;
    annotated.withinNoise = isWithinNoise(annotated);
    if (row.status === 'keep') best = row.valBpb;
    return annotated;
  });
}

export function summarize(rows: ReportRow[]): ReportSummary {
  const kept = rows.filter((row) => row.status === 'keep');
  const baseline = rows.find((row) => row.measured);
  const best = bestOf(rows);
  return {
    experiments: rows.length,
    kept: kept.length,
    discarded: rows.filter((row) => row.status === 'discard').length,
    crashed: rows.filter((row) => row.status === 'crash').length,
    invalid: rows.filter((row) => row.status === 'invalid').length,
    baseline,
    best,
    improvement: baseline && best ? baseline.valBpb - best.valBpb : undefined,
    withinNoise: kept.filter((row) => row.withinNoise).length,
    latestSigma: rows.at(-1)?.noiseSigma,
  };
}

/** The best-so-far step line: one point per keep, each a new best (a change with fewer lines may step up a little). */
export function bestSoFarSteps(rows: ReportRow[]): { index: number; valBpb: number }[] {
  return rows.filter((row) => row.status === 'keep').map((row) => ({ index: row.index, valBpb: row.valBpb }));
}
