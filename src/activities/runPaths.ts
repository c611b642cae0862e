import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunConfig } from '../config/runInput.js';

/** Where a run lives on the worker's disk; computed once by prepareRun and carried in workflow state. */
export interface RunPaths {
  repo: string;
  workDir: string;
  /** The run's own git worktree on `branch`; the user's checkout is never touched. */
  worktree: string;
  trainerDir: string;
  resultsFile: string;
  logsDir: string;
  branch: string;
}

/** This project's root: the default repo when the run input names none. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function resolveRunPaths(config: RunConfig): RunPaths {
  const repo = path.resolve(config.repo ?? process.env.AUTORESEARCH_REPO ?? PROJECT_ROOT);
  const workDir = path.resolve(config.workDir ?? path.join(repo, '.autoresearch', 'runs', config.tag));
  const worktree = path.join(workDir, 'worktree');
  return {
    repo,
    workDir,
    worktree,
    trainerDir: path.join(worktree, config.trainer.dir),
    resultsFile: path.join(workDir, 'results.tsv'),
    logsDir: path.join(workDir, 'logs'),
    branch: `autoresearch/${config.tag}`,
  };
}
