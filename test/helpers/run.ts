/** What the tests of a run repeat: a worker around a test, the run's directory, its results, a record. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createActivities } from '../../src/activities/index.js';
import type { WorkerActivities } from '../../src/api/activities.js';
import { createWorker } from '../../src/createWorker.js';
import { parseResults, type ResultRow } from '../../src/core/resultsTsv.js';
import type { WorkflowHandle } from '@temporalio/client';
import { experimentId, TASK_QUEUE } from '../../src/core/names.js';
import { statusQuery, type RunStatus } from '../../src/api/messages.js';
import type { ExperimentRecord } from '../../src/core/results.js';
import type { researchRun } from '../../src/workflows/researchRun.js';
import { makeFixtureRepo } from './fixtureRepo.js';
import { uniqueId, useTestTemporal, workflowBundle, type TestTemporal } from './temporalEnv.js';

/** Runs `fn` while a fresh worker serves a queue of its own (its name is passed to `fn`). */
export async function withWorker<R>(t: TestTemporal, fn: (taskQueue: string) => Promise<R>, activities: WorkerActivities = createActivities()): Promise<R> {
  const taskQueue = uniqueId(TASK_QUEUE);
  const worker = await createWorker({ connection: t.workerConnection, namespace: 'default', taskQueue, workflowBundle: await workflowBundle(), activities });
  return worker.runUntil(() => fn(taskQueue));
}

/** Where a run keeps its worktree, results.tsv and logs when the run input names no workDir. */
export function runDir(repo: string, tag: string): string {
  return path.join(repo, '.autoresearch', 'runs', tag);
}

/** results.tsv of a run, read with the report's parser. */
export async function readResults(repo: string, tag: string): Promise<ResultRow[]> {
  return parseResults(await readFile(path.join(runDir(repo, tag), 'results.tsv'), 'utf8'));
}

/** A kept experiment record, with `over` on top. */
export function makeRecord(experiment: number, over: Partial<ExperimentRecord> = {}): ExperimentRecord {
  return {
    experiment,
    experimentId: experimentId('run', experiment),
    commit: `c0ffee${experiment}`,
    commitFull: `c0ffee${experiment}`.padEnd(40, '0'),
    valBpb: 1 - experiment / 1000,
    memoryGb: 44.1,
    status: 'keep',
    description: `experiment ${experiment}`,
    hypothesis: `hypothesis ${experiment}`,
    costUsd: 0.01,
    ...over,
  };
}

/** Polls a run's status query until `ok` holds; fails after `timeoutMs` naming `what` and the last status seen. */
export async function waitForStatus(run: WorkflowHandle<typeof researchRun>, what: string, ok: (s: RunStatus) => boolean, timeoutMs = 30_000): Promise<RunStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: RunStatus | undefined;
  while (Date.now() < deadline) {
    last = await run.query(statusQuery);
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${run.workflowId}: never ${what} within ${timeoutMs} ms; last status: ${JSON.stringify(last)}`);
}

/**
 * One dev server and one fixture repository for the tests of a file: started before them (with the
 * workflow bundle built), the server stopped after. Read `t` and `repo` inside the tests.
 */
export function devServerAndFixtureRepo(): { readonly t: TestTemporal; readonly repo: string } {
  const temporal = useTestTemporal({ bundle: true });
  let repo: string | undefined;
  beforeAll(async () => {
    repo = await makeFixtureRepo();
  });
  return {
    get t() {
      return temporal.t;
    },
    get repo() {
      if (repo === undefined) throw new Error('devServerAndFixtureRepo: the fixture repo is not made yet; read `repo` inside a test');
      return repo;
    },
  };
}
