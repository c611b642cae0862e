/** The run's messages against a real dev server: pause, resume, stop, steer, setProgram, search attributes. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { createActivities } from '../../src/activities/index.js';
import type { ProposerContext } from '../../src/proposers/context.js';
import { createOfflineProposer } from '../../src/proposers/offline.js';
import { MAX_NOTE_CHARS, pauseSignal, resumeSignal, setProgramUpdate, statusQuery, steerUpdate, stopSignal, type RunStatus } from '../../src/api/messages.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput } from '../helpers/fixtureRepo.js';
import { devServerAndFixtureRepo, runDir, waitForStatus, withWorker } from '../helpers/run.js';
import { uniqueId } from '../helpers/temporalEnv.js';

const env = devServerAndFixtureRepo();

type Run = WorkflowHandle<typeof researchRun>;

/** Runs `fn` with a fresh worker whose offline proposer records every context it is asked with. */
async function withRun<R>(extra: Record<string, unknown>, fn: (run: Run, contexts: ProposerContext[]) => Promise<R>): Promise<R> {
  const contexts: ProposerContext[] = [];
  const activities = createActivities({
    createProposer: (config) => {
      const offline = createOfflineProposer(config);
      return { propose: (ctx, signal) => (contexts.push(ctx), offline.propose(ctx, signal)) };
    },
  });
  const tag = uniqueId('msg');
  return withWorker(env.t, async (taskQueue) => {
    const run = await env.t.client.workflow.start(researchRun, {
      taskQueue, workflowId: tag, args: [fixtureRunInput(env.repo, tag, extra)], workflowExecutionTimeout: '3 minutes',
    });
    return fn(run, contexts);
  }, activities);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const training = (experiment: number) => (s: RunStatus) => s.experimentsDone === experiment && s.phase === 'train';
const sleepy = (seconds: number) => ({ trainer: { env: { FIXTURE_SLEEP: String(seconds) } } });

describe('messages to a running research run', () => {
  test('pause holds back the next experiment and resume releases it', async () => {
    await withRun({ ...sleepy(2), maxExperiments: 2 }, async (run) => {
      await waitForStatus(run, 'reached the expected status', training(0));
      await run.signal(pauseSignal);
      await waitForStatus(run, 'reached the expected status', (s) => s.experimentsDone === 1);
      // The running experiment finished; for the next few seconds nothing new starts.
      for (let i = 0; i < 6; i++) {
        const s = await run.query(statusQuery);
        expect([s.experimentsDone, s.phase, s.paused]).toEqual([1, 'paused', true]);
        await sleep(500);
      }
      await expect(env.t.client.workflow.getHandle(`${run.workflowId}/exp-0001`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

      await run.signal(resumeSignal);
      const summary = await run.result();
      expect(summary.experiments).toBe(2);
      expect(summary.endReason).toMatch(/maxExperiments/);
    });
  });

  test('a steering note reaches the proposer from the next experiment on, and an empty or oversized note is rejected', async () => {
    await withRun({ ...sleepy(2), maxExperiments: 2 }, async (run, contexts) => {
      await waitForStatus(run, 'reached the expected status', training(0));
      for (const note of ['', '   ', 'x'.repeat(MAX_NOTE_CHARS + 1)]) {
        await expect(run.executeUpdate(steerUpdate, { args: [{ note }] })).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
      }
      const accepted = await run.executeUpdate(steerUpdate, { args: [{ note: '  try a deeper model  ' }] });
      expect(accepted).toEqual({ effectiveFromExperiment: 1, notes: 1 });
      // Notes travel with every experiment: past 20,000 characters in all, the next one is refused.
      const long = 'x'.repeat(MAX_NOTE_CHARS);
      for (let i = 0; i < 9; i++) await run.executeUpdate(steerUpdate, { args: [{ note: long }] });
      await expect(run.executeUpdate(steerUpdate, { args: [{ note: long }] })).rejects.toMatchObject({ cause: { message: expect.stringMatching(/at most 50 notes of 20000 characters/) } });

      await run.result();
      expect(contexts.map((c) => [c.experiment, c.steeringNotes.length, c.steeringNotes[0]])).toEqual([[1, 10, 'try a deeper model']]);
      expect((await run.query(statusQuery)).steeringNotes).toHaveLength(10);
      // The notes are kept beside results.tsv for the report.
      const steering = await readFile(path.join(runDir(env.repo, run.workflowId), 'steering.tsv'), 'utf8');
      expect(steering.split('\n').slice(0, 2)).toEqual(['from_experiment\tnote', '1\ttry a deeper model']);
      expect(steering.trimEnd().split('\n')).toHaveLength(11);
    });
  });

  test('stop ends the run after the current experiment', async () => {
    await withRun({ ...sleepy(1.5), maxExperiments: 50 }, async (run) => {
      await waitForStatus(run, 'reached the expected status', training(1));
      await run.signal(stopSignal);
      expect((await run.query(statusQuery)).stopRequested).toBe(true);
      const summary = await run.result();
      expect(summary.experiments).toBe(2);
      expect(summary.endReason).toBe('stopped on request');
    });
  });

  test('setProgram replaces the direction the proposer sees from the next experiment on', async () => {
    await withRun({ ...sleepy(1.5), maxExperiments: 3 }, async (run, contexts) => {
      await waitForStatus(run, 'reached the expected status', training(1));
      const r = await run.executeUpdate(setProgramUpdate, { args: [{ program: 'Only try deeper models.' }] });
      expect(r.effectiveFromExperiment).toBe(2);
      await expect(run.executeUpdate(setProgramUpdate, { args: [{ program: ' ' }] })).rejects.toBeInstanceOf(WorkflowUpdateFailedError);

      await run.result();
      expect(contexts.map((c) => c.experiment)).toEqual([1, 2]);
      expect(contexts[0].program).toContain('# Fixture research program');
      expect(contexts[1].program).toBe('Only try deeper models.');
    });
  });

  test('a finished run is found by its search attributes', async () => {
    await withRun({ maxExperiments: 1 }, async (run) => {
      await run.result();
      const query = `ResearchTag = '${run.workflowId}' AND BestValBpb < 2 AND ExperimentCount = 1 AND ResearchPhase = 'done'`;
      // Visibility is eventually consistent: poll, bounded.
      const deadline = Date.now() + 15_000;
      let found: string[] = [];
      while (Date.now() < deadline && found.length === 0) {
        found = [];
        for await (const w of env.t.client.workflow.list({ query })) found.push(w.workflowId);
        if (!found.length) await sleep(250);
      }
      expect(found).toEqual([run.workflowId]);
      const none: string[] = [];
      for await (const w of env.t.client.workflow.list({ query: `ResearchTag = '${run.workflowId}' AND BestValBpb < 1` })) none.push(w.workflowId);
      expect(none).toEqual([]);
    });
  });

  test('the breaker pauses the run after pauseAfterFailures crashes in a row, says why, and a resume gives it as many more', async () => {
    // The baseline trains (a crashed one ends the run instead); every experiment after it crashes.
    await withRun({ trainer: { env: { FIXTURE_CRASH: '1', FIXTURE_SPARE_BASELINE: '1' } }, pauseAfterFailures: 2, maxExperiments: 10 }, async (run) => {
      const tripped = await waitForStatus(run, 'reached the expected status', (s) => s.paused && s.experimentsDone === 3);
      expect(tripped.pausedReason).toMatch(/paused itself after 2 crash or invalid results in a row \(the last: trainer exited with 1\); resume, steer or stop it/);
      await sleep(1500);
      expect((await run.query(statusQuery)).experimentsDone).toBe(3); // nothing new starts while it holds
      await run.signal(resumeSignal);
      const again = await waitForStatus(run, 'reached the expected status', (s) => s.paused && s.experimentsDone === 5);
      expect(again.pausedReason).toMatch(/after 2 crash/);
      await run.signal(stopSignal);
      const summary = await run.result();
      expect([summary.experiments, summary.endReason]).toEqual([5, 'stopped on request']);
    });
  }, 120_000);
});
