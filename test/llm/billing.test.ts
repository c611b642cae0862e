import { describe, expect, test } from '@jest/globals';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { heartbeating } from '../../src/activities/heartbeat.js';
import { billedAcrossAttempts, earlierSpending } from '../../src/activities/proposerBilling.js';
import { ProposerConfigSchema } from '../../src/core/runInput.js';
import { createClaudeProposer } from '../../src/proposers/claude.js';
import type { ProposeResult } from '../../src/core/proposal.js';
import type { Proposer } from '../../src/proposers/context.js';
import { type Usage, addUsage } from '../../src/core/usage.js';
import { costOf, worstCaseUsage } from '../../src/core/cost.js';
import { createOpenAIProposer } from '../../src/proposers/openai.js';
import { promptChars, renderPrompt } from '../../src/proposers/prompt.js';
import { claudePrice, DEFAULT_CLAUDE_MODEL } from '../../src/core/models.js';
import { useFakeLlm, claudeToolUse, openaiToolCall } from './fakeServer.js';
import { GOOD_PROPOSAL, SECRET_KEY, failure, sampleContext } from './fixtures.js';

/**
 * Every billed call counts: a retry inside the proposer after an attempt the server finished but
 * the client gave up on, and a Temporal retry of the activity after an attempt that died once its
 * call was answered or while it was on the wire.
 */
const fake = useFakeLlm();

const claudeConfig = ProposerConfigSchema.parse({ kind: 'claude' });
const CLAUDE_PRICE = claudePrice(DEFAULT_CLAUDE_MODEL)!;
const claudeTokens = { inputTokens: 1_200, outputTokens: 800, cacheReadTokens: 20_000, cacheWriteTokens: 5_000 };
const ONE_CALL: Usage = { ...claudeTokens, costUsd: costOf(claudeTokens, CLAUDE_PRICE) };
const WORST_CASE = worstCaseUsage(CLAUDE_PRICE, promptChars(renderPrompt(sampleContext())));

function claude(timeoutMs = 5_000): Proposer {
  return createClaudeProposer(claudeConfig, {
    env: { ANTHROPIC_API_KEY: SECRET_KEY, ANTHROPIC_BASE_URL: fake.server.url },
    retry: { attempts: 3, initialDelayMs: 5, maxDelayMs: 50, timeoutMs },
  });
}

/** The proposer of a hypothesize attempt, run as activity attempt `attempt` with the details an earlier one left. */
function attemptEnv(attempt: number, heartbeatDetails?: unknown) {
  const env = new MockActivityEnvironment({ attempt, heartbeatDetails, heartbeatTimeoutMs: 20_000 });
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  return { env, beats, last: () => beats.at(-1) };
}

describe('calls the client gave up on', () => {
  test('a Claude attempt that timed out while the server finished it counts at its worst case beside the answered retry', async () => {
    // The first answer comes after the client's time limit: the server (like a real provider) bills it anyway.
    fake.server.script({ ...claudeToolUse(GOOD_PROPOSAL), delayMs: 1_000 }, claudeToolUse(GOOD_PROPOSAL));
    const result = await claude(300).propose(sampleContext());
    expect(fake.server.requests).toHaveLength(2);
    expect(result.usage).toEqual(addUsage(WORST_CASE, ONE_CALL));
    // Never less than the server billed: two full answers.
    expect(result.usage.costUsd).toBeGreaterThanOrEqual(2 * ONE_CALL.costUsd);
  });

  test('an OpenAI-compatible attempt that timed out counts too, priced with proposer.price', async () => {
    const price = { inputPerMTok: 1, outputPerMTok: 2, cacheReadPerMTok: 0.5, cacheWritePerMTok: 1 };
    const config = ProposerConfigSchema.parse({ kind: 'openai', baseUrl: `${fake.server.url}/v1`, model: 'local', price });
    const p = createOpenAIProposer(config, { env: {}, retry: { attempts: 3, initialDelayMs: 5, maxDelayMs: 50, timeoutMs: 300 } });
    fake.server.script({ ...openaiToolCall(GOOD_PROPOSAL), delayMs: 1_000 }, openaiToolCall(GOOD_PROPOSAL));
    const result = await p.propose(sampleContext());
    const answered = { inputTokens: 3_000, outputTokens: 700, cacheReadTokens: 6_000, cacheWriteTokens: 0 };
    expect(result.usage).toEqual(addUsage(worstCaseUsage(price, promptChars(renderPrompt(sampleContext()))), { ...answered, costUsd: costOf(answered, price) }));
  });

  test('HTTP errors are not billed: a 529 then an answer counts one call', async () => {
    fake.server.script({ status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'busy' } } }, claudeToolUse(GOOD_PROPOSAL));
    expect((await claude().propose(sampleContext())).usage).toEqual(ONE_CALL);
  });

  test('a call that gave up after timeouts still carries what they may have cost', async () => {
    fake.server.script({ ...claudeToolUse(GOOD_PROPOSAL), delayMs: 1_000 }, { ...claudeToolUse(GOOD_PROPOSAL), delayMs: 1_000 }, { ...claudeToolUse(GOOD_PROPOSAL), delayMs: 1_000 });
    const err = await failure(claude(200).propose(sampleContext()));
    expect(err.message).toMatch(/gave up after 3 attempts/);
    expect((err as { usage?: Usage }).usage?.costUsd).toBeCloseTo(3 * WORST_CASE.costUsd, 12);
  });
});

describe('a hypothesize attempt that dies', () => {
  test('after its call was answered: the retried attempt returns both calls', async () => {
    fake.server.script(claudeToolUse(GOOD_PROPOSAL), claudeToolUse(GOOD_PROPOSAL));
    // Attempt 1: the call is answered, then the worker dies before the activity completes (it never returns).
    const first = attemptEnv(1);
    const dies: Proposer = {
      async propose(ctx, signal, onSpending) {
        await claude().propose(ctx, signal, onSpending);
        return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(new Error('killed'))));
      },
    };
    const dying = proposeIn(first.env, dies).catch(() => undefined);
    const recorded = await waitForBeat(first.beats, (d) => !(d as { inFlight?: Usage } | undefined)?.inFlight && earlierSpending(d).costUsd > 0);
    expect(earlierSpending(recorded)).toEqual(ONE_CALL);

    // Attempt 2 starts from the last heartbeat the server kept.
    const second = attemptEnv(2, first.last());
    const result = await proposeIn(second.env, claude());
    expect(result.usage).toEqual(addUsage(ONE_CALL, ONE_CALL));
    expect(fake.server.requests).toHaveLength(2);
    // A third attempt (had this one died too) would start from both.
    expect(earlierSpending(second.last())).toEqual(addUsage(ONE_CALL, ONE_CALL));
    first.env.cancel();
    await dying;
  });

  test('while its call was on the wire: the retry counts that call at its worst case', async () => {
    fake.server.script({ ...claudeToolUse(GOOD_PROPOSAL), delayMs: 60_000 }, claudeToolUse(GOOD_PROPOSAL));
    const first = attemptEnv(1);
    const dying = proposeIn(first.env, claude(120_000)).catch(() => undefined);
    await waitForBeat(first.beats, (d) => (d as { inFlight?: Usage } | undefined)?.inFlight !== undefined && fake.server.requests.length === 1);
    const second = attemptEnv(2, first.last());
    const result = await proposeIn(second.env, claude());
    expect(result.usage).toEqual(addUsage(WORST_CASE, ONE_CALL));
    first.env.cancel(); // ends attempt 1's call
    await dying;
  });

  test('a failure of the retried attempt carries the earlier money in its usage', async () => {
    fake.server.script(claudeToolUse({ hypothesis: 'no description' }));
    const second = attemptEnv(2, { spent: ONE_CALL });
    const err = await failure(proposeIn(second.env, claude()));
    expect(err.name).toBe('ProposalInvalidError');
    expect((err as { usage?: Usage }).usage).toEqual(addUsage(ONE_CALL, ONE_CALL));
  });

  test('an attempt that spends nothing keeps the earlier money in its heartbeat', async () => {
    const earlier = { spent: ONE_CALL };
    const second = attemptEnv(2, earlier);
    const offline: Proposer = { propose: async () => ({ proposal: GOOD_PROPOSAL, usage: { ...ONE_CALL, costUsd: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 } }) };
    const result = await proposeIn(second.env, offline);
    expect(result.usage).toEqual(ONE_CALL);
    expect(second.beats.length).toBeGreaterThan(0);
    expect(second.beats.every((d) => JSON.stringify(d) === JSON.stringify(earlier))).toBe(true);
  });

  test('usage details that are not ours count as nothing', () => {
    expect(earlierSpending(undefined)).toEqual({ inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 });
    expect(earlierSpending({ elapsedSeconds: 3 }).costUsd).toBe(0);
  });
});

/** One hypothesize attempt's proposer, heartbeating and billed across attempts, in `env`. */
function proposeIn(env: MockActivityEnvironment, proposer: Proposer): Promise<ProposeResult> {
  return env.run(heartbeating(() => billedAcrossAttempts(() => proposer)(claudeConfig).propose(sampleContext(), Context.current().cancellationSignal)));
}

/** The first heartbeat that passes `test`, within 10 s. */
async function waitForBeat(beats: unknown[], test: (d: unknown) => boolean): Promise<unknown> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const found = beats.find(test);
    if (found !== undefined) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no matching heartbeat within 10 s; beats: ${JSON.stringify(beats)}`);
}
