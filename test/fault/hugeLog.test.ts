import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { researchRun } from '../../src/workflows/researchRun.js';
import { resultsQuery } from '../../src/api/messages.js';
import { TRAINER_LOG_CAP_BYTES, readTail } from '../../src/activities/trainerProcess.js';
import { FIXTURES, fixtureRunInput, fixtureValBpb, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults, runDir, withWorker } from '../helpers/run.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';
import { trainerProcesses } from '../helpers/workerProcess.js';

const dev = useTestTemporal();

const FLOOD_MB = 300;

test(`a trainer that prints ${FLOOD_MB} MB is a normal row, and its log stays under the cap with its start and its end`, async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('flood');
  const input = fixtureRunInput(repo, tag, { maxExperiments: 1, trainer: { timeBudgetSeconds: 1, env: { FIXTURE_FLOOD_MB: String(FLOOD_MB) } } });
  const started = Date.now();
  const records = await withWorker(dev.t, async (taskQueue) => {
    const handle = await dev.t.client.workflow.start(researchRun, { taskQueue, workflowId: tag, args: [input], workflowExecutionTimeout: '2 minutes' });
    await handle.result();
    return handle.query(resultsQuery);
  });
  console.log(`${FLOOD_MB} MB of trainer output: the run took ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const valBpb = Number(fixtureValBpb(await readFile(path.join(FIXTURES, 'trainer', 'train.py'), 'utf8')).toFixed(6));
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ status: 'keep', valBpb });
  const rows = await readResults(repo, tag);
  expect(rows[0]).toMatchObject({ status: 'keep', valBpb });

  const log = path.join(runDir(repo, tag), 'logs', 'exp-0000.log');
  const { size } = await stat(log);
  expect(size).toBeLessThanOrEqual(TRAINER_LOG_CAP_BYTES + 4096); // the cap, plus the worker's closing line
  expect(size).toBeGreaterThan(TRAINER_LOG_CAP_BYTES / 4);
  const handle = await open(log, 'r');
  const head = Buffer.alloc(1024 * 1024);
  await handle.read(head, 0, head.length, 0);
  await handle.close();
  const start = head.toString('utf8');
  expect(start.split('\n')[0]).toMatch(new RegExp(`^# ${tag}/exp-0000 attempt 1 on `));
  expect(start).toMatch(/^fixture trainer: budget/m);
  // The start is kept up to a line end, then one line says how much was cut.
  const markers = start.split('\n').filter((l) => l.startsWith('# ... log capped'));
  expect(markers).toEqual([expect.stringMatching(/^# \.\.\. log capped at \d+ bytes: \d+ bytes of trainer output cut here; the end follows \.\.\.$/)]);
  const around = start.split('\n').findIndex((l) => l === markers[0]);
  expect(start.split('\n').slice(around - 1, around + 2).map((l) => l.slice(0, 6))).toEqual(['flood ', '# ... ', 'flood ']);
  const end = await readTail(log, 64 * 1024);
  expect(end).toMatch(new RegExp(`^val_bpb: +${valBpb.toFixed(6)}$`, 'm'));
  expect(end).toMatch(/^# exit 0 after /m);
  expect(await trainerProcesses(tag)).toEqual([]);
}, 120_000);
