import {
  activityKey, describeActivity, progressKey, progressLine, runLabel, stillLine, tick,
  type ActivityState,
} from '../../src/cli/progress.js';
import { parseTrainerLine, PROGRESS_EVERY_MS, trainProgress } from '../../src/core/trainProgress.js';
import type { RunStatus } from '../../src/api/messages.js';

const T0 = Date.parse('2026-01-01T12:00:00Z');
const at = (s: number) => T0 + s * 1000;

const status = (over: Partial<RunStatus> = {}): RunStatus => ({
  tag: 'q', phase: 'train', running: [{ experiment: 0 }], paused: false, stopRequested: false, experiment: 0, experimentsDone: 0, maxExperiments: 3,
  counts: { keep: 0, discard: 0, crash: 0, invalid: 0 }, currentHypothesis: 'baseline: the unmodified trainer', timeBudgetSeconds: 30, costUsd: 0,
  steeringNotes: [], ...over,
});

/** The baseline's second run under the quick start's settings, 12 s in, its last beat 2 s ago. */
const train = (over: Partial<ActivityState> = {}, lastLine = 'step 00036 | loss 5.1234 | lr x1.00 | dt 120ms | tok/s 17,067 | elapsed 9.0s | progress 45.0%'): ActivityState => ({
  experiment: 0, type: 'train', summary: 'train exp-0000 (candidate run 1) on cpu0: seed 2 (163840 tokens)', trainIndex: 2, attempt: 1,
  startedAtMs: at(0), heartbeatAtMs: at(10), details: { elapsedSeconds: 10, budgetSeconds: 30, lastLine, pgid: 42 },
  settings: { baseline: true, repeats: 3, followUps: 3, tokenBudget: 163840, timeBudgetSeconds: 30 }, ...over,
});

describe('reading a trainer line', () => {
  test("this project's train.py: step, percent and its own training time", () => {
    expect(parseTrainerLine('step 00036 | loss 5.1234 | lr x1.00 | dt 120ms | tok/s 17,067 | elapsed 9.0s | progress 45.0%'))
      .toEqual({ step: 36, percent: 45, trainingSeconds: 9 });
  });

  test("the original autoresearch's line: the step's percentage, not the mfu's, and its remaining time, last of its \\r redraws", () => {
    const line = 'step 00952 (95.2%) | loss: 3.1 | mfu: 39.8% | remaining: 16s    \rstep 00953 (95.3%) | loss: 3.0 | lrm: 0.09 | dt: 312ms | tok/sec: 1,678,000 | mfu: 39.8% | epoch: 1 | remaining: 15s    ';
    expect(parseTrainerLine(line)).toEqual({ step: 953, percent: 95.3, remainingSeconds: 15 });
  });

  test('a tqdm bar: steps of total and the time left', () => {
    expect(parseTrainerLine(' 45%|████▌     | 36/80 [00:12<01:05,  2.91it/s]')).toEqual({ step: 36, steps: 80, percent: 45, remainingSeconds: 65 });
  });

  test('plain "step i/n" with tokens: the percentage is worked out', () => {
    expect(parseTrainerLine('Step 20/80 tokens: 40,960 loss=4.2')).toEqual({ step: 20, steps: 80, percent: 25, tokens: 40960 });
    expect(parseTrainerLine('step 10 of 40, 1.5M tokens')).toEqual({ step: 10, steps: 40, percent: 25, tokens: 1_500_000 });
  });

  test("train.py's line after the last step means training is done", () => {
    expect(parseTrainerLine('train: 80 steps | 17,000 tok/s over the timed steps')).toEqual({ step: 80, percent: 100 });
  });

  test('lines with no progress in them: nothing (a budget or a throughput is no progress)', () => {
    for (const line of [undefined, '', 'fixture trainer: budget 5.0s, LEARNING_RATE=0.04 DEPTH=4', 'val_bpb:          1.234567',
      'config: device cpu | depth 4 | batch 2048 tokens = 16 rows x 1 accum | budget 163,840 tokens', '\x1b[32mloading data\x1b[0m']) {
      expect(parseTrainerLine(line)).toBeUndefined();
    }
  });
});

describe('which run of an experiment trains', () => {
  const settings = { baseline: true, repeats: 3, followUps: 3 };
  test('the baseline: run i/n from its summary, from the count of train activities when the wording is unknown', () => {
    expect(runLabel({ summary: 'train exp-0000 on cpu0: seed 1 (163840 tokens)', settings })).toBe('run 1/3');
    expect(runLabel({ summary: 'train exp-0000 (candidate run 2) on cpu0: seed 3 (30 s)', settings })).toBe('run 3/3');
    expect(runLabel({ summary: 'evaluate exp-0000 (candidate run 1)', settings })).toBe('run 2/3');
    expect(runLabel({ summary: 'something new', trainIndex: 2, settings })).toBe('run 2/3');
    expect(runLabel({ trainIndex: 2, settings: { baseline: true } })).toBe('run 2');
  });

  test("a candidate: nothing for its first run, then its confirmations' runs and the new best's fresh runs", () => {
    const cand = { ...settings, baseline: false };
    expect(runLabel({ summary: 'train exp-0002 on cpu0: seed 2001 (300 s)', trainIndex: 1, settings: cand })).toBeUndefined();
    expect(runLabel({ summary: 'train exp-0002 (incumbent run 1) on cpu0: seed 2003 (300 s)', settings: cand })).toBe("confirmation 1 of at most 3, the incumbent's run");
    expect(runLabel({ summary: 'train exp-0002 (candidate run 2) on gpu1: seed 2004 (300 s)', settings: { baseline: false } })).toBe("confirmation 2, the candidate's run");
    expect(runLabel({ summary: 'train exp-0002 (candidate run 101) on cpu0: seed 2006 (300 s)', settings: cand })).toBe('fresh run 1/3 of the new best');
  });
});

describe('how far a training run is', () => {
  test('under a token budget: percent, steps of the total, and the time left from the trainer\'s own pace, aged to now', () => {
    // 9 s of training for 45%: 11 s to go at the beat, 2 s ago.
    expect(trainProgress(train(), at(12))).toBe('45% (36 of 80 steps), about 9 s left');
    expect(describeActivity(train(), at(12))).toBe('training exp-0000 run 2/3, 45% (36 of 80 steps), about 9 s left');
  });

  test('under a time budget: percent and step, no total', () => {
    const a = train({ settings: { baseline: true, repeats: 3, timeBudgetSeconds: 300 } }, 'step 00100 | loss 4.0 | elapsed 150.0s | progress 50.0%');
    expect(trainProgress(a, at(10))).toBe('50% (step 100), about 2 min 30 s left');
  });

  test("train.py's first step (untimed, 0.0 s) gives no estimate; past a tenth, the activity's time does when the line has none", () => {
    expect(trainProgress(train({}, 'step 00001 | loss 9.0 | dt 900ms | elapsed 0.0s | progress 1.2%'), at(10))).toBe('1% (step 1)');
    expect(trainProgress(train({}, 'step 20/80'), at(10))).toBe('25% (20 of 80 steps), about 30 s left');
  });

  test("the trainer's own remaining time wins; a finished loop says it is finishing", () => {
    expect(trainProgress(train({}, 'step 00953 (95.3%) | mfu: 39.8% | remaining: 15s'), at(10))).toBe('95% (953 of 1000 steps), about 15 s left');
    expect(trainProgress(train({}, 'train: 80 steps | 17,000 tok/s over the timed steps'), at(10))).toBe('training done, finishing (final evaluation, export; 10 s in)');
  });

  test('an unreadable line: elapsed against the budget', () => {
    const fixture = 'fixture trainer: budget 5.0s, LEARNING_RATE=0.04 DEPTH=4';
    expect(trainProgress(train({ settings: { timeBudgetSeconds: 30 } }, fixture), at(12))).toBe('12 s of a 30 s budget, about 18 s left');
    expect(trainProgress(train({ settings: { timeBudgetSeconds: 5 } }, fixture), at(12))).toBe('12 s of a 5 s budget: past it (start-up or final evaluation)');
    expect(trainProgress(train({}, fixture), at(12))).toBe('12 s in (budget 163,840 tokens)');
    // No settings read (an older experiment's input): the heartbeat's own budget.
    expect(trainProgress(train({ settings: {} }, fixture), at(10))).toBe('10 s of a 30 s budget, about 20 s left');
  });

  test('no heartbeat yet: starting, and for how long', () => {
    expect(trainProgress(train({ details: undefined, heartbeatAtMs: undefined }), at(4))).toBe('starting (no progress reported yet, 4 s in)');
  });

  test('a retry says which attempt it is; other activities say what they do and for how long', () => {
    expect(activityKey(train({ attempt: 2 }))).toBe('training exp-0000 run 2/3 (attempt 2)');
    expect(describeActivity({ experiment: 1, type: 'hypothesize', startedAtMs: at(0), settings: {} }, at(40))).toBe('proposing exp-0001 (40 s)');
    expect(activityKey({ experiment: 2, type: 'checkoutCommit', settings: {} })).toBe('checking out for exp-0002');
    expect(activityKey({ experiment: 2, type: 'somethingNew', settings: {} })).toBe('somethingNew exp-0002');
    expect(describeActivity(train({ waiting: true, attempt: 2 }), at(12))).toBe('training exp-0000 run 2/3 (attempt 2), waiting for a worker to pick it up');
    expect(describeActivity({ ...train(), type: 'evaluate', summary: 'evaluate exp-0000 (candidate run 2)', details: undefined }, at(3))).toBe('scoring exp-0000 run 3/3 (3 s)');
  });
});

describe('the lines `research wait` prints', () => {
  const now = new Date(at(12));
  const clock = `[${now.toLocaleTimeString('en-GB', { hour12: false })}]`;

  test('a change prints the experiment, the phase and each running experiment with its progress', () => {
    expect(progressLine(status(), [train()], now))
      .toBe(`${clock} experiment 0/3 train · training exp-0000 run 2/3, 45% (36 of 80 steps), about 9 s left · baseline: the unmodified trainer`);
  });

  test('progress alone is no change; a new run, phase or experiment is', () => {
    const key = progressKey(status(), [train()]);
    expect(progressKey(status(), [train({ heartbeatAtMs: at(14), details: { elapsedSeconds: 14, budgetSeconds: 30, lastLine: 'step 00050 | progress 62.5%' } })])).toBe(key);
    expect(progressKey(status(), [train({ summary: 'train exp-0000 (candidate run 2) on cpu0: seed 3 (163840 tokens)' })])).not.toBe(key);
    expect(progressKey(status(), [{ ...train(), type: 'evaluate' }])).not.toBe(key);
    expect(progressKey(status({ experiment: 1 }), [train()])).not.toBe(key);
  });

  test('a line on each change and a repeat while nothing changes, never more than 15 s apart with a 2 s poll, none in between', () => {
    const printed: { s: number; what?: string }[] = [];
    let ticker;
    for (let s = 0; s <= 40; s += 2) {
      const key = s < 20 ? 'a' : 'b';
      const r = tick(ticker, key, at(s));
      ticker = r.next;
      if (r.print) printed.push({ s, what: r.print });
    }
    expect(printed).toEqual([{ s: 0, what: 'change' }, { s: 12, what: 'repeat' }, { s: 20, what: 'change' }, { s: 32, what: 'repeat' }]);
    expect(PROGRESS_EVERY_MS + 2_000).toBeLessThanOrEqual(15_000);
  });

  test('the repeat line: still training, how far; without activities, the phase and for how long; without a status, why', () => {
    expect(stillLine(status(), [train()], now, at(0))).toBe(`${clock} still training exp-0000 run 2/3, 45% (36 of 80 steps), about 9 s left`);
    expect(stillLine(status({ phase: 'preparing', running: [] }), [], now, at(0))).toBe(`${clock} still preparing, experiment 0, for 12 s`);
    expect(stillLine(status({ phase: 'idle', running: [], lanesWaitingFor: 1 }), [], now, at(0))).toContain('1 lane(s) asked for');
    expect(stillLine(undefined, [], now, at(0))).toBe(`${clock} still no answer from the run's status query (is a worker running?)`);
  });
});
