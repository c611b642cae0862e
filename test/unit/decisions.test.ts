import { parseRunInput, type RunConfig } from '../../src/config/runInput.js';
import {
  decide, effectiveExperiment, initialRunState, judge, mayStart, moveExperiment, nextStep, RECENT_WINDOW, recordExperiment, shouldPrepare, startExperiment,
  type RunState,
} from '../../src/workflows/decisions.js';
import { BASELINE } from '../../src/workflows/experiment.js';
import type { ExperimentRecord } from '../../src/definitions.js';
import { makeRecord } from '../helpers/run.js';

const config = (extra: object = {}): RunConfig => {
  const r = parseRunInput({ tag: 't', ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.config;
};
const after = (...records: ExperimentRecord[]): RunState => records.reduce((s, r) => recordExperiment(s, r), initialRunState());

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
  test('adds up the cost, remembers the last prompt size and the end of the last crash\'s log', () => {
    let s = after(makeRecord(0, { promptChars: 100 }));
    s = recordExperiment(s, makeRecord(1, { status: 'crash', costUsd: 0.5 }), 'Traceback: out of memory');
    s = recordExperiment(s, makeRecord(2, { costUsd: 0.25 }));
    expect(s.costUsd).toBeCloseTo(0.76);
    expect(s.lastPromptChars).toBe(100);
    expect(s.lastCrashLog).toBe('Traceback: out of memory');
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
  test('a note reaches the next experiment to start, or the one after when its proposal is made already', () => {
    expect(effectiveExperiment({ nextExperiment: 3, proposing: false })).toBe(3);
    expect(effectiveExperiment({ nextExperiment: 3, proposing: true })).toBe(4);
    expect(effectiveExperiment({ nextExperiment: 3, proposing: false, prepared: { proposal: BASELINE, costUsd: 0 } })).toBe(4);
  });
});

describe('lanes', () => {
  test('the baseline runs alone; then one experiment per free lane, none while paused', () => {
    expect(mayStart(initialRunState(), 3)).toBe(true);
    const baselineRunning = startExperiment(initialRunState()).state;
    expect(mayStart(baselineRunning, 2)).toBe(false);
    let s = after(makeRecord(0));
    for (let i = 0; i < 3; i++) s = startExperiment(s).state;
    expect(s.running.map((r) => r.experiment)).toEqual([1, 2, 3]);
    expect(mayStart(s, 1)).toBe(true);
    expect(mayStart(s, 0)).toBe(false);
    expect(mayStart({ ...s, paused: true }, 1)).toBe(false);
  });

  test('an experiment whose lane died starts again, as it was, before any new one', () => {
    const prepared = { proposal: BASELINE, costUsd: 0.5 };
    let s = startExperiment({ ...after(makeRecord(0)), prepared }).state; // experiment 1
    s = startExperiment(s).state; // experiment 2
    s = moveExperiment(s, 1);
    expect(s.running.map((r) => r.experiment)).toEqual([2]);
    const { state: again, started } = startExperiment(s);
    expect(started).toMatchObject({ experiment: 1, prepared, preparedUsd: 0.5 });
    expect(again.nextExperiment).toBe(3);
  });

  test('maxExperiments counts the experiments started, so no lane starts one too many', () => {
    let s = after(makeRecord(0));
    s = startExperiment(startExperiment(s).state).state;
    expect(nextStep(config({ maxExperiments: 3, lanes: 4 }), s)).toMatchObject({ kind: 'end' });
  });

  test('a finished experiment is judged against the best of now, and says why it was not kept', () => {
    const base = makeRecord(0, { valBpb: 1.0 });
    const started = after(base);
    const startedFrom = started.best;
    const moved = recordExperiment(started, makeRecord(1, { valBpb: 0.9 })); // another lane kept 0.9 meanwhile
    expect(judge(moved, startedFrom, { kind: 'trained', valBpb: 0.95 })).toEqual({
      status: 'discard', reason: 'beat its starting point 1.000000 (exp 0) but not the best since, 0.900000 (exp 1)' });
    expect(judge(moved, startedFrom, { kind: 'trained', valBpb: 0.85 })).toEqual({ status: 'keep' });
    expect(judge(moved, startedFrom, { kind: 'trained', valBpb: 1.05 })).toEqual({ status: 'discard' });
  });

  test('a prepared proposal goes to the next experiment, and its cost is counted once', () => {
    const s = { ...after(makeRecord(0, { costUsd: 0 })), prepared: { proposal: BASELINE, costUsd: 0.25 }, costUsd: 0.25 };
    const { state: running, started } = startExperiment(s);
    expect(started.prepared?.costUsd).toBe(0.25);
    expect(running.prepared).toBeUndefined();
    // The experiment's row carries the prepared proposal's cost plus its own calls.
    const done = recordExperiment(running, makeRecord(started.experiment, { costUsd: 0.25 + 0.1 }));
    expect(done.costUsd).toBeCloseTo(0.35);
  });

  test('a proposal is prepared ahead only with pipelining, one at a time, and only when another experiment will start', () => {
    const s = startExperiment(after(makeRecord(0))).state;
    expect(shouldPrepare(config(), s, true)).toBe(true);
    expect(shouldPrepare(config(), s, false)).toBe(false);
    expect(shouldPrepare(config(), { ...s, proposing: true }, true)).toBe(false);
    expect(shouldPrepare(config({ maxExperiments: 2 }), s, true)).toBe(false);
  });
});
