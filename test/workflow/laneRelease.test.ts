/**
 * Two runs share one worker that serves one lane: a paused run (by a person or by its breaker)
 * gives the lane back so the other run trains, and a resumed one waits for the lane and goes on.
 * A real dev server and a real worker (createWorker, as `npm run worker` builds it).
 */
import { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { pauseSignal, resultsQuery, resumeSignal, statusQuery, stopSignal } from '../../src/api/messages.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults, waitForStatus, withWorker } from '../helpers/run.js';
import { expectConsistentRun } from '../helpers/runInvariants.js';
import { useTestTemporal, uniqueId, workflowBundle } from '../helpers/temporalEnv.js';

const dev = useTestTemporal({ bundle: true });

type Run = WorkflowHandle<typeof researchRun>;

/** A run of its own fixture repo on the worker's queue: greedy (one training per experiment), short. */
async function startRun(taskQueue: string, prefix: string, extra: Record<string, unknown>) {
  const repo = await makeFixtureRepo();
  const tag = uniqueId(prefix);
  const run = await dev.t.client.workflow.start(researchRun, {
    taskQueue, workflowId: tag, args: [fixtureRunInput(repo, tag, { decision: 'greedy', ...extra })], workflowExecutionTimeout: '3 minutes',
  });
  return { run, repo, tag };
}

const sleepy = (seconds: number) => ({ trainer: { env: { FIXTURE_SLEEP: String(seconds) } } });

/** The run's own history replays against today's workflow code (the patched branch included). */
async function expectReplays(run: Run) {
  await expect(Worker.runReplayHistory({ workflowBundle: await workflowBundle(), replayName: 'lane-release' }, await run.fetchHistory(), run.workflowId))
    .resolves.toBeUndefined();
}

describe('a paused run gives its lanes back', () => {
  test('pausing one of two runs on one lane lets the other train; resumed, it waits for the lane and goes on', async () => {
    await withWorker(dev.t, async (taskQueue) => {
      const a = await startRun(taskQueue, 'lane-a', { maxExperiments: 3, ...sleepy(1) });
      await waitForStatus(a.run, 'trains on the lane', (s) => s.lanesHeld === 1 && s.phase === 'train');
      const b = await startRun(taskQueue, 'lane-b', { maxExperiments: 3, ...sleepy(1) });
      await waitForStatus(b.run, 'waits for the lane', (s) => s.phase === 'idle' && s.lanesHeld === 0 && s.lanesWaitingFor === 1);

      await a.run.signal(pauseSignal);
      // Its experiment in flight finishes, then the lane goes back.
      const paused = await waitForStatus(a.run, 'paused holding no lane', (s) => s.phase === 'paused' && s.lanesHeld === 0);
      expect(paused).toMatchObject({ paused: true, lanesHeld: 0, lanesWaitingFor: 0, experimentsDone: 1 });
      await waitForStatus(b.run, 'trains on the lane given back', (s) => s.lanesHeld === 1 && s.experimentsDone >= 1);
      expect(await a.run.query(statusQuery)).toMatchObject({ paused: true, lanesHeld: 0, experimentsDone: 1 });

      await a.run.signal(resumeSignal);
      // The lane is the other run's until it ends: the resumed run asks for it and waits.
      const waiting = await waitForStatus(a.run, 'asks for the lane again', (s) => !s.paused && s.lanesWaitingFor === 1);
      expect(waiting).toMatchObject({ lanesHeld: 0, experimentsDone: 1 });
      const bSummary = await b.run.result();
      const aSummary = await a.run.result();
      expect([aSummary.experiments, bSummary.experiments]).toEqual([3, 3]);

      // Nothing lost or doubled in either run: rows 0..N-1 once each, one commit each, the branch at the best.
      for (const [{ run, repo, tag }, summary] of [[a, aSummary], [b, bSummary]] as const) {
        await expectConsistentRun({ repo, tag, experiments: 3, summary, records: await run.query(resultsQuery) });
        await expectReplays(run);
      }
    });
  }, 120_000);

  test('the breaker\'s self-pause gives the lane back the same way; stopped then, the run ends without asking for a lane', async () => {
    await withWorker(dev.t, async (taskQueue) => {
      // The baseline trains (a crashed one ends the run instead); every experiment after it crashes.
      const a = await startRun(taskQueue, 'lane-crash', { trainer: { env: { FIXTURE_CRASH: '1', FIXTURE_SPARE_BASELINE: '1' } }, pauseAfterFailures: 2, maxExperiments: 10 });
      await waitForStatus(a.run, 'holds the lane', (s) => s.lanesHeld === 1);
      const b = await startRun(taskQueue, 'lane-next', { maxExperiments: 3, ...sleepy(1) });

      const tripped = await waitForStatus(a.run, 'paused itself holding no lane', (s) => s.paused && s.experimentsDone === 3 && s.lanesHeld === 0);
      expect(tripped).toMatchObject({ phase: 'paused', lanesHeld: 0, lanesWaitingFor: 0 });
      expect(tripped.pausedReason).toMatch(/paused itself after 2 crash or invalid results in a row/);
      await waitForStatus(b.run, 'trains on the lane given back', (s) => s.lanesHeld === 1 && s.experimentsDone >= 1);

      // Stopped while the other run holds the only lane: it needs none to end.
      await a.run.signal(stopSignal);
      const aSummary = await a.run.result();
      expect([aSummary.experiments, aSummary.endReason]).toEqual([3, 'stopped on request']);
      const bNow = await b.run.query(statusQuery);
      expect(bNow.phase).not.toBe('done');
      expect(bNow.lanesHeld).toBe(1);

      const bSummary = await b.run.result();
      expect((await readResults(a.repo, a.tag)).map((r) => [r.experimentId, r.status])).toEqual([0, 1, 2].map((n) => [`${a.tag}/exp-000${n}`, n ? 'crash' : 'keep']));
      await expectConsistentRun({ repo: b.repo, tag: b.tag, experiments: 3, summary: bSummary, records: await b.run.query(resultsQuery) });
      await expectReplays(a.run);
    });
  }, 120_000);
});
