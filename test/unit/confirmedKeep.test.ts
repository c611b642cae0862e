import { DecisionSchema, DEFAULT_DECISION_CONFIG as DEFAULTS, type DecisionConfig } from '../../src/core/decisionConfig.js';
import { freshRunsOf, keepK, keptRunsOf } from '../../src/core/confirmedKeep.js';
import { decideKeep, followUp, type Comparison } from '../../src/core/keepRule.js';
import type { Measurement, NoiseEstimate } from '../../src/core/noiseEstimate.js';

const run = (valBpb: number): Measurement => ({ valBpb, tokens: 30_000_000, steps: 457, trainingSeconds: 300 });
const runs = (...values: number[]) => values.map(run);
// σ = 0.001 known exactly: no widening, the bars are plain k·SE.
const KNOWN: NoiseEstimate = { sigma: 0.001, df: Number.POSITIVE_INFINITY, pooled: 0.001 };
const verdict = (incumbent: Measurement[], candidate: Measurement[], config: DecisionConfig = DEFAULTS) =>
  decideKeep({ incumbent, candidate, noise: KNOWN, budget: 'time' } satisfies Comparison, config).verdict;

describe('the default rule: a first run', () => {
  // 3 incumbent runs and 1 candidate run: SE = 0.001·√(1/3 + 1) = 0.0011547; keep above 2 SE (0.0023094), confirm above 0.5 SE (0.0005774).
  const first = (value: number) => verdict(runs(1, 1, 1), runs(value));
  test('above k·SE it is kept at once', () => expect(first(0.9976)).toBe('keep'));
  test('just under k·SE it is confirmed', () => expect(first(0.9977)).toBe('confirm'));
  test('just above confirmFrom·SE it is confirmed', () => expect(first(0.9994)).toBe('confirm'));
  test('just under confirmFrom·SE it is discarded without a run', () => expect(first(0.9995)).toBe('discard'));
});

describe('the default rule: after its confirmation', () => {
  // 4 incumbent runs (its re-run beside the confirmation) and 2 candidate runs: SE = 0.001·√(1/4 + 1/2) = 0.000866; the bar 1.5 SE = 0.001299.
  const confirmed = (a: number, b: number, config?: DecisionConfig) => verdict(runs(1, 1, 1, 1), runs(a, b), config);
  test('a mean over kConfirmed·SE is kept', () => expect(confirmed(0.9985, 0.9988)).toBe('keep'));
  test('a mean under it is discarded: one confirmation only', () => expect(confirmed(0.9988, 0.9988)).toBe('discard'));
  test('without kConfirmed (a run started before it) the mean meets k·SE, as it always did', () =>
    expect(confirmed(0.9985, 0.9988, { ...DEFAULTS, kConfirmed: undefined })).toBe('discard'));
  test('the bar is k for a first look, kConfirmed after a confirmation', () => {
    expect(keepK({ k: 2, kConfirmed: 1.5 }, 0)).toBe(2);
    expect(keepK({ k: 2, kConfirmed: 1.5 }, 1)).toBe(1.5);
    expect(keepK({ k: 2 }, 1)).toBe(2);
  });
});

describe('the default rule: a new best', () => {
  test('is not re-run: the runs that got it kept are its reference', () => expect(followUp('keep')).toEqual({ kind: 'none' }));
  test('a run started before freshRuns re-runs it `repeats` times', () =>
    expect(followUp('keep', { ...DEFAULTS, freshRuns: undefined })).toEqual({ kind: 'measureNewIncumbent', runs: 3 }));
  test('freshRuns sets how many', () => expect(freshRunsOf({ ...DEFAULTS, freshRuns: 2 })).toBe(2));
  test('a new best that needed a re-measurement is measured afresh: one of its runs was on an odd machine', () =>
    expect(followUp('keep', DEFAULTS, { remeasures: 1, throughputRatio: 1 })).toEqual({ kind: 'measureNewIncumbent', runs: 3 }));
  test('so is one whose speed is not the incumbent\'s (a shape change explained it)', () => {
    expect(followUp('keep', DEFAULTS, { remeasures: 0, throughputRatio: 0.8 })).toEqual({ kind: 'measureNewIncumbent', runs: 3 });
    expect(followUp('keep', DEFAULTS, { remeasures: 0, throughputRatio: 0.9 })).toEqual({ kind: 'none' });
  });
  test('under a token budget a busy machine\'s speed asks for no fresh runs; a re-measurement still does', () => {
    expect(followUp('keep', DEFAULTS, keptRunsOf({ remeasures: 0, throughputRatio: 0.6 }, 'tokens'))).toEqual({ kind: 'none' });
    expect(followUp('keep', DEFAULTS, keptRunsOf({ remeasures: 0, throughputRatio: 0.6 }, 'time'))).toEqual({ kind: 'measureNewIncumbent', runs: 3 });
    expect(followUp('keep', DEFAULTS, keptRunsOf({ remeasures: 1, throughputRatio: 1 }, 'tokens'))).toEqual({ kind: 'measureNewIncumbent', runs: 3 });
  });
});

describe('the decision field', () => {
  test('a new run gets the default rule', () => expect(DecisionSchema.parse(undefined)).toMatchObject({ k: 2, kConfirmed: 1.5, confirmFrom: 0.5, confirmations: 1, freshRuns: 0 }));
  test('the first noise rule is still a setting', () =>
    expect(DecisionSchema.parse({ confirmFrom: 1.75, confirmations: 2, kConfirmed: 2, freshRuns: 3 })).toMatchObject({ kConfirmed: 2, freshRuns: 3 }));
  test('freshRuns is a count', () => expect(DecisionSchema.safeParse({ freshRuns: -1 }).success).toBe(false));
  test('greedy stays the original rule', () => expect(followUp('keep', DecisionSchema.parse('greedy'))).toEqual({ kind: 'none' }));
});
