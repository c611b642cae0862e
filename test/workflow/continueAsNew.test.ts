import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createWorker } from '../../src/createWorker.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { startTestTemporal, uniqueId, workflowBundle, type TestTemporal } from '../helpers/temporalEnv.js';

let t: TestTemporal;
beforeAll(async () => {
  // A tiny threshold makes the server suggest continue-as-new after the first experiment or two.
  t = await startTestTemporal({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 40 } });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

test('a run continues as new when the server suggests it and carries its state across', async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('can');
  const taskQueue = uniqueId('q');
  const worker = await createWorker({ connection: t.workerConnection, namespace: 'default', taskQueue, workflowBundle: await workflowBundle() });
  const handle = await t.client.workflow.start(researchRun, { taskQueue, workflowId: tag, args: [fixtureRunInput(repo, tag, { maxExperiments: 4 })] });
  const summary = await worker.runUntil(handle.result());

  expect(summary.experiments).toBe(4);
  // The latest run is not the first: it continued as new at least once.
  const latest = await handle.describe();
  expect(latest.runId).not.toBe(handle.firstExecutionRunId);
  // State survived: one row per experiment, ids consecutive, no duplicate.
  const tsv = (await readFile(path.join(repo, '.autoresearch', 'runs', tag, 'results.tsv'), 'utf8')).trimEnd().split('\n').slice(1);
  expect(tsv.map((l) => l.split('\t')[6])).toEqual([0, 1, 2, 3].map((i) => `${tag}/exp-000${i}`));
});
