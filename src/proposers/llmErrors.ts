import { setTimeout as sleep } from 'node:timers/promises';
import { ProposerFatalError } from '../core/failures.js';
import type { Usage } from '../core/usage.js';

/**
 * What an LLM call does when it fails, shared by the Claude and OpenAI-compatible proposers:
 * which failures are worth another attempt (429, 408/409, 5xx, 529 overloaded, timeouts, lost
 * connections), how long to wait, and the clear message for the ones that are not. The activity
 * that calls the proposer retries again on top (Temporal), so attempts here stay few.
 */

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Wait before the second attempt; doubles each time (with up to 25% jitter off). */
  initialDelayMs: number;
  /** Longest computed wait, and longest wait a Retry-After header is allowed to ask for. */
  maxDelayMs: number;
  /** Time limit of one attempt (a whole proposal: thinking models can take minutes). */
  timeoutMs: number;
}

/** Knobs for tests; production uses the defaults and the worker's environment. */
export interface LlmProposerOptions {
  retry?: Partial<RetryOptions>;
  /** Where the key and base URL are read from (default: `process.env` of the worker). */
  env?: Record<string, string | undefined>;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 4, initialDelayMs: 1_000, maxDelayMs: 30_000, timeoutMs: 300_000 };

/** Which API failed, for messages a person can act on. */
export interface ApiInfo {
  /** e.g. "Anthropic API", "OpenAI-compatible API at http://localhost:8000/v1". */
  name: string;
  /** Environment variable that holds the key. */
  keyEnv: string;
  model: string;
  /** The key, only to scrub it from any text that reaches an error (never printed). */
  secret?: string;
}

/** One failed attempt, classified. A non-retryable error is thrown as it is. */
export interface Failure {
  retryable: boolean;
  error: Error;
  retryAfterMs?: number;
}

/** Maps an HTTP status to a fatal error with a clear message, or to a retryable failure. */
export function httpFailure(api: ApiInfo, status: number, detail: string, retryAfterMs?: number): Failure {
  const why = detail ? `: ${redact(detail, api.secret)}` : '';
  const retryable = (message: string): Failure => ({ retryable: true, error: new Error(message), retryAfterMs });
  const fatal = (message: string): Failure => ({ retryable: false, error: new ProposerFatalError(message) });
  if (status === 429) return retryable(`${api.name} rate limit hit (429)${why}`);
  if (status === 529) return retryable(`${api.name} is overloaded (529)${why}`);
  if (status === 408 || status === 409 || status >= 500) return retryable(`${api.name} failed (${status})${why}`);
  if (status === 401) return fatal(`${api.name} rejected the key (401): check ${api.keyEnv} in the worker's environment${why}`);
  if (status === 403) return fatal(`${api.name} refused the request (403): the key may not have access to model "${api.model}"${why}`);
  if (status === 404) return fatal(`${api.name} returned 404: check the model name "${api.model}" and the base URL${why}`);
  return fatal(`${api.name} rejected the request (${status})${why}`);
}

/** A lost connection or a timed-out attempt: worth another try. */
export function networkFailure(api: ApiInfo, what: string): Failure {
  return { retryable: true, error: new Error(`${api.name} ${redact(what, api.secret)}`) };
}

/**
 * Runs `call` until it succeeds, a failure is not retryable, or the attempts are spent; then the
 * last failure is thrown as a plain (retryable-by-the-activity) Error that says how many attempts
 * were made. An abort through `signal` ends it at once with the abort's own error.
 */
export async function withRetry<T>(
  call: () => Promise<T>,
  classify: (err: unknown) => Failure,
  retry: RetryOptions,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (signal?.aborted) throw err;
      const failure = classify(err);
      if (!failure.retryable) throw failure.error;
      if (attempt >= retry.attempts) {
        throw new Error(`${failure.error.message} (gave up after ${attempt} attempts)`, { cause: failure.error });
      }
      await sleep(retryDelayMs(attempt, failure.retryAfterMs, retry), undefined, { signal });
    }
  }
}

/** Exponential backoff with jitter; a server's Retry-After wins, up to `maxDelayMs`. */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, retry: RetryOptions): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, retry.maxDelayMs);
  const backoff = Math.min(retry.initialDelayMs * 2 ** (attempt - 1), retry.maxDelayMs);
  return backoff * (1 - Math.random() * 0.25);
}

/** `retry-after-ms` (milliseconds) or `retry-after` (seconds or an HTTP date), if present. */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (Number.isFinite(ms)) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number.parseFloat(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** Replaces every occurrence of the secret; errors may quote request text back at us. */
export function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('[redacted]') : text;
}

/**
 * A call that was answered (and billed) but gave no usable proposal still cost money: its error
 * carries the call's usage as `usage`, so the caller can count it against the cap.
 */
export function withUsage(err: unknown, usage: Usage): unknown {
  if (err instanceof Error) Object.assign(err, { usage });
  return err;
}
