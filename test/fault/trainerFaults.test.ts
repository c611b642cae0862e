import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createWorker } from '../../src/createWorker.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { resultsQuery } from '../../src/definitions.js';
import { TASK_QUEUE } from '../../src/definitions.js';
import type { ExperimentRecord } from '../../src/definitions.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { runDir } from '../helpers/run.js';
import { startTestTemporal, uniqueId, workflowBundle, type TestTemporal } from '../helpers/temporalEnv.js';
import { trainerProcesses } from '../helpers/workerProcess.js';

let t: TestTemporal;
beforeAll(async () => {
  t = await startTestTemporal();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

/** Runs the fixture trainer with fault knobs and returns the records, the results.tsv rows and the run's live trainers. */
async function runWithFault(env: Record<string, string>, extra: { maxExperiments: number; timeoutSeconds?: number }) {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('fault');
  const taskQueue = uniqueId(TASK_QUEUE);
  const input = fixtureRunInput(repo, tag, {
    maxExperiments: extra.maxExperiments,
    trainer: { timeBudgetSeconds: 1, env, ...(extra.timeoutSeconds ? { timeoutSeconds: extra.timeoutSeconds } : {}) },
  });
  const worker = await createWorker({ connection: t.workerConnection, namespace: 'default', taskQueue, workflowBundle: await workflowBundle() });
  const { summary, records } = await worker.runUntil(async () => {
    const handle = await t.client.workflow.start(researchRun, { taskQueue, workflowId: tag, args: [input], workflowExecutionTimeout: '2 minutes' });
    const summary = await handle.result();
    return { summary, records: await handle.query(resultsQuery) };
  });
  const tsv = (await readFile(path.join(runDir(repo, tag), 'results.tsv'), 'utf8')).trimEnd().split('\n').slice(1);
  return { summary, records, rows: tsv.map((l) => l.split('\t')), left: await trainerProcesses(tag) };
}

function expectCrashRows(records: ExperimentRecord[], rows: string[][], error: RegExp) {
  for (const [i, r] of records.entries()) {
    expect(r.status).toBe('crash');
    expect(r.error).toMatch(error);
    expect(rows[i].slice(0, 4)).toEqual([r.commit, '0.000000', '0.0', 'crash']);
  }
}

describe('trainer faults are crash rows, and the run goes on', () => {
  test('a hanging trainer is killed at its timeout, recorded as a timed-out crash, and the next experiment runs', async () => {
    const { summary, records, rows, left } = await runWithFault({ FIXTURE_HANG: '1' }, { maxExperiments: 2, timeoutSeconds: 8 });
    expect(summary.experiments).toBe(2);
    expect(rows).toHaveLength(2);
    expectCrashRows(records, rows, /^timed out after \d+s$/);
    expect(left).toEqual([]);
  }, 60_000);

  test('a trainer that exits non-zero is a crash row', async () => {
    const { summary, records, rows, left } = await runWithFault({ FIXTURE_CRASH: '1' }, { maxExperiments: 1 });
    expect(summary.experiments).toBe(1);
    expectCrashRows(records, rows, /^trainer exited with 1$/);
    expect(left).toEqual([]);
  });

  test('a trainer that prints no summary block is a crash row', async () => {
    const { summary, records, rows, left } = await runWithFault({ FIXTURE_NO_SUMMARY: '1' }, { maxExperiments: 1 });
    expect(summary.experiments).toBe(1);
    expectCrashRows(records, rows, /^no summary block/);
    expect(left).toEqual([]);
  });
});
