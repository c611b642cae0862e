/**
 * The sandbox works wherever the worker's home, its tool cache and the repository are: here all of
 * them under /tmp (which the sandbox replaces with a private one) and in paths with spaces. A
 * `uv run` trainer in a lane worktree runs sandboxed, in the worker's environment built in that
 * cache, and is scored. (A newcomer's first quick start with HOME under /tmp once crashed every
 * experiment: `bwrap: execvp uv: No such file or directory`.)
 */
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { MockActivityEnvironment } from '@temporalio/testing';
import { TrainerConfigSchema } from '../../src/core/runInput.js';
import { evaluate, train } from '../../src/activities/training.js';
import type { TrainResult } from '../../src/api/activities.js';
import { findExecutable, sandboxStatus } from '../../src/activities/sandbox.js';
import { makeFixtureRepo, uvLaneWorktree } from '../helpers/fixtureRepo.js';

const TRAINER = 'import torch\nprint("---")\nprint(f"val_bpb:          {1.5 + torch.zeros(1).item():.6f}")\nprint("num_steps:        1")\n';

const saved = { ...process.env };
let home: string;
afterAll(async () => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
  if (home) await rm(home, { recursive: true, force: true });
});

test('HOME, the tool cache and the repository under /tmp, with spaces: a uv trainer is sandboxed and scored', async () => {
  const status = await sandboxStatus();
  if (!status.available) {
    console.warn(`skipped: ${status.reason}`);
    return;
  }
  const uv = await findExecutable('uv', process.env.PATH ?? '', process.cwd());
  expect(uv).toBeDefined();
  home = await mkdtemp(path.join(os.tmpdir(), 'ar home '));
  const cache = path.join(home, '.cache', 'auto research');
  await mkdir(path.join(cache, 'bin'), { recursive: true });
  await symlink(uv!, path.join(cache, 'bin', 'uv')); // as set-up makes it: a link into uv's own venv
  Object.assign(process.env, { HOME: home, AUTORESEARCH_CACHE_HOME: cache, AUTORESEARCH_CACHE: path.join(cache, 'data') });

  const fixture = await makeFixtureRepo();
  const repo = path.join(home, 'my repo');
  await execa('git', ['clone', '-q', fixture, repo]);
  const { baseCommit, trainerDir } = await uvLaneWorktree(repo, 'a tag', TRAINER);

  const input = {
    experimentId: 'home/exp-0000', trainerDir, baseCommit,
    logFile: path.join(repo, '.autoresearch', 'runs', 'a tag', 'logs', 'exp-0000.log'),
    // The worker builds its environment for these lock files in this cache on first use (a copy: seconds).
    trainer: TrainerConfigSchema.parse({ command: 'uv run train.py', evaluation: 'trainer', timeBudgetSeconds: 1, timeoutSeconds: 180 }),
  };
  const result = (await new MockActivityEnvironment({ attempt: 1 }).run(train, input)) as TrainResult;
  expect(result.harness?.python?.dir.startsWith(path.join(cache, 'envs'))).toBe(true);
  const evaluation = await evaluate(result);
  if (!evaluation.ok) console.log(await readFile(input.logFile, 'utf8'));
  expect(evaluation).toMatchObject({ ok: true, summary: { val_bpb: 1.5 } });
}, 180_000);
