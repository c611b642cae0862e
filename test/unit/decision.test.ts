import { bestOf, decide } from '../../src/workflows/decision.js';
import { effectiveExperiment, nextStep } from '../../src/workflows/nextStep.js';
import { parseRunInput, type RunConfig } from '../../src/config/runInput.js';
import type { ExperimentRecord } from '../../src/workflows/types.js';

function rec(index: number, status: ExperimentRecord['status'], valBpb = 0, costUsd = 0): ExperimentRecord {
  return { index, experimentId: `r/exp-${index}`, commit: `c${index}`, commitFull: `c${index}`, valBpb, memoryGb: 1, status, description: 'd', hypothesis: 'h', costUsd };
}
const config = (extra: object = {}): RunConfig => {
  const r = parseRunInput({ tag: 't', ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.config;
};

describe('decide', () => {
  test('keeps the first trained result as the reference', () => {
    expect(decide([], { kind: 'trained', valBpb: 1.2 })).toBe('keep');
    expect(decide([rec(0, 'crash')], { kind: 'trained', valBpb: 1.2 })).toBe('keep');
  });
  test('keeps a lower val_bpb and discards an equal or higher one', () => {
    const h = [rec(0, 'keep', 1.0), rec(1, 'discard', 0.9)];
    expect(decide(h, { kind: 'trained', valBpb: 0.99 })).toBe('keep');
    expect(decide(h, { kind: 'trained', valBpb: 1.0 })).toBe('discard');
    expect(decide(h, { kind: 'trained', valBpb: 1.3 })).toBe('discard');
  });
  test('compares against the best kept result, not the last one', () => {
    const h = [rec(0, 'keep', 1.0), rec(1, 'keep', 0.8), rec(2, 'discard', 0.85)];
    expect(bestOf(h)?.index).toBe(1);
    expect(decide(h, { kind: 'trained', valBpb: 0.9 })).toBe('discard');
  });
  test('a gain inside the noise margin is not kept', () => {
    const h = [rec(0, 'keep', 1.0)];
    expect(decide(h, { kind: 'trained', valBpb: 0.99 }, { minImprovement: 0.02 })).toBe('discard');
    expect(decide(h, { kind: 'trained', valBpb: 0.97 }, { minImprovement: 0.02 })).toBe('keep');
  });
  test('crashes and invalid proposals are recorded as such', () => {
    expect(decide([rec(0, 'keep', 1)], { kind: 'crash' })).toBe('crash');
    expect(decide([rec(0, 'keep', 1)], { kind: 'invalid' })).toBe('invalid');
  });
});

describe('nextStep', () => {
  test('runs until maxExperiments', () => {
    expect(nextStep(config({ maxExperiments: 2 }), { records: [rec(0, 'keep', 1)], stopRequested: false })).toEqual({ kind: 'experiment' });
    expect(nextStep(config({ maxExperiments: 2 }), { records: [rec(0, 'keep', 1), rec(1, 'discard', 2)], stopRequested: false }).kind).toBe('end');
  });
  test('ends on stop', () => {
    expect(nextStep(config(), { records: [], stopRequested: true })).toEqual({ kind: 'end', reason: 'stopped on request' });
  });
  test('ends when spent money plus the next call would pass the cost cap', () => {
    const c = config({ proposer: { kind: 'claude', model: 'claude-sonnet-4-5', maxCostUsd: 1 } });
    const cheap = [rec(0, 'keep', 1, 0), { ...rec(1, 'discard', 1.1, 0.1), promptChars: 20_000 }];
    expect(nextStep(c, { records: cheap, stopRequested: false }).kind).toBe('experiment');
    const near = [rec(0, 'keep', 1, 0), { ...rec(1, 'discard', 1.1, 0.95), promptChars: 20_000 }];
    const step = nextStep(c, { records: near, stopRequested: false });
    expect(step).toMatchObject({ kind: 'end' });
    expect((step as { reason: string }).reason).toMatch(/cost cap/);
  });
});

describe('effectiveExperiment', () => {
  test('a note sent between experiments reaches the next one; during one, the one after', () => {
    expect(effectiveExperiment('idle', 3)).toBe(3);
    expect(effectiveExperiment('paused', 3)).toBe(3);
    expect(effectiveExperiment('train', 3)).toBe(4);
    expect(effectiveExperiment('hypothesize', 3)).toBe(4);
  });
});
