import { describe, expect, test } from '@jest/globals';
import { ProposerConfigSchema } from '../../src/core/runInput.js';
import { ProposalInvalidError, ProposerFatalError } from '../../src/core/failures.js';
import { createOpenAIProposer } from '../../src/proposers/openai.js';
import { PROPOSAL_JSON_SCHEMA } from '../../src/core/proposal.js';
import { useFakeLlm, openaiError, openaiMessage, openaiToolCall } from './fakeServer.js';
import { GOOD_PROPOSAL, TRAIN_PY, failure, sampleContext } from './fixtures.js';

const OPENAI_KEY = 'sk-openai-test-SECRET456';
const PRICE = { inputPerMTok: 1, outputPerMTok: 2, cacheReadPerMTok: 0.5, cacheWritePerMTok: 1 };

const fake = useFakeLlm();

function proposer(config: object = {}, env: Record<string, string> = { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: `${fake.server.url}/v1` }) {
  return createOpenAIProposer(
    ProposerConfigSchema.parse({ kind: 'openai', baseUrl: `${fake.server.url}/v1/`, model: 'qwen-coder', ...config }),
    { env, retry: { attempts: 3, initialDelayMs: 5, maxDelayMs: 50, timeoutMs: 5_000 } },
  );
}

describe('the OpenAI-compatible proposer', () => {
  test('posts one forced function call to {baseUrl}/chat/completions and returns the proposal', async () => {
    fake.server.script(openaiToolCall(GOOD_PROPOSAL));
    const result = await proposer().propose(sampleContext());
    expect(result.proposal).toEqual(GOOD_PROPOSAL);
    expect(fake.server.requests).toHaveLength(1);
    const [req] = fake.server.requests;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/chat/completions');
    expect(req.body.model).toBe('qwen-coder');
    expect(req.body.tools).toEqual([
      { type: 'function', function: { name: 'propose_experiment', description: expect.any(String), parameters: PROPOSAL_JSON_SCHEMA } },
    ]);
    expect(req.body.tool_choice).toEqual({ type: 'function', function: { name: 'propose_experiment' } });
    expect(req.body.messages.map((m: { role: string }) => m.role)).toEqual(['system', 'user']);
    expect(req.body.messages[0].content).toContain('Make val_bpb go down');
    expect(req.body.messages[1].content).toContain(TRAIN_PY.trimEnd());
  });

  test('counts cached prompt tokens apart and prices usage only with proposer.price', async () => {
    fake.server.script(openaiToolCall(GOOD_PROPOSAL), openaiToolCall(GOOD_PROPOSAL));
    const free = await proposer().propose(sampleContext());
    expect(free.usage).toEqual({ inputTokens: 3_000, outputTokens: 700, cacheReadTokens: 6_000, cacheWriteTokens: 0, costUsd: 0 });
    const priced = await proposer({ price: PRICE }).propose(sampleContext());
    expect(priced.usage.costUsd).toBeCloseTo((3_000 * 1 + 700 * 2 + 6_000 * 0.5) / 1e6, 12);
  });

  test('sends the key only as the bearer token, and no authorization header without a key', async () => {
    fake.server.script(openaiToolCall(GOOD_PROPOSAL), openaiToolCall(GOOD_PROPOSAL));
    await proposer().propose(sampleContext());
    await proposer({}, {}).propose(sampleContext());
    const [withKey, withoutKey] = fake.server.requests;
    expect(withKey.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
    const { authorization: _auth, ...others } = withKey.headers;
    expect(JSON.stringify(others)).not.toContain(OPENAI_KEY);
    expect(withKey.rawBody).not.toContain(OPENAI_KEY);
    expect(withoutKey.headers.authorization).toBeUndefined();
  });

  test('keeps the key from a server the worker did not name in OPENAI_BASE_URL', async () => {
    fake.server.script(openaiToolCall(GOOD_PROPOSAL), openaiToolCall(GOOD_PROPOSAL));
    await proposer({}, { OPENAI_API_KEY: OPENAI_KEY }).propose(sampleContext());
    await proposer({}, { OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' }).propose(sampleContext());
    expect(fake.server.requests.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
  });

  test('a 429 then success makes two requests, honouring Retry-After', async () => {
    fake.server.script(openaiError(429, 'slow down', { 'retry-after': '0.01' }), openaiToolCall(GOOD_PROPOSAL));
    await expect(proposer().propose(sampleContext())).resolves.toMatchObject({ proposal: GOOD_PROPOSAL });
    expect(fake.server.requests).toHaveLength(2);
  });

  test('500s past the retry limit end in a plain retryable Error after exactly the allowed attempts', async () => {
    fake.server.script(openaiError(500, 'boom'), openaiError(502, 'bad gateway'), openaiError(503, 'unavailable'), openaiError(500, 'never reached'));
    const err = await failure(proposer().propose(sampleContext()));
    expect(err).not.toBeInstanceOf(ProposerFatalError);
    expect(err.message).toMatch(/failed \(503\): unavailable \(gave up after 3 attempts\)/);
    expect(fake.server.requests).toHaveLength(3);
  });

  test('a 401 is a ProposerFatalError naming OPENAI_API_KEY after exactly one request, without the key', async () => {
    fake.server.script(openaiError(401, `Incorrect API key provided: ${OPENAI_KEY}`));
    const err = await failure(proposer().propose(sampleContext()));
    expect(err).toBeInstanceOf(ProposerFatalError);
    expect(err.message).toContain('rejected the key (401): check OPENAI_API_KEY');
    expect(err.message).not.toContain(OPENAI_KEY);
    expect(fake.server.requests).toHaveLength(1);
  });

  test('arguments that are not JSON are a ProposalInvalidError', async () => {
    fake.server.script(openaiToolCall('{"hypothesis": "unterminated'));
    const err = await failure(proposer().propose(sampleContext()));
    expect(err).toBeInstanceOf(ProposalInvalidError);
    expect(err.message).toMatch(/not valid JSON/);
  });

  test('arguments that do not match the schema are a ProposalInvalidError', async () => {
    fake.server.script(openaiToolCall({ ...GOOD_PROPOSAL, edits: [{ path: 'train.py' }] }));
    await expect(proposer().propose(sampleContext())).rejects.toBeInstanceOf(ProposalInvalidError);
  });

  test('a server that ignores the forced tool is fatal, with a hint about tool support', async () => {
    fake.server.script(openaiMessage({ role: 'assistant', content: 'Sure! Lower the LR.' }, 'stop'));
    const err = await failure(proposer().propose(sampleContext()));
    expect(err).toBeInstanceOf(ProposerFatalError);
    expect(err.message).toMatch(/support tool calls/);
  });

  test('a missing baseUrl or model fails at creation', () => {
    expect(() => createOpenAIProposer(ProposerConfigSchema.parse({ kind: 'openai', model: 'm' }))).toThrow(/baseUrl is required/);
    expect(() => createOpenAIProposer(ProposerConfigSchema.parse({ kind: 'openai', baseUrl: fake.server.url }))).toThrow(/model is required/);
  });
});
