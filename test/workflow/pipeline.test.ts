/** Pipelining: the next proposal is made while a lane trains, so the lane never waits for the proposer. */
import type { temporal } from '@temporalio/proto';
import { createActivities } from '../../src/activities/index.js';
import { createOfflineProposer } from '../../src/proposers/offline.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { withWorker } from '../helpers/run.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';

const dev = useTestTemporal();

const PROPOSER_SECONDS = 1.5;
const TRAIN_SECONDS = 3;
const EXPERIMENTS = 4;

type Event = temporal.api.history.v1.IHistoryEvent;
const timeOf = (e: Event) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
const history = async (id: string) => (await dev.t.client.workflow.getHandle(id).fetchHistory()).events ?? [];
const scheduled = (events: Event[], type: string) => events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type);

test('with a proposer that takes 1.5 s, every next proposal is ready before the lane finishes training', async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('pipe');
  let calls = 0;
  const activities = createActivities({
    createProposer: (config) => {
      const offline = createOfflineProposer(config);
      return { propose: async (ctx, signal) => (calls++, await new Promise((r) => setTimeout(r, PROPOSER_SECONDS * 1000)), offline.propose(ctx, signal)) };
    },
  });
  const input = fixtureRunInput(repo, tag, { maxExperiments: EXPERIMENTS, pipeline: true, trainer: { timeBudgetSeconds: 1, env: { FIXTURE_SLEEP: String(TRAIN_SECONDS) } } });
  const summary = await withWorker(dev.t, (taskQueue) => dev.t.client.workflow.execute(researchRun, { taskQueue, workflowId: tag, args: [input] }), activities);
  expect(summary.experiments).toBe(EXPERIMENTS);
  expect(calls).toBe(EXPERIMENTS - 1); // none made for nothing

  const run = await history(tag);
  // Experiment 1 asks for its own proposal: none is made while the baseline trains (a trainer that
  // cannot run must end the run before anything is paid). Every later proposal was made by the run, ahead.
  expect(scheduled(await history(`${tag}/exp-0001`), 'hypothesize')).toHaveLength(1);
  expect(scheduled(run, 'hypothesize')).toHaveLength(EXPERIMENTS - 2);
  for (let n = 2; n < EXPERIMENTS; n++) expect(scheduled(await history(`${tag}/exp-000${n}`), 'hypothesize')).toHaveLength(0);
  // Each proposal made ahead was ready before the experiment training while it was made had finished.
  const proposed = run.filter((e) => e.activityTaskCompletedEventAttributes && scheduled(run, 'hypothesize')
    .some((s) => Number(s.eventId) === Number(e.activityTaskCompletedEventAttributes!.scheduledEventId))).map(timeOf);
  const childDone = run.filter((e) => e.childWorkflowExecutionCompletedEventAttributes)
    .map((e) => ({ id: e.childWorkflowExecutionCompletedEventAttributes!.workflowExecution!.workflowId!, at: timeOf(e) }));
  for (let n = 2; n < EXPERIMENTS; n++) {
    const previousDone = childDone.find((c) => c.id === `${tag}/exp-000${n - 1}`)!.at;
    expect({ experiment: n, readyBeforeLaneFree: proposed[n - 2] < previousDone }).toEqual({ experiment: n, readyBeforeLaneFree: true });
  }
}, 120_000);
