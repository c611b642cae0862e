import { mkdir, appendFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import { ApplicationFailure } from '@temporalio/activity';
import type { RunConfig } from '../config/runInput.js';
import { resolveRunPaths, type RunPaths } from './runPaths.js';

export interface PreparedRun {
  paths: RunPaths;
  /** Commit the run starts from (the branch head when the run resumes an existing branch). */
  baseCommit: string;
}

/**
 * Creates (or reuses, on retry or a resumed run) the run's worktree on `autoresearch/<tag>`.
 * Bad configuration is a non-retryable failure: retrying cannot fix it.
 */
export async function prepareRun(config: RunConfig): Promise<PreparedRun> {
  const paths = resolveRunPaths(config);
  if (!existsSync(paths.repo)) {
    throw ApplicationFailure.nonRetryable(`repo: ${paths.repo} does not exist`, 'InvalidRunInput');
  }
  const git = simpleGit(paths.repo);
  if (!(await git.checkIsRepo())) throw ApplicationFailure.nonRetryable(`repo: ${paths.repo} is not a git repository`, 'InvalidRunInput');
  await mkdir(paths.logsDir, { recursive: true });
  await excludeWorkDir(paths);

  const branchExists = (await git.raw(['branch', '--list', paths.branch])).trim() !== '';
  if (!existsSync(path.join(paths.worktree, '.git'))) {
    await git.raw(['worktree', 'prune']);
    if (branchExists) await git.raw(['worktree', 'add', paths.worktree, paths.branch]);
    else {
      const base = config.base ?? 'HEAD';
      try {
        await git.raw(['rev-parse', '--verify', `${base}^{commit}`]);
      } catch {
        throw ApplicationFailure.nonRetryable(`base: "${base}" is not a commit in ${paths.repo}`, 'InvalidRunInput');
      }
      await git.raw(['worktree', 'add', '-b', paths.branch, paths.worktree, base]);
    }
  }
  const wt = simpleGit(paths.worktree);
  const baseCommit = (await wt.revparse(['HEAD'])).trim();
  await checkTrainer(config, paths);
  return { paths, baseCommit };
}

async function checkTrainer(config: RunConfig, paths: RunPaths): Promise<void> {
  if (!existsSync(paths.trainerDir)) {
    throw ApplicationFailure.nonRetryable(`trainer.dir: ${config.trainer.dir} does not exist in ${paths.repo}`, 'InvalidRunInput');
  }
  for (const file of config.trainer.editable) {
    const full = path.resolve(paths.trainerDir, file);
    if (!full.startsWith(paths.worktree + path.sep)) {
      throw ApplicationFailure.nonRetryable(`trainer.editable: ${file} is outside the repository`, 'InvalidRunInput');
    }
    if (!existsSync(full)) throw ApplicationFailure.nonRetryable(`trainer.editable: ${file} does not exist in ${config.trainer.dir}`, 'InvalidRunInput');
  }
}

/** Keeps the run directory out of `git status` when it lives inside the repo (git metadata only). */
async function excludeWorkDir(paths: RunPaths): Promise<void> {
  const rel = path.relative(paths.repo, paths.workDir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return;
  const git = simpleGit(paths.repo);
  const common = path.resolve(paths.repo, (await git.raw(['rev-parse', '--git-common-dir'])).trim());
  const exclude = path.join(common, 'info', 'exclude');
  const line = `/${rel.split(path.sep)[0]}/`;
  const current = existsSync(exclude) ? await readFile(exclude, 'utf8') : '';
  if (!current.split('\n').includes(line)) {
    await mkdir(path.dirname(exclude), { recursive: true });
    await appendFile(exclude, `${current.endsWith('\n') || current === '' ? '' : '\n'}${line}\n`);
  }
}
