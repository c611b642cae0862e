import { renderOutcome, whyDiscarded } from '../../src/cli/outcome.js';
import type { RunSummary } from '../../src/api/messages.js';
import type { ResultRow } from '../../src/core/resultsTsv.js';

const summary: RunSummary = {
  tag: 'demo', experiments: 4, kept: 2, costUsd: 0, branch: 'autoresearch/demo',
  resultsFile: '/r/runs/demo/results.tsv', endReason: 'reached maxExperiments (4)',
  best: { experiment: 2, valBpb: 2.3, commit: 'bbbbbbb', commitFull: 'bbbbbbb' },
};
const row = (over: Partial<ResultRow>): ResultRow => ({ commit: 'aaaaaaa', valBpb: 2.4, memoryGb: 0, status: 'keep', description: 'baseline', ...over });

test('the outcome names what was kept by how much, why each discard lost, each crash with its log, and what to do next', () => {
  const text = renderOutcome(summary, [
    row({ experimentId: 'demo/exp-0000', sigma: 0.01 }),
    row({ experimentId: 'demo/exp-0001', status: 'discard', description: 'WARMDOWN_RATIO: 0.5 -> 0.667', delta: 0.005, sigma: 0.01 }),
    row({ experimentId: 'demo/exp-0002', description: 'MATRIX_LR: 0.04 -> 0.08', delta: 0.1, sigma: 0.01 }),
    row({ experimentId: 'demo/exp-0003', status: 'crash', valBpb: 0, description: 'DEPTH: 8 -> 800', reason: 'out of memory' }),
  ]);
  expect(text).toContain('baseline   val_bpb 2.400000, noise σ = 0.0100 bpb per run');
  expect(text).toContain('kept       exp-0002 MATRIX_LR: 0.04 -> 0.08: better by 0.1000 bpb (10.0σ, σ = 0.0100 per run)');
  expect(text).toContain('discarded  exp-0001 WARMDOWN_RATIO: 0.5 -> 0.667: better by 0.0050 bpb, within the noise (0.5σ');
  expect(text).toContain('crash      exp-0003 DEPTH: 8 -> 800: out of memory (log /r/runs/demo/logs/exp-0003.log)');
  expect(text).toContain('git log -p autoresearch/demo');
  expect(text).toContain('npm run report -- demo');
});

test('a run that kept nothing says the gains were within the noise and how to get past it', () => {
  const text = renderOutcome({ ...summary, kept: 1 }, [
    row({ experimentId: 'demo/exp-0000', sigma: 0.02 }),
    row({ experimentId: 'demo/exp-0001', status: 'discard', description: 'SEED: 42 -> 31', delta: -0.03, sigma: 0.02 }),
  ]);
  expect(text).toContain('worse by 0.0300 bpb (-1.5σ');
  expect(text).toContain('nothing beat the noise');
  expect(text).not.toContain('git log -p');
});

test('a greedy discard (no σ) still says whether it was worse', () => {
  expect(whyDiscarded(row({ status: 'discard', delta: -0.2 }))).toBe('worse by 0.2000 bpb');
  expect(whyDiscarded(row({ status: 'discard', reason: 'greedy: 2.5 >= best 2.4' }))).toBe('greedy: 2.5 >= best 2.4');
});

test('runs paired by seed: the gain is told on the same seeds, against σ of a pair', () => {
  const text = renderOutcome(summary, [
    row({ experimentId: 'demo/exp-0000', sigma: 0.006 }),
    row({ experimentId: 'demo/exp-0001', description: 'WEIGHT_DECAY: 0.2 -> 0.3', delta: 0.002256, sigma: 0.006,
      reason: 'paired gain 0.002256 over 2 seed(s) (1, 2), σ of a pair 0.000181: > 0.000601 (k·SE), over 2 run(s) vs the incumbent\'s 3 on AMD EPYC' }),
    row({ experimentId: 'demo/exp-0002', status: 'discard', description: 'MUON_BETA2: 0.95 -> 0.9667', delta: -0.000434, sigma: 0.005,
      reason: 'paired gain -0.000434 over 1 seed(s) (1) <= 0, over 1 run(s) vs the incumbent\'s 2 on AMD EPYC' }),
  ]);
  expect(text).toContain('kept       exp-0001 WEIGHT_DECAY: 0.2 -> 0.3: better by 0.0023 bpb on the same seeds (1, 2; σ of a pair = 0.0002)');
  expect(text).toContain('discarded  exp-0002 MUON_BETA2: 0.95 -> 0.9667: worse by 0.0004 bpb on the same seed (1)');
  expect(whyDiscarded(row({ status: 'discard', delta: 0.006, reason: 'paired gain 0.006000 over 2 seed(s) (1, 2), σ of a pair 0.028: <= 0.09 (k·SE)' })))
    .toBe('better by 0.0060 bpb on the same seeds (1, 2; σ of a pair = 0.0280), but not by more than its seeds disagree');
});
