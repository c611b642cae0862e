import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { researchRun } from '../../src/workflows/researchRun.js';
import { experimentId, TASK_QUEUE } from '../../src/core/names.js';
import { resultsQuery } from '../../src/api/messages.js';
import { addUsage } from '../../src/core/usage.js';
import { costOf, worstCaseUsage } from '../../src/core/cost.js';
import { claudePrice } from '../../src/core/models.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';
import { killAllWorkerProcesses, sleep, startWorkerProcess, waitFor } from '../helpers/workerProcess.js';
import { claudeToolUse, useFakeLlm, type RecordedRequest } from '../llm/fakeServer.js';
import { SECRET_KEY } from '../llm/fixtures.js';

/**
 * A worker killed while hypothesize waits for the LLM: the activity heartbeats, so the server
 * notices the dead worker at the heartbeat timeout and the next worker retries the proposal within
 * a minute (not at the 25-minute start-to-close), and the call the dead worker had on the wire
 * still counts toward the cost, at its worst case.
 */
const MODEL = 'claude-sonnet-4-5';
const PRICE = claudePrice(MODEL)!;
const RETRY_WITHIN_MS = 60_000;

afterAll(() => killAllWorkerProcesses()); // declared first, so it runs before the server stops
const fake = useFakeLlm();
const dev = useTestTemporal();

const LR_LINE = 'LEARNING_RATE = 0.04  # optimum 0.08';
const PROPOSAL = {
  hypothesis: 'a higher learning rate converges faster',
  description: 'LEARNING_RATE to 0.08',
  edits: [{ path: 'train.py', search: LR_LINE, replace: 'LEARNING_RATE = 0.08  # optimum 0.08' }],
};
const USAGE = { input_tokens: 1_000, output_tokens: 500, cache_creation_input_tokens: 2_000, cache_read_input_tokens: 0 };
const ONE_CALL = { inputTokens: 1_000, outputTokens: 500, cacheReadTokens: 0, cacheWriteTokens: 2_000 };

/** The prompt's length as the proposer counts it, from the request it sent. */
function promptCharsOf(req: RecordedRequest): number {
  const texts = [...req.body.system, ...req.body.messages[0].content].map((b: { text: string }) => b.text);
  return texts.reduce((n: number, s: string) => n + s.length, 0);
}

test('a worker killed mid-proposal: the retry starts within a minute of the restart, and the lost call is counted', async () => {
  const repo = await makeFixtureRepo();
  const logs = await mkdtemp(path.join(os.tmpdir(), 'ar-proposer-kill-'));
  const tag = uniqueId('pkill');
  // The first proposal never comes back in time (the worker dies waiting); the retry's is answered at once.
  fake.server.script({ ...claudeToolUse(PROPOSAL, USAGE), delayMs: 600_000 }, claudeToolUse(PROPOSAL, USAGE));
  const env = { ANTHROPIC_API_KEY: SECRET_KEY, ANTHROPIC_BASE_URL: fake.server.url };
  // No pipelining: the experiment asks for its own proposal, once. The lane's lease outlives the test, so the
  // retry comes from hypothesize's own heartbeat timeout, not from the run moving the experiment off a lost lane.
  const input = fixtureRunInput(repo, tag, {
    maxExperiments: 2, decision: 'greedy', pipeline: false, proposer: { kind: 'claude', model: MODEL }, trainer: { heartbeatTimeoutSeconds: 300 },
  });

  const first = startWorkerProcess({ address: dev.t.server.address, logFile: path.join(logs, 'worker-1.log'), env });
  await first.waitUntilPolling(dev.t.connection);
  const handle = await dev.t.client.workflow.start(researchRun, { taskQueue: TASK_QUEUE, workflowId: tag, args: [input], workflowExecutionTimeout: '4 minutes' });

  await waitFor('the first proposer call', async () => (fake.server.requests.length === 1 ? true : undefined), 90_000);
  await sleep(2_000); // its heartbeat (the call on the wire) reaches the server: heartbeats leave within a second
  await first.kill();
  const killedAt = Date.now();
  const second = startWorkerProcess({ address: dev.t.server.address, logFile: path.join(logs, 'worker-2.log'), env });
  await second.waitUntilPolling(dev.t.connection);
  const restartedAt = Date.now();
  console.log(`the next worker polls ${((restartedAt - killedAt) / 1000).toFixed(1)} s after the kill`);

  const retriedAfterMs = await waitFor('the retried proposer call', async () => (fake.server.requests.length >= 2 ? Date.now() - restartedAt : undefined), RETRY_WITHIN_MS);
  const summary = await handle.result();
  const finishedAfterMs = Date.now() - restartedAt;
  const records = await handle.query(resultsQuery);
  await second.stop();

  expect(records.map((r) => r.status)).toEqual(['keep', 'keep']);
  expect(fake.server.requests).toHaveLength(2);
  // The retry came from the activity's heartbeat timeout: the second attempt of the same hypothesize.
  const histories = await Promise.all([experimentId(tag, 1)].map((id) => dev.t.client.workflow.getHandle(id).fetchHistory()));
  const started = histories.flatMap((h) => h.events ?? []).filter((e) => e.activityTaskStartedEventAttributes);
  const retried = started.map((e) => e.activityTaskStartedEventAttributes!).find((a) => (a.attempt ?? 1) > 1);
  expect(retried?.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(4); // TIMEOUT_TYPE_HEARTBEAT
  // Both calls count: the answered one at its usage, the lost one at its worst case.
  const lost = worstCaseUsage(PRICE, promptCharsOf(fake.server.requests[0]));
  const expected = addUsage(lost, { ...ONE_CALL, costUsd: costOf(ONE_CALL, PRICE) }).costUsd;
  expect(summary.costUsd).toBeCloseTo(expected, 9);
  expect(records[1].costUsd).toBeCloseTo(expected, 9);

  console.log(`worker killed mid-proposal: retried ${(retriedAfterMs / 1000).toFixed(1)} s after the restart (${((retriedAfterMs + restartedAt - killedAt) / 1000).toFixed(1)} s after the kill), run done after ${(finishedAfterMs / 1000).toFixed(1)} s; cost $${summary.costUsd.toFixed(4)} (lost call $${lost.costUsd.toFixed(4)})`);
}, 240_000);

test('a live worker whose proposer answers after longer than the heartbeat timeout is not retried', async () => {
  const repo = await makeFixtureRepo();
  const logs = await mkdtemp(path.join(os.tmpdir(), 'ar-proposer-slow-'));
  const tag = uniqueId('pslow');
  fake.server.reset();
  // 25 s: past the workflow's 20 s heartbeat timeout for hypothesize, so only the activity's own beats keep it alive.
  fake.server.script({ ...claudeToolUse(PROPOSAL, USAGE), delayMs: 25_000 }, claudeToolUse(PROPOSAL, USAGE));
  const env = { ANTHROPIC_API_KEY: SECRET_KEY, ANTHROPIC_BASE_URL: fake.server.url };
  const input = fixtureRunInput(repo, tag, { maxExperiments: 2, decision: 'greedy', pipeline: false, proposer: { kind: 'claude', model: MODEL } });
  const worker = startWorkerProcess({ address: dev.t.server.address, logFile: path.join(logs, 'worker.log'), env });
  await worker.waitUntilPolling(dev.t.connection);
  const handle = await dev.t.client.workflow.start(researchRun, { taskQueue: TASK_QUEUE, workflowId: tag, args: [input], workflowExecutionTimeout: '3 minutes' });
  const summary = await handle.result();
  await worker.stop();

  expect(fake.server.requests).toHaveLength(1);
  expect(summary.costUsd).toBeCloseTo(costOf(ONE_CALL, PRICE), 9);
}, 180_000);

