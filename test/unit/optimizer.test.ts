import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseRunInput, ProposerConfigSchema } from '../../src/core/runInput.js';
import type { JournalRecord } from '../../src/core/journal.js';
import type { ProposerContext } from '../../src/proposers/context.js';
import { createOfflineProposer } from '../../src/proposers/offline.js';
import { createOptimizerProposer, proposalOf, samplerSeed } from '../../src/proposers/optimizer.js';
import type { SuggestRequest, SuggestAnswer } from '../../src/proposers/optimizerProtocol.js';
import { autoRange, searchableConstants, searchSpace } from '../../src/proposers/optimizerSpace.js';
import { changesOf, trialsOf } from '../../src/proposers/optimizerTrials.js';
import { startSampler, suggestInPython } from '../../src/activities/optimizerPython.js';
import { journalRecord } from '../helpers/journalRecords.js';
import { FIXTURE, fixtureValue, runNight, valuesOf } from './optimizerSim.js';

const config = (over: object = {}) => ProposerConfigSchema.parse({ kind: 'optimizer', ...over });
const problem = (proposer: object) => {
  const r = parseRunInput({ tag: 't', proposer });
  return r.ok ? '' : r.error;
};

describe('the run input', () => {
  test('kind "optimizer" with TPE by default, CMA-ES on request', () => {
    expect(problem({ kind: 'optimizer' })).toBe('');
    expect(problem({ kind: 'optimizer', optimizer: { sampler: 'cmaes', ranges: { MATRIX_LR: [0.01, 0.1] }, exclude: ['DEPTH'] } })).toBe('');
    expect(problem({ kind: 'claude', optimizer: { share: 0.7 } })).toBe('');
  });

  test('each error names its field', () => {
    expect(problem({ kind: 'optimizer', optimizer: { sampler: 'grid' } })).toContain('proposer.optimizer.sampler');
    expect(problem({ kind: 'optimizer', optimizer: { ranges: { MATRIX_LR: [0.1, 0.01] } } })).toContain('proposer.optimizer.ranges.MATRIX_LR: must be [lo, hi] with lo below hi');
    expect(problem({ kind: 'optimizer', optimizer: { exclude: ['depth'] } })).toContain('proposer.optimizer.exclude.0');
    expect(problem({ kind: 'optimizer', optimizer: { share: 0.5 } })).toContain('proposer.optimizer.share');
    expect(problem({ kind: 'claude', optimizer: { share: 1.5 } })).toContain('proposer.optimizer.share');
    expect(problem({ kind: 'offline', optimizer: {} })).toContain('proposer.optimizer: is for kind "optimizer"');
    expect(problem({ kind: 'optimizer', optimizer: { depth: 3 } })).toContain('proposer.optimizer.depth: unknown field');
  });
});

describe('the search space', () => {
  const files = [{ path: 'train.py', content: `${FIXTURE}WARMDOWN_RATIO = 0.5\nBETA2 = 0.95\nWARMUP = 0.0\nNAME = "x"\n` }];

  test('every numeric constant but SEED, zeros and the excluded ones, with ranges from the start', () => {
    const constants = searchableConstants(files, { exclude: ['DEPTH'] });
    expect(constants.map((c) => c.name)).toEqual(['MATRIX_LR', 'EMBEDDING_LR', 'WEIGHT_DECAY', 'WARMDOWN_RATIO', 'BETA2', 'WARMUP']);
    const { space } = searchSpace({ constants, settings: { ranges: { WEIGHT_DECAY: [0, 0.5] } }, start: { MATRIX_LR: 0.02 }, trials: [] });
    expect(space.map((d) => d.name)).toEqual(['MATRIX_LR', 'EMBEDDING_LR', 'WEIGHT_DECAY', 'WARMDOWN_RATIO', 'BETA2']); // WARMUP is 0: no scale
    expect(space[0]).toEqual({ name: 'MATRIX_LR', kind: 'float', low: 0.005, high: 0.08, log: true }); // from the start, not the current value
    expect(space[2]).toEqual({ name: 'WEIGHT_DECAY', kind: 'float', low: 0, high: 0.5, log: false });
    expect(space[3]).toMatchObject({ low: 0.125, high: 1, log: true });
    expect(space[4].low).toBeCloseTo(0.8);
    expect(space[4].high).toBeCloseTo(0.9875);
    expect(autoRange('DEPTH', 'int', 8)).toEqual({ low: 4, high: 12, log: false });
  });

  test('an automatic range takes in every trained value; a given one leaves out the trials outside it', () => {
    const constants = searchableConstants(files, { exclude: ['EMBEDDING_LR', 'WEIGHT_DECAY', 'WARMDOWN_RATIO', 'BETA2', 'WARMUP'] });
    const trials = [
      { params: { MATRIX_LR: 0.5, DEPTH: 8 }, value: 1, state: 'complete' as const },
      { params: { MATRIX_LR: 0.04, DEPTH: 30 }, value: 1, state: 'complete' as const },
    ];
    const auto = searchSpace({ constants, settings: {}, start: {}, trials });
    expect(auto.space.map((d) => [d.low, d.high])).toEqual([[0.01, 0.5], [4, 30]]);
    expect(auto.trials).toHaveLength(2);
    const given = searchSpace({ constants, settings: { ranges: { DEPTH: [2, 16] } }, start: {}, trials });
    expect(given.trials).toEqual([trials[0]]);
  });
});

describe('trials read back from the journal', () => {
  const c = (n: number) => `c${n}`.padEnd(40, '0');
  const rec = (n: number, over: Partial<JournalRecord>) => journalRecord(n, { tag: 'run', parentCommit: c(1), commit: c(n), touched: [], ...over });
  const records = [
    rec(0, { baseline: true, parentCommit: 'base', commit: c(0), description: 'baseline', status: 'keep', valBpb: 1.0 }),
    rec(1, { parentCommit: c(0), description: 'MATRIX_LR: 0.04 -> 0.05', status: 'keep', valBpb: 0.99 }),
    rec(2, { description: 'DEPTH: 8 -> 10', valBpb: 0.995 }),
    rec(3, { status: 'crash', description: 'two at once', hypothesis: 'why\nconstants: MATRIX_LR: 0.05 -> 0.06, DEPTH: 8 -> 6', valBpb: 0 }),
    rec(4, { description: 'rewrote the attention', touched: ['MATRIX_LR'], valBpb: 0.98 }), // changed a constant without saying to what
    rec(5, { description: 'a structural change', status: 'keep', valBpb: 0.97 }),
    rec(6, { parentCommit: c(5), description: 'DEPTH: 8 -> 9', valBpb: 0.975 }),
    rec(7, { status: 'invalid', commit: '', description: 'DEPTH: 8 -> 7' }),
    journalRecord(8, { tag: 'earlier', parentCommit: c(0), commit: c(80), description: 'DEPTH: 8 -> 12', valBpb: 1.01, touched: [] }),
    journalRecord(9, { tag: 'other-settings', parentCommit: c(0), commit: c(90), description: 'DEPTH: 8 -> 4', touched: [],
      settings: { ...journalRecord(0).settings!, budget: 60 } }),
  ];

  test('the values follow from the best commit, back along the kept commits and forward through every record', () => {
    const history = trialsOf({ records, tag: 'run', names: ['MATRIX_LR', 'DEPTH'], current: { MATRIX_LR: 0.05, DEPTH: 8 }, bestCommit: c(5) });
    const row = (t: { params: Record<string, number>; value: number | null; state: string }) => [t.params.MATRIX_LR, t.params.DEPTH, t.value, t.state];
    expect(history.trials.map(row)).toEqual([
      [0.04, 8, 1.0, 'complete'],
      [0.05, 8, 0.99, 'complete'],
      [0.05, 10, 0.995, 'complete'],
      [0.06, 6, null, 'fail'], // the hypothesis's constants line wins over the description
      [0.05, 8, 0.97, 'complete'],
      [0.05, 9, 0.975, 'complete'],
      [0.04, 12, 1.01, 'complete'], // an earlier run with the same settings counts; one with others does not
    ]);
    expect(history.start).toEqual({ MATRIX_LR: 0.04, DEPTH: 8 });
  });

  test('the same records in another order make the same trials', () => {
    const input = { tag: 'run', names: ['MATRIX_LR', 'DEPTH'], current: { MATRIX_LR: 0.05, DEPTH: 8 }, bestCommit: c(5) };
    expect(trialsOf({ ...input, records: [...records].reverse() })).toEqual(trialsOf({ ...input, records }));
  });

  test('changes are read from descriptions the offline and optimizer proposers write', () => {
    expect(changesOf({ description: 'MATRIX_LR: 0.04 -> 0.05, DEPTH: 8 -> 10 (+2 more)', hypothesis: '' }))
      .toEqual([{ name: 'MATRIX_LR', from: '0.04', to: '0.05' }, { name: 'DEPTH', from: '8', to: '10' }]);
    expect(changesOf({ description: 'ADAM_EPS: 1e-10 -> 2.5e-10', hypothesis: 'x' })).toEqual([{ name: 'ADAM_EPS', from: '1e-10', to: '2.5e-10' }]);
  });
});

/** A fake sampler: answers from a list, recording what it was asked. */
function scripted(answers: Record<string, number>[]) {
  const asked: SuggestRequest[] = [];
  return { asked, suggest: async (r: SuggestRequest): Promise<SuggestAnswer> => (asked.push(r), { params: answers[asked.length - 1] }) };
}

function context(over: Partial<ProposerContext> = {}): ProposerContext {
  return { experiment: 3, program: '', files: [{ path: 'train.py', content: FIXTURE }], recent: [], experimentsDone: 2, steeringNotes: [], ...over };
}

describe('the optimizer proposer', () => {
  test('turns a suggestion into edits of the constants, described NAME: old -> new', async () => {
    const s = scripted([{ MATRIX_LR: 0.0512345, EMBEDDING_LR: 0.6, WEIGHT_DECAY: 0.2, DEPTH: 10 }]);
    const { proposal } = await createOptimizerProposer(config(), s.suggest).propose(context());
    expect(proposal.description).toBe('MATRIX_LR: 0.04 -> 0.05123, DEPTH: 8 -> 10');
    expect(proposal.hypothesis).toContain('constants: MATRIX_LR: 0.04 -> 0.05123, DEPTH: 8 -> 10');
    expect(proposal.edits).toEqual([
      { path: 'train.py', search: 'MATRIX_LR = 0.04  # moves with EMBEDDING_LR', replace: 'MATRIX_LR = 0.05123  # moves with EMBEDDING_LR' },
      { path: 'train.py', search: 'DEPTH = 8', replace: 'DEPTH = 10' },
    ]);
    expect(s.asked[0].seed).toBe(samplerSeed(1, 3, 0));
    expect(s.asked[0].space.map((d) => d.name)).toEqual(['MATRIX_LR', 'EMBEDDING_LR', 'WEIGHT_DECAY', 'DEPTH']);
  });

  test('never proposes code the journal has trained, nor the current code: it asks again with the next seed', async () => {
    const same = { MATRIX_LR: 0.04, EMBEDDING_LR: 0.6, WEIGHT_DECAY: 0.2, DEPTH: 8 };
    const s = scripted([same, { ...same, DEPTH: 9 }, { ...same, DEPTH: 10 }]);
    const measured = (files: Record<string, string>) => files['train.py'].includes('DEPTH = 9');
    const { proposal } = await createOptimizerProposer(config(), s.suggest).propose(context({ measured }));
    expect(proposal.description).toBe('DEPTH: 8 -> 10');
    expect(s.asked.map((r) => r.seed)).toEqual([0, 1, 2].map((a) => samplerSeed(1, 3, a)));
  });

  test('a long list of changes fits the description; the hypothesis lists them all', () => {
    const constants = searchableConstants([{ path: 'p.py', content: Array.from({ length: 12 }, (_, i) => `LONG_CONSTANT_NAME_${i} = 1.5`).join('\n') }], {});
    const changes = constants.map((c) => ({ name: c.name, from: '1.5', to: '2.125' }));
    const p = proposalOf({ changes, constants, trials: 4, sampler: 'tpe' });
    expect(p.description.length).toBeLessThanOrEqual(200);
    expect(p.description).toMatch(/\(\+\d+ more\)$/);
    expect(changesOf(p)).toHaveLength(12);
  });
});

describe('with the worker\'s Python (python/suggest.py and Optuna)', () => {
  let sampler: Awaited<ReturnType<typeof startSampler>>;
  beforeAll(async () => {
    sampler = await startSampler();
  }, 600_000); // builds the environment when `npm run trainer-env` has not
  afterAll(() => sampler?.close());

  test('a retried call makes the same proposal: the same journal, seed and experiment', async () => {
    const night = await runNight(createOptimizerProposer(config({ seed: 7 }), sampler.suggest), 12);
    const best = night.records.filter((r) => r.status === 'keep').at(-1)!;
    let content = FIXTURE;
    for (const ch of changesOf(best)) content = content.replace(new RegExp(`^${ch.name} = \\S+`, 'm'), `${ch.name} = ${ch.to}`);
    const ctx = (records: JournalRecord[]) => context({
      experiment: 13, files: [{ path: 'train.py', content }], history: { tag: 'night', records },
      best: { experiment: best.experiment, commit: best.commit.slice(0, 7), commitFull: best.commit, valBpb: best.valBpb },
    });
    for (const sampler_ of ['tpe', 'cmaes'] as const) {
      const proposer = createOptimizerProposer(config({ seed: 7, optimizer: { sampler: sampler_ } }), (r) => suggestInPython(r));
      const first = await proposer.propose(ctx(night.records));
      const retried = await proposer.propose(ctx([...night.records].reverse()));
      expect(retried.proposal).toEqual(first.proposal);
      const next = await proposer.propose({ ...ctx(night.records), experiment: 14 });
      expect(next.proposal).not.toEqual(first.proposal);
    }
  });

  test('on the fixture landscape it beats offline mutation at equal runs, over seeds', async () => {
    const RUNS = 40;
    const rows: { seed: number; optimizer: number; offline: number }[] = [];
    for (const seed of [1, 2, 3, 4]) {
      const optimizer = await runNight(createOptimizerProposer(config({ seed }), sampler.suggest), RUNS);
      const offline = await runNight(createOfflineProposer(config({ kind: 'offline', seed })), RUNS);
      rows.push({ seed, optimizer: optimizer.best, offline: offline.best });
    }
    const start = fixtureValue(valuesOf(FIXTURE));
    const gain = (k: 'optimizer' | 'offline') => rows.reduce((s, r) => s + start - r[k], 0) / rows.length;
    expect(gain('optimizer')).toBeGreaterThan(1.5 * gain('offline'));
    expect(rows.filter((r) => r.optimizer < r.offline).length).toBeGreaterThanOrEqual(3);
  });
});
