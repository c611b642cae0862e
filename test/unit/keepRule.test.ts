import { DecisionSchema, DEFAULT_DECISION_CONFIG as DEFAULTS, GREEDY_DECISION_CONFIG as GREEDY, type DecisionConfig } from '../../src/core/decisionConfig.js';
import { addGroups, estimateNoise, normalCdf, pooledSigma, throughputOf, widenForDf, type Measurement, type NoiseEstimate } from '../../src/core/noiseEstimate.js';
import { decideKeep, effectiveK, followUp, lineCost, modelShapeChanged, type Comparison } from '../../src/core/keepRule.js';
import { simulate, type BenchFigures } from '../../bench/decisionSim.js';

// One run: val_bpb, and 30M tokens in 300 s unless another token count is given (throughput 100k/s).
const run = (valBpb: number, tokens = 30_000_000): Measurement => ({ valBpb, tokens, steps: Math.floor(tokens / 65_536), trainingSeconds: 300 });
const runs = (...values: number[]) => values.map((v) => run(v));
// σ = 0.001 known exactly (df = ∞): k is not widened, so the thresholds below are plain k·SE.
const KNOWN: NoiseEstimate = { sigma: 0.001, df: Number.POSITIVE_INFINITY, pooled: 0.001 };
const INCUMBENT = runs(1.0, 1.0, 1.0);
// With 3 incumbent runs and 1 candidate run, SE = 0.001·√(1/3 + 1) = 0.001155: keep above 0.002309, confirm above 0.002021.
// The first noise rule's settings (one bar, two confirmations from 1.75 SE, three fresh runs); the default's own are test/unit/confirmedKeep.test.ts.
const FIRST: DecisionConfig = { ...DEFAULTS, confirmFrom: 1.75, confirmations: 2, kConfirmed: undefined, freshRuns: undefined };
const decide = (c: Partial<Comparison>, config: Partial<DecisionConfig> = {}) =>
  decideKeep({ incumbent: INCUMBENT, candidate: [], noise: KNOWN, budget: 'time', ...c }, { ...FIRST, ...config });
const verdict = (c: Partial<Comparison>, config: Partial<DecisionConfig> = {}) => decide(c, config).verdict;

describe('noise estimate', () => {
  test('pooled sample σ of one group', () => expect(pooledSigma([[1, 2, 3]])).toEqual({ sigma: 1, df: 2, pooled: 1 }));
  test('each group keeps its own mean', () => expect(pooledSigma([[1, 3], [10, 12]]).sigma).toBeCloseTo(Math.SQRT2));
  test('a group of one run adds nothing', () => expect(pooledSigma([[1, 3], [7]]).df).toBe(1));
  test('a trainer that ignores its seed gets the floor', () => expect(pooledSigma([[1, 1, 1]], 0.0005)).toEqual({ sigma: 0.0005, df: 2, pooled: 0 }));
  test('no repeated group: only the floor, 0 df', () => expect(pooledSigma([[1]], 0.0005)).toEqual({ sigma: 0.0005, df: 0, pooled: 0 }));
  test('carried totals equal the groups they came from', () =>
    expect(pooledSigma([[4, 6]], 0, addGroups({ squares: 0, df: 0 }, [[1, 2, 3]]))).toEqual(pooledSigma([[1, 2, 3], [4, 6]], 0)));
  test('a run on an odd machine is left out under a time budget', () =>
    expect(estimateNoise([[run(1.0), run(1.002), run(0.99, 45_000_000)]], 'time').sigma).toBeCloseTo(Math.SQRT2 * 0.001, 6));
  test('under a token budget every run counts', () => expect(estimateNoise([[run(1.0), run(1.002), run(0.99, 45_000_000)]], 'tokens').df).toBe(2));
  test('throughput is tokens, else steps, per second', () => {
    expect(throughputOf(run(1))).toBe(100_000);
    expect(throughputOf({ valBpb: 1, steps: 300, trainingSeconds: 300 })).toBe(1);
    expect(throughputOf({ valBpb: 1 })).toBeUndefined();
  });
});

describe('k widened for a σ from few runs', () => {
  // Student's t with 3 df, exact: the widened k must sit at the normal's probability of k.
  const t3Cdf = (t: number) => 0.5 + (t / (Math.sqrt(3) * (1 + (t * t) / 3)) + Math.atan(t / Math.sqrt(3))) / Math.PI;
  test('normal CDF', () => expect(normalCdf(2)).toBeCloseTo(0.97725, 5));
  test('no widening with σ known', () => expect(widenForDf(2, Number.POSITIVE_INFINITY)).toBe(2));
  test('2 df: exact', () => expect(widenForDf(2, 2)).toBeCloseTo(4.526, 2));
  test('3 df: within 0.1% of the exact tail', () => expect(t3Cdf(widenForDf(2, 3))).toBeCloseTo(normalCdf(2), 3));
  test('many df: close to k', () => expect(widenForDf(2, 200)).toBeCloseTo(2.01, 2));
  test('a σ that is only the floor is taken as given', () => expect(effectiveK(2, 0)).toBe(2));
});

describe('keep rule', () => {
  test('a gain over k·SE is kept', () => expect(verdict({ candidate: runs(0.9975) })).toBe('keep'));
  test('a smaller gain above confirmFrom·SE asks for confirmation', () => expect(verdict({ candidate: runs(0.9978) })).toBe('confirm'));
  test('a small gain is discarded without a confirmation', () => expect(verdict({ candidate: runs(0.999) })).toBe('discard'));
  test('a loss is discarded', () => expect(verdict({ candidate: runs(1.001) })).toBe('discard'));
  test('after a confirmation the mean decides: kept', () => expect(verdict({ candidate: runs(0.9978, 0.9975) })).toBe('keep'));
  test('after a confirmation the mean decides: discarded', () => expect(verdict({ candidate: runs(0.9978, 1.0005) })).toBe('discard'));
  test('no confirmation beyond the limit', () => expect(verdict({ candidate: runs(0.9978, 0.9986, 0.999) })).toBe('discard'));
  test('confirmations: 0 decides on the first run', () => expect(verdict({ candidate: runs(0.9978) }, { confirmations: 0 })).toBe('discard'));
  test('the incumbent re-run beside a confirmation counts', () =>
    expect(decide({ incumbent: runs(1.0, 1.0, 1.0, 1.0), candidate: runs(0.9978, 0.9975) }).incumbentRuns).toBe(4));
  test('a σ from 2 df needs a larger gain', () => expect(verdict({ candidate: runs(0.9975), noise: { sigma: 0.001, df: 2, pooled: 0.001 } })).toBe('confirm'));
  test('a larger k needs a larger gain', () => expect(verdict({ candidate: runs(0.9975) }, { k: 3 })).toBe('confirm'));
  test('the first result is the reference', () => expect(verdict({ incumbent: [], candidate: runs(1.3) })).toBe('keep'));
  test('a run without a finite val_bpb is never kept', () => expect(verdict({ candidate: runs(Number.NaN) })).toBe('discard'));
  test('no run, no keep', () => expect(verdict({ candidate: [] })).toBe('discard'));
  test('a decision records its inputs', () => {
    const d = decide({ candidate: runs(0.9978, 0.9975) });
    expect(d).toMatchObject({ verdict: 'keep', sigma: 0.001, confirmations: 1, remeasures: 0, incumbentRuns: 3, candidateRuns: 2, tokens: 30_000_000, steps: 457, throughputRatio: 1 });
    expect(d.delta).toBeCloseTo(0.00235, 9);
    expect(d.threshold).toBeCloseTo(2 * 0.001 * Math.sqrt(1 / 3 + 1 / 2), 9);
    expect(d.reason).toMatch(/gain 0\.002350 > 0\.001826 \(k·SE\) over 2 run\(s\) vs 3/);
  });
});

describe('throughput guard', () => {
  const fast = run(0.997, 40_000_000); // 33% more tokens in the same time
  test('a gain on a faster machine is re-measured before it can be kept', () => expect(verdict({ candidate: [fast] })).toBe('remeasure'));
  test('it names the throughput', () => expect(decide({ candidate: [fast] }).reason).toMatch(/throughput 33% above the incumbent's/));
  test('within the tolerance it is not', () => expect(verdict({ candidate: [run(0.997, 33_000_000)] })).toBe('keep'));
  test('a change that explains the speed is not', () => expect(verdict({ candidate: [fast], throughputExplained: true })).toBe('keep'));
  test('under a token budget speed moves nothing', () => expect(verdict({ candidate: [fast], budget: 'tokens' })).toBe('keep'));
  test('a slow result that looks worse is discarded without runs', () => expect(verdict({ candidate: [run(1.003, 20_000_000)] })).toBe('discard'));
  test('after the re-measurement only comparable runs count', () => {
    const d = decide({ candidate: [fast, run(0.9995)], incumbent: [...INCUMBENT, run(1.0)], remeasured: 1 });
    expect([d.verdict, d.candidateRuns, d.incumbentRuns, d.remeasures, d.confirmations]).toEqual(['discard', 1, 4, 1, 0]);
  });
  test('a re-measured gain that holds is kept', () => expect(verdict({ candidate: [fast, run(0.997)], incumbent: [...INCUMBENT, run(1.0)], remeasured: 1 })).toBe('keep'));
  test('still off after the last re-measurement: not kept', () =>
    expect(verdict({ candidate: [fast, run(0.997, 40_000_000)], incumbent: [...INCUMBENT, run(1.0, 40_000_000)], remeasured: 1 })).toBe('discard'));
  test('one busy incumbent run does not move the reference', () => expect(verdict({ candidate: runs(0.9975), incumbent: [...INCUMBENT, run(1.0, 10_000_000)] })).toBe('keep'));
  test('a model of another size explains its speed', () => {
    expect(modelShapeChanged({ numParamsM: 50, depth: 8 }, { numParamsM: 60, depth: 8 })).toBe(true);
    expect(modelShapeChanged({ numParamsM: 50, depth: 8 }, { numParamsM: 50, depth: 8 })).toBe(false);
  });
});

describe('simplicity', () => {
  test('lines cost a price each', () => expect(lineCost(20, 0.00001)).toBeCloseTo(0.0002, 12));
  test('removed lines are a credit', () => expect(lineCost(-20, 0.00001)).toBeCloseTo(-0.0002, 12));
  test('added lines count against the gain', () => expect(verdict({ candidate: runs(0.9975), netAddedLines: 40 })).toBe('confirm'));
  test('an equal result with fewer lines is confirmed', () => expect(verdict({ candidate: runs(1.0), netAddedLines: -10 })).toBe('confirm'));
  test('and then kept', () => expect(verdict({ candidate: runs(1.0, 1.0), netAddedLines: -10 })).toBe('keep'));
  test('a worse result with fewer lines is not', () => expect(verdict({ candidate: runs(1.001), netAddedLines: -10 })).toBe('discard'));
  test('the same lines at price 0 change nothing', () => expect(decide({ candidate: runs(0.9975), netAddedLines: 50 }, { pricePerLine: 0 }).gain).toBeCloseTo(0.0025, 9));
});

describe('greedy mode: the original rule', () => {
  const greedy = (incumbent: number, candidate: number, extra: Partial<Comparison> = {}) =>
    decideKeep({ incumbent: runs(incumbent), candidate: runs(candidate), noise: { sigma: 1, df: 99, pooled: 1 }, budget: 'time', ...extra }, GREEDY).verdict;
  test('strictly below the best is kept, whatever the noise', () => expect(greedy(1.0, 0.999999)).toBe('keep'));
  test('equal is discarded', () => expect(greedy(1.0, 1.0)).toBe('discard'));
  test('above is discarded', () => expect(greedy(1.0, 1.1)).toBe('discard'));
  test('lines and throughput do not matter', () => expect(greedy(1.0, 0.9999, { netAddedLines: 1000, candidate: [run(0.9999, 90_000_000)] })).toBe('keep'));
  test('it asks for no extra run', () => expect(followUp('keep', GREEDY)).toEqual({ kind: 'none' }));
  test('its record has no σ', () => expect(decideKeep({ incumbent: runs(1), candidate: runs(0.9), noise: KNOWN, budget: 'time' }, GREEDY).sigma).toBe(0));
});

describe('follow-up runs', () => {
  test('confirm: one more run of each', () => expect(followUp('confirm')).toEqual({ kind: 'pair', remeasure: false }));
  test('remeasure: both, back to back', () => expect(followUp('remeasure')).toEqual({ kind: 'pair', remeasure: true }));
  test('keep: the new best measured afresh', () => expect(followUp('keep', FIRST)).toEqual({ kind: 'measureNewIncumbent', runs: 3 }));
  test('discard: nothing', () => expect(followUp('discard')).toEqual({ kind: 'none' }));
});

describe('the decision field of the run input', () => {
  test('absent: the noise rule with its defaults', () => expect(DecisionSchema.parse(undefined)).toEqual(DEFAULTS));
  test('"greedy": the original rule', () => expect(DecisionSchema.parse('greedy')).toEqual(GREEDY));
  test('single knobs', () => expect(DecisionSchema.parse({ k: 3 })).toEqual({ ...DEFAULTS, k: 3 }));
  test('σ needs two runs', () => expect(DecisionSchema.safeParse({ repeats: 1 }).success).toBe(false));
  test('unknown knobs are refused', () => expect(DecisionSchema.safeParse({ kk: 3 }).success).toBe(false));
  test('unknown modes are refused', () => expect(DecisionSchema.safeParse('lucky').success).toBe(false));
});

describe('the decisions benchmark at a small size', () => {
  // Fewer false keeps than greedy by far, under the goal, at least greedy's detection on a shared
  // machine, within 1.3x greedy's runs.
  const holds = (b: BenchFigures) =>
    b.rule.falseKeepRate <= 0.02 && b.rule.falseKeepRate < b.greedy.falseKeepRate / 2 &&
    b.rule.detectionRate >= Math.max(0.3, b.greedy.detectionRate) && b.runRatio <= 1.3;
  test('the noise rule beats greedy', () => {
    const b = simulate({ seeds: 60 });
    expect(b.greedy.falseKeepRate).toBeGreaterThan(0.04);
    expect(holds(b)).toBe(true);
  });
  test('the check fails for a rule that keeps every small gain', () => expect(holds(simulate({ seeds: 60, config: { k: 0.5, confirmFrom: 0 } }))).toBe(false));
  test('the check fails without the throughput guard', () =>
    expect(holds(simulate({ seeds: 60, config: { throughputTolerance: Number.POSITIVE_INFINITY } }))).toBe(false));
});
