import { copyFile, cp, mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

/** A fresh git repo holding the fixture trainer and a program.md, one commit on main. */
export async function makeFixtureRepo(): Promise<string> {
  const repo = await mkdtemp(path.join(os.tmpdir(), 'ar-repo-'));
  await cp(path.join(FIXTURES, 'trainer'), path.join(repo, 'trainer'), { recursive: true });
  await cp(path.join(FIXTURES, 'program.md'), path.join(repo, 'program.md'));
  await writeFile(path.join(repo, '.gitignore'), '__pycache__/\n');
  const git = (...args: string[]) => execa('git', args, { cwd: repo });
  await git('init', '-q', '-b', 'main');
  await git('add', '-A');
  await git('-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '-q', '-m', 'fixture trainer');
  return repo;
}

/** The fixture's objective (test/fixtures/trainer/train.py), computed from a train.py's text. */
export function fixtureValBpb(source: string): number {
  const get = (name: string) => Number(new RegExp(`^${name} = ([^ #\\n]+)`, 'm').exec(source)![1]);
  const lr = get('LEARNING_RATE');
  const depth = get('DEPTH');
  const warmup = get('WARMUP_RATIO');
  return 1.0 + 0.5 * Math.log2(lr / 0.08) ** 2 + 0.02 * (depth - 6) ** 2 + 2.0 * (warmup - 0.1) ** 2;
}

/**
 * A run input for the fixture trainer. It prints its summary and exports no model, so its score is
 * trusted (`evaluation: "trainer"`); the harness's evaluation is tested with torch trainers (test/fault/cheating.test.ts).
 */
export function fixtureRunInput(repo: string, tag: string, extra: Record<string, unknown> = {}) {
  const { trainer, ...rest } = extra as { trainer?: Record<string, unknown> };
  return {
    tag,
    repo,
    trainer: { command: 'python3 train.py', evaluation: 'trainer' as const, timeBudgetSeconds: 5, timeoutSeconds: 60, heartbeatTimeoutSeconds: 10, ...trainer },
    maxExperiments: 4,
    ...rest,
  };
}

/**
 * Makes `repo` (a fixture repo or a clone of one) a uv project on this project's own lock files, so
 * its `uv run` trainer uses the worker environment set-up built, and adds a lane worktree under its
 * run `tag` whose train.py is `trainerSource`.
 */
export async function uvLaneWorktree(repo: string, tag: string, trainerSource: string): Promise<{ baseCommit: string; worktree: string; trainerDir: string }> {
  const project = path.resolve(FIXTURES, '../../trainer');
  for (const f of ['pyproject.toml', 'uv.lock']) await copyFile(path.join(project, f), path.join(repo, 'trainer', f));
  const git = (...args: string[]) => execa('git', args, { cwd: repo });
  await git('add', '-A');
  await git('-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-q', '-m', 'uv project');
  const baseCommit = (await git('rev-parse', 'HEAD')).stdout.trim();
  const worktree = path.join(repo, '.autoresearch', 'runs', tag, 'lanes', 'cpu0');
  await git('worktree', 'add', '-q', '--detach', worktree, 'HEAD');
  const trainerDir = path.join(worktree, 'trainer');
  await writeFile(path.join(trainerDir, 'train.py'), trainerSource);
  return { baseCommit, worktree, trainerDir };
}
