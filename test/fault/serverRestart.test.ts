import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { researchRun } from '../../src/workflows/researchRun.js';
import { resultsQuery } from '../../src/api/messages.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { runDir, withWorker } from '../helpers/run.js';
import { expectConsistentRun } from '../helpers/runInvariants.js';
import { startTestTemporal, uniqueId, type TestTemporal } from '../helpers/temporalEnv.js';
import { waitFor } from '../helpers/workerProcess.js';

const EXPERIMENTS = 3;

let t: TestTemporal;
beforeAll(async () => {
  t = await startTestTemporal();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

describe('the dev server restarted mid-run on the same database', () => {
  test('the run finishes with every experiment and a consistent branch', async () => {
    const repo = await makeFixtureRepo();
    const tag = uniqueId('restart');
    const input = fixtureRunInput(repo, tag, { maxExperiments: EXPERIMENTS, trainer: { timeBudgetSeconds: 1, env: { FIXTURE_SLEEP: '3' } } });
    const resultsFile = path.join(runDir(repo, tag), 'results.tsv');
    const logsDir = path.join(runDir(repo, tag), 'logs');

    const { summary, records, downMs } = await withWorker(t, async (taskQueue) => {
      const handle = await t.client.workflow.start(researchRun, { taskQueue, workflowId: tag, args: [input], workflowExecutionTimeout: '3 minutes' });
      // After the baseline's row is written, while the next experiment trains (heartbeats fail while the server is down).
      await waitFor('experiment 1 to train', async () => {
        const rows = (await readFile(resultsFile, 'utf8').catch(() => '')).trimEnd().split('\n').length - 1;
        return rows >= 1 && existsSync(path.join(logsDir, 'exp-0001.pgid')) ? true : undefined;
      }, 60_000);
      const stoppedAt = Date.now();
      await t.restart();
      const downMs = Date.now() - stoppedAt;
      const summary = await handle.result();
      return { summary, records: await handle.query(resultsQuery), downMs };
    });
    console.log(`server restarted in ${(downMs / 1000).toFixed(1)} s; the in-process worker and client reconnected by themselves`);

    await expectConsistentRun({ repo, tag, experiments: EXPERIMENTS, summary, records });
    // The experiment that trained across the restart finished on its first attempt.
    const log = await readFile(path.join(logsDir, 'exp-0001.log'), 'utf8');
    expect(log.split('\n')[0]).toMatch(/ attempt 1 on /);
    expect(records[1].status).not.toBe('crash');
  }, 90_000);
});
