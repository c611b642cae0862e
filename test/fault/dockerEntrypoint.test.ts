/**
 * The worker image's trainer and evaluator path, run here the way the image runs it: the Dockerfile's
 * ENV applied to this worker process (AUTORESEARCH_SANDBOX=required, uv in copy mode and without
 * Python downloads, no global UV_PROJECT_ENVIRONMENT), the default trainer command `uv run train.py`,
 * the worker-owned environment built by `npm run trainer-env` as the image build does, and the real
 * `train` and `evaluate` activities on a harness repository (the project's own pyproject.toml and
 * uv.lock, the real prepare.py and evaluate.py). The repository, the data cache, the logs and HOME
 * are under a temporary directory; the environments stay in this machine's AUTORESEARCH_CACHE_HOME
 * (a fresh one is a copy of PyTorch, gigabytes: the image makes it once, at build time).
 *
 * The image's worker runs as root, beside the proposer's key: the trainer must be scored by the
 * harness, and must see neither the key nor any capability of the worker's.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { MockActivityEnvironment } from '@temporalio/testing';
import { TrainerConfigSchema } from '../../src/core/runInput.js';
import { evaluate, train } from '../../src/activities/training.js';
import type { Evaluation, TrainInput, TrainResult } from '../../src/api/activities.js';
import { sandboxStatus } from '../../src/activities/sandbox.js';
import { environmentDirOf, lockFilesIn } from '../../src/activities/trainerPython.js';
import { FIXTURES } from '../helpers/fixtureRepo.js';
import { makeHarnessRepo, type HarnessRepo } from '../helpers/harnessRepo.js';

const PROJECT = path.resolve(FIXTURES, '../..');
const CHEATS = path.join(FIXTURES, 'cheating');

/** The Dockerfile's ENV as the worker sees it (AUTORESEARCH_CACHE_HOME aside: see above). */
const IMAGE_ENV: Record<string, string | undefined> = {
  AUTORESEARCH_SANDBOX: 'required',
  UV_PYTHON: 'python3',
  UV_PYTHON_DOWNLOADS: 'never',
  UV_LINK_MODE: 'copy',
  UV_PROJECT_ENVIRONMENT: undefined,
  // docker-compose.yml passes the proposer's key to the worker: a made-up one, which no trainer may find.
  ANTHROPIC_API_KEY: `sk-ant-dockerentrypoint-${Math.random().toString(36).slice(2)}`,
};

const saved: Record<string, string | undefined> = {};
let tmp: string;
let h: HarnessRepo;
let n = 0;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'ar-docker-entrypoint-'));
  for (const [k, v] of Object.entries({ ...IMAGE_ENV, HOME: path.join(tmp, 'home') })) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  // The image's build step: nothing to do when this lock's environment is built already.
  const envDir = environmentDirOf(await lockFilesIn(path.join(PROJECT, 'trainer')));
  if (!existsSync(path.join(envDir, '.autoresearch-ready'))) {
    await execa('npx', ['tsx', 'scripts/trainer-env.ts'], { cwd: PROJECT, stdio: 'inherit', timeout: 1_500_000 });
  }
  h = await makeHarnessRepo();
  // The project's lock files at the base commit: `uv run train.py` runs in the environment built from them.
  for (const file of ['pyproject.toml', 'uv.lock']) await copyFile(path.join(PROJECT, 'trainer', file), path.join(h.trainerDir, file));
  const git = (...args: string[]) => execa('git', args, { cwd: h.repo });
  await git('add', '-A');
  await git('-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '-q', '-m', 'the trainer project');
  h.baseCommit = (await git('rev-parse', 'HEAD')).stdout.trim();
}, 1_800_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** train.py as given, trained with the image's default command and scored by the harness, as the loop does. */
async function trainAndEvaluate(trainPy: string): Promise<{ result: TrainResult; evaluation: Evaluation; log: string }> {
  await writeFile(path.join(h.trainerDir, 'train.py'), trainPy);
  const id = String(++n).padStart(4, '0');
  const input: TrainInput = {
    experimentId: `docker/exp-${id}`,
    trainerDir: h.trainerDir,
    logFile: path.join(h.logs, `exp-${id}.log`),
    trainer: TrainerConfigSchema.parse({ command: 'uv run train.py', timeBudgetSeconds: 1, timeoutSeconds: 300, env: h.env }),
    baseCommit: h.baseCommit,
    seed: 1,
  };
  const result = (await new MockActivityEnvironment({ attempt: 1 }).run(train, input)) as TrainResult;
  const evaluation = await evaluate(result);
  return { result, evaluation, log: await readFile(input.logFile, 'utf8') };
}

describe("the worker image's trainer and evaluator path", () => {
  test('this machine can sandbox (else the image would refuse to train)', async () => {
    expect(await sandboxStatus()).toMatchObject({ available: true });
  });

  test('an honest trainer, run with `uv run train.py` in the sandbox, is scored by the harness', async () => {
    const { evaluation, log } = await trainAndEvaluate(await readFile(path.join(CHEATS, 'honest.py'), 'utf8'));
    expect(log.split('\n')[0]).toMatch(/uv run train\.py \(budget 1s, sandboxed\)$/);
    expect(log).toMatch(/^val hidden: True$/m);
    expect(evaluation).toMatchObject({ ok: true, summary: { num_steps: 30 } });
    expect(evaluation.ok && evaluation.summary.val_bpb).toBeGreaterThan(0.5);
    const evaluatorLog = await readFile(path.join(h.logs, `exp-${String(n).padStart(4, '0')}.evaluation.log`), 'utf8');
    expect(evaluatorLog).toMatch(/^causal: +True$/m);
  }, 600_000);

  test("the trainer finds neither the worker's key nor any capability (the image's worker is root)", async () => {
    const probe = [
      'import glob, os',
      'seen = [p for p in glob.glob("/proc/*/environ") if os.access(p, os.R_OK) and b"sk-ant-dockerentrypoint-" in open(p, "rb").read()]',
      'print("key seen:", bool(seen) or any("sk-ant-dockerentrypoint-" in v for v in os.environ.values()))',
      'print("CapEff:", [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0])',
      'print("CapPrm:", [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapPrm")][0])',
      '',
    ].join('\n');
    const { evaluation, log } = await trainAndEvaluate(probe + (await readFile(path.join(CHEATS, 'honest.py'), 'utf8')));
    expect(log).toMatch(/^key seen: False$/m);
    expect(log).toMatch(/^CapEff: 0{16}$/m);
    expect(log).toMatch(/^CapPrm: 0{16}$/m);
    expect(evaluation.ok).toBe(true);
  }, 600_000);
});
