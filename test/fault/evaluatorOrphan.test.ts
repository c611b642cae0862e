/**
 * An evaluator is a process group like a trainer: its group is recorded beside its log and it carries
 * the lane marker, so the retry of its experiment, or a worker that starts after its worker died,
 * ends it. Here the harness's evaluator hangs (the base commit's evaluate.py sleeps).
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { TrainerConfigSchema } from '../../src/core/runInput.js';
import { evaluate } from '../../src/activities/training.js';
import type { TrainResult } from '../../src/api/activities.js';
import { killStrayTrainer, pgidFileOf } from '../../src/activities/trainerProcess.js';
import { trainerProcesses, waitFor } from '../helpers/workerProcess.js';

test('a hanging evaluator runs in a recorded process group with the lane marker, and the retry ends it', async () => {
  const repo = await mkdtemp(path.join(os.tmpdir(), 'ar-evalorphan-'));
  const trainerDir = path.join(repo, 'trainer');
  await mkdir(trainerDir);
  await writeFile(path.join(trainerDir, 'evaluate.py'), 'import time\ntime.sleep(120)\n');
  await writeFile(path.join(trainerDir, 'prepare.py'), '# the harness\n');
  await writeFile(path.join(trainerDir, 'train.py'), 'print("trains")\n');
  const git = (...args: string[]) => execa('git', args, { cwd: repo });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-q', '-m', 'harness');
  const baseCommit = (await git('rev-parse', 'HEAD')).stdout.trim();
  const logs = path.join(repo, '..', `${path.basename(repo)}-logs`);
  await mkdir(path.join(logs, 'exp-0001.model'), { recursive: true });
  const modelFile = path.join(logs, 'exp-0001.model', 'model.pt2');
  await writeFile(modelFile, 'not a model');
  const logFile = path.join(logs, 'exp-0001.log');
  await writeFile(logFile, '---\nnum_steps: 1\n');
  const runId = `evalorphan${process.pid}`;
  const experimentId = `${runId}/exp-0001`;
  const trainer = TrainerConfigSchema.parse({ command: 'python3 train.py', timeBudgetSeconds: 1, timeoutSeconds: 60 });
  const result: TrainResult = {
    exitCode: 0, timedOut: false, seconds: 1, logFile,
    harness: { experimentId, trainerDir, trainer, lane: 'lane-under-test', baseCommit, modelFile },
  };
  const evaluating = evaluate(result);
  const evaluatorLog = path.join(logs, 'exp-0001.evaluation.log');
  const group = await waitFor('the evaluator', async () => ((await trainerProcesses(runId)).length ? await trainerProcesses(runId) : undefined), 20_000, 100);
  // Marked like a trainer (what a starting worker looks for), its group recorded (what the retry reads).
  const environ = await import('node:fs/promises').then((fs) => fs.readFile(`/proc/${group[0].pid}/environ`, 'utf8'));
  expect(environ.split('\0')).toEqual(expect.arrayContaining(['AUTORESEARCH_LANE=lane-under-test', `AUTORESEARCH_WORKER_PID=${process.pid}`]));
  expect(existsSync(pgidFileOf(evaluatorLog))).toBe(true);
  // The retry of evaluate after its worker died ends the stray group first.
  expect(await killStrayTrainer(evaluatorLog, experimentId)).toBe(group[0].pgid);
  const evaluation = await evaluating;
  expect(evaluation).toMatchObject({ ok: false, reason: expect.stringMatching(/evaluator failed/) });
  expect(await waitFor('no evaluator left', async () => ((await trainerProcesses(runId)).length === 0 ? true : undefined), 5_000, 100)).toBe(true);
  // Decided, so the model is gone.
  expect(existsSync(path.dirname(modelFile))).toBe(false);
}, 60_000);
