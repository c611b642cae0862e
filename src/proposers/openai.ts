import type { ProposerConfig } from '../core/runInput.js';
import type { Proposer } from './context.js';
import { ProposerFatalError } from '../core/failures.js';
import { Bill, isSpent } from './billing.js';
import { MAX_OUTPUT_TOKENS, priceFor, usageWithCost, worstCaseUsage } from '../core/cost.js';
import {
  type ApiInfo,
  DEFAULT_RETRY,
  type Failure,
  type LlmProposerOptions,
  httpFailure, networkFailure, retryAfterMs, withRetry, withUsage } from './llmErrors.js';
import { type RenderedPrompt, promptChars, renderPrompt } from './prompt.js';
import { PROPOSAL_JSON_SCHEMA } from '../core/proposal.js';
import { PROPOSE_TOOL_DESCRIPTION, PROPOSE_TOOL_NAME, proposalFromReply } from './toolSchema.js';

/**
 * The OpenAI-compatible proposer: `POST {baseUrl}/chat/completions` with the same
 * `propose_experiment` tool as a forced function call, so a local server (vLLM, Ollama,
 * llama.cpp) can drive a run. The optional key is the worker's OPENAI_API_KEY, sent only to the
 * origin of the worker's OPENAI_BASE_URL. Calls are free
 * unless the run input gives `proposer.price`.
 */
export function createOpenAIProposer(config: ProposerConfig, options: LlmProposerOptions = {}): Proposer {
  if (!config.baseUrl) {
    throw new ProposerFatalError('proposer.baseUrl is required for kind "openai" (e.g. http://localhost:8000/v1)');
  }
  if (!config.model) {
    throw new ProposerFatalError('proposer.model is required for kind "openai": the model name the server serves');
  }
  const env = options.env ?? process.env;
  // The run input names the server, so the worker's key goes only to the server the worker's own
  // OPENAI_BASE_URL names: a run input cannot send the key elsewhere.
  const apiKey = env.OPENAI_API_KEY && sameOrigin(env.OPENAI_BASE_URL, config.baseUrl) ? env.OPENAI_API_KEY : undefined;
  const url = `${config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const model = config.model;
  const price = priceFor(config);
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const api: ApiInfo = { name: `OpenAI-compatible API at ${config.baseUrl}`, keyEnv: 'OPENAI_API_KEY', model, secret: apiKey };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;

  const post = async (body: string, signal?: AbortSignal): Promise<ChatCompletion> => {
    const timeout = AbortSignal.timeout(retry.timeoutMs);
    const res = await fetch(url, { method: 'POST', headers, body, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    const text = await res.text();
    if (!res.ok) throw new HttpStatusError(res.status, errorDetail(text), retryAfterMs(res.headers));
    return JSON.parse(text) as ChatCompletion;
  };

  const usageOf = (reply: ChatCompletion) => {
    const cached = reply.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    return usageWithCost(
      {
        inputTokens: (reply.usage?.prompt_tokens ?? 0) - cached,
        outputTokens: reply.usage?.completion_tokens ?? 0,
        cacheReadTokens: cached,
        cacheWriteTokens: 0,
      },
      price,
    );
  };

  return {
    async propose(ctx, signal, onSpending) {
      const prompt = renderPrompt(ctx);
      const body = JSON.stringify(openaiRequest(model, prompt));
      // Every attempt goes through the bill: each answer counts, and so does one sent but never answered.
      const bill = new Bill(onSpending);
      const worstCase = worstCaseUsage(price, promptChars(prompt));
      const reply = await withRetry(
        () => bill.call(worstCase, () => post(body, signal), usageOf, (err) => isUnanswered(err) || !!signal?.aborted),
        (err) => classifyFetchError(api, err),
        retry,
        signal,
      ).catch((err: unknown) => {
        throw isSpent(bill.total) ? withUsage(err, bill.total) : err;
      });
      const usage = bill.total;
      const message = reply.choices?.[0]?.message;
      if (!message) throw withUsage(new Error(`${api.name} returned no choices for model "${model}"`), usage);
      try {
        const call = message.tool_calls?.find((c) => c.function?.name === PROPOSE_TOOL_NAME);
        const proposal = proposalFromReply({
          toolInput: call?.function?.arguments,
          cutOff: reply.choices?.[0]?.finish_reason === 'length',
          refusal: message.refusal ?? undefined,
          text: message.content ?? '',
          forced: true,
        });
        return { proposal, usage, promptChars: promptChars(prompt) };
      } catch (err) {
        throw withUsage(err, usage);
      }
    },
  };
}

/** Same prompt as Claude's, flattened to two messages (servers cache prefixes on their own). */
function openaiRequest(model: string, prompt: RenderedPrompt) {
  return {
    model,
    max_tokens: MAX_OUTPUT_TOKENS,
    messages: [
      { role: 'system', content: `${prompt.system}\n\n${prompt.program}` },
      { role: 'user', content: `${prompt.code}\n\n${prompt.volatile}` },
    ],
    tools: [
      {
        type: 'function',
        function: { name: PROPOSE_TOOL_NAME, description: PROPOSE_TOOL_DESCRIPTION, parameters: PROPOSAL_JSON_SCHEMA },
      },
    ],
    tool_choice: { type: 'function', function: { name: PROPOSE_TOOL_NAME } },
  };
}

/** The parts of a chat-completions reply we read; servers differ, so all optional. */
interface ChatCompletion {
  choices?: {
    finish_reason?: string | null;
    message?: {
      content?: string | null;
      refusal?: string | null;
      tool_calls?: { function?: { name?: string; arguments?: unknown } }[];
    };
  }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null };
}

/** Sent but not answered in time, or aborted: the server may still have finished (and billed) it. */
function isUnanswered(err: unknown): boolean {
  return err instanceof DOMException && (err.name === 'TimeoutError' || err.name === 'AbortError');
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly retryAfterMs: number | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

function classifyFetchError(api: ApiInfo, err: unknown): Failure {
  if (err instanceof HttpStatusError) return httpFailure(api, err.status, err.detail, err.retryAfterMs);
  if (err instanceof DOMException && err.name === 'TimeoutError') return networkFailure(api, "timed out (no reply within the attempt's time limit)");
  if (err instanceof SyntaxError) return networkFailure(api, `returned a reply that is not JSON: ${err.message}`);
  if (err instanceof TypeError && err.message === 'fetch failed') {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return networkFailure(api, `unreachable (${err.message}${cause})`);
  }
  return { retryable: false, error: err instanceof Error ? err : new Error(String(err)) };
}

/** `{"error": {"message": ...}}` (OpenAI, vLLM), `{"error": "..."}` (Ollama), or the raw text. */
function errorDetail(body: string): string {
  try {
    const json = JSON.parse(body) as { error?: { message?: string } | string; message?: string };
    const message = typeof json.error === 'string' ? json.error : (json.error?.message ?? json.message);
    if (message) return message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 500);
}

function sameOrigin(a: string | undefined, b: string): boolean {
  try {
    return a !== undefined && new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}
