import { parseRunInput, type RunConfig } from '../../src/config/runInput.js';
import {
  decide, effectiveExperiment, initialRunState, nextStep, RECENT_WINDOW, recordExperiment, type RunState,
} from '../../src/workflows/decisions.js';
import type { ExperimentRecord } from '../../src/definitions.js';
import { makeRecord } from '../helpers/run.js';

const config = (extra: object = {}): RunConfig => {
  const r = parseRunInput({ tag: 't', ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.config;
};
const after = (...records: ExperimentRecord[]): RunState => records.reduce(recordExperiment, initialRunState());

describe('decide', () => {
  test('keeps the first trained result as the reference', () => {
    expect(decide(undefined, { kind: 'trained', valBpb: 1.2 })).toBe('keep');
  });
  test('keeps a lower val_bpb than the best and discards an equal or higher one', () => {
    expect(decide({ valBpb: 1.0 }, { kind: 'trained', valBpb: 0.99 })).toBe('keep');
    expect(decide({ valBpb: 1.0 }, { kind: 'trained', valBpb: 1.0 })).toBe('discard');
    expect(decide({ valBpb: 1.0 }, { kind: 'trained', valBpb: 1.3 })).toBe('discard');
  });
  test('crashes and invalid proposals are recorded as such', () => {
    expect(decide({ valBpb: 1 }, { kind: 'crash' })).toBe('crash');
    expect(decide({ valBpb: 1 }, { kind: 'invalid' })).toBe('invalid');
  });
});

describe('recordExperiment', () => {
  test('the best is the best kept result, not the last one', () => {
    const s = after(makeRecord(0, { valBpb: 1.0 }), makeRecord(1, { valBpb: 0.8 }), makeRecord(2, { status: 'discard', valBpb: 0.7 }));
    expect(s.best).toEqual({ experiment: 1, commit: 'c0ffee1', commitFull: makeRecord(1).commitFull, valBpb: 0.8 });
    expect(s.baselineValBpb).toBe(1.0);
    expect(s.counts).toEqual({ keep: 2, discard: 1, crash: 0, invalid: 0 });
    expect(s.experimentsDone).toBe(3);
  });
  test('adds up the cost, remembers the last prompt size and the last crash', () => {
    const s = after(makeRecord(0, { promptChars: 100 }), makeRecord(1, { status: 'crash', costUsd: 0.5 }), makeRecord(2, { costUsd: 0.25 }));
    expect(s.costUsd).toBeCloseTo(0.76);
    expect(s.lastPromptChars).toBe(100);
    expect(s.lastCrash).toBe(1);
  });
  test('keeps a bounded window of recent results with bounded text, however long the run', () => {
    const records = Array.from({ length: 500 }, (_, i) => makeRecord(i, { status: 'discard', hypothesis: 'h'.repeat(5000), error: 'e'.repeat(5000) }));
    const s = after(...records);
    expect(s.recent.map((r) => r.experiment)).toEqual(records.slice(-RECENT_WINDOW).map((r) => r.experiment));
    expect(Buffer.byteLength(JSON.stringify(s))).toBeLessThan(30_000);
    expect(s.experimentsDone).toBe(500);
  });
  test('a baseline that crashed leaves no baseline value', () => {
    expect(after(makeRecord(0, { status: 'crash' }), makeRecord(1)).baselineValBpb).toBeUndefined();
  });
});

describe('nextStep', () => {
  test('runs until maxExperiments', () => {
    expect(nextStep(config({ maxExperiments: 2 }), after(makeRecord(0)))).toEqual({ kind: 'experiment' });
    expect(nextStep(config({ maxExperiments: 2 }), after(makeRecord(0), makeRecord(1))).kind).toBe('end');
  });
  test('ends on stop', () => {
    expect(nextStep(config(), { ...initialRunState(), stopRequested: true })).toEqual({ kind: 'end', reason: 'stopped on request' });
  });
  test('ends when spent money plus the next call would pass the cost cap', () => {
    const c = config({ proposer: { kind: 'claude', model: 'claude-sonnet-4-5', maxCostUsd: 1 } });
    expect(nextStep(c, after(makeRecord(0, { costUsd: 0 }), makeRecord(1, { costUsd: 0.1, promptChars: 20_000 }))).kind).toBe('experiment');
    const step = nextStep(c, after(makeRecord(0, { costUsd: 0 }), makeRecord(1, { costUsd: 0.95, promptChars: 20_000 })));
    expect(step).toMatchObject({ kind: 'end' });
    expect((step as { reason: string }).reason).toMatch(/cost cap/);
  });
});

describe('effectiveExperiment', () => {
  test('a note sent between experiments reaches the next one; during one, the one after', () => {
    expect(effectiveExperiment({ experimentsDone: 3 })).toBe(3);
    expect(effectiveExperiment({ experimentsDone: 3, current: { experiment: 3 } })).toBe(4);
  });
});
