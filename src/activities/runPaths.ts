import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunConfig } from '../config/runInput.js';
import type { RunPaths } from '../definitions.js';


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
