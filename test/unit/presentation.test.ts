import { searchAttributeFlags } from '../../src/temporal/searchAttributes.js';
import { BestValBpb, ExperimentCount, ResearchPhaseKey, ResearchTag, type RunStatus } from '../../src/api/messages.js';
import type { ExperimentStatus } from '../../src/core/results.js';
import { initialRunState, recordExperiment } from '../../src/core/runState.js';
import { renderCurrentDetails, searchAttributeUpdates } from '../../src/workflows/presentation.js';
import { makeRecord } from '../helpers/run.js';

const record = (n: number, status: ExperimentStatus, valBpb: number, description = `change ${n}`) =>
  makeRecord(n, { commit: `c${n}`.padEnd(7, '0'), status, valBpb, description });
const status = (over: Partial<RunStatus> = {}): RunStatus => ({
  tag: 't', phase: 'train', running: [], paused: false, stopRequested: false, experiment: 6, experimentsDone: 6, timeBudgetSeconds: 300,
  counts: { keep: 2, discard: 3, crash: 1, invalid: 0 },
  best: { valBpb: 0.98, commit: 'c300000', commitFull: 'c300000'.padEnd(40, '0'), experiment: 3 }, costUsd: 0.06, steeringNotes: [],
  currentHypothesis: 'deeper is better', ...over,
});
const records = [record(0, 'keep', 1), record(1, 'discard', 1.1), record(2, 'crash', 0), record(3, 'keep', 0.98), record(4, 'discard', 0.99), record(5, 'discard', 1.2, 'a | b')];
const state = records.reduce((s, r) => recordExperiment(s, r), initialRunState());

describe('search attributes', () => {
  test('carry the tag, the experiment count, the phase and the best val_bpb', () => {
    const pairs = searchAttributeUpdates('t', { ...state, phase: 'train' });
    expect(pairs).toEqual([
      { key: ResearchTag, value: 't' },
      { key: ExperimentCount, value: 6 },
      { key: ResearchPhaseKey, value: 'train' },
      { key: BestValBpb, value: 0.98 },
    ]);
  });

  test('leave BestValBpb out until an experiment has a result', () => {
    const pairs = searchAttributeUpdates('t', { ...recordExperiment(initialRunState(), record(0, 'crash', 0)), phase: 'idle' });
    expect(pairs.map((p) => p.key.name)).toEqual(['ResearchTag', 'ExperimentCount', 'ResearchPhase']);
  });

  test('the dev server registers each one with its type', () => {
    expect(searchAttributeFlags().filter((f) => f !== '--search-attribute')).toEqual(
      ['ResearchTag=Keyword', 'BestValBpb=Double', 'ExperimentCount=Int', 'ResearchPhase=Keyword']);
  });
});

describe('the run\'s current details', () => {
  test('show the experiment and phase, the hypothesis, the best result with its commit and the cost', () => {
    const md = renderCurrentDetails(status(), records);
    expect(md.split('\n').filter(Boolean).slice(0, 4)).toEqual([
      '**Experiment 6** · phase **train**',
      'Hypothesis: deeper is better',
      'Best val_bpb 0.980000 at c300000 (exp 3)',
      'Cost so far: $0.0600',
    ]);
  });

  test('end with a markdown table of the last five results, pipes escaped', () => {
    const table = renderCurrentDetails(status(), records).split('\n').filter((l) => l.startsWith('|'));
    expect(table[0]).toBe('| # | commit | val_bpb | status | description |');
    expect(table.slice(2).map((l) => l.split(' | ')[0])).toEqual(['| 1', '| 2', '| 3', '| 4', '| 5']);
    expect(table.at(-1)).toBe('| 5 | `c500000` | 1.200000 | discard | a \\| b |');
  });

  test('say whether the run is paused or stopping, and why it ended', () => {
    const md = renderCurrentDetails(status({ phase: 'paused', paused: true, stopRequested: true, endReason: 'stopped on request' }), records);
    expect(md).toMatch(/phase \*\*paused\*\* · ⏸ paused · stopping after this experiment/);
    expect(md.trimEnd().split('\n').at(-1)).toBe('Run ended: stopped on request');
  });

  test('point to each running experiment\'s own page for its training progress', () => {
    const md = renderCurrentDetails(status({ running: [{ experiment: 6, lane: 'cpu0' }, { experiment: 7, lane: 'cpu1' }] }), records);
    expect(md).toContain('Training progress (steps, time left): on the page of `t/exp-0006`, `t/exp-0007`');
    expect(renderCurrentDetails(status(), records)).not.toContain('Training progress');
  });

  test('name the node each experiment in a tree search branch starts from', () => {
    const md = renderCurrentDetails(status({ running: [{ experiment: 6, lane: 'cpu0', branchFrom: 2 }, { experiment: 7, lane: 'cpu1' }] }), records);
    expect(md).toContain('Branch (tree search): exp-0006 from exp-0002');
    expect(md).not.toContain('exp-0007 from');
    expect(renderCurrentDetails(status(), records)).not.toContain('Branch');
  });

  test('say that there is no result yet before the first experiment', () => {
    const md = renderCurrentDetails(status({ best: undefined, currentHypothesis: undefined, experiment: 0, costUsd: 0 }), []);
    expect(md.split('\n').filter(Boolean)).toEqual(['**Experiment 0** · phase **train**', 'No result yet', 'Cost so far: $0.0000']);
  });
});

describe('the breaker in the web UI', () => {
  test('current details say why the run paused itself, and the noise it sees', () => {
    const text = renderCurrentDetails(status({ paused: true, pausedReason: 'paused itself after 5 crash or invalid results in a row', sigma: 0.0012 }), []);
    expect(text).toMatch(/⏸ The run paused itself after 5 crash or invalid results in a row\./);
    expect(text).toMatch(/noise σ 0\.001200 bpb per run/);
    expect(renderCurrentDetails(status(), [])).not.toMatch(/paused itself|σ/);
  });
});
