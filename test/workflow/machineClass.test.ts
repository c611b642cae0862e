/**
 * Two lanes of different speed: the fixture trainer scores the same code 1 bpb lower on the fast
 * lane (FIXTURE_LANE_SHIFT), far more than any change the offline proposer makes, and names each
 * lane's device as its machine class. Every candidate is compared with the incumbent as measured on
 * its own class, so over 20 experiments no change is kept for its lane alone: each keep is truly
 * better than the best before it (the fixture's true value of the code). A real dev server and a
 * real worker with two CPU lanes (one process serves a queue with one worker only).
 */
import { execa } from 'execa';
import { createActivities } from '../../src/activities/index.js';
import { createWorker } from '../../src/createWorker.js';
import { TASK_QUEUE } from '../../src/core/names.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput, fixtureValBpb, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults } from '../helpers/run.js';
import { useTestTemporal, uniqueId, workflowBundle } from '../helpers/temporalEnv.js';

const dev = useTestTemporal({ bundle: true });
const EXPERIMENTS = 21; // the baseline and 20 experiments
const SHIFT = 1.0;

test('two lanes of different speed: after 20 experiments no change is kept for its lane alone', async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('class');
  const taskQueue = uniqueId(TASK_QUEUE);
  const worker = await createWorker({
    connection: dev.t.workerConnection, namespace: 'default', taskQueue, workflowBundle: await workflowBundle(), activities: createActivities(), host: 'h', laneCount: 2,
  });
  const input = fixtureRunInput(repo, tag, {
    lanes: 2, maxExperiments: EXPERIMENTS,
    trainer: { timeBudgetSeconds: 1, env: { FIXTURE_NOISE: '0.001', FIXTURE_LANE_SHIFT: `h-cpu1=${SHIFT}` } },
  });
  const summary = await worker.runUntil(() =>
    dev.t.client.workflow.execute(researchRun, { taskQueue, workflowId: tag, args: [input], workflowExecutionTimeout: '2 minutes' }));
  expect(summary.experiments).toBe(EXPERIMENTS);

  const rows = await readResults(repo, tag);
  const truth = async (commit: string) => fixtureValBpb((await execa('git', ['show', `${commit}:trainer/train.py`], { cwd: repo })).stdout);
  const keeps = rows.filter((r) => r.status === 'keep');
  let best = await truth(keeps[0].commit);
  const falseKeeps: string[] = [];
  for (const keep of keeps.slice(1)) {
    const value = await truth(keep.commit);
    if (value >= best) falseKeeps.push(`${keep.experimentId} (${keep.description}): true ${value} >= ${best}; ${keep.reason}`);
    best = Math.min(best, value);
  }
  expect(falseKeeps).toEqual([]);
  // Both classes were met, and the incumbent was measured on the fast one.
  const reasons = rows.map((r) => r.reason ?? '').join('\n');
  expect(reasons).toContain("vs the incumbent's");
  expect(reasons).toContain('on fixture fast CPU');
  expect(reasons).toContain('on fixture CPU');
}, 90_000);
