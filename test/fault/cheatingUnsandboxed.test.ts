/**
 * Cheating trainers without the sandbox (AUTORESEARCH_SANDBOX=0 for this file's worker process):
 * the harness still scores, and now also catches what the sandbox would have stopped: a changed
 * harness file fails the experiment, a printed score must agree with the harness's, and a passing row
 * says the validation split was not hidden.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { SANDBOX_SWITCH } from '../../src/activities/sandbox.js';
import { makeHarnessRepo, trainAndEvaluate, type HarnessRepo } from '../helpers/harnessRepo.js';

process.env[SANDBOX_SWITCH] = '0'; // read once, at this process's first train

let h: HarnessRepo;
beforeAll(async () => {
  h = await makeHarnessRepo();
}, 120_000);

describe('under harness evaluation, without a sandbox', () => {
  test('an honest trainer agrees with the harness, and the row says the validation split was not hidden', async () => {
    const { evaluation, log } = await trainAndEvaluate(h, 'honest');
    expect(log).toMatch(/^val hidden: False$/m);
    const printed = Number(/^val_bpb:\s+(\S+)$/m.exec(log)![1]);
    expect(evaluation).toMatchObject({ ok: true, warning: 'validation split not hidden from the trainer: no sandbox' });
    expect(evaluation.ok && evaluation.summary.val_bpb).toBeCloseTo(printed, 5);
  });

  test('a trainer that patches the loss prints a score the harness does not measure: a crash row', async () => {
    const { evaluation } = await trainAndEvaluate(h, 'patches_loss');
    expect(evaluation).toMatchObject({ ok: false, reason: expect.stringMatching(/^the trainer printed val_bpb \S+ but the harness measured/) });
  });

  test('a trainer that writes prepare.py is a crash row naming the file', async () => {
    try {
      const { evaluation, log } = await trainAndEvaluate(h, 'writes_prepare');
      expect(log).toMatch(/^wrote prepare\.py$/m);
      expect(evaluation).toMatchObject({ ok: false, reason: expect.stringMatching(/^harness changed during training: trainer\/prepare\.py differs from the base commit/) });
    } finally {
      await execa('git', ['checkout', '--', 'trainer/prepare.py'], { cwd: h.repo });
    }
    expect(await readFile(path.join(h.trainerDir, 'prepare.py'), 'utf8')).not.toMatch(/tampered/);
  });
});
