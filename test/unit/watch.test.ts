import { budgetLine, renderSummary, renderWatch, runFailure } from '../../src/cli/watchView.js';
import { describeBudget } from '../../src/core/describe.js';
import type { ExperimentStatus } from '../../src/core/results.js';
import type { RunStatus } from '../../src/api/messages.js';
import { makeRecord } from '../helpers/run.js';

const status = (over: Partial<RunStatus> = {}): RunStatus => ({
  tag: 'night1', phase: 'train', running: [], paused: false, stopRequested: false, experiment: 7, experimentsDone: 7, maxExperiments: 20,
  counts: { keep: 3, discard: 2, crash: 1, invalid: 1 },
  best: { valBpb: 0.9812, commit: 'abc1234', commitFull: 'abc1234'.padEnd(40, '0'), experiment: 5 }, currentHypothesis: 'a higher matrix LR converges faster',
  trainingStartedAt: '2026-01-01T00:00:00.000Z', timeBudgetSeconds: 300, costUsd: 0.1234, steeringNotes: [],
  branch: 'autoresearch/night1', resultsFile: '/r/results.tsv', ...over,
});

const record = (n: number, s: ExperimentStatus, valBpb: number, description = `change ${n}`) =>
  makeRecord(n, { commit: s === 'invalid' ? '' : `c${n}`.padEnd(7, '0'), valBpb, memoryGb: 1, status: s, description });

const results = [
  record(0, 'keep', 1.0, 'baseline'), record(1, 'discard', 1.01), record(2, 'crash', 0), record(3, 'keep', 0.99),
  record(4, 'invalid', 0), record(5, 'keep', 0.9812), record(6, 'discard', 0.985),
];
const at = (seconds: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + seconds * 1000);

describe('the watch view', () => {
  test('shows the phase, the experiment out of the maximum, the hypothesis and the best result', () => {
    const text = renderWatch(status(), results, at(150));
    expect(text).toContain('experiment 7/20 · phase train');
    expect(text).toContain('hypothesis: a higher matrix LR converges faster');
    expect(text).toContain('best val_bpb 0.981200 at abc1234 (exp 5)');
    expect(text).toContain('7 done (3 keep, 2 discard, 1 crash, 1 invalid) · cost $0.1234');
  });

  test('lists only the last five results, newest last, without a val_bpb for crashes', () => {
    const rows = renderWatch(status(), results, at(0)).split('\n').filter((l) => /^\s+\d+ /.test(l));
    expect(rows.map((r) => Number(r.trim().split(' ')[0]))).toEqual([2, 3, 4, 5, 6]);
    expect(rows[0]).toMatch(/^\s+2 c200000\s+-\s+crash/);
    expect(rows[4]).toMatch(/6 c600000\s+0\.985000 +discard +change 6$/);
  });

  test('fills the training bar with the elapsed fraction of the budget', () => {
    expect(budgetLine(status(), at(150))).toBe(`training  [${'█'.repeat(15)}${'░'.repeat(15)}]  50%  150 s / 300 s`);
    expect(budgetLine(status(), at(0))).toContain(' 0%  0 s / 300 s');
  });

  test('stops the bar at 100% and says why when training overruns its budget', () => {
    expect(budgetLine(status(), at(330))).toBe(`training  [${'█'.repeat(30)}] 100%  330 s / 300 s · past the budget: start-up or final evaluation`);
  });

  test('shows an empty bar outside the training phase', () => {
    expect(budgetLine(status({ phase: 'hypothesize' }), at(10))).toBe(`training  [${' '.repeat(30)}]  not training (budget 300 s)`);
  });

  test('shows a token budget as tokens, never as the unused time budget', () => {
    const tokens = status({ timeBudgetSeconds: 30, tokenBudget: 163_840 });
    expect(budgetLine({ ...tokens, phase: 'hypothesize' }, at(10))).toBe(`training  [${' '.repeat(30)}]  not training (budget 163,840 tokens)`);
    expect(budgetLine(tokens, at(42))).toBe(`training  [${' '.repeat(30)}]  42 s so far · budget 163,840 tokens`);
    expect(describeBudget({ timeBudgetSeconds: 30 })).toBe('30 s');
    expect(describeBudget({ timeBudgetSeconds: 30, tokenBudget: 1_000 })).toBe('1,000 tokens');
    expect(describeBudget({ timeBudgetSeconds: 30, tokenBudget: 999 })).toBe('999 tokens');
  });

  test('says when the run is paused or stopping, and how many steering notes it holds', () => {
    const text = renderWatch(status({ phase: 'paused', paused: true, stopRequested: true, steeringNotes: ['try depth 8'] }), results, at(0));
    expect(text).toContain('phase paused · paused · stopping after this experiment');
    expect(text).toContain('1 steering note(s)');
  });

  test('before any result it says so and lists no table', () => {
    const text = renderWatch(status({ phase: 'preparing', best: undefined, experiment: 0, experimentsDone: 0, counts: { keep: 0, discard: 0, crash: 0, invalid: 0 }, currentHypothesis: undefined }), [], at(0));
    expect(text).toContain('best: no result yet');
    expect(text).toContain('0 done · cost');
    expect(text).not.toContain('commit');
  });

  test('cuts long lines to the terminal width and keeps colour codes balanced', () => {
    const long = results.map((r) => ({ ...r, description: 'x'.repeat(200) }));
    for (const color of [false, true]) {
      const lines = renderWatch(status(), long, at(10), { columns: 60, color }).split('\n');
      for (const line of lines) expect(line.replace(/\x1b\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(60);
      expect(lines.some((l) => l.includes('…'))).toBe(true);
    }
  });

  test('colours statuses only when asked', () => {
    expect(renderWatch(status(), results, at(0))).not.toContain('\x1b[');
    expect(renderWatch(status(), results, at(0), { color: true })).toContain('\x1b[32mkeep');
  });

  test('shows a polling warning and the end reason', () => {
    const text = renderWatch(status({ phase: 'done', endReason: 'stopped on request' }), results, at(0), { warning: 'status query unanswered' });
    expect(text).toContain('status query unanswered');
    expect(text).toContain('run ended: stopped on request');
    expect(text).not.toContain('hypothesis:');
  });

  test('the final summary gives the end reason, the best result against the baseline and where the results are', () => {
    const text = renderSummary({
      tag: 'night1', experiments: 7, kept: 3, best: { valBpb: 0.9812, commit: 'abc1234', commitFull: 'abc1234', experiment: 5 }, baselineValBpb: 1.0,
      costUsd: 0.5, branch: 'autoresearch/night1', resultsFile: '/r/results.tsv', endReason: 'stopped on request',
    });
    expect(text).toBe([
      'run night1 completed: stopped on request',
      '7 experiments, 3 kept; best val_bpb 0.981200 at abc1234 (exp 5), -0.018800 vs baseline',
      'cost $0.5000 · branch autoresearch/night1 · results /r/results.tsv',
    ].join('\n'));
  });

  test('a run that scored nothing is a failure naming the first crash and its log; one that scored is not', () => {
    const summary = { tag: 'q', experiments: 3, kept: 0, costUsd: 0, branch: 'autoresearch/q', resultsFile: '/r/runs/q/results.tsv', endReason: 'reached maxExperiments (3)' };
    const rows = [
      { status: 'crash', reason: 'trainer exited with 1', experimentId: 'q/exp-0000' },
      { status: 'crash', reason: 'trainer exited with 1', experimentId: 'q/exp-0001' },
    ];
    expect(runFailure(summary, rows)).toBe('run q failed: none of its 3 experiments was scored; the first crashed: trainer exited with 1 (log /r/runs/q/logs/exp-0000.log)');
    expect(runFailure({ ...summary, experiments: 0, endReason: 'stopped on request' })).toBe('run q ran no experiment (stopped on request)');
    const ended = 'nothing to compare against: the baseline crashed: trainer exited with 1, log /r/runs/q/logs/exp-0000.log';
    expect(runFailure({ ...summary, experiments: 1, endReason: ended })).toBe(`run q failed: ${ended}`);
    expect(runFailure({ ...summary, kept: 1, best: { valBpb: 1.2, commit: 'a', commitFull: 'a', experiment: 0 } }, rows)).toBeUndefined();
  });
});
