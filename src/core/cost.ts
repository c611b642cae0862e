/**
 * Money: the price of a proposer call and the worst case of one before it is made.
 * Pure and workflow-safe, so the workflow can hold the `maxCostUsd` cap with it.
 */
import type { Price, ProposerConfig } from './runInput.js';
import { ProposerFatalError } from './failures.js';
import type { Usage } from './usage.js';
import { DEFAULT_CLAUDE_MODEL, claudePrice, knownClaudeModels } from './models.js';
import { PROPOSAL_JSON_SCHEMA } from './proposal.js';

/** Output cap of every proposer call; also the worst case the cost cap reserves. */
export const MAX_OUTPUT_TOKENS = 16_384;

/** Rough characters per token of code and English, for estimating before a call. */
const CHARS_PER_TOKEN = 3.5;

const FREE: Price = { inputPerMTok: 0, outputPerMTok: 0, cacheReadPerMTok: 0, cacheWritePerMTok: 0 };

/** The model a config asks for, with the default filled in (undefined: openai without a model). */
export function modelOf(config: ProposerConfig): string | undefined {
  return config.model ?? (config.kind === 'claude' ? DEFAULT_CLAUDE_MODEL : undefined);
}

/**
 * The price a run pays per million tokens: `proposer.price` when given, else the table for
 * Claude, else zero (offline; an OpenAI-compatible server, usually local). An unknown Claude
 * model without `proposer.price` is an error: silently pricing it at zero would void the cap.
 */
export function priceFor(config: ProposerConfig): Price {
  if (config.price) return config.price;
  if (config.kind !== 'claude') return FREE;
  const model = modelOf(config)!;
  const price = claudePrice(model);
  if (!price) {
    throw new ProposerFatalError(
      `no price known for Claude model "${model}": set proposer.price in the run input ` +
        `(known models: ${knownClaudeModels().join(', ')})`,
    );
  }
  return price;
}

/** Cost in USD of tokens at a price. Anthropic counts cache reads and writes apart from input. */
export function costOf(tokens: Omit<Usage, 'costUsd'>, price: Price): number {
  return (
    (tokens.inputTokens * price.inputPerMTok +
      tokens.outputTokens * price.outputPerMTok +
      tokens.cacheReadTokens * price.cacheReadPerMTok +
      tokens.cacheWriteTokens * price.cacheWritePerMTok) /
    1e6
  );
}

/** Token counts plus their cost: what each ProposeResult carries. */
export function usageWithCost(tokens: Omit<Usage, 'costUsd'>, price: Price): Usage {
  return { ...tokens, costUsd: costOf(tokens, price) };
}

/**
 * Worst-case cost of one call whose prompt is `promptChars` long: every prompt token written to
 * the cache (dearer than plain input) plus the full output allowance. The workflow adds this
 * for each call in flight to what is already spent, and starts no call that could pass the cap.
 */
export function estimateMaxCallCostUsd(config: ProposerConfig, promptChars: number): number {
  return worstCaseUsage(priceFor(config), promptChars).costUsd;
}

/**
 * The same worst case as usage: what a call that was sent but never answered (timed out, aborted,
 * its worker killed) is charged, since the provider may have billed it in full.
 */
export function worstCaseUsage(price: Price, promptChars: number): Usage {
  const chars = promptChars + JSON.stringify(PROPOSAL_JSON_SCHEMA).length;
  const inputTokens = Math.ceil(chars / CHARS_PER_TOKEN);
  const inputPerMTok = Math.max(price.inputPerMTok, price.cacheWritePerMTok);
  const costUsd = (inputTokens * inputPerMTok + MAX_OUTPUT_TOKENS * price.outputPerMTok) / 1e6;
  return { inputTokens, outputTokens: MAX_OUTPUT_TOKENS, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd };
}
