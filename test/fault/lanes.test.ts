/**
 * Two hosts on one machine: two worker processes, each with its own clone of the research
 * repository in its own directory, its own HOME and its own lane, sharing a bare remote. A run
 * with `lanes: 2` uses both; then one host dies mid-train and the run finishes on the other.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parseResults, type ResultRow } from '../../src/core/resultsTsv.js';
import { experimentRef, resultsRef, TASK_QUEUE } from '../../src/core/names.js';
import { statusQuery } from '../../src/api/messages.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { gitAt } from '../../src/activities/gitOps.js';
import { readJournal } from '../../src/activities/journalStore.js';
import { fixtureRunInput, fixtureValBpb, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { startTestTemporal, uniqueId, type TestTemporal } from '../helpers/temporalEnv.js';
import { killAllWorkerProcesses, startWorkerProcess, trainerProcesses, waitFor, type WorkerProcess } from '../helpers/workerProcess.js';

let t: TestTemporal;
beforeAll(async () => {
  t = await startTestTemporal();
}, 120_000);
afterAll(async () => {
  await killAllWorkerProcesses();
  await t?.close();
});

const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd }).then((r) => r.stdout);

interface Host {
  name: string;
  clone: string;
  worker: WorkerProcess;
}

/** A bare remote holding the fixture trainer, and a host per name with its own clone, HOME and worker. */
async function cluster(names: string[]): Promise<{ remote: string; hosts: Host[] }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-cluster-'));
  const remote = path.join(dir, 'remote.git');
  await execa('git', ['clone', '-q', '--bare', await makeFixtureRepo(), remote]);
  const hosts = await Promise.all(names.map(async (name) => {
    const home = path.join(dir, name, 'home');
    const clone = path.join(dir, name, 'research');
    await mkdir(home, { recursive: true });
    await execa('git', ['clone', '-q', remote, clone]);
    const worker = startWorkerProcess({
      address: t.server.address,
      logFile: path.join(dir, name, 'worker.log'),
      env: { HOME: home, AUTORESEARCH_HOST: name, AUTORESEARCH_REPO: clone, AUTORESEARCH_LANES: '1' },
    });
    return { name, clone, worker };
  }));
  await Promise.all(hosts.map((h) => h.worker.waitUntilPolling(t.connection)));
  return { remote, hosts };
}

/** The run input for a cluster: no `repo` (each host has its own clone), the shared remote. */
function clusterInput(tag: string, remote: string, extra: { maxExperiments: number; sleep: number }) {
  const { repo: _each, ...input } = fixtureRunInput('unused', tag, {
    maxExperiments: extra.maxExperiments,
    lanes: 2,
    remote,
    trainer: { timeBudgetSeconds: 1, heartbeatTimeoutSeconds: 5, env: { FIXTURE_SLEEP: String(extra.sleep) } },
  });
  return input;
}

/** What must hold on the remote after a run on many hosts, however it was disturbed. */
async function expectConsistentOnRemote(remote: string, tag: string, experiments: number): Promise<ResultRow[]> {
  const rows = parseResults(await git(remote, 'show', `${resultsRef(tag)}:results.tsv`));
  // Every experiment once, in the order the run decided them.
  expect(rows.map((r) => r.experimentId).sort()).toEqual(Array.from({ length: experiments }, (_, i) => `${tag}/exp-${String(i).padStart(4, '0')}`));
  // The best was right at every keep: each keep beats every keep decided before it.
  let best = Infinity;
  for (const row of rows) {
    if (row.status === 'keep') {
      expect(row.valBpb).toBeLessThan(best);
      best = row.valBpb;
    } else if (row.status === 'discard') expect(row.valBpb).toBeGreaterThanOrEqual(best);
  }
  // One commit per experiment, under its ref, with the val_bpb its code gives; the branch at the best.
  for (const [i, row] of rows.entries()) {
    const n = Number(row.experimentId!.slice(-4));
    const commits = (await git(remote, 'log', '--all', '--format=%h', '--fixed-strings', `--grep=Experiment-Id: ${row.experimentId}`)).split('\n');
    expect({ i, commits }).toEqual({ i, commits: [row.commit] });
    expect((await git(remote, 'rev-parse', '--short=7', experimentRef(tag, n)))).toBe(row.commit);
    if (row.status !== 'crash') expect(row.valBpb).toBeCloseTo(fixtureValBpb(await git(remote, 'show', `${row.commit}:trainer/train.py`)), 5);
  }
  const kept = rows.filter((r) => r.status === 'keep').sort((a, b) => a.valBpb - b.valBpb)[0];
  expect(await git(remote, 'rev-parse', '--short=7', `autoresearch/${tag}`)).toBe(kept.commit);
  // The journal: one record per experiment, none lost or doubled, each with the row's commit.
  const journal = (await readJournal(gitAt(remote), remote)).records.filter((r) => r.tag === tag);
  expect(journal.map((r) => r.experimentId).sort()).toEqual(rows.map((r) => r.experimentId).sort());
  for (const row of rows) expect(journal.find((r) => r.experimentId === row.experimentId)!.commit.slice(0, 7)).toBe(row.commit);
  return rows;
}

describe('lanes on two hosts sharing a bare remote', () => {
  test('a run with lanes: 2 trains on both hosts, every experiment once, the best right at every keep', async () => {
    const { remote, hosts } = await cluster(['hostA', 'hostB']);
    const tag = uniqueId('lanes');
    const handle = await t.client.workflow.start(researchRun, {
      taskQueue: TASK_QUEUE, workflowId: tag, args: [clusterInput(tag, remote, { maxExperiments: 7, sleep: 1 })], workflowExecutionTimeout: '4 minutes',
    });
    const summary = await handle.result();
    expect(summary.experiments).toBe(7);
    const rows = await expectConsistentOnRemote(remote, tag, 7);
    // Both hosts trained, each in its own clone.
    const lanes = new Set((await git(remote, 'show', `${resultsRef(tag)}:results.tsv`)).split('\n').slice(1).filter(Boolean).map((l) => l.split('\t')[7]));
    expect([...lanes].sort()).toEqual(['hostA-cpu0', 'hostB-cpu0']);
    expect(rows.filter((r) => r.status === 'keep').length).toBeGreaterThanOrEqual(1);
    await Promise.all(hosts.map((h) => h.worker.stop()));
    for (const h of hosts) expect(await git(h.clone, 'status', '--porcelain')).toBe('');
  }, 240_000);

  test('one host killed mid-train: its experiment moves to the other lane, and nothing is lost or doubled', async () => {
    const { remote, hosts } = await cluster(['hostC', 'hostD']);
    const tag = uniqueId('failover');
    const handle = await t.client.workflow.start(researchRun, {
      taskQueue: TASK_QUEUE, workflowId: tag, args: [clusterInput(tag, remote, { maxExperiments: 5, sleep: 4 })], workflowExecutionTimeout: '4 minutes',
    });
    // Both lanes train (after the baseline, which runs alone).
    const both = await waitFor('both lanes training', async () => {
      const s = await handle.query(statusQuery);
      const training = s.running.filter((r) => r.trainingStartedAt);
      return training.length === 2 ? training : undefined;
    }, 90_000, 200);
    const victim = hosts[1];
    const moved = both.find((r) => r.lane === `${victim.name}-cpu0`)!;
    // The host dies: its worker and everything it started.
    const stranded = (await trainerProcesses(tag)).filter((p) => p.experimentId.endsWith(String(moved.experiment).padStart(4, '0')));
    await victim.worker.kill();
    for (const p of stranded) process.kill(-p.pgid, 'SIGKILL');
    const killedAt = Date.now();

    const summary = await handle.result();
    expect(summary.experiments).toBe(5);
    const rows = await expectConsistentOnRemote(remote, tag, 5);
    const movedRow = rows.find((r) => r.experimentId === `${tag}/exp-${String(moved.experiment).padStart(4, '0')}`)!;
    const movedLane = (await git(remote, 'show', `${resultsRef(tag)}:results.tsv`)).split('\n').find((l) => l.includes(movedRow.experimentId!))!.split('\t')[7];
    expect(movedLane).toBe(`${hosts[0].name}-cpu0`);
    expect(await trainerProcesses(tag)).toEqual([]);
    console.log(`host killed mid-train: the run finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s later on the other lane`);
    await hosts[0].worker.stop();
  }, 240_000);
});
