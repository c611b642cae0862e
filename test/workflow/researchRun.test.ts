import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { WorkflowFailedError } from '@temporalio/client';
import { getStatus } from '../../src/cli/commands.js';
import { createActivities } from '../../src/activities/index.js';
import type { WorkerActivities } from '../../src/api/activities.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { RESULTS_HEADER } from '../../src/core/resultsTsv.js';
import { fixtureRunInput, fixtureValBpb, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults, runDir, withWorker } from '../helpers/run.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';

const dev = useTestTemporal();

const runWorker = <R>(fn: (taskQueue: string) => Promise<R>, activities?: WorkerActivities) => withWorker(dev.t, fn, activities);

describe('researchRun on a real dev server', () => {
  test('a 4-experiment run keeps improvements, reverts the rest and leaves the branch at the best commit', async () => {
    const repo = await makeFixtureRepo();
    const tag = uniqueId('four');
    const summary = await runWorker((taskQueue) =>
      dev.t.client.workflow.execute(researchRun, { taskQueue, workflowId: tag, args: [fixtureRunInput(repo, tag)], workflowExecutionTimeout: '5 minutes' }),
    );
    expect(summary.experiments).toBe(4);
    expect(summary.endReason).toMatch(/maxExperiments/);
    // With no worker left, `research status` still answers for a completed run: its summary.
    expect(await getStatus(dev.t.client, tag)).toEqual(summary);

    const tsv = await readFile(path.join(runDir(repo, tag), 'results.tsv'), 'utf8');
    expect(tsv.split('\n')[0]).toBe(RESULTS_HEADER.trimEnd());
    expect(tsv.split('\n')[0].split('\t').slice(0, 5)).toEqual(['commit', 'val_bpb', 'memory_gb', 'status', 'description']);
    const results = await readResults(repo, tag);
    expect(results.map((r) => r.experimentId)).toEqual([0, 1, 2, 3].map((n) => `${tag}/exp-000${n}`));
    expect(results[0].description).toBe('baseline');

    // Every row's val_bpb is the fixture's objective at that commit, and keep/discard follows it.
    const git = (...a: string[]) => execa('git', a, { cwd: repo }).then((r) => r.stdout);
    let best = Infinity;
    let bestCommit = '';
    for (const { commit, valBpb, memoryGb, status } of results) {
      const source = await git('show', `${commit}:trainer/train.py`);
      if (/^CRASH = True/m.test(source)) {
        expect([status, valBpb, memoryGb]).toEqual(['crash', 0, 0]);
        continue;
      }
      const expected = fixtureValBpb(source);
      expect(valBpb).toBeCloseTo(expected, 5);
      expect(memoryGb).toBeGreaterThan(0);
      expect(status).toBe(expected < best ? 'keep' : 'discard');
      if (expected < best) [best, bestCommit] = [expected, commit];
    }
    const head = await git('rev-parse', '--short=7', `autoresearch/${tag}`);
    expect(head).toBe(bestCommit);
    // Every commit, kept or not, stays reachable under its experiment's ref; results.tsv under the results ref.
    const refs = await git('for-each-ref', '--format=%(refname:lstrip=3) %(objectname:short=7)', `refs/autoresearch/${tag}/`);
    expect(refs.split('\n').filter((l) => l.startsWith('exp-'))).toEqual(results.map((r, i) => `exp-000${i} ${r.commit}`));
    expect(await git('show', `refs/autoresearch/${tag}/results:results.tsv`)).toBe(tsv.trimEnd());
    // The user's checkout is untouched.
    expect(await git('status', '--porcelain')).toBe('');
    expect(await git('rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
  });

  test('an invalid run input fails at once with an error that names the field', async () => {
    const tag = uniqueId('bad');
    const err = await runWorker((taskQueue) =>
      dev.t.client.workflow
        .execute(researchRun, { taskQueue, workflowId: tag, args: [{ tag, trainer: { timeBudgetSeconds: 'soon' } } as never] })
        .catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause?.message).toMatch(/trainer\.timeBudgetSeconds/);
  });

  test('an experiment that fails past its retries becomes a crash row and the run goes on', async () => {
    const repo = await makeFixtureRepo();
    const tag = uniqueId('fails');
    const real = createActivities();
    // Training of experiment 1 fails every attempt (as if its worker died each time); the others train.
    const activities: WorkerActivities = {
      ...real,
      train: async (input) => {
        if (input.experimentId.endsWith('/exp-0001')) throw new Error('disk full');
        return real.train(input);
      },
    };
    const summary = await runWorker((taskQueue) =>
      dev.t.client.workflow.execute(researchRun, { taskQueue, workflowId: tag, args: [fixtureRunInput(repo, tag, { maxExperiments: 2 })] }),
      activities,
    );
    expect(summary.experiments).toBe(2);
    const results = await readResults(repo, tag);
    expect(results.map((r) => r.status)).toEqual(['keep', 'crash']);
    expect(results[1].description).toMatch(/disk full/);
    // The failed experiment had committed: the branch is back at the best (the baseline).
    const head = (await execa('git', ['rev-parse', '--short=7', `autoresearch/${tag}`], { cwd: repo })).stdout;
    expect(head).toBe(results[0].commit);
  }, 90_000);

  test('a git step that keeps failing (a full disk) is retried until it succeeds, its failure visible meanwhile', async () => {
    const repo = await makeFixtureRepo();
    const tag = uniqueId('diskfull');
    const real = createActivities();
    let failures = 0;
    let diskFull = true;
    const activities: WorkerActivities = {
      ...real,
      commit: async (input) => {
        if (input.experimentId.endsWith('/exp-0001') && diskFull) {
          failures++;
          throw new Error('ENOSPC: no space left on device');
        }
        return real.commit(input);
      },
    };
    const summary = await runWorker(async (taskQueue) => {
      const handle = await dev.t.client.workflow.start(researchRun, {
        taskQueue, workflowId: tag, args: [fixtureRunInput(repo, tag, { maxExperiments: 2, decision: 'greedy' })], workflowExecutionTimeout: '5 minutes',
      });
      // The pending step and its last failure are what the web UI shows on the experiment's page.
      const child = dev.t.client.workflow.getHandle(`${tag}/exp-0001`);
      const deadline = Date.now() + 60_000;
      let shown = '';
      while (Date.now() < deadline && !shown) {
        const pending = await child.describe().then((d) => d.raw.pendingActivities ?? [], () => []);
        shown = pending.map((p) => p.lastFailure?.message ?? '').find((m) => m.includes('ENOSPC')) ?? '';
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(shown).toMatch(/ENOSPC: no space left on device/);
      // Several attempts fail (the attempt limit is tested below: ten would take minutes at the doubling interval).
      const wait = Date.now() + 60_000;
      while (failures < 4 && Date.now() < wait) await new Promise((r) => setTimeout(r, 250));
      diskFull = false;
      return handle.result();
    }, activities);
    expect(failures).toBeGreaterThanOrEqual(4);
    expect(summary.experiments).toBe(2);
    const results = await readResults(repo, tag);
    expect(results.map((r) => r.status)).not.toContain('crash');
  }, 150_000);

  test('git and file steps have no attempt limit: only failures retrying cannot fix stop them', async () => {
    const { SHORT_STEP } = await import('../../src/workflows/activityProxies.js');
    expect(SHORT_STEP.retry).not.toHaveProperty('maximumAttempts');
    expect(SHORT_STEP.retry.nonRetryableErrorTypes).toEqual(expect.arrayContaining(['InvalidRunInput', 'EditRejected']));
    expect(SHORT_STEP.heartbeatTimeout).toBe('20 seconds');
  });

  test('a trainer command that does not exist ends the run with a message that names it', async () => {
    const repo = await makeFixtureRepo();
    const tag = uniqueId('nocmd');
    const err = await runWorker((taskQueue) =>
      dev.t.client.workflow
        .execute(researchRun, { taskQueue, workflowId: tag, args: [fixtureRunInput(repo, tag, { trainer: { command: 'no-such-trainer-cmd --x' } })] })
        .catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const messages: string[] = [];
    for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) messages.push((e as Error).message);
    expect(messages.join(' | ')).toMatch(/trainer\.command: "no-such-trainer-cmd" not found/);
  });
});
