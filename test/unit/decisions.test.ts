import { parseRunInput, type RunConfig } from '../../src/core/runInput.js';
import { baselineCrashReason, breakerReason, effectiveExperiment, mayStart, nextStep, shouldPrepare } from '../../src/core/nextStep.js';
import { countSpent, initialRunState, moveExperiment, RECENT_WINDOW, recordExperiment, startExperiment, type RunState } from '../../src/core/runState.js';
import { BASELINE } from '../../src/workflows/proposalState.js';
import type { ExperimentRecord } from '../../src/core/results.js';
import { makeRecord } from '../helpers/run.js';
import { decideKeep } from '../../src/core/keepRule.js';
import { NO_NOISE_TOTALS, type Measurement } from '../../src/core/noiseEstimate.js';
import { judge, type Measured } from '../../src/core/keepDecision.js';

const config = (extra: object = {}): RunConfig => {
  const r = parseRunInput({ tag: 't', ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.config;
};
const after = (...records: ExperimentRecord[]): RunState => records.reduce((s, r) => recordExperiment(s, r), initialRunState());

/** What an experiment measured, decided against `incumbent` under `c`'s rule. */
const measuredOf = (c: RunConfig, candidate: number[], incumbent: number[], extra: Partial<Measured> = {}): Measured => {
  const runs: Measurement[] = candidate.map((valBpb) => ({ valBpb }));
  const decision = decideKeep({
    incumbent: incumbent.map((valBpb) => ({ valBpb })), candidate: runs, budget: 'time', noise: { sigma: 0.01, df: 10, pooled: 0.01 },
  }, c.decision);
  return { candidate: runs, incumbentReruns: [], fresh: [], remeasured: 0, decision, ...extra };
};

describe('judge', () => {
  const greedy = config({ decision: 'greedy' });
  test('the first result is the reference; crashes and invalid proposals are recorded as such', () => {
    const s = initialRunState();
    expect(judge(greedy, s, undefined, { kind: 'trained', valBpb: 1.2 }, measuredOf(greedy, [1.2], []))).toMatchObject({ status: 'keep' });
    expect(judge(greedy, s, undefined, { kind: 'crash' })).toEqual({ status: 'crash' });
    expect(judge(greedy, s, undefined, { kind: 'invalid' })).toEqual({ status: 'invalid' });
  });
  test('greedy: a lower val_bpb than the best is kept, an equal or higher one is not', () => {
    const s = after(makeRecord(0, { valBpb: 1.0 }));
    const verdict = (v: number) => judge(greedy, s, s.best, { kind: 'trained', valBpb: v }, measuredOf(greedy, [v], [1.0])).status;
    expect([verdict(0.99), verdict(1.0), verdict(1.3)]).toEqual(['keep', 'discard', 'discard']);
  });
  test('noise: a gain within the noise is not kept, and the row says why', () => {
    const noise = config();
    const s = after(makeRecord(0, { valBpb: 1.0 }));
    const small = judge(noise, s, s.best, { kind: 'trained', valBpb: 0.999 }, measuredOf(noise, [0.999], [1.0, 1.0, 1.0]));
    expect(small.status).toBe('discard');
    expect(small.reason).toMatch(/gain 0\.001000/);
    const large = judge(noise, s, s.best, { kind: 'trained', valBpb: 0.9 }, measuredOf(noise, [0.9], [1.0, 1.0, 1.0]));
    expect(large).toMatchObject({ status: 'keep' });
  });
});

describe('breaker', () => {
  test('trips after pauseAfterFailures crash or invalid results in a row, and a trained result resets the count', () => {
    const c = config({ pauseAfterFailures: 3 });
    const crash = (n: number) => makeRecord(n, { status: 'crash' });
    let s = after(makeRecord(0), crash(1), crash(2));
    expect(breakerReason(c, s)).toBeUndefined();
    s = recordExperiment(s, makeRecord(3, { status: 'invalid' }));
    expect(breakerReason(c, s, 'edit rejected')).toMatch(/paused itself after 3 crash or invalid results in a row \(the last: edit rejected\)/);
    s = recordExperiment(s, makeRecord(4, { status: 'discard' }));
    expect(breakerReason(c, s)).toBeUndefined();
    expect(breakerReason(config({ pauseAfterFailures: 0 }), after(crash(1), crash(2), crash(3), crash(4), crash(5), crash(6)))).toBeUndefined();
  });
});

describe('a crashed baseline', () => {
  const paths = { repo: '/r', workDir: '/r/.autoresearch/runs/t', resultsFile: '/r/.autoresearch/runs/t/results.tsv', logsDir: '/r/.autoresearch/runs/t/logs', branch: 'autoresearch/t', remote: '/r' };
  const crash = (n: number) => makeRecord(n, { status: 'crash', valBpb: 0, reason: 'the trainer exited with code 1:\nFAIL' });
  const ended = (first: number, ...records: ExperimentRecord[]) => {
    const start: RunState = { ...initialRunState(), paths, firstExperiment: first, nextExperiment: first };
    const s = records.reduce((st, r) => recordExperiment(st, r), start);
    return { state: s, reason: baselineCrashReason(s, records.at(-1)!) };
  };

  test('ends the run, naming the reason and the log, whatever the breaker says', () => {
    const { state, reason } = ended(0, crash(0));
    expect(reason).toBe('nothing to compare against: the baseline crashed: the trainer exited with code 1: FAIL, log /r/.autoresearch/runs/t/logs/exp-0000.log');
    expect(breakerReason(config({ pauseAfterFailures: 5 }), state)).toBeUndefined();
    // Once decided, nothing more starts, and no proposal is prepared ahead.
    const ending = { ...state, endReason: reason };
    expect(nextStep(config(), ending)).toEqual({ kind: 'end', reason });
    expect(shouldPrepare(config(), ending, true)).toBe(false);
    expect(nextStep(config(), { ...ending, stopRequested: true })).toEqual({ kind: 'end', reason });
  });
  test('a resumed run, whose first experiment re-measures the branch tip, follows the same rule', () => {
    expect(ended(7, crash(7)).reason).toMatch(/^nothing to compare against: the baseline crashed: .*, log \/r\/\.autoresearch\/runs\/t\/logs\/exp-0007\.log$/);
  });
  test('a scored baseline, or a crash after it, does not end the run', () => {
    expect(ended(0, makeRecord(0)).reason).toBeUndefined();
    expect(ended(0, makeRecord(0), crash(1)).reason).toBeUndefined();
    expect(ended(3, makeRecord(3), crash(4)).reason).toBeUndefined();
  });
  test('a crash with no reason still says where its log is', () => {
    expect(ended(0, makeRecord(0, { status: 'crash', reason: undefined })).reason).toMatch(/crashed: no reason given, log .*exp-0000\.log$/);
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
    const records = Array.from({ length: 500 }, (_, i) => makeRecord(i, { status: 'discard', hypothesis: 'h'.repeat(5000), reason: 'e'.repeat(5000) }));
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
    const greedy = config({ decision: 'greedy' });
    const started = after(makeRecord(0, { valBpb: 1.0 }));
    const startedFrom = started.best;
    // Another lane kept 0.9 meanwhile: the best's runs are its incumbent runs now.
    const moved = recordExperiment(started, makeRecord(1, { valBpb: 0.9 }), undefined, measuredOf(greedy, [0.9], [1.0]), greedy);
    expect(moved.incumbent.runs).toEqual([{ valBpb: 0.9 }]);
    const judged = (v: number) => judge(greedy, moved, startedFrom, { kind: 'trained', valBpb: v }, measuredOf(greedy, [v], [1.0]));
    expect(judged(0.95)).toMatchObject({
      status: 'discard', reason: expect.stringMatching(/^beat its starting point 1\.000000 \(exp 0\) but not the best since, 0\.900000 \(exp 1\)/) });
    expect(judged(0.85)).toMatchObject({ status: 'keep' });
    expect(judged(1.05)).toMatchObject({ status: 'discard', reason: expect.stringMatching(/^greedy: 1\.050000 >= best 1\.000000/) });
  });

  test('a kept result\'s fresh runs are the new incumbent; the old one\'s spread stays in the noise sums', () => {
    const noise = config();
    const s = { ...after(makeRecord(0, { valBpb: 1.0 })), incumbent: { runs: [{ valBpb: 1.0 }, { valBpb: 1.02 }] }, noise: NO_NOISE_TOTALS };
    const running = startExperiment(s).state;
    const kept = recordExperiment(running, makeRecord(1, { valBpb: 0.9 }), undefined,
      measuredOf(noise, [0.9], [1.0, 1.02], { fresh: [{ valBpb: 0.91 }, { valBpb: 0.93 }] }), noise);
    expect(kept.incumbent.runs).toEqual([{ valBpb: 0.91 }, { valBpb: 0.93 }]);
    expect(kept.noise.df).toBe(1);
    expect(kept.noise.squares).toBeCloseTo(0.0002);
  });

  test('a keep closes the former incumbent\'s group with its reruns beside the confirmations (poolReruns), as the research benchmark does', () => {
    const noise = config();
    const s = { ...after(makeRecord(0, { valBpb: 1.0 })), incumbent: { runs: [{ valBpb: 1.0 }, { valBpb: 1.02 }] }, noise: NO_NOISE_TOTALS };
    const running = startExperiment(s).state;
    const measured = measuredOf(noise, [0.9, 0.92], [1.0, 1.02], { incumbentReruns: [{ valBpb: 1.04 }] });
    const record = makeRecord(1, { valBpb: 0.91 });
    // Three runs 1.0, 1.02, 1.04: 2 df, squares 0.0008; without the rerun 1 df, squares 0.0002.
    const pooled = recordExperiment(running, record, undefined, measured, noise, { poolReruns: true });
    expect([pooled.noise.df, pooled.noise.squares]).toEqual([2, expect.closeTo(0.0008)]);
    const before = recordExperiment(running, record, undefined, measured, noise);
    expect([before.noise.df, before.noise.squares]).toEqual([1, expect.closeTo(0.0002)]);
  });

  test('a moved experiment\'s proposer cost counts once, and its proposal goes with it', () => {
    const s = startExperiment({ ...after(makeRecord(0, { costUsd: 0 })), prepared: { proposal: BASELINE, costUsd: 0.2 }, costUsd: 0.2 }).state;
    const proposal = { ...BASELINE, description: 'the lost one' };
    const moved = moveExperiment(s, 1, { proposal, costUsd: 0.5 });
    expect(moved.costUsd).toBeCloseTo(0.5);
    expect(moved.moved[0]).toMatchObject({ prepared: { proposal, costUsd: 0.5 }, preparedUsd: 0.5, restarted: true });
    const again = startExperiment(moved);
    const done = recordExperiment(again.state, makeRecord(1, { costUsd: 0.5 + 0.1 }));
    expect(done.costUsd).toBeCloseTo(0.6);
  });

  test('an experiment that trains has its proposer cost counted at once, and once', () => {
    const running = startExperiment(after(makeRecord(0, { costUsd: 0 }))).state;
    const training = countSpent(running, 1, 0.19);
    expect(training.costUsd).toBeCloseTo(0.19); // the cap sees it before the next proposal is paid for
    expect(countSpent(training, 1, 0.19)).toBe(training); // a repeated signal changes nothing
    expect(recordExperiment(training, makeRecord(1, { costUsd: 0.19 })).costUsd).toBeCloseTo(0.19);
    expect(nextStep(config({ proposer: { kind: 'claude', model: 'claude-sonnet-4-5', maxCostUsd: 0.35 } }), { ...training, lastPromptChars: 60_000 }))
      .toMatchObject({ kind: 'end' });
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
    // Not while the baseline trains: a trainer that cannot run ends the run before any call is paid.
    expect(shouldPrepare(config(), startExperiment(initialRunState()).state, true)).toBe(false);
  });
});
