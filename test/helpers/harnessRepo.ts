/**
 * A git repository whose trainer dir holds the real harness (prepare.py, evaluate.py) and the cheating
 * trainers' shared module, with a tiny prepared data set (vocab 300) in a cache of its own: the
 * `train` and `evaluate` activities run on it directly, with real torch models on the CPU.
 */
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { MockActivityEnvironment } from '@temporalio/testing';
import { TrainerConfigSchema } from '../../src/core/runInput.js';
import { evaluate, train } from '../../src/activities/training.js';
import type { Evaluation, TrainInput, TrainResult } from '../../src/api/activities.js';
import { FIXTURES } from './fixtureRepo.js';

const PROJECT = path.resolve(FIXTURES, '../..');
/** The trainer's environment that set-up made (uv sync in trainer/). */
export const TRAINER_PYTHON = path.join(PROJECT, 'trainer', '.venv', 'bin', 'python');
const CHEATS = path.join(FIXTURES, 'cheating');
const WORDS = 'the a cat dog sat ran on under mat log red blue big small and then it was happy sad'.split(' ');

export interface HarnessRepo {
  repo: string;
  trainerDir: string;
  logs: string;
  baseCommit: string;
  env: Record<string, string>;
}

/** Documents of random words (a fixed generator), cut at blank lines by prepare.py. */
function corpus(count: number): string {
  let state = 12345;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const docs = Array.from({ length: count }, () => Array.from({ length: 20 + Math.floor(next() * 40) }, () => WORDS[Math.floor(next() * WORDS.length)]).join(' ') + '.');
  return docs.join('\n\n');
}

export async function makeHarnessRepo(): Promise<HarnessRepo> {
  const repo = await mkdtemp(path.join(os.tmpdir(), 'ar-harness-repo-'));
  const trainerDir = path.join(repo, 'trainer');
  await mkdir(trainerDir);
  for (const file of ['prepare.py', 'evaluate.py']) await copyFile(path.join(PROJECT, 'trainer', file), path.join(trainerDir, file));
  await copyFile(path.join(CHEATS, 'common.py'), path.join(trainerDir, 'common.py'));
  await copyFile(path.join(CHEATS, 'honest.py'), path.join(trainerDir, 'train.py'));
  await writeFile(path.join(repo, '.gitignore'), '__pycache__/\n');
  const git = (...args: string[]) => execa('git', args, { cwd: repo });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '-q', '-m', 'harness and trainer');
  const baseCommit = (await git('rev-parse', 'HEAD')).stdout.trim();
  const env = { AUTORESEARCH_CACHE: path.join(repo, '..', `${path.basename(repo)}-cache`), AUTORESEARCH_VOCAB_SIZE: '300', AUTORESEARCH_DEVICE: 'cpu', OMP_NUM_THREADS: '1' };
  const text = path.join(repo, '..', `${path.basename(repo)}-corpus.txt`);
  await writeFile(text, corpus(400));
  await execa(TRAINER_PYTHON, ['prepare.py', text], { cwd: trainerDir, env: { ...process.env, ...env } });
  return { repo, trainerDir, logs: path.join(repo, '..', `${path.basename(repo)}-logs`), baseCommit, env };
}

let experiments = 0;

/** Puts a cheating trainer in train.py (the editable file), trains it and evaluates it, as the loop does. */
export async function trainAndEvaluate(h: HarnessRepo, cheat: string): Promise<{ result: TrainResult; evaluation: Evaluation; log: string }> {
  await copyFile(path.join(CHEATS, `${cheat}.py`), path.join(h.trainerDir, 'train.py'));
  const n = String(++experiments).padStart(4, '0');
  const input: TrainInput = {
    experimentId: `cheat/exp-${n}`,
    trainerDir: h.trainerDir,
    logFile: path.join(h.logs, `exp-${n}.log`),
    // A space in the clone's path is escaped: trainer.command is split at unescaped spaces.
    trainer: TrainerConfigSchema.parse({ command: `${TRAINER_PYTHON.replace(/ /g, '\\ ')} train.py`, timeBudgetSeconds: 1, timeoutSeconds: 120, env: h.env }),
    baseCommit: h.baseCommit,
    seed: 1,
  };
  const result = (await new MockActivityEnvironment({ attempt: 1 }).run(train, input)) as TrainResult;
  const evaluation = await evaluate(result);
  return { result, evaluation, log: await readFile(input.logFile, 'utf8') };
}
