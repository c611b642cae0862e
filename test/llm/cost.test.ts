import { describe, expect, test } from '@jest/globals';
import { ProposerConfigSchema } from '../../src/core/runInput.js';
import { ProposerFatalError } from '../../src/core/failures.js';
import { MAX_OUTPUT_TOKENS, costOf, estimateMaxCallCostUsd, priceFor } from '../../src/core/cost.js';
import { retryDelayMs } from '../../src/proposers/llmErrors.js';
import { DEFAULT_CLAUDE_MODEL, claudeAcceptsForcedToolChoice, claudePrice, knownClaudeModels } from '../../src/core/models.js';

const config = (over: object) => ProposerConfigSchema.parse(over);
const PRICE = { inputPerMTok: 3, outputPerMTok: 15, cacheReadPerMTok: 0.3, cacheWritePerMTok: 3.75 };

describe('costOf', () => {
  test('prices each kind of token at its own rate per million', () => {
    const cost = costOf({ inputTokens: 1_000_000, outputTokens: 100_000, cacheReadTokens: 2_000_000, cacheWriteTokens: 400_000 }, PRICE);
    expect(cost).toBeCloseTo(3 + 1.5 + 0.6 + 1.5, 10);
  });
});

describe('priceFor', () => {
  test('takes the table price of the default Claude model', () => {
    expect(priceFor(config({ kind: 'claude' }))).toEqual(claudePrice(DEFAULT_CLAUDE_MODEL));
    expect(knownClaudeModels()).toContain(DEFAULT_CLAUDE_MODEL);
  });

  test('lets proposer.price override the table', () => {
    expect(priceFor(config({ kind: 'claude', model: 'claude-opus-5-5', price: PRICE }))).toEqual(PRICE);
  });

  test('reads a dated model id as its model', () => {
    expect(priceFor(config({ kind: 'claude', model: 'claude-haiku-4-5-20251001' }))).toEqual(claudePrice('claude-haiku-4-5'));
  });

  test('is zero for an OpenAI-compatible server unless the run input gives a price', () => {
    expect(priceFor(config({ kind: 'openai', model: 'm' })).outputPerMTok).toBe(0);
    expect(priceFor(config({ kind: 'openai', model: 'm', price: PRICE }))).toEqual(PRICE);
  });

  test('refuses an unknown Claude model without a price', () => {
    expect(() => priceFor(config({ kind: 'claude', model: 'claude-new-1' }))).toThrow(ProposerFatalError);
  });
});

describe('estimateMaxCallCostUsd', () => {
  test('reserves the full output allowance plus the prompt written to the cache', () => {
    const c = config({ kind: 'claude', model: 'claude-sonnet-4-6' });
    const small = estimateMaxCallCostUsd(c, 0);
    const large = estimateMaxCallCostUsd(c, 350_000);
    expect(small).toBeGreaterThan((MAX_OUTPUT_TOKENS * 15) / 1e6);
    // 350k chars ≈ 100k tokens at the cache-write price ($3.75/MTok).
    expect(large - small).toBeCloseTo((100_000 * 3.75) / 1e6, 6);
  });

  test('is never below what a call of that prompt can cost', () => {
    const c = config({ kind: 'claude' });
    const price = priceFor(c);
    const promptChars = 70_000;
    const worstActual = costOf({ inputTokens: 0, outputTokens: MAX_OUTPUT_TOKENS, cacheReadTokens: 0, cacheWriteTokens: promptChars / 3.5 }, price);
    expect(estimateMaxCallCostUsd(c, promptChars)).toBeGreaterThanOrEqual(worstActual);
  });

  test('is zero for a free local model', () => {
    expect(estimateMaxCallCostUsd(config({ kind: 'openai', model: 'm' }), 100_000)).toBe(0);
  });
});

describe('model facts', () => {
  test('the 5.5 generation gets tool_choice auto, older and unknown models a forced tool', () => {
    expect(claudeAcceptsForcedToolChoice('claude-sonnet-5-5')).toBe(false);
    expect(claudeAcceptsForcedToolChoice('claude-opus-5-5')).toBe(false);
    expect(claudeAcceptsForcedToolChoice('claude-sonnet-4-6')).toBe(true);
    expect(claudeAcceptsForcedToolChoice('claude-someday-9')).toBe(true);
  });
});

describe('retryDelayMs', () => {
  const retry = { attempts: 5, initialDelayMs: 100, maxDelayMs: 1_000, timeoutMs: 1 };

  test('doubles from the initial delay, with at most 25% jitter off, up to the cap', () => {
    expect(retryDelayMs(1, undefined, retry)).toBeGreaterThanOrEqual(75);
    expect(retryDelayMs(1, undefined, retry)).toBeLessThanOrEqual(100);
    expect(retryDelayMs(3, undefined, retry)).toBeGreaterThanOrEqual(300);
    expect(retryDelayMs(3, undefined, retry)).toBeLessThanOrEqual(400);
    expect(retryDelayMs(10, undefined, retry)).toBeLessThanOrEqual(1_000);
  });

  test('follows a Retry-After, but no longer than the cap', () => {
    expect(retryDelayMs(1, 250, retry)).toBe(250);
    expect(retryDelayMs(1, 60_000, retry)).toBe(1_000);
  });
});
