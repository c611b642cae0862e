import { mkdir, mkdtemp, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { researchRun } from '../../src/workflows/researchRun.js';
import { statusQuery } from '../../src/api/messages.js';
import { TASK_QUEUE } from '../../src/core/names.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';
import { killAllWorkerProcesses, startWorkerProcess } from '../helpers/workerProcess.js';
import { useFakeLlm } from '../llm/fakeServer.js';
import { SECRET_KEY } from '../llm/fixtures.js';

/**
 * A worker without python3 on its PATH and a run whose trainer command is `python3 train.py`:
 * the baseline's train step finds no such command and fails the run at once (TrainerConfig),
 * naming trainer.command, before any proposer call is made or paid for.
 */
afterAll(() => killAllWorkerProcesses()); // declared first, so it runs before the server stops
const fake = useFakeLlm();
const dev = useTestTemporal();

/** A PATH holding only git and sh: what the worker needs besides node, which it is started with. */
async function pathWithoutPython(): Promise<{ bin: string; cacheHome: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-no-python-'));
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  for (const tool of ['git', 'sh']) await symlink(`/usr/bin/${tool}`, path.join(bin, tool)).catch(() => symlink(`/bin/${tool}`, path.join(bin, tool)));
  return { bin, cacheHome: path.join(dir, 'cache') }; // an empty tool cache: its bin is on the trainer's PATH too
}

/** Runs `proposer` on a worker without python3; what the run ended with, how fast, and whether it asked for a proposal. */
async function runWithoutPython(proposer: object) {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('nopy');
  const { bin, cacheHome } = await pathWithoutPython();
  const worker = startWorkerProcess({
    address: dev.t.server.address,
    logFile: path.join(path.dirname(bin), 'worker.log'),
    env: { PATH: bin, AUTORESEARCH_CACHE_HOME: cacheHome, ANTHROPIC_API_KEY: SECRET_KEY, ANTHROPIC_BASE_URL: fake.server.url },
  });
  try {
    await worker.waitUntilPolling(dev.t.connection);
    const input = fixtureRunInput(repo, tag, { maxExperiments: 3, proposer });
    expect(input.trainer.command).toBe('python3 train.py');
    const handle = await dev.t.client.workflow.start(researchRun, { taskQueue: TASK_QUEUE, workflowId: tag, args: [input], workflowExecutionTimeout: '2 minutes' });
    const started = Date.now();
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    const endedAfterMs = Date.now() - started;
    const chain: string[] = [];
    for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) chain.push((e as Error).message);
    const status = await handle.query(statusQuery);
    const events = (await handle.fetchHistory()).events ?? [];
    const hypothesized = events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'hypothesize');
    return { err, message: chain.join(' | '), endedAfterMs, costUsd: status.costUsd, hypothesized };
  } finally {
    await worker.stop();
  }
}

test('a worker without python3 ends a python3 run at the baseline, naming trainer.command, before any proposal', async () => {
  const ended = await runWithoutPython({ kind: 'offline' });
  expect(ended.err).toBeInstanceOf(Error);
  expect(ended.message).toMatch(/trainer\.command: "python3" not found on the worker's PATH/);
  expect(ended.hypothesized).toBe(false);
  expect(ended.costUsd).toBe(0);
  expect(ended.endedAfterMs).toBeLessThan(30_000); // at once: a TrainerConfig failure is not retried
  console.log(`no python3: the run ended ${(ended.endedAfterMs / 1000).toFixed(1)} s after it started`);
}, 150_000);

// The run pipelines no proposal while the baseline trains, so nothing is asked (or paid) before it fails.
test('with an LLM proposer (pipelined), no proposer call is made before the baseline fails', async () => {
  fake.server.reset();
  const ended = await runWithoutPython({ kind: 'claude', model: 'claude-sonnet-4-5' });
  expect(ended.message).toMatch(/trainer\.command: "python3" not found on the worker's PATH/);
  expect(fake.server.requests).toHaveLength(0);
  expect(ended.hypothesized).toBe(false);
  expect(ended.costUsd).toBe(0);
}, 150_000);
