import { describe, expect, test } from '@jest/globals';
import { z } from 'zod';
import { ProposerConfigSchema } from '../../src/core/runInput.js';
import { createClaudeProposer } from '../../src/proposers/claude.js';
import { ProposalInvalidError, ProposerFatalError } from '../../src/core/failures.js';
import { costOf } from '../../src/core/cost.js';
import type { LlmProposerOptions } from '../../src/proposers/llmErrors.js';
import { DEFAULT_CLAUDE_MODEL, claudePrice } from '../../src/core/models.js';
import { ProposalSchema } from '../../src/core/proposal.js';
import { CLAUDE_USAGE, useFakeLlm, claudeError, claudeMessage, claudeToolUse } from './fakeServer.js';
import { GOOD_PROPOSAL, SECRET_KEY, TRAIN_PY, failure, sampleContext } from './fixtures.js';

const fake = useFakeLlm();

const FAST_RETRY = { attempts: 3, initialDelayMs: 5, maxDelayMs: 50, timeoutMs: 5_000 };

function proposer(config: object = {}, retry: LlmProposerOptions['retry'] = {}) {
  return createClaudeProposer(ProposerConfigSchema.parse({ kind: 'claude', ...config }), {
    env: { ANTHROPIC_API_KEY: SECRET_KEY, ANTHROPIC_BASE_URL: fake.server.url },
    retry: { ...FAST_RETRY, ...retry },
  });
}

describe('a normal propose_experiment call', () => {
  test('returns the proposal and its usage, priced from the table', async () => {
    fake.server.script(claudeToolUse(GOOD_PROPOSAL));
    const result = await proposer().propose(sampleContext());
    expect(result.proposal).toEqual(GOOD_PROPOSAL);
    const tokens = { inputTokens: 1_200, outputTokens: 800, cacheReadTokens: 20_000, cacheWriteTokens: 5_000 };
    expect(result.usage).toEqual({ ...tokens, costUsd: costOf(tokens, claudePrice(DEFAULT_CLAUDE_MODEL)!) });
    expect(result.usage.costUsd).toBeGreaterThan(0);
  });

  test('sends the model, the tool schema generated from ProposalSchema and the cache breakpoints', async () => {
    fake.server.script(claudeToolUse(GOOD_PROPOSAL));
    await proposer({ model: 'claude-sonnet-4-6' }).propose(sampleContext());
    expect(fake.server.requests).toHaveLength(1);
    const [req] = fake.server.requests;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/messages');
    expect(req.body.model).toBe('claude-sonnet-4-6');
    expect(req.body.max_tokens).toBeGreaterThan(0);
    const { $schema: _dialect, ...generated } = z.toJSONSchema(ProposalSchema) as Record<string, unknown>;
    expect(req.body.tools).toEqual([
      { name: 'propose_experiment', description: expect.any(String), input_schema: generated },
    ]);
    expect(req.body.tools[0].input_schema.type).toBe('object');
    expect(req.body.tool_choice).toEqual({ type: 'tool', name: 'propose_experiment' });

    // Breakpoint 1 closes the stable prefix (tool, rules, program); breakpoint 2 closes the code.
    const [rules, program] = req.body.system;
    expect(rules.cache_control).toBeUndefined();
    expect(rules.text).toContain('Rules:');
    expect(program.cache_control).toEqual({ type: 'ephemeral' });
    expect(program.text).toContain('Make val_bpb go down');
    const [code, volatile] = req.body.messages[0].content;
    expect(req.body.messages).toHaveLength(1);
    expect(code.cache_control).toEqual({ type: 'ephemeral' });
    expect(code.text).toContain(TRAIN_PY.trimEnd());
    expect(volatile.cache_control).toBeUndefined();
    expect(volatile.text).toContain('wider MLP');
    expect(volatile.text).toContain('Avoid changing DEPTH');
    expect(req.rawBody.match(/cache_control/g)).toHaveLength(2);
  });

  test('keeps the key out of the body and every header but authorization', async () => {
    fake.server.script(claudeToolUse(GOOD_PROPOSAL));
    await proposer().propose(sampleContext());
    const [req] = fake.server.requests;
    // SDK 1.x sends an API key as a bearer token.
    expect(req.headers.authorization).toBe(`Bearer ${SECRET_KEY}`);
    const { authorization: _auth, ...others } = req.headers;
    expect(JSON.stringify(others)).not.toContain(SECRET_KEY);
    expect(req.rawBody).not.toContain(SECRET_KEY);
    expect(req.url).not.toContain(SECRET_KEY);
  });

  test('asks with tool_choice auto on a model that rejects a forced tool, and still gets the proposal', async () => {
    fake.server.script(claudeToolUse(GOOD_PROPOSAL));
    const result = await proposer({ model: 'claude-sonnet-5-5' }).propose(sampleContext());
    expect(result.proposal).toEqual(GOOD_PROPOSAL);
    expect(fake.server.requests[0].body.tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
  });

  test('falls back to tool_choice auto once when a model answers a forced tool with 400', async () => {
    fake.server.script(
      claudeError(400, 'invalid_request_error', 'tool_choice: forced tool use is not supported for this model'),
      claudeToolUse(GOOD_PROPOSAL),
      claudeToolUse(GOOD_PROPOSAL),
    );
    const p = proposer({ model: 'claude-future-model', price: { inputPerMTok: 1, outputPerMTok: 1, cacheReadPerMTok: 1, cacheWritePerMTok: 1 } });
    await expect(p.propose(sampleContext())).resolves.toMatchObject({ proposal: GOOD_PROPOSAL });
    await p.propose(sampleContext());
    expect(fake.server.requests.map((r) => r.body.tool_choice.type)).toEqual(['tool', 'auto', 'auto']);
  });

  test('passes a proposal that edits a forbidden path through unchanged (the edit step rejects it)', async () => {
    const forbidden = { ...GOOD_PROPOSAL, edits: [{ path: '../prepare.py', content: 'print("pwned")\n' }] };
    fake.server.script(claudeToolUse(forbidden));
    const result = await proposer().propose(sampleContext());
    expect(result.proposal).toEqual(forbidden);
  });
});

describe('a reply that is not a usable proposal', () => {
  test('malformed tool input is a ProposalInvalidError that names the field and carries the usage', async () => {
    fake.server.script(claudeToolUse({ hypothesis: 'x', edits: 'not a list' }));
    const err = await failure(proposer().propose(sampleContext()));
    expect(err).toBeInstanceOf(ProposalInvalidError);
    expect(err.message).toMatch(/description/);
    expect(err.message).toMatch(/edits/);
    expect((err as Error & { usage?: { inputTokens: number } }).usage?.inputTokens).toBe(CLAUDE_USAGE.input_tokens);
  });

  test('a reply cut off at max_tokens is a ProposalInvalidError asking for a smaller change', async () => {
    fake.server.script(claudeMessage([{ type: 'tool_use', id: 't', name: 'propose_experiment', input: { hypothesis: 'x' } }], 'max_tokens'));
    const err = await failure(proposer().propose(sampleContext()));
    expect(err).toBeInstanceOf(ProposalInvalidError);
    expect(err.message).toMatch(/cut off/);
  });

  test('text without the tool call is fatal when the tool was forced', async () => {
    fake.server.script(claudeMessage([{ type: 'text', text: 'I would rather chat.' }], 'end_turn'));
    const err = await failure(proposer({ model: 'claude-sonnet-4-6' }).propose(sampleContext()));
    expect(err).toBeInstanceOf(ProposerFatalError);
    expect(err.message).toContain('without calling propose_experiment');
    expect(err.message).toContain('I would rather chat.');
  });

  test('text without the tool call goes back for repair when the tool was not forced', async () => {
    fake.server.script(claudeMessage([{ type: 'text', text: 'Here is my idea.' }], 'end_turn'));
    const err = await failure(proposer({ model: 'claude-sonnet-5-5' }).propose(sampleContext()));
    expect(err).toBeInstanceOf(ProposalInvalidError);
  });

  test('a refusal is fatal', async () => {
    fake.server.script(claudeMessage([], 'refusal'));
    await expect(proposer().propose(sampleContext())).rejects.toBeInstanceOf(ProposerFatalError);
  });
});

describe('failures the proposer retries', () => {
  test('a 429 then success makes two requests and returns the proposal', async () => {
    fake.server.script(claudeError(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit', { 'retry-after-ms': '10' }), claudeToolUse(GOOD_PROPOSAL));
    const result = await proposer().propose(sampleContext());
    expect(result.proposal).toEqual(GOOD_PROPOSAL);
    expect(fake.server.requests).toHaveLength(2);
    expect(fake.server.requests[1].rawBody).toBe(fake.server.requests[0].rawBody);
  });

  test('a 529 overloaded then success is retried', async () => {
    fake.server.script(claudeError(529, 'overloaded_error', 'Overloaded'), claudeToolUse(GOOD_PROPOSAL));
    await expect(proposer().propose(sampleContext())).resolves.toMatchObject({ proposal: GOOD_PROPOSAL });
    expect(fake.server.requests).toHaveLength(2);
  });

  test('500s past the retry limit end in a plain retryable Error after exactly the allowed attempts', async () => {
    fake.server.script(...Array.from({ length: 5 }, () => claudeError(500, 'api_error', 'Internal server error')));
    const err = await failure(proposer().propose(sampleContext()));
    expect(err).not.toBeInstanceOf(ProposerFatalError);
    expect(err).not.toBeInstanceOf(ProposalInvalidError);
    expect(err.message).toContain('Anthropic API failed (500)');
    expect(err.message).toContain('gave up after 3 attempts');
    expect(fake.server.requests).toHaveLength(3);
  });

  test('an attempt that times out is retried', async () => {
    fake.server.script({ ...claudeToolUse(GOOD_PROPOSAL), delayMs: 2_000 }, claudeToolUse(GOOD_PROPOSAL));
    const result = await proposer({}, { timeoutMs: 300 }).propose(sampleContext());
    expect(result.proposal).toEqual(GOOD_PROPOSAL);
    expect(fake.server.requests).toHaveLength(2);
  });

  test('an unreachable server ends in a retryable Error that says so', async () => {
    const p = createClaudeProposer(ProposerConfigSchema.parse({ kind: 'claude' }), {
      env: { ANTHROPIC_API_KEY: SECRET_KEY, ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' },
      retry: { ...FAST_RETRY, attempts: 2 },
    });
    const err = await failure(p.propose(sampleContext()));
    expect(err).not.toBeInstanceOf(ProposerFatalError);
    expect(err.message).toMatch(/Anthropic API unreachable.*gave up after 2 attempts/);
  });

  test('an abort stops the call at once without retrying', async () => {
    fake.server.script({ ...claudeToolUse(GOOD_PROPOSAL), delayMs: 5_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const err = await failure(proposer().propose(sampleContext(), controller.signal));
    expect(err.name).toMatch(/Abort/);
    expect(fake.server.requests).toHaveLength(1);
  });
});

describe('failures the proposer does not retry', () => {
  test('a 401 is a ProposerFatalError naming ANTHROPIC_API_KEY, after exactly one request, without the key', async () => {
    fake.server.script(claudeError(401, 'authentication_error', `invalid x-api-key ${SECRET_KEY}`));
    const err = await failure(proposer().propose(sampleContext()));
    expect(err).toBeInstanceOf(ProposerFatalError);
    expect(err.message).toContain('Anthropic API rejected the key (401): check ANTHROPIC_API_KEY');
    expect(err.message).not.toContain(SECRET_KEY);
    expect(fake.server.requests).toHaveLength(1);
  });

  test.each([
    [400, 'invalid_request_error', /rejected the request \(400\): messages: bad/],
    [403, 'permission_error', /refused the request \(403\)/],
    [404, 'not_found_error', /404: check the model name "claude-sonnet-5-5"/],
  ])('a %i is a ProposerFatalError with a clear message after one request', async (status, type, message) => {
    fake.server.script(claudeError(status, type, 'messages: bad'));
    const err = await failure(proposer().propose(sampleContext()));
    expect(err).toBeInstanceOf(ProposerFatalError);
    expect(err.message).toMatch(message);
    expect(fake.server.requests).toHaveLength(1);
  });

  test('a missing ANTHROPIC_API_KEY fails at creation with a clear message', () => {
    const create = () => createClaudeProposer(ProposerConfigSchema.parse({ kind: 'claude' }), { env: {} });
    expect(create).toThrow(ProposerFatalError);
    expect(create).toThrow(/ANTHROPIC_API_KEY is not set/);
  });

  test('an unknown model without proposer.price fails at creation', () => {
    expect(() => proposer({ model: 'claude-unknown-9' })).toThrow(/no price known for Claude model "claude-unknown-9"/);
  });

  test('proposer.baseUrl cannot redirect the key of the claude proposer', () => {
    expect(() => proposer({ baseUrl: 'http://elsewhere.example/v1' })).toThrow(/ANTHROPIC_BASE_URL/);
  });
});
