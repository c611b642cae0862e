import { researchRun } from '../../src/workflows/researchRun.js';
import { resultsQuery } from '../../src/api/messages.js';
import type { ExperimentRecord } from '../../src/core/results.js';
import type { ResultRow } from '../../src/core/resultsTsv.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults, withWorker } from '../helpers/run.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';
import { trainerProcesses } from '../helpers/workerProcess.js';

const dev = useTestTemporal();

/** Runs the fixture trainer with fault knobs and returns the records, the results.tsv rows and the run's live trainers. */
async function runWithFault(env: Record<string, string>, extra: { maxExperiments: number; timeoutSeconds?: number }) {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('fault');
  const input = fixtureRunInput(repo, tag, {
    maxExperiments: extra.maxExperiments,
    trainer: { timeBudgetSeconds: 1, env, ...(extra.timeoutSeconds ? { timeoutSeconds: extra.timeoutSeconds } : {}) },
  });
  const { summary, records } = await withWorker(dev.t, async (taskQueue) => {
    const handle = await dev.t.client.workflow.start(researchRun, { taskQueue, workflowId: tag, args: [input], workflowExecutionTimeout: '2 minutes' });
    const summary = await handle.result();
    return { summary, records: await handle.query(resultsQuery) };
  });
  return { summary, records, rows: await readResults(repo, tag), left: await trainerProcesses(tag) };
}

function expectCrashRows(records: ExperimentRecord[], rows: ResultRow[], error: RegExp) {
  for (const [i, r] of records.entries()) {
    expect(r.status).toBe('crash');
    expect(r.reason).toMatch(error);
    expect(rows[i]).toMatchObject({ commit: r.commit, valBpb: 0, memoryGb: 0, status: 'crash' });
  }
}

describe('trainer faults are crash rows, and the run goes on', () => {
  test('a hanging trainer is killed at its timeout, recorded as a timed-out crash, and the next experiment runs', async () => {
    // The baseline is spared (a crashed one ends the run); the experiments after it hang.
    const { summary, records, rows, left } = await runWithFault({ FIXTURE_HANG: '1', FIXTURE_SPARE_BASELINE: '1' }, { maxExperiments: 3, timeoutSeconds: 8 });
    expect(summary.experiments).toBe(3);
    expect(rows.map((r) => r.status)).toEqual(['keep', 'crash', 'crash']);
    expectCrashRows(records.slice(1), rows.slice(1), /^timed out after \d+s$/);
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
