import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunConfig } from '../core/runInput.js';
import { branchOf, type LanePaths, type RunPaths } from '../core/names.js';

/** This project's root: the default repo when the run input names none. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** This host's view of a run: its clone (the run input's `repo`, else AUTORESEARCH_REPO, else this project). */
export function resolveRunPaths(config: RunConfig): RunPaths {
  const repo = path.resolve(config.repo ?? process.env.AUTORESEARCH_REPO ?? PROJECT_ROOT);
  const workDir = path.resolve(config.workDir ?? path.join(repo, '.autoresearch', 'runs', config.tag));
  return {
    repo,
    workDir,
    resultsFile: path.join(workDir, 'results.tsv'),
    logsDir: path.join(workDir, 'logs'),
    branch: branchOf(config.tag),
    remote: config.remote ?? repo,
  };
}

export function resolveLanePaths(config: RunConfig, laneId: string): LanePaths {
  const run = resolveRunPaths(config);
  const worktree = path.join(run.workDir, 'lanes', laneId);
  return { ...run, worktree, trainerDir: path.join(worktree, config.trainer.dir) };
}
