/**
 * A trainer's output is recorded from its first byte: one that prints its whole summary block at once
 * and exits is scored every time, never a crash for "no summary block" (the train activity used to
 * attach its listeners only after an await).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { jest } from '@jest/globals';
import { MockActivityEnvironment } from '@temporalio/testing';
import { TrainerConfigSchema } from '../../src/core/runInput.js';
import type { TrainResult } from '../../src/api/activities.js';
import { makeFixtureRepo } from '../helpers/fixtureRepo.js';

// The record of the trainer's process group is written while the trainer already runs: made slow
// here (as on a busy disk), so output that arrives before the listeners would be lost.
const processes = await import('../../src/activities/trainerProcess.js');
jest.unstable_mockModule('../../src/activities/trainerProcess.js', () => ({
  ...processes,
  recordGroup: async (logFile: string, pgid: number) => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    await processes.recordGroup(logFile, pgid);
  },
}));
const { evaluate, train } = await import('../../src/activities/training.js');

const INSTANT = 'import sys\nsys.stdout.write("---\\nval_bpb:          1.234500\\nnum_steps:        1\\n")\n';

test('a trainer that prints its summary and exits at once, 50 times: every run is scored', async () => {
  const repo = await makeFixtureRepo();
  const trainerDir = path.join(repo, 'trainer');
  await writeFile(path.join(trainerDir, 'train.py'), INSTANT);
  await execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-qam', 'instant trainer'], { cwd: repo });
  const trainer = TrainerConfigSchema.parse({ command: 'python3 train.py', evaluation: 'trainer', timeBudgetSeconds: 1, timeoutSeconds: 30 });
  const reasons: string[] = [];
  for (let i = 1; i <= 50; i++) {
    const n = String(i).padStart(4, '0');
    const input = { experimentId: `instant/exp-${n}`, trainerDir, logFile: path.join(repo, '..', `${path.basename(repo)}-logs`, `exp-${n}.log`), trainer };
    const result = (await new MockActivityEnvironment({ attempt: 1 }).run(train, input)) as TrainResult;
    const evaluation = await evaluate(result);
    if (!evaluation.ok) reasons.push(`exp-${n}: ${evaluation.reason}`);
    else expect(evaluation.summary.val_bpb).toBe(1.2345);
  }
  expect(reasons).toEqual([]);
}, 120_000);
