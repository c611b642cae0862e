import os from 'node:os';
import path from 'node:path';
import type { TrainerConfig } from '../core/runInput.js';
import { isSecretName } from './secrets.js';

/**
 * What the trainer (code an LLM edits) may see of the worker's environment: an allow-list, so a new
 * secret (a database URL, a cloud key) never reaches it by default. Locale and time zone, the
 * compute libraries' own settings (CUDA, BLAS threads, PyTorch, Triton), the compilers Triton calls,
 * and this project's own variables. Anything else the trainer needs goes in `trainer.env`.
 */
const PASSED = /^(PATH|LANG|LANGUAGE|LC_[A-Z]+|TZ|TERM|USER|LOGNAME|LD_LIBRARY_PATH|CC|CXX|CUDA_[A-Z0-9_]+|NVIDIA_[A-Z0-9_]+|OMP_[A-Z0-9_]+|MKL_[A-Z0-9_]+|OPENBLAS_[A-Z0-9_]+|KMP_[A-Z0-9_]+|PYTORCH_[A-Z0-9_]+|TORCH_[A-Z0-9_]+|TORCHINDUCTOR_[A-Z0-9_]+|TRITON_[A-Z0-9_]+|UV_PYTHON|UV_PYTHON_DOWNLOADS|AUTORESEARCH_[A-Z0-9_]+)$/;

/** The variables of `env` the trainer may see (allow-listed, and never one with a secret's name). */
export function passedThrough(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && PASSED.test(k) && !isSecretName(k)) out[k] = v;
  return out;
}

/** Where this project keeps its tools and caches on the worker's host (uv, the trainer environments, the data). */
export function cacheHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.AUTORESEARCH_CACHE_HOME ?? path.join(os.homedir(), '.cache', 'autoresearch');
}

/** The data cache prepare.py reads (AUTORESEARCH_CACHE, default ~/.cache/autoresearch/data), resolved on the worker. */
export function dataCacheOf(env: Record<string, string | undefined>): string {
  return env.AUTORESEARCH_CACHE || path.join(env.HOME || os.homedir(), '.cache', 'autoresearch', 'data');
}

/**
 * The trainer's environment: the allow-listed part of the worker's, plus the budgets, the seed, where
 * to export the model (harness evaluation), the experiment id (used to recognise a stray trainer),
 * the data cache (named, so a private HOME does not move it) and the project's tool cache on PATH.
 */
export function trainerEnv(input: { experimentId: string; trainer: TrainerConfig; lane?: string; gpu?: string; seed?: number; modelFile?: string }): Record<string, string> {
  const env = passedThrough(process.env);
  return {
    ...env,
    HOME: process.env.HOME ?? os.homedir(),
    PATH: `${path.join(cacheHome(), 'bin')}${path.delimiter}${env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
    AUTORESEARCH_CACHE: dataCacheOf(process.env),
    UV_PYTHON_DOWNLOADS: env.UV_PYTHON_DOWNLOADS ?? 'never',
    PYTHONUNBUFFERED: '1',
    ...input.trainer.env,
    AUTORESEARCH_TIME_BUDGET: String(input.trainer.timeBudgetSeconds),
    ...(input.trainer.tokenBudget !== undefined ? { AUTORESEARCH_TOKEN_BUDGET: String(input.trainer.tokenBudget) } : {}),
    ...(input.seed !== undefined ? { AUTORESEARCH_SEED: String(input.seed) } : {}),
    ...(input.modelFile !== undefined ? { AUTORESEARCH_MODEL_OUT: input.modelFile } : {}),
    AUTORESEARCH_EXPERIMENT_ID: input.experimentId,
    ...(input.lane !== undefined ? { AUTORESEARCH_LANE: input.lane, AUTORESEARCH_WORKER_PID: String(process.pid) } : {}),
    ...(input.gpu !== undefined ? { CUDA_VISIBLE_DEVICES: input.gpu } : {}),
  };
}
