/**
 * Orchestration overhead of the loop: a real dev server, an in-process worker and the fixture
 * trainer (which "trains" instantly), so the time per experiment is what Temporal, git and the
 * activities cost around a real training run. Usage: npx tsx bench/loop.ts [experiments]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { createWorker } from '../src/createWorker.js';
import { startDevServer } from '../src/temporal/devServer.js';
import { researchRun } from '../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../test/helpers/fixtureRepo.js';

Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error },
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } } });

const experiments = Number(process.argv[2] ?? 8);
const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-bench-'));
const server = await startDevServer({ dbFile: path.join(dir, 'temporal.db') });
try {
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  const worker = await createWorker({ connection: workerConnection, namespace: 'default', taskQueue: 'bench' });
  const repo = await makeFixtureRepo();
  const input = fixtureRunInput(repo, 'bench', { maxExperiments: experiments, trainer: { timeBudgetSeconds: 0.1 } });
  const t0 = performance.now();
  await worker.runUntil(client.workflow.execute(researchRun, { taskQueue: 'bench', workflowId: 'bench', args: [input] }));
  const seconds = (performance.now() - t0) / 1000;
  const history = await client.workflow.getHandle('bench').fetchHistory();
  console.log(`loop overhead: ${experiments} experiments in ${seconds.toFixed(1)} s = ${(seconds / experiments).toFixed(2)} s/experiment ` +
    `(fixture trainer, ${os.cpus().length} cores); run history ${history.events?.length ?? 0} events`);
  await connection.close();
  await workerConnection.close();
  await rm(repo, { recursive: true, force: true });
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
