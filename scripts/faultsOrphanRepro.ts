/**
 * `npx tsx scripts/faultsOrphanRepro.ts`: the orphan the fault harness's plan rarely reaches
 * (docs/faults.md). Two hosts, a run with lanes: 2, the fixture trainer hanging on exp-0001; the
 * worker of the host that trains it is SIGKILLed and stays down until the run ends, so the
 * experiment moves to the other lane. Exits 1 while the hanging trainer outlives the run and the
 * host's worker coming back; it ends what it started either way.
 */
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { TASK_QUEUE } from '../src/core/names.js';
import type { RunSummary } from '../src/api/messages.js';
import { makeFixtureRepo } from '../test/helpers/fixtureRepo.js';
import { injectedTrainerFault } from '../test/helpers/faultHarnessPlan.js';
import { startTestTemporal } from '../test/helpers/temporalEnv.js';
import { killAllWorkerProcesses, sleep, startWorkerProcess, trainerProcesses, waitFor } from '../test/helpers/workerProcess.js';

const tag = 'orphan-repro';
// A fault seed under which only exp-0001 hangs.
const hangs = (seed: number, i: number) => injectedTrainerFault({ seed, rate: 0.5, faults: ['hang'] }, `${tag}/exp-000${i}`) === 'hang';
let seed = 0;
while (!(hangs(seed, 1) && !hangs(seed, 0) && !hangs(seed, 2) && !hangs(seed, 3))) seed++;

const t = await startTestTemporal();
let left: Awaited<ReturnType<typeof trainerProcesses>> = [];
try {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-orphan-'));
  const remote = path.join(dir, 'remote.git');
  await execa('git', ['clone', '-q', '--bare', await makeFixtureRepo(), remote]);
  const hosts = await Promise.all(['hostA', 'hostB'].map(async (name) => {
    const home = path.join(dir, name, 'home');
    const clone = path.join(dir, name, 'research');
    await mkdir(home, { recursive: true });
    await execa('git', ['clone', '-q', remote, clone]);
    const env = { HOME: home, AUTORESEARCH_HOST: name, AUTORESEARCH_REPO: clone, AUTORESEARCH_LANES: '1' };
    const logFile = path.join(dir, name, 'worker.log');
    return { name, clone, env, logFile, worker: startWorkerProcess({ address: t.server.address, logFile, env }) };
  }));
  await Promise.all(hosts.map((h) => h.worker.waitUntilPolling(t.connection)));
  const input = {
    tag, remote, lanes: 2, maxExperiments: 4,
    trainer: {
      command: 'python3 train.py', timeBudgetSeconds: 1, timeoutSeconds: 30, heartbeatTimeoutSeconds: 5, evaluation: 'trainer',
      env: { FIXTURE_SLEEP: '2', FIXTURE_FAULT_RATE: '0.5', FIXTURE_FAULTS: 'hang', FIXTURE_FAULT_SEED: String(seed) },
    },
  };
  const handle = await t.client.workflow.start('researchRun', { taskQueue: TASK_QUEUE, workflowId: tag, args: [input], workflowExecutionTimeout: '5 minutes' });
  const victim = await waitFor('exp-0001 to hang', async () => {
    for (const h of hosts) {
      const files = await readdir(path.join(h.clone, '.autoresearch', 'runs', tag, 'logs')).catch(() => [] as string[]);
      if (files.includes('exp-0001.pgid')) return h;
    }
    return undefined;
  }, 90_000);
  await sleep(1500);
  await victim.worker.kill();
  console.log(`SIGKILL ${victim.name}'s worker while exp-0001 hangs there; it stays down until the run ends`);
  const summary = (await handle.result()) as RunSummary;
  const rows = (await execa('git', ['show', `refs/autoresearch/${tag}/results:results.tsv`], { cwd: remote })).stdout;
  console.log(`run finished: ${summary.experiments} experiments\n${rows.split('\n').map((l) => l.split('\t').filter((_, i) => [3, 6, 7].includes(i)).join(' ')).join('\n')}`);
  console.log('trainers left after the run:', await trainerProcesses(tag));
  victim.worker = startWorkerProcess({ address: t.server.address, logFile: victim.logFile, env: victim.env });
  await victim.worker.waitUntilPolling(t.connection);
  await sleep(15_000);
  left = await trainerProcesses(tag);
  console.log(`trainers left 15 s after ${victim.name}'s worker came back:`, left);
  await Promise.all(hosts.map((h) => h.worker.stop()));
  console.log(`files in ${dir}`);
} finally {
  for (const p of await trainerProcesses(tag)) {
    try {
      process.kill(-p.pgid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  await killAllWorkerProcesses();
  await t.close();
}
console.log(left.length ? 'FAIL: the orphaned trainer outlived the run' : 'ok: no trainer left');
process.exit(left.length ? 1 : 0);
