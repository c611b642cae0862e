import Anthropic from '@anthropic-ai/sdk';
import type { Message, MessageCreateParamsNonStreaming } from '@anthropic-ai/sdk/resources/messages';
import type { ProposerConfig } from '../core/runInput.js';
import type { Proposer } from './context.js';
import { ProposerFatalError } from '../core/failures.js';
import { Bill, isSpent } from './billing.js';
import { MAX_OUTPUT_TOKENS, modelOf, priceFor, usageWithCost, worstCaseUsage } from '../core/cost.js';
import {
  type ApiInfo,
  DEFAULT_RETRY,
  type Failure,
  type LlmProposerOptions,
  httpFailure,
  networkFailure,
  retryAfterMs,
  withRetry,
  withUsage,
} from './llmErrors.js';
import { claudeAcceptsForcedToolChoice } from '../core/models.js';
import { type RenderedPrompt, promptChars, renderPrompt } from './prompt.js';
import { PROPOSAL_JSON_SCHEMA } from '../core/proposal.js';
import { PROPOSE_TOOL_DESCRIPTION, PROPOSE_TOOL_NAME, proposalFromReply } from './toolSchema.js';

/**
 * The Claude proposer: one Messages API call per proposal, answered through the
 * `propose_experiment` tool. The key is the worker's ANTHROPIC_API_KEY and nothing else, and the
 * endpoint is ANTHROPIC_BASE_URL (default: Anthropic's API), so no run input can see the key or
 * send it elsewhere.
 */
export function createClaudeProposer(config: ProposerConfig, options: LlmProposerOptions = {}): Proposer {
  const env = options.env ?? process.env;
  const apiKey = env.ANTHROPIC_API_KEY;
  if (!apiKey) {
    throw new ProposerFatalError(
      "ANTHROPIC_API_KEY is not set in the worker's environment: the claude proposer needs it " +
        '(the key is never read from the run input)',
    );
  }
  if (config.baseUrl) {
    throw new ProposerFatalError(
      'proposer.baseUrl is for kind "openai"; to point the claude proposer elsewhere, ' +
        "set ANTHROPIC_BASE_URL in the worker's environment",
    );
  }
  const model = modelOf(config)!;
  const price = priceFor(config);
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const api: ApiInfo = { name: 'Anthropic API', keyEnv: 'ANTHROPIC_API_KEY', model, secret: apiKey };
  // Our own retry loop (shared with the OpenAI-compatible proposer) replaces the SDK's.
  const client = new Anthropic({
    apiKey,
    baseURL: env.ANTHROPIC_BASE_URL || undefined,
    maxRetries: 0,
    timeout: retry.timeoutMs,
  });
  let forceTool = claudeAcceptsForcedToolChoice(model);

  const usageOf = (message: Message) => usageWithCost(
    {
      inputTokens: message.usage.input_tokens,
      outputTokens: message.usage.output_tokens,
      cacheReadTokens: message.usage.cache_read_input_tokens ?? 0,
      cacheWriteTokens: message.usage.cache_creation_input_tokens ?? 0,
    },
    price,
  );
  // Every attempt goes through the bill: each answer counts, and so does one sent but never answered.
  const send = (bill: Bill, prompt: RenderedPrompt, signal?: AbortSignal): Promise<Message> => {
    const worstCase = worstCaseUsage(price, promptChars(prompt));
    const unanswered = (err: unknown) =>
      err instanceof Anthropic.APIConnectionTimeoutError || err instanceof Anthropic.APIUserAbortError || !!signal?.aborted;
    return withRetry(
      () => bill.call(worstCase, () => client.messages.create(claudeRequest(model, prompt, forceTool), { signal }), usageOf, unanswered),
      (err) => classifyClaudeError(api, err),
      retry,
      signal,
    );
  };

  return {
    async propose(ctx, signal, onSpending) {
      const prompt = renderPrompt(ctx);
      const bill = new Bill(onSpending);
      let message: Message;
      try {
        try {
          message = await send(bill, prompt, signal);
        } catch (err) {
          if (!(forceTool && rejectsForcedToolChoice(err))) throw err;
          // A model newer than our table that refuses a forced tool: ask once more with `auto`.
          forceTool = false;
          message = await send(bill, prompt, signal);
        }
      } catch (err) {
        throw isSpent(bill.total) ? withUsage(err, bill.total) : err;
      }
      const usage = bill.total;
      try {
        const toolUse = message.content.find((b) => b.type === 'tool_use' && b.name === PROPOSE_TOOL_NAME);
        const proposal = proposalFromReply({
          toolInput: toolUse?.type === 'tool_use' ? toolUse.input : undefined,
          cutOff: message.stop_reason === 'max_tokens',
          refusal: message.stop_reason === 'refusal' ? textOf(message) : undefined,
          text: textOf(message),
          forced: forceTool,
        });
        return { proposal, usage, promptChars: promptChars(prompt) };
      } catch (err) {
        throw withUsage(err, usage);
      }
    },
  };
}

/**
 * The request: tools, then system, then messages is the order the cache prefix follows. Two
 * breakpoints: after program.md (tool + rules + program, stable for the run) and after the code
 * (stable until an experiment is kept). Results, notes and repair requests come last, uncached.
 */
function claudeRequest(model: string, prompt: RenderedPrompt, forceTool: boolean): MessageCreateParamsNonStreaming {
  const cache = { type: 'ephemeral' } as const;
  return {
    model,
    max_tokens: MAX_OUTPUT_TOKENS,
    tools: [{ name: PROPOSE_TOOL_NAME, description: PROPOSE_TOOL_DESCRIPTION, input_schema: PROPOSAL_JSON_SCHEMA }],
    tool_choice: forceTool
      ? { type: 'tool', name: PROPOSE_TOOL_NAME }
      : { type: 'auto', disable_parallel_tool_use: true },
    system: [
      { type: 'text', text: prompt.system },
      { type: 'text', text: prompt.program, cache_control: cache },
    ],
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: prompt.code, cache_control: cache },
          { type: 'text', text: prompt.volatile },
        ],
      },
    ],
  };
}

function classifyClaudeError(api: ApiInfo, err: unknown): Failure {
  if (err instanceof Anthropic.APIConnectionTimeoutError) return networkFailure(api, `timed out (no reply within the attempt's time limit)`);
  if (err instanceof Anthropic.APIConnectionError) return networkFailure(api, `unreachable: ${err.message}`);
  if (err instanceof Anthropic.APIError && err.status !== undefined) {
    return httpFailure(api, err.status, err.apiMessage ?? err.message, retryAfterMs(err.headers));
  }
  return { retryable: false, error: err instanceof Error ? err : new Error(String(err)) };
}

/** The 400 a model gives when it does not allow `tool_choice` to force a tool. */
function rejectsForcedToolChoice(err: unknown): boolean {
  return err instanceof ProposerFatalError && err.message.includes('(400)') && /tool_choice|forced tool|tool choice/i.test(err.message);
}

function textOf(message: Message): string {
  return message.content.map((b) => (b.type === 'text' ? b.text : '')).join('\n');
}
