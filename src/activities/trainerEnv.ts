import os from 'node:os';
import path from 'node:path';
import type { TrainerConfig } from '../config/runInput.js';

/** Secrets of the worker that the trainer (code an LLM edits) must never see. */
const WITHHELD = /(^ANTHROPIC_|^OPENAI_|^TEMPORAL_|API_KEY|SECRET|TOKEN|PASSWORD)/i;

/**
 * The trainer's environment: the worker's, minus secrets, plus the budgets, the seed, where to export
 * the model (harness evaluation), the experiment id (used to recognise a stray trainer) and the
 * project's tool cache on PATH (uv lives there).
 */
export function trainerEnv(input: { experimentId: string; trainer: TrainerConfig; lane?: string; gpu?: string; seed?: number; modelFile?: string }): Record<string, string> {
  const cacheHome = process.env.AUTORESEARCH_CACHE_HOME ?? path.join(os.homedir(), '.cache', 'autoresearch');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !WITHHELD.test(k)) env[k] = v;
  return {
    ...env,
    PATH: `${path.join(cacheHome, 'bin')}${path.delimiter}${env.PATH ?? ''}`,
    UV_CACHE_DIR: env.UV_CACHE_DIR ?? path.join(cacheHome, 'uv-cache'),
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
