/** Comparisons within one machine class: a lane's class, σ per class, the incumbent as measured on the candidate's class. */
import { parseRunInput, type RunConfig } from '../../src/core/runInput.js';
import { byClass, machineClassOf, onClass } from '../../src/core/machineClass.js';
import { decideOnLane, incumbentRunsToMeasure, judge, type CandidateRuns, type Measured, type Reference } from '../../src/core/keepDecision.js';
import { decideKeep } from '../../src/core/keepRule.js';
import { estimateNoise, NO_NOISE_TOTALS, type Measurement } from '../../src/core/noiseEstimate.js';
import { parseSummary } from '../../src/core/trainerSummary.js';
import { lanesOf } from '../../src/activities/lanes.js';
import { comparedClassOf } from '../../src/report/noise.js';
import { noiseBand } from '../../src/report/band.js';
import { annotateRows } from '../../src/report/summarize.js';
import type { ResultRow } from '../../src/core/resultsTsv.js';

const config = (extra: object = {}): RunConfig => {
  const r = parseRunInput({ tag: 't', ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.config;
};
const NOISE = config();
const GREEDY = config({ decision: 'greedy' });
const H100 = 'NVIDIA H100 80GB HBM3';
const H200 = 'NVIDIA H200';
const on = (machineClass: string | undefined, ...values: number[]): Measurement[] =>
  values.map((valBpb) => ({ valBpb, ...(machineClass !== undefined ? { machineClass } : {}) }));
const reference = (runs: Measurement[]): Reference => ({ incumbent: { runs }, noise: NO_NOISE_TOTALS });
const candidate = (runs: Measurement[], incumbentReruns: Measurement[] = []): CandidateRuns => ({ candidate: runs, incumbentReruns, remeasured: 0 });
// The incumbent's runs on each class: 1.000 ± 0.001 on the H100, the H200 lower by 0.017 (faster: more steps in the budget).
const ON_H100 = on(H100, 0.999, 1.0, 1.001);
const ON_H200 = on(H200, 0.982, 0.983, 0.984);

describe("a lane's class", () => {
  test("the worker's label wins over the device the trainer names; blank is none", () => {
    expect(machineClassOf('throttled H200', H200)).toBe('throttled H200');
    expect(machineClassOf(undefined, ` ${H100} `)).toBe(H100);
    expect(machineClassOf('  ', undefined)).toBeUndefined();
  });
  test("the summary's device_name is read with its spaces, beside the numbers", () => {
    const r = parseSummary(`---\nval_bpb: 0.99\ndevice_name:      ${H100}\nnum_steps: 3\n`);
    expect(r).toEqual({ ok: true, summary: { val_bpb: 0.99, num_steps: 3 }, deviceName: H100 });
    expect(parseSummary('---\nval_bpb: 0.99\n')).toEqual({ ok: true, summary: { val_bpb: 0.99 } });
  });
  test("the worker's label is every lane's class", () => {
    expect(lanesOf('q', { host: 'h', count: 2, machineClass: 'slow' }).map((l) => l.machineClass)).toEqual(['slow', 'slow']);
    expect(lanesOf('q', { host: 'h', gpus: ['0'] })[0]).not.toHaveProperty('machineClass');
  });
  test('runs split by class, no class being one class of its own', () => {
    const runs = [...on(H100, 1), ...on(undefined, 2), ...on(H100, 3)];
    expect(byClass(runs).map((g) => g.map((m) => m.valBpb))).toEqual([[1, 3], [2]]);
    expect(onClass(runs, undefined).map((m) => m.valBpb)).toEqual([2]);
  });
});

describe('σ pools groups per class', () => {
  test("a class's shift drops out: σ is the seed's, not the machines'", () => {
    const pooled = estimateNoise([[...ON_H100, ...ON_H200]], 'time');
    expect(pooled.sigma).toBeCloseTo(0.001, 6);
    expect(pooled.df).toBe(4);
  });
  test('runs with no class pool exactly as before classes', () => {
    const values = [0.999, 1.0, 1.002];
    expect(estimateNoise([on(undefined, ...values)], 'time')).toEqual(estimateNoise([values.map((valBpb) => ({ valBpb }))], 'time'));
  });
});

describe('the incumbent as measured on the candidate\'s class', () => {
  test('the first time the incumbent meets a class it is measured there, repeats times; greedy never', () => {
    expect(incumbentRunsToMeasure(NOISE, reference(ON_H100), H200)).toBe(3);
    expect(incumbentRunsToMeasure(NOISE, reference([...ON_H100, ...ON_H200]), H200)).toBe(0);
    expect(incumbentRunsToMeasure(NOISE, reference(on(undefined, 1, 1, 1)), undefined)).toBe(0);
    expect(incumbentRunsToMeasure(NOISE, reference([]), H200)).toBe(0); // the baseline
    expect(incumbentRunsToMeasure(GREEDY, reference(ON_H100), H200)).toBe(0);
  });

  // σ = 0.001 with 4 df (each class's group adds 2); 3 incumbent runs on the H200 vs 1 candidate run: SE = σ·√(4/3).
  const decide = (value: number) => decideOnLane(NOISE, reference(ON_H100), candidate(on(H200, value), ON_H200), false);
  test('a run on the faster class is no gain against the incumbent there, however far below the other class', () => {
    const d = decide(0.983);
    expect(d).toMatchObject({ verdict: 'discard', incumbentRuns: 3, machineClass: H200 });
    expect(d.delta).toBeCloseTo(0, 9);
    expect(d.reason).toContain(`vs the incumbent's 3 on ${H200}`);
  });
  test('class-blind, the same run would be kept for its lane alone', () => {
    const blind = decideKeep({ incumbent: [...ON_H100], candidate: [{ valBpb: 0.983 }], noise: estimateNoise([ON_H100], 'time'), budget: 'time' });
    expect(blind.verdict).toBe('keep');
  });
  test('each verdict boundary is measured on the class', () => {
    const d = decide(0.983);
    const threshold = decide(0.9).threshold; // the same bar whatever the value
    expect(decide(0.983 - threshold - 1e-6).verdict).toBe('keep');
    expect(decide(0.983 - threshold + 1e-6).verdict).toBe('confirm');
    expect(decide(0.983 - 0.5 * d.sigma * Math.sqrt(4 / 3) - 1e-6).verdict).toBe('confirm');
    expect(decide(0.983 - 0.5 * d.sigma * Math.sqrt(4 / 3) + 1e-6).verdict).toBe('discard');
  });
  test('a run on the class the incumbent was measured on meets those runs only', () => {
    const d = decideOnLane(NOISE, reference([...ON_H100, ...ON_H200]), candidate(on(H100, 0.99)), false);
    expect(d).toMatchObject({ verdict: 'keep', incumbentRuns: 3 });
    expect(d.delta).toBeCloseTo(0.01, 9);
  });
  test('no incumbent run on the class (they crashed): not kept, and it says why', () => {
    const d = decideOnLane(NOISE, reference(ON_H100), candidate(on(H200, 0.9)), false);
    expect(d).toMatchObject({ verdict: 'discard', incumbentRuns: 0 });
    expect(d.reason).toBe(`the incumbent has no run on ${H200} to compare with: not kept`);
  });
  test('runs with no class decide exactly as the class-blind rule', () => {
    const inc = on(undefined, 0.999, 1.0, 1.001);
    for (const v of [0.99, 0.9985, 1.0]) {
      const d = decideOnLane(NOISE, reference(inc), candidate(on(undefined, v)), false);
      const blind = decideKeep({ incumbent: inc, candidate: on(undefined, v), noise: estimateNoise([inc], 'time'), budget: 'time', throughputExplained: false, remeasured: 0 }, NOISE.decision);
      expect(d).toEqual(blind);
      expect(d).not.toHaveProperty('machineClass');
    }
  });
  test('greedy compares across classes, as the original did', () => {
    expect(decideOnLane(GREEDY, reference(on(H100, 1.0)), candidate(on(H200, 0.99)), false).verdict).toBe('keep');
  });
});

describe('judged against a best that moved since', () => {
  const startedFrom = { experiment: 1, commit: 'a', commitFull: 'a', valBpb: 1.0 };
  const best = { experiment: 2, commit: 'b', commitFull: 'b', valBpb: 0.98 };
  const measured = (runs: Measurement[]): Measured => {
    const c = candidate(runs);
    return { ...c, fresh: [], decision: decideOnLane(NOISE, reference(ON_H100), { ...c, incumbentReruns: ON_H200 }, false) };
  };
  test('the best since has runs on the class: compared with those', () => {
    const state = { ...reference(on(H200, 0.97, 0.971, 0.972)), best };
    const j = judge(NOISE, state, startedFrom, { kind: 'trained', valBpb: 0.95 }, measured(on(H200, 0.95)));
    expect(j.status).toBe('keep');
    expect(j.reason).toContain(`vs the incumbent's 3 on ${H200}`);
  });
  test('the best since has none on the class: not kept, and the reason says so', () => {
    const state = { ...reference(on(H100, 0.98, 0.981, 0.979)), best };
    const j = judge(NOISE, state, startedFrom, { kind: 'trained', valBpb: 0.95 }, measured(on(H200, 0.95)));
    expect(j.status).toBe('discard');
    expect(j.reason).toContain(`the best since has no run on ${H200} to compare with`);
  });
});

describe('the report names the class', () => {
  test("a row's class is read from its reason; rows with none have none", () => {
    expect(comparedClassOf(`gain 0.002 > 0.001 (k·SE) over 1 run(s) vs the incumbent's 3 on ${H100}`)).toBe(H100);
    expect(comparedClassOf(`gain 0.0001 <= 0.0005, over 1 run(s) vs the incumbent's 3 on ${H200}: too small to confirm`)).toBe(H200);
    expect(comparedClassOf('gain 0.002 > 0.001 (k·SE) over 1 run(s) vs 3')).toBeUndefined();
  });
  test("the noise band's stretch carries the class its best was kept on", () => {
    const row = (valBpb: number, reason: string): ResultRow => ({ commit: 'c', valBpb, memoryGb: 0, status: 'keep', description: 'd', sigma: 0.001, reason });
    const band = noiseBand(annotateRows([row(1, 'no incumbent: the first result is the reference'), row(0.99, `gain 0.01 > 0.003 (k·SE) over 1 run(s) vs the incumbent's 3 on ${H200}`)]));
    expect(band.map((b) => b.machineClass)).toEqual([undefined, H200]);
  });
});
