/**
 * A baseline that crashes ends the run at once: with no incumbent there is nothing to compare a
 * proposal with, so none is asked for (or paid) and the breaker is not waited for.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createActivities } from '../../src/activities/index.js';
import { createOfflineProposer } from '../../src/proposers/offline.js';
import { runFailure } from '../../src/cli/watchView.js';
import { parseResults } from '../../src/core/resultsTsv.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import proto from '@temporalio/proto';
import { fixtureRunInput } from '../helpers/fixtureRepo.js';
import { devServerAndFixtureRepo, runDir, withWorker } from '../helpers/run.js';
import { uniqueId } from '../helpers/temporalEnv.js';

const env = devServerAndFixtureRepo();

const { History } = proto.temporal.api.history.v1;
/** As scripts/record-history.ts saves a history. */
const historyToObject = (h: proto.temporal.api.history.v1.IHistory) => History.toObject(History.fromObject(h), { longs: String, enums: String, bytes: String });

test('a trainer that exits 1 ends the run after the baseline, naming its reason and log, with no proposer call', async () => {
  let proposals = 0;
  const activities = createActivities({
    createProposer: (config) => {
      const offline = createOfflineProposer(config);
      return { propose: (ctx, signal) => (proposals++, offline.propose(ctx, signal)) };
    },
  });
  const tag = uniqueId('basecrash');
  const started = Date.now();
  const { summary, events } = await withWorker(env.t, async (taskQueue) => {
    const run = await env.t.client.workflow.start(researchRun, {
      taskQueue, workflowId: tag, workflowExecutionTimeout: '2 minutes',
      // Pipelined, a breaker far away and room for more experiments: only the new rule can end it this soon.
      args: [fixtureRunInput(env.repo, tag, { maxExperiments: 3, pauseAfterFailures: 5, pipeline: true, trainer: { env: { FIXTURE_CRASH: '1' } } })],
    });
    const summary = await run.result();
    const history = await run.fetchHistory();
    // Recording a history for test/histories (e.g. from code before a workflow change): RECORD_HISTORY=<file>.
    if (process.env.RECORD_HISTORY) await writeFile(process.env.RECORD_HISTORY, JSON.stringify(historyToObject(history), null, 2) + '\n');
    return { summary, events: history.events ?? [] };
  }, activities);
  const seconds = (Date.now() - started) / 1000;

  const log = path.join(runDir(env.repo, tag), 'logs', 'exp-0000.log');
  expect(summary.endReason).toMatch(/^nothing to compare against: the baseline crashed: .+, log /);
  expect(summary.endReason.endsWith(`, log ${log}`)).toBe(true);
  expect(summary.experiments).toBe(1);
  expect(summary.best).toBeUndefined();
  // No proposal was asked for, ahead or by an experiment, and no second experiment started.
  expect(proposals).toBe(0);
  expect(events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'hypothesize')).toBe(false);
  expect(events.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes)).toHaveLength(1);
  await expect(readFile(log, 'utf8')).resolves.toContain('FAIL');

  const rows = parseResults(await readFile(summary.resultsFile, 'utf8'));
  expect(rows.map((r) => [r.experimentId?.split('/').pop(), r.status])).toEqual([['exp-0000', 'crash']]);
  // `research wait` fails on this summary, naming the crash's reason and log.
  const failure = runFailure(summary, rows);
  expect(failure).toBe(`run ${tag} failed: ${summary.endReason}`);
  expect(summary.endReason).toContain(rows[0].reason!.replace(/\s+/g, ' ').slice(0, 60));
  console.log(`baseline crash: the run ended ${seconds.toFixed(1)} s after it started (${summary.endReason})`);
}, 60_000);
