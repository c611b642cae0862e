import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { researchRun } from '../../src/workflows/researchRun.js';
import { resultsQuery } from '../../src/api/messages.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { runDir, withWorker } from '../helpers/run.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';
import { claudeToolUse, useAnthropicEnvFor, useFakeLlm } from './fakeServer.js';
import { SECRET_KEY } from './fixtures.js';

/**
 * The whole loop with the real Claude proposer (the real @anthropic-ai/sdk) against a local server
 * that speaks the Messages API: propose → edit (with repairs) → commit → train → keep/revert.
 */
const fake = useFakeLlm();
useAnthropicEnvFor(fake, SECRET_KEY);
const dev = useTestTemporal();

const LR_LINE = 'LEARNING_RATE = 0.04  # optimum 0.08';
const good = (to: string) => ({
  hypothesis: 'a higher learning rate converges faster',
  description: `LEARNING_RATE to ${to}`,
  edits: [{ path: 'train.py', search: LR_LINE, replace: `LEARNING_RATE = ${to}  # optimum 0.08` }],
});
const claude = (extra: Record<string, unknown> = {}) => ({ kind: 'claude', model: 'claude-sonnet-4-5', ...extra });

async function run(tag: string, input: object) {
  // A query on a closed run is answered by a worker replaying it, so it runs while the worker does too.
  return withWorker(dev.t, async (taskQueue) => {
    const handle = await dev.t.client.workflow.start(researchRun, { taskQueue, workflowId: tag, args: [input as never] });
    return { summary: await handle.result(), records: await handle.query(resultsQuery) };
  });
}

test('a run with the Claude proposer repairs a failing edit, trains the fixed one and records cost', async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('claude');
  fake.server.script(
    // exp 1: a search block that does not exist, then the repaired edit.
    claudeToolUse({ ...good('0.08'), edits: [{ path: 'train.py', search: 'LEARNING_RATE = 0.5', replace: 'LEARNING_RATE = 0.08' }] }),
    claudeToolUse(good('0.08')),
    // exp 2: a forbidden path, malformed input, then a block that does not apply: the row is invalid.
    claudeToolUse({ ...good('0.1'), edits: [{ path: 'prepare.py', search: 'x', replace: 'y' }] }),
    claudeToolUse({ hypothesis: 'no description' }),
    claudeToolUse({ ...good('0.1'), edits: [{ path: 'train.py', search: 'NOPE', replace: 'x' }] }),
  );
  const { summary, records } = await run(tag, fixtureRunInput(repo, tag, {
    maxExperiments: 3, proposer: claude({ maxRepairs: 2 }), trainer: { env: { FIXTURE_PRINT_ENV: '1' } },
  }));

  expect(records.map((r) => r.status)).toEqual(['keep', 'keep', 'invalid']);
  expect(records[1].valBpb).toBeCloseTo(1.08, 6); // LEARNING_RATE 0.08 at DEPTH 4: 1 + 0.02 * 4
  expect(records[2].reason).toMatch(/search text not found/);
  expect(records[1].costUsd).toBeGreaterThan(0);
  expect(records[2].costUsd).toBeGreaterThan(records[1].costUsd); // three billed calls, none usable
  expect(summary.costUsd).toBeCloseTo(records[1].costUsd + records[2].costUsd, 10);

  expect(fake.server.requests).toHaveLength(5);
  // Each repair request carries the error of the attempt before it.
  expect(JSON.stringify(fake.server.requests[1].body)).toMatch(/search text not found/);
  expect(JSON.stringify(fake.server.requests[3].body)).toMatch(/not an editable file/);
  expect(JSON.stringify(fake.server.requests[4].body)).toMatch(/description/);
  // The key is only in the auth header: not in bodies, not in the trainer's environment or logs.
  for (const r of fake.server.requests) expect(r.rawBody).not.toContain(SECRET_KEY);
  const logsDir = path.join(runDir(repo, tag), 'logs');
  for (const f of await readdir(logsDir)) {
    const log = await readFile(path.join(logsDir, f), 'utf8');
    expect(log).not.toContain(SECRET_KEY);
    if (log.includes('env: ')) expect(log).not.toMatch(/\bANTHROPIC_API_KEY\b/);
  }
  const history = JSON.stringify(await dev.t.client.workflow.getHandle(tag).fetchHistory());
  expect(history).not.toContain(SECRET_KEY);
});

test('the cost cap ends the run after the running experiment with a clear reason', async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('cap');
  // An expensive call ($0.19 at the claude-sonnet-4-5 prices): after it the next call's worst case no longer fits.
  const usage = { input_tokens: 5_000, output_tokens: 10_000, cache_creation_input_tokens: 5_000, cache_read_input_tokens: 20_000 };
  fake.server.script(claudeToolUse(good('0.08'), usage), claudeToolUse(good('0.1'), usage));
  const { summary, records } = await run(tag, fixtureRunInput(repo, tag, { maxExperiments: 5, proposer: claude({ maxCostUsd: 0.35 }) }));

  expect(records).toHaveLength(2); // the baseline and the one experiment that fit
  expect(records[1].status).toBe('keep');
  expect(summary.endReason).toMatch(/cost cap reached/);
  expect(summary.costUsd).toBeCloseTo(records[1].costUsd, 10);
  expect(summary.costUsd).toBeLessThanOrEqual(0.35);
  expect(fake.server.requests).toHaveLength(1);
});

test('a rejected key fails the run at once with a clear message, without retrying', async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('401');
  fake.server.script({ status: 401, body: { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } } });
  const err = await run(tag, fixtureRunInput(repo, tag, { proposer: claude() })).catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  const chain: string[] = [];
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) chain.push((e as Error).message);
  expect(chain.join(' | ')).toMatch(/401/);
  expect(chain.join(' | ')).toMatch(/ANTHROPIC_API_KEY/);
  expect(chain.join(' | ')).not.toContain(SECRET_KEY);
  expect(fake.server.requests).toHaveLength(1);
});
