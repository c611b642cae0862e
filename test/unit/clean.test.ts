/** research clean: what a finished run loses (worktrees, models), what it keeps (branch, refs, results, logs), and when it refuses. */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Client, Connection } from '@temporalio/client';
import { clean, parseCleanArgs, temporalView, type CleanOptions, type RunState, type ServerView } from '../../src/cli/clean.js';
import { CliError } from '../../src/cli/commands.js';
import { environmentDirOf, lockFilesIn } from '../../src/activities/trainerPython.js';
import { makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { startTestTemporal, uniqueId, type TestTemporal } from '../helpers/temporalEnv.js';

const git = (repo: string, ...args: string[]) => execa('git', args, { cwd: repo }).then((r) => r.stdout.trim());

/** A run as a worker leaves it: its branch and results ref, results.tsv, logs, a model a killed attempt left, a lane worktree with an old per-lane venv. */
async function makeRun(repo: string, tag: string): Promise<string> {
  const dir = path.join(repo, '.autoresearch', 'runs', tag);
  await git(repo, 'branch', `autoresearch/${tag}`);
  await git(repo, 'update-ref', `refs/autoresearch/${tag}/results`, 'HEAD');
  await mkdir(path.join(dir, 'logs', 'exp-0001.model'), { recursive: true });
  await writeFile(path.join(dir, 'results.tsv'), 'commit\tval_bpb\n');
  await writeFile(path.join(dir, 'logs', 'exp-0001.log'), 'step 1\n');
  await writeFile(path.join(dir, 'logs', 'exp-0001.model', 'model.pt2'), Buffer.alloc(256 * 1024, 1));
  const lane = path.join(dir, 'lanes', 'host-cpu0');
  await git(repo, 'worktree', 'add', '-q', '--detach', lane, 'HEAD');
  await mkdir(path.join(lane, 'trainer', '.venv', 'lib'), { recursive: true });
  await writeFile(path.join(lane, 'trainer', '.venv', 'lib', 'torch.so'), Buffer.alloc(512 * 1024, 2));
  await writeFile(path.join(lane, 'trainer', 'train.py'), '# an experiment\n');
  return dir;
}

/** A server that answers from a table (a tag not in it: not on the server). */
function fakeView(states: Record<string, RunState> = {}): ServerView {
  return {
    states: async (tags) => new Map(tags.map((t) => [t, states[t] ?? 'absent'])),
    running: async () => Object.keys(states).filter((t) => states[t] === 'running'),
  };
}
const unreachable: ServerView = {
  states: () => Promise.reject(new Error('14 UNAVAILABLE: connection refused')),
  running: () => Promise.reject(new Error('14 UNAVAILABLE: connection refused')),
};

const worktrees = async (repo: string) => (await git(repo, 'worktree', 'list', '--porcelain')).split('\n').filter((l) => l.startsWith('worktree ')).length;

describe('research clean', () => {
  let repo: string;
  const lines: string[] = [];
  const print = (l: string) => lines.push(l);
  const opts = (over: Partial<CleanOptions> = {}): CleanOptions => ({ repo, dryRun: false, force: false, envs: false, ...over });

  beforeEach(async () => {
    repo = await makeFixtureRepo();
    lines.length = 0;
  });
  afterEach(async () => {
    await rm(repo, { recursive: true, force: true });
  });

  test("a finished run loses its worktree (through git), old lane venv and models; its branch, refs, results.tsv and logs stay", async () => {
    const dir = await makeRun(repo, 'done');
    expect(await worktrees(repo)).toBe(2);
    const report = await clean(opts(), fakeView({ done: 'closed' }), print);
    expect(existsSync(path.join(dir, 'lanes'))).toBe(false);
    expect(existsSync(path.join(dir, 'logs', 'exp-0001.model'))).toBe(false);
    expect(await worktrees(repo)).toBe(1);
    expect(existsSync(path.join(dir, 'results.tsv'))).toBe(true);
    expect(existsSync(path.join(dir, 'logs', 'exp-0001.log'))).toBe(true);
    expect(await git(repo, 'rev-parse', '--verify', 'refs/heads/autoresearch/done')).toMatch(/^[0-9a-f]{40}$/);
    expect(await git(repo, 'rev-parse', '--verify', 'refs/autoresearch/done/results')).toMatch(/^[0-9a-f]{40}$/);
    expect(report.removed.map((r) => r.what).sort()).toEqual(['model files', 'worktree']);
    expect(report.bytes).toBeGreaterThanOrEqual((256 + 512) * 1024);
    expect(lines.join('\n')).toMatch(/removed worktree \.autoresearch\/runs\/done\/lanes\/host-cpu0 \(.*KiB\)/);
    expect(lines.at(-1)).toMatch(/^freed \d+\.\d (KiB|MiB) in all$/);
  });

  test('a running run is refused when named, and kept otherwise, with nothing of it removed', async () => {
    const dir = await makeRun(repo, 'live');
    await makeRun(repo, 'done');
    await expect(clean(opts({ tag: 'live' }), fakeView({ live: 'running' }), print)).rejects.toThrow(/run "live" is still running: stop it first/);
    const report = await clean(opts(), fakeView({ live: 'running', done: 'closed' }), print);
    expect(report.skipped).toEqual([{ tag: 'live', reason: 'still running' }]);
    expect(existsSync(path.join(dir, 'lanes', 'host-cpu0', 'trainer', 'train.py'))).toBe(true);
    expect(existsSync(path.join(dir, 'logs', 'exp-0001.model', 'model.pt2'))).toBe(true);
    expect(existsSync(path.join(repo, '.autoresearch', 'runs', 'done', 'lanes'))).toBe(false);
  });

  test('an unreachable server refuses, naming the run, unless --force', async () => {
    const dir = await makeRun(repo, 'lost');
    const refused = clean(opts(), unreachable, print);
    await expect(refused).rejects.toThrow(CliError);
    await expect(clean(opts(), unreachable, print)).rejects.toThrow(/whether run "lost" has ended \(14 UNAVAILABLE.*--force/);
    expect(existsSync(path.join(dir, 'lanes', 'host-cpu0'))).toBe(true);
    await clean(opts({ force: true }), unreachable, print);
    expect(existsSync(path.join(dir, 'lanes'))).toBe(false);
  });

  test('--older-than cleans only the runs whose last log or result is older', async () => {
    const oldDir = await makeRun(repo, 'old');
    const newDir = await makeRun(repo, 'new');
    const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
    for (const p of [oldDir, path.join(oldDir, 'results.tsv'), path.join(oldDir, 'logs'), path.join(oldDir, 'logs', 'exp-0001.log'), path.join(oldDir, 'logs', 'exp-0001.model')]) {
      await utimes(p, tenDaysAgo, tenDaysAgo);
    }
    await clean({ ...parseCleanArgs(['--older-than', '7d', '--repo', repo]) }, fakeView(), print);
    expect(existsSync(path.join(oldDir, 'lanes'))).toBe(false);
    expect(existsSync(path.join(newDir, 'lanes', 'host-cpu0'))).toBe(true);
    expect(lines.join('\n')).toMatch(/run old \(not on this server\): freed/);
  });

  test('--dry-run removes nothing and says what it would free', async () => {
    const dir = await makeRun(repo, 'done');
    const report = await clean(opts({ dryRun: true }), fakeView({ done: 'closed' }), print);
    expect(report.bytes).toBeGreaterThan(0);
    expect(existsSync(path.join(dir, 'lanes', 'host-cpu0', 'trainer', '.venv'))).toBe(true);
    expect(existsSync(path.join(dir, 'logs', 'exp-0001.model', 'model.pt2'))).toBe(true);
    expect(await worktrees(repo)).toBe(2);
    expect(lines.at(-1)).toMatch(/^would free .* in all \(dry run: nothing removed\)$/);
  });

  test('--envs removes complete environments of other lock files, never the current one or one being built', async () => {
    const cache = await mkdtemp(path.join(os.tmpdir(), 'ar-cache-'));
    const saved = process.env.AUTORESEARCH_CACHE_HOME;
    process.env.AUTORESEARCH_CACHE_HOME = cache;
    try {
      await writeFile(path.join(repo, 'trainer', 'pyproject.toml'), '[project]\nname = "t"\n');
      await writeFile(path.join(repo, 'trainer', 'uv.lock'), 'version = 1\n');
      const current = environmentDirOf(await lockFilesIn(path.join(repo, 'trainer')));
      const old = path.join(cache, 'envs', '0123456789abcdef');
      const building = path.join(cache, 'envs', 'fedcba9876543210');
      for (const d of [current, old, building]) await mkdir(path.join(d, 'bin'), { recursive: true });
      for (const d of [current, old]) await writeFile(path.join(d, '.autoresearch-ready'), 'ok\n');
      await clean(opts({ envs: true }), fakeView({ other: 'running' }), print);
      expect(existsSync(old)).toBe(true); // a running run may use it
      await clean(opts({ envs: true }), fakeView(), print);
      expect([existsSync(current), existsSync(old), existsSync(building)]).toEqual([true, false, true]);
    } finally {
      if (saved === undefined) delete process.env.AUTORESEARCH_CACHE_HOME;
      else process.env.AUTORESEARCH_CACHE_HOME = saved;
      await rm(cache, { recursive: true, force: true });
    }
  });

  test('flags are checked, and an error names the flag', () => {
    expect(parseCleanArgs(['--older-than', '12h', '--repo', '/r']).olderThanMs).toBe(12 * 3_600_000);
    expect(() => parseCleanArgs(['--older-than', 'week'])).toThrow(/--older-than: give a number and a unit/);
    expect(() => parseCleanArgs(['--tag', 'a', '--older-than', '1d'])).toThrow(/--tag and --older-than: give one or the other/);
    expect(() => parseCleanArgs(['--tag', '../x'])).toThrow(/--tag: give a run tag/);
    expect(() => parseCleanArgs(['--nope'])).toThrow(CliError);
  });

  test('a named tag with no run directory is an error', async () => {
    await expect(clean(opts({ tag: 'ghost' }), fakeView(), print)).rejects.toThrow(/no run "ghost" under/);
  });

  test("the server's view of an unreachable address is a bounded rejection", async () => {
    const view = temporalView(async () => new Client({ connection: await Connection.connect({ address: '127.0.0.1:1', connectTimeout: 500 }) }));
    await expect(view.states(['any'])).rejects.toThrow();
  });
});

describe('research clean against a dev server', () => {
  let t: TestTemporal;
  let repo: string;
  const live = uniqueId('live');
  const done = uniqueId('done');
  beforeAll(async () => {
    [t, repo] = await Promise.all([startTestTemporal(), makeFixtureRepo()]);
    // Runs of researchRun on a queue no worker serves: one stays running, one is terminated (ended).
    for (const tag of [live, done]) await t.client.workflow.start('researchRun', { taskQueue: uniqueId('nobody'), workflowId: tag, args: [] });
    await t.client.workflow.getHandle(done).terminate('ended');
  }, 120_000);
  afterAll(async () => {
    await t?.client.workflow.getHandle(live).terminate('test over').catch(() => undefined);
    await t?.close();
    if (repo) await rm(repo, { recursive: true, force: true });
  });

  test('the server says which run is running: that one is refused or kept, the ended one cleaned', async () => {
    const liveDir = await makeRun(repo, live);
    const doneDir = await makeRun(repo, done);
    const view = temporalView(async () => t.client);
    expect(await view.states([live, done, 'never-ran'])).toEqual(new Map([[live, 'running'], [done, 'closed'], ['never-ran', 'absent']]));
    await expect(clean({ repo, tag: live, dryRun: false, force: false, envs: false }, view, () => undefined)).rejects.toThrow(`run "${live}" is still running`);
    const report = await clean({ repo, dryRun: false, force: false, envs: false }, view, () => undefined);
    expect(report.skipped).toEqual([{ tag: live, reason: 'still running' }]);
    expect(existsSync(path.join(liveDir, 'lanes', 'host-cpu0'))).toBe(true);
    expect(existsSync(path.join(doneDir, 'lanes'))).toBe(false);
    // Visibility lags a moment behind the start: the list of running runs is polled, bounded.
    const deadline = Date.now() + 10_000;
    let running: string[] = [];
    while (!running.includes(live) && Date.now() < deadline) {
      running = await view.running();
      if (!running.includes(live)) await new Promise((r) => setTimeout(r, 200));
    }
    expect(running).toContain(live);
    expect(running).not.toContain(done);
  });
});
