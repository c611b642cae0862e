import { decideKeep } from '../../src/core/keepRule.js';
import { DEFAULT_DECISION_CONFIG } from '../../src/core/decisionConfig.js';
import { nextPairedSeed, pairedVerdict, pairsOf } from '../../src/core/pairedKeep.js';
import type { Measurement } from '../../src/core/noiseEstimate.js';

const run = (valBpb: number, seed?: number): Measurement => ({ valBpb, ...(seed !== undefined ? { seed } : {}) });
// The CPU preset's baseline on seeds 1-3 and a warmdown change on seeds 1-2, as measured: a new seed moves a run by
// up to 0.05, the change moves every seed by about 0.009.
const baseline = [run(2.383995, 1), run(2.431411, 2), run(2.382511, 3)];
const warmdown = [run(2.376326, 1), run(2.420637, 2)];
const noise = { sigma: 0.0278, df: 2, pooled: 0.0278 };
const paired = { ...DEFAULT_DECISION_CONFIG, paired: true };

describe('paired runs', () => {
  test('seeds: every code takes the same sequence, and the next is the first it has not run', () => {
    expect(nextPairedSeed([])).toBe(1);
    expect(nextPairedSeed([run(1, 1), run(1, 3)])).toBe(2);
    expect(nextPairedSeed([run(1, 1), run(1, 2)])).toBe(3);
  });

  test('pairs match seeds; several runs of one seed count as their mean; runs without a seed are left out', () => {
    expect(pairsOf([run(2, 1), run(2.2, 1), run(3, 2), run(9)], [run(2.0, 1), run(2.5, 3), run(1)])).toEqual([{ seed: 1, difference: expect.closeTo(0.1, 9) }]);
  });

  test('one pair: a positive gain is confirmed, a loss discarded; σ is unknown', () => {
    expect(pairedVerdict([{ seed: 1, difference: 0.001 }], 0, 2, true, 1e-6).verdict).toBe('confirm');
    expect(pairedVerdict([{ seed: 1, difference: -0.001 }], 0, 2, true, 1e-6).verdict).toBe('discard');
    expect(pairedVerdict([{ seed: 1, difference: 0.5 }], 0, 2, false, 1e-6).verdict).toBe('discard');
    expect(pairedVerdict([{ seed: 1, difference: 0.001 }], 0.002, 2, true, 1e-6).verdict).toBe('discard'); // the lines cost more
  });

  test('two pairs: kept above k widened for one degree of freedom, at the boundary', () => {
    const pairs = [{ seed: 1, difference: 0.008 }, { seed: 2, difference: 0.010 }];
    const v = pairedVerdict(pairs, 0, 1.5, false, 1e-6);
    // sd 0.001414, SE 0.001, k widened for df 1: tan(π(Φ(1.5) − 0.5)) = 4.71
    expect(v.threshold).toBeCloseTo(0.00471, 4);
    expect(v.verdict).toBe('keep');
    expect(pairedVerdict(pairs, 0.0045, 1.5, false, 1e-6).verdict).toBe('discard');
    expect(pairedVerdict(pairs, 0.0045, 1.5, true, 1e-6).verdict).toBe('confirm');
    // A change that helps one seed and not the other is not kept: its pairs disagree.
    expect(pairedVerdict([{ seed: 1, difference: 0.006 }, { seed: 2, difference: 0.046 }], 0, 1.5, false, 1e-6).verdict).toBe('discard');
  });

  test('the measured warmdown change: unpaired it is lost in the seeds; paired it is confirmed once, then kept', () => {
    const unpaired = decideKeep({ incumbent: baseline, candidate: warmdown, noise, budget: 'tokens' });
    expect(unpaired).toMatchObject({ verdict: 'discard', gain: expect.closeTo(0.000824, 5) });
    const first = decideKeep({ incumbent: baseline, candidate: warmdown.slice(0, 1), noise, budget: 'tokens' }, paired);
    expect(first).toMatchObject({ verdict: 'confirm', reason: expect.stringMatching(/^paired gain 0\.007669 over 1 seed\(s\) \(1\)/) });
    const second = decideKeep({ incumbent: baseline, candidate: warmdown, noise, budget: 'tokens' }, paired);
    expect(second).toMatchObject({ verdict: 'keep', gain: expect.closeTo(0.009222, 5) });
  });

  test('runs recorded without seeds decide as before', () => {
    const plain = (xs: Measurement[]) => xs.map((m) => run(m.valBpb));
    const a = decideKeep({ incumbent: plain(baseline), candidate: plain(warmdown), noise, budget: 'tokens' }, paired);
    const b = decideKeep({ incumbent: plain(baseline), candidate: plain(warmdown), noise, budget: 'tokens' });
    expect(a).toEqual(b);
  });
});
