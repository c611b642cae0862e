import { researchRun } from '../../src/workflows/researchRun.js';
import { setProgramUpdate, statusQuery, steerUpdate } from '../../src/api/messages.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults, withWorker } from '../helpers/run.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';

// A tiny threshold makes the server suggest continue-as-new after the first experiment or two.
const dev = useTestTemporal({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 30 } });

test('a run continues as new when the server suggests it and carries its state across', async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('can');
  const { summary, status } = await withWorker(dev.t, async (taskQueue) => {
    const handle = await dev.t.client.workflow.start(researchRun, { taskQueue, workflowId: tag, args: [fixtureRunInput(repo, tag, { maxExperiments: 4 })] });
    await handle.executeUpdate(steerUpdate, { args: [{ note: 'try a deeper model' }] });
    await handle.executeUpdate(setProgramUpdate, { args: [{ program: 'Only tune the learning rate.' }] });
    const summary = await handle.result();
    // The latest run is not the first: it continued as new at least once.
    expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
    return { summary, status: await handle.query(statusQuery) };
  });

  expect(summary.experiments).toBe(4);
  // State survived: one row per experiment, ids consecutive, no duplicate; the best, counts and notes carried.
  const results = await readResults(repo, tag);
  expect(results.map((r) => r.experimentId)).toEqual([0, 1, 2, 3].map((i) => `${tag}/exp-000${i}`));
  const best = results.filter((r) => r.status === 'keep').sort((a, b) => a.valBpb - b.valBpb)[0];
  expect(summary.best?.commit).toBe(best.commit);
  expect(summary.kept).toBe(results.filter((r) => r.status === 'keep').length);
  expect(status.steeringNotes).toEqual(['try a deeper model']);
  expect(status.experimentsDone).toBe(4);
});
