/** The band of ±k·σ around the best-so-far line on the report's chart. Pure. */
import { BAND_K, comparedClassOf } from './noise.js';
import { bestSoFarSteps, type ReportRow } from './summarize.js';

/** One stretch of the band: from a new best to the next (or the end), centred on that best. */
export interface BandSegment {
  fromIndex: number;
  /** The next new best's index, or undefined for the last stretch (it runs to the chart's edge). */
  toIndex?: number;
  best: number;
  /** k·σ, bpb. */
  halfWidth: number;
  /** The machine class the best was kept on: its runs, and the band, are that class's. */
  machineClass?: string;
}

/** The band around the best-so-far line; stretches whose kept row has no known σ are left out. */
export function noiseBand(rows: ReportRow[]): BandSegment[] {
  const steps = bestSoFarSteps(rows);
  return steps.flatMap((step, i) => {
    const sigma = rows[step.index].noiseSigma;
    if (sigma === undefined) return [];
    const machineClass = comparedClassOf(rows[step.index].reason);
    return [{ fromIndex: step.index, toIndex: steps[i + 1]?.index, best: step.valBpb, halfWidth: BAND_K * sigma, ...(machineClass ? { machineClass } : {}) }];
  });
}
