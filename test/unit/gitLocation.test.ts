/**
 * How the worker finds the repository of a trainer dir without git's discovery (which would take a
 * `.git` the trainer planted in its own directory): by trainer.dir, or by a `.git` the trainer
 * cannot have made; and gitAt names that repository on every command.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { gitAt, gitLocationOf, worktreeTopOf } from '../../src/activities/gitOps.js';
import { makeFixtureRepo } from '../helpers/fixtureRepo.js';

/** A repository with a linked worktree (as a lane's), and its trainer dir. */
async function laneOf() {
  const repo = await makeFixtureRepo();
  const worktree = path.join(repo, '.autoresearch', 'runs', 't', 'lanes', 'lane0');
  await execa('git', ['worktree', 'add', '-q', '--detach', worktree, 'HEAD'], { cwd: repo });
  return { repo, worktree, trainerDir: path.join(worktree, 'trainer') };
}

describe('the worktree of a trainer dir', () => {
  test('by trainer.dir: path arithmetic, checked', async () => {
    expect(worktreeTopOf('/w/lane/trainer', 'trainer')).toBe('/w/lane');
    expect(worktreeTopOf('/w/lane/a/b', 'a/b')).toBe('/w/lane');
    expect(worktreeTopOf('/w/lane', '.')).toBe('/w/lane');
    expect(() => worktreeTopOf('/w/lane/other', 'trainer')).toThrow(/does not end with trainer\.dir trainer/);
  });

  test("without it: a planted .git (a directory, or a file naming the lane's own git dir) is passed over", async () => {
    const { repo, worktree, trainerDir } = await laneOf();
    expect(worktreeTopOf(trainerDir)).toBe(worktree);
    expect(worktreeTopOf(worktree)).toBe(worktree); // trainer.dir ".": the lane's own .git file points back to it
    await writeFile(path.join(trainerDir, '.git'), `gitdir: ${path.join(repo, '.git', 'worktrees', 'lane0')}\n`);
    expect(worktreeTopOf(trainerDir)).toBe(worktree);
    await rm(path.join(trainerDir, '.git'));
    await mkdir(path.join(trainerDir, '.git', 'objects'), { recursive: true });
    expect(worktreeTopOf(trainerDir)).toBe(worktree);
  });

  test('gitAt works in a worktree top or a repository only, and git there never looks above it', async () => {
    const { repo, worktree, trainerDir } = await laneOf();
    expect(gitLocationOf(worktree)).toEqual({ gitDir: path.join(repo, '.git', 'worktrees', 'lane0'), workTree: worktree });
    expect(gitLocationOf(repo)).toEqual({ gitDir: path.join(repo, '.git'), workTree: repo });
    expect(() => gitLocationOf(trainerDir)).toThrow(/neither the top level of a git worktree nor a git repository/);
    await expect(gitAt(trainerDir).raw(['status'])).rejects.toThrow(/neither the top level/);
    expect(await gitAt(trainerDir).checkIsRepo()).toBe(false);
    expect(await gitAt(worktree).checkIsRepo()).toBe(true);
    expect((await gitAt(worktree).raw(['rev-parse', '--show-toplevel'])).trim()).toBe(worktree);
  });

  test('a NUL in an argument fails at once, not retried', async () => {
    const { worktree } = await laneOf();
    await expect(gitAt(worktree).raw(['commit', '-m', 'a\0b'])).rejects.toMatchObject({ nonRetryable: true, message: expect.stringMatching(/NUL/) });
  });
});
