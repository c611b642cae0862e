/**
 * A git killed with SIGKILL leaves its lock files behind (index.lock, HEAD.lock, a ref's lock), and
 * every later git command in that repository fails with "File exists". The git activities clear
 * such a lock when no live git process can hold it.
 */
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { parseRunInput, type RunConfig } from '../../src/core/runInput.js';
import { prepareRun } from '../../src/activities/remote.js';
import { commit, prepareLane } from '../../src/activities/workspace.js';
import type { LaneInput } from '../../src/api/activities.js';
import { clearStaleLocks, STALE_LOCK_SECONDS } from '../../src/activities/gitOps.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';

async function setUp(tag: string) {
  const repo = await makeFixtureRepo();
  const r = parseRunInput(fixtureRunInput(repo, tag));
  if (!r.ok) throw new Error(r.error);
  const config: RunConfig = r.config;
  const { baseCommit } = await prepareRun({ config, runKey: `${tag}/test` });
  const lane: LaneInput = { config, laneId: 'lane0', bestCommit: baseCommit, bestRef: `refs/heads/autoresearch/${tag}` };
  const experimentRef = `refs/autoresearch/${tag}/exp-0000`;
  await prepareLane({ ...lane, experimentRef }); // makes the lane's worktree
  const laneGitDir = path.join(repo, '.git', 'worktrees', 'lane0');
  expect(existsSync(laneGitDir)).toBe(true);
  return { repo, config, lane, experimentRef, laneGitDir, worktree: path.join(config.workDir ?? path.join(repo, '.autoresearch', 'runs', tag), 'lanes', 'lane0') };
}

/** A git that stays alive (it waits on its stdin), started and answering by the time this returns (boxed: a subprocess is a thenable). */
async function liveGit(cwd: string) {
  const child = execa('git', ['cat-file', '--batch'], { cwd, stdin: 'pipe', reject: false });
  const answered = new Promise((resolve) => child.stdout!.once('data', resolve));
  child.stdin!.write('HEAD\n');
  await answered;
  return { child };
}

/** A lock file as a killed git leaves it, `ageSeconds` old. */
async function leaveLock(file: string, ageSeconds: number) {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, '');
  const then = new Date(Date.now() - ageSeconds * 1000);
  await utimes(file, then, then);
}

describe('stale git locks', () => {
  test('a commit succeeds after a killed git left index.lock, HEAD.lock and a ref lock behind', async () => {
    const { lane, experimentRef, laneGitDir, repo } = await setUp('locked');
    const locks = [path.join(laneGitDir, 'index.lock'), path.join(laneGitDir, 'HEAD.lock'), path.join(repo, '.git', `${experimentRef}.lock`)];
    for (const lock of locks) await leaveLock(lock, 60);
    const made = await commit({ lane, experimentId: 'locked/exp-0000', experimentRef, description: 'baseline', hypothesis: '', edited: false });
    expect(made.commitFull).toMatch(/^[0-9a-f]{40}$/);
    for (const lock of locks) expect(existsSync(lock)).toBe(false);
    expect((await execa('git', ['rev-parse', experimentRef], { cwd: repo })).stdout).toBe(made.commitFull);
  });

  test('a lock younger than the threshold is left alone', async () => {
    const { repo, laneGitDir } = await setUp('fresh');
    const lock = path.join(laneGitDir, 'index.lock');
    await leaveLock(lock, STALE_LOCK_SECONDS / 5);
    expect(await clearStaleLocks(repo)).toEqual([]);
    expect(existsSync(lock)).toBe(true);
  });

  test('a lock that a live git process in the repository may hold is left alone; another worktree\'s git does not hold a lane\'s own lock', async () => {
    const { repo, laneGitDir, worktree } = await setUp('live');
    const refLock = path.join(repo, '.git', 'refs', 'heads', 'autoresearch', 'live.lock');
    const laneLock = path.join(laneGitDir, 'index.lock');
    // A live git in the main worktree: it could hold the shared ref lock, not the lane's index.
    const { child: live } = await liveGit(repo);
    try {
      await leaveLock(refLock, 60);
      await leaveLock(laneLock, 60);
      expect(await clearStaleLocks(worktree)).toEqual([laneLock]);
      expect(existsSync(refLock)).toBe(true);
      expect(existsSync(laneLock)).toBe(false);
      // The same git, now in the lane's worktree, holds the lane's lock too.
      await leaveLock(laneLock, 60);
      const { child: inLane } = await liveGit(worktree);
      try {
        expect(await clearStaleLocks(repo)).toEqual([]);
        expect(existsSync(laneLock)).toBe(true);
      } finally {
        inLane.kill();
        await inLane;
      }
    } finally {
      live.kill();
      await live;
    }
    // No git left: both are stale now.
    expect((await clearStaleLocks(repo)).sort()).toEqual([laneLock, refLock].sort());
  });
});
