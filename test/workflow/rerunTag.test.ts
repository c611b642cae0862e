/**
 * Running a tag again, on a real dev server: without `resume` the second run is refused before it
 * changes anything; with `resume: true` it continues the tag and nothing of the first run is lost.
 * Both second runs use the first run's workflow id, so their experiment ids would collide with the
 * first run's if numbering started again.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { WorkflowFailedError } from '@temporalio/client';
import { parseRunInput, type RunInput } from '../../src/core/runInput.js';
import { startRun } from '../../src/cli/commands.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults, runDir, withWorker } from '../helpers/run.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';

const dev = useTestTemporal();

const input = (repo: string, tag: string, extra: Record<string, unknown> = {}) =>
  fixtureRunInput(repo, tag, { maxExperiments: 3, decision: 'greedy', trainer: { evaluation: 'trainer' }, ...extra }) as RunInput;

const run = (repo: string, tag: string, extra: Record<string, unknown> = {}) => withWorker(dev.t, (taskQueue) =>
  dev.t.client.workflow.execute(researchRun, { taskQueue, workflowId: tag, args: [input(repo, tag, extra)], workflowExecutionTimeout: '3 minutes' }));

/** Everything of a tag that must survive a second run: its refs, both files on the results ref, and its logs' contents. */
async function snapshot(repo: string, tag: string) {
  const git = (...a: string[]) => execa('git', a, { cwd: repo }).then((r) => r.stdout);
  const logsDir = path.join(runDir(repo, tag), 'logs');
  const logs: Record<string, string> = {};
  for (const name of (await readdir(logsDir)).filter((n) => n.endsWith('.log')).sort()) {
    logs[name] = createHash('sha256').update(await readFile(path.join(logsDir, name))).digest('hex');
  }
  return {
    refs: await git('for-each-ref', '--format=%(refname) %(objectname)', `refs/heads/autoresearch/${tag}`, `refs/autoresearch/${tag}/`),
    results: await git('show', `refs/autoresearch/${tag}/results:results.tsv`),
    branch: await git('rev-parse', `autoresearch/${tag}`),
    logs,
    git,
  };
}

describe('running a tag again', () => {
  test('without resume the second run is refused, naming tag and resume, and the first run\'s branch and results are untouched', async () => {
    const repo = await makeFixtureRepo();
    const tag = uniqueId('again');
    await run(repo, tag);
    const before = await snapshot(repo, tag);

    const err = await run(repo, tag).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const messages: string[] = [];
    for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) messages.push((e as Error).message);
    expect(messages.join(' | ')).toMatch(new RegExp(`tag: autoresearch/${tag} already exists \\(3 experiments, best val_bpb [0-9.]+ at [0-9a-f]{7} \\(exp \\d\\)\\); start it with resume: true`));

    const after = await snapshot(repo, tag);
    expect({ ...after, git: undefined }).toEqual({ ...before, git: undefined });
  }, 150_000);

  test('with resume: true the rows are appended, numbering continues, the first run\'s kept commits and logs stay', async () => {
    const repo = await makeFixtureRepo();
    const tag = uniqueId('resume');
    await run(repo, tag);
    const before = await snapshot(repo, tag);
    const firstRows = await readResults(repo, tag);
    const kept = firstRows.filter((r) => r.status === 'keep').map((r) => r.commit);

    await run(repo, tag, { resume: true, maxExperiments: 6 });
    const after = await snapshot(repo, tag);
    const rows = await readResults(repo, tag);
    // The first run's rows first, unchanged; then the new run's, numbered on from 3, the first a fresh baseline of the branch tip.
    expect(after.results.startsWith(before.results)).toBe(true);
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(rows.map((r) => r.experimentId)).toEqual(rows.map((_, i) => `${tag}/exp-${String(i).padStart(4, '0')}`));
    expect(rows[3].description).toBe('baseline');
    expect((await after.git('rev-parse', `${rows[3].commit}^`)).slice(0, 7)).toBe(before.branch.slice(0, 7));
    // Every commit the first run kept is still on the branch; its experiment refs and logs are as they were.
    for (const commit of kept) await expect(after.git('merge-base', '--is-ancestor', commit, `autoresearch/${tag}`)).resolves.toBeDefined();
    for (const line of before.refs.split('\n').filter((l) => /\/exp-\d+ /.test(l))) expect(after.refs.split('\n')).toContain(line);
    for (const [name, digest] of Object.entries(before.logs)) expect(after.logs[name]).toBe(digest);
    expect(Object.keys(after.logs).length).toBe(rows.length);
  }, 200_000);
});

describe('research start and a tag that ran before on this server', () => {
  test('a plain start is refused naming --resume; --resume starts it again once the earlier run is closed', async () => {
    const repo = await makeFixtureRepo();
    const tag = uniqueId('cli');
    const configOf = (extra: Record<string, unknown>) => {
      const r = parseRunInput(input(repo, tag, extra));
      if (!r.ok) throw new Error(r.error);
      return r.config;
    };
    // No worker serves the CLI's queue here: the runs only wait, and are terminated.
    await startRun(dev.t.client, configOf({}), input(repo, tag));
    await expect(startRun(dev.t.client, configOf({ resume: true }), input(repo, tag, { resume: true }))).rejects.toThrow(/is still running.*stop it first/);
    await dev.t.client.workflow.getHandle(tag).terminate('test');
    await expect(startRun(dev.t.client, configOf({}), input(repo, tag))).rejects.toThrow(/already ran on this server: --resume continues/);

    // The CLI itself: --resume reaches the run input.
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-cli-')), 'run.json');
    await writeFile(file, JSON.stringify(input(repo, tag)));
    const cli = await execa('npx', ['tsx', 'src/cli/research.ts', 'start', file, '--resume'], {
      env: { TEMPORAL_ADDRESS: dev.t.server.address }, reject: false, timeout: 60_000 });
    expect(cli.stdout).toMatch(/started run/);
    const handle = dev.t.client.workflow.getHandle(tag);
    const started = await handle.fetchHistory();
    const args = started.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    expect(JSON.parse(Buffer.from(args!).toString())).toMatchObject({ tag, resume: true });
    await handle.terminate('test');
  }, 90_000);
});
