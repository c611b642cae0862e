import { mkdtemp, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { researchRun } from '../../src/workflows/researchRun.js';
import { resultsQuery } from '../../src/api/messages.js';
import { TASK_QUEUE } from '../../src/core/names.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { runDir } from '../helpers/run.js';
import { expectConsistentRun } from '../helpers/runInvariants.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';
import { killAllWorkerProcesses, startWorkerProcess, trainerProcesses, waitFor } from '../helpers/workerProcess.js';

const EXPERIMENTS = 3;
// Long enough that the orphan still trains when the retry starts (heartbeat timeout + 5 s retry interval).
const TRAIN_SECONDS = 15;
const HEARTBEAT_TIMEOUT_SECONDS = 5;

afterAll(() => killAllWorkerProcesses()); // declared first, so it runs before the server stops
const dev = useTestTemporal();

describe('a worker killed while an experiment trains', () => {
  test('the next worker ends the orphaned trainer, retries the experiment and the run loses or duplicates nothing', async () => {
    const repo = await makeFixtureRepo();
    const logs = await mkdtemp(path.join(os.tmpdir(), 'ar-workers-'));
    const tag = uniqueId('kill');
    const input = fixtureRunInput(repo, tag, {
      maxExperiments: EXPERIMENTS,
      decision: 'greedy', // one run per experiment: this test is about the kill, and each run sleeps

      trainer: { timeBudgetSeconds: 1, heartbeatTimeoutSeconds: HEARTBEAT_TIMEOUT_SECONDS, env: { FIXTURE_SLEEP: String(TRAIN_SECONDS) } },
    });

    const first = startWorkerProcess({ address: dev.t.server.address, logFile: path.join(logs, 'worker-1.log') });
    await first.waitUntilPolling(dev.t.connection);
    const handle = await dev.t.client.workflow.start(researchRun, { taskQueue: TASK_QUEUE, workflowId: tag, args: [input], workflowExecutionTimeout: '3 minutes' });

    // The baseline trains: its group id lies beside its log, and the trainer has printed its first line.
    const killedId = `${tag}/exp-0000`;
    const logsDir = path.join(runDir(repo, tag), 'logs');
    const pgid = await waitFor('the baseline trainer', async () => {
      const log = await readFile(path.join(logsDir, 'exp-0000.log'), 'utf8').catch(() => '');
      const recorded = await readFile(path.join(logsDir, 'exp-0000.pgid'), 'utf8').catch(() => '');
      return /^fixture trainer:/m.test(log) && Number(recorded) > 0 ? Number(recorded) : undefined;
    }, 60_000);

    const firstStart = (await readFile(path.join(logsDir, 'exp-0000.log'), 'utf8')).split('\n')[0];
    await first.kill();
    const killedAt = Date.now();
    // The worker is gone but its trainer is not: the kill happened mid-train, and the trainer is orphaned.
    const orphans = await trainerProcesses(tag);
    expect(orphans.map((p) => p.pid)).toContain(pgid);
    expect(orphans.every((p) => p.pgid === pgid && p.experimentId === killedId)).toBe(true);

    const second = startWorkerProcess({ address: dev.t.server.address, logFile: path.join(logs, 'worker-2.log') });
    await second.waitUntilPolling(dev.t.connection);
    // The lane's lease times out with the dead worker; the experiment starts again on the new worker's lane.
    const retriedAfterMs = await waitFor('the retry', async () => {
      const log = await readFile(path.join(logsDir, 'exp-0000.log'), 'utf8').catch(() => '');
      return log && log.split('\n')[0] !== firstStart ? Date.now() - killedAt : undefined;
    }, 60_000);
    const summary = await handle.result();
    const finishedAfterMs = Date.now() - killedAt;
    const records = await handle.query(resultsQuery);
    await second.stop();

    await expectConsistentRun({ repo, tag, experiments: EXPERIMENTS, summary, records });
    expect(records[0].status).toBe('keep'); // the killed baseline trained to the end on its retry
    // The orphan was ended rather than trained beside: by the new worker as it started (its lane's
    // trainer, whose worker is gone), or else by the retry; and its group was forgotten.
    expect(second.log()).toMatch(new RegExp(`ended 1 trainer process group\\(s\\) a dead worker left on these lanes: ${pgid}\\b|ended a stray trainer left by an earlier attempt`));
    expect(existsSync(path.join(logsDir, 'exp-0000.pgid'))).toBe(false);
    // The killed experiment's log holds the start that finished, not the first one.
    const killedLog = await readFile(path.join(logsDir, 'exp-0000.log'), 'utf8');
    expect(killedLog.split('\n')[0]).toMatch(new RegExp(`^# ${killedId} attempt \\d+ on `));
    expect(killedLog.split('\n')[0]).not.toBe(firstStart);
    expect(killedLog).toMatch(/^val_bpb:/m);

    console.log(`worker killed mid-train: retry started after ${(retriedAfterMs / 1000).toFixed(1)} s, run finished after ${(finishedAfterMs / 1000).toFixed(1)} s`);
  }, 150_000);
});
