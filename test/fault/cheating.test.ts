/**
 * Cheating trainers are never kept (harness evaluation, trainer sandboxed): the `train` and `evaluate`
 * activities on real torch models, each a small bigram on a tiny prepared data set. A score the trainer
 * prints is checked against the harness's own; a model that sees the future fails the causality check;
 * an archive that would run code or keep state when loaded is refused; the validation split is hidden;
 * the harness cannot be changed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { sandboxStatus } from '../../src/activities/sandbox.js';
import { makeHarnessRepo, trainAndEvaluate, type HarnessRepo } from '../helpers/harnessRepo.js';

let h: HarnessRepo;
let bwrapReason: string | undefined;
let honest: number;

beforeAll(async () => {
  const status = await sandboxStatus();
  bwrapReason = status.available ? undefined : status.reason;
  if (bwrapReason) console.warn(`cheating trainers, sandboxed: skipped (${bwrapReason}); the unsandboxed file still runs`);
  h = await makeHarnessRepo();
}, 120_000);

describe('under harness evaluation, in the sandbox', () => {
  test('an honest trainer is scored by the harness, without seeing the validation split', async () => {
    if (bwrapReason) return;
    const { evaluation, log } = await trainAndEvaluate(h, 'honest');
    expect(log).toMatch(/^val hidden: True$/m);
    expect(evaluation).toMatchObject({ ok: true, summary: { num_steps: 30 } });
    expect(evaluation).not.toHaveProperty('warning');
    honest = evaluation.ok ? evaluation.summary.val_bpb : NaN;
    expect(honest).toBeGreaterThan(0.5);
    const evaluatorLog = await readFile(path.join(h.logs, 'exp-0001.evaluation.log'), 'utf8');
    expect(evaluatorLog).toMatch(/^causal: +True$/m);
  });

  test.each([
    ['fake_score', /the trainer printed val_bpb 0\.000001 but the harness measured/],
    ['scaled_score', /the trainer printed val_bpb 1 but the harness measured/],
    ['peeks', /^causality check failed: the logits up to position \d+ changed/],
    ['no_export', /^no exported model at .*model\.pt2/],
    ['peeks_alternate', /^causality check failed: the logits up to position \d+ changed/],
    ['pickled_archive', /^the exported model could not be evaluated: refused: .* is stored as a pickle/],
    ['stateful', /^the exported model could not be evaluated: refused: .*copy_.*writes to its input/],
  ])('%s is a crash row naming why', async (cheat, reason) => {
    if (bwrapReason) return;
    const { evaluation } = await trainAndEvaluate(h, cheat);
    expect(evaluation).toMatchObject({ ok: false, reason: expect.stringMatching(reason) });
  });

  test('a trainer that patches the loss when imported changes nothing: the harness never imports it', async () => {
    if (bwrapReason) return;
    const { evaluation } = await trainAndEvaluate(h, 'patches_loss');
    expect(evaluation.ok).toBe(true);
    // Its model trained on a tenfold smaller loss, so it differs a little; its score is an honest one.
    expect(evaluation.ok && evaluation.summary.val_bpb).toBeGreaterThan(0.8 * honest);
  });

  test('a trainer that reads the validation split finds it empty', async () => {
    if (bwrapReason) return;
    const { evaluation, log } = await trainAndEvaluate(h, 'reads_val');
    expect(log).toMatch(/^val tokens seen: 0$/m);
    expect(evaluation.ok && evaluation.summary.val_bpb).toBeGreaterThan(0.8 * honest);
  });

  test('a trainer that writes prepare.py cannot', async () => {
    if (bwrapReason) return;
    const before = await readFile(path.join(h.trainerDir, 'prepare.py'), 'utf8');
    const { evaluation, log } = await trainAndEvaluate(h, 'writes_prepare');
    expect(log).toMatch(/^could not write prepare\.py: .*(Read-only file system|Permission denied)/m);
    expect(await readFile(path.join(h.trainerDir, 'prepare.py'), 'utf8')).toBe(before);
    expect(evaluation.ok).toBe(true);
  });

  test('a harness file changed before training: not trained, a crash row naming the file', async () => {
    const file = path.join(h.trainerDir, 'evaluate.py');
    const before = await readFile(file, 'utf8');
    await writeFile(file, before.replace(/CAUSALITY_ROWS = \d+/, 'CAUSALITY_ROWS = 0'));
    try {
      const { result, evaluation } = await trainAndEvaluate(h, 'honest');
      expect(result.seconds).toBe(0);
      expect(evaluation).toMatchObject({ ok: false, reason: expect.stringMatching(/^harness changed before training: trainer\/evaluate\.py differs from the base commit/) });
    } finally {
      await execa('git', ['checkout', '--', 'trainer/evaluate.py'], { cwd: h.repo });
    }
  });
});
