import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Messages API and the OpenAI chat-completions API: it answers each
 * request with the next scripted response and records what it was sent. Listens on 127.0.0.1
 * on a free port; `close()` drops open connections and pending delayed replies.
 */

export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string>;
  /** JSON-encoded unless a string. */
  body?: unknown;
  /** Wait this long before answering (to make a client time out). */
  delayMs?: number;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the parsed JSON body, loosely typed for assertions
  body: any;
}

export class FakeLlmServer {
  readonly requests: RecordedRequest[] = [];
  private queue: ScriptedResponse[] = [];
  private timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<FakeLlmServer> {
    // eslint-disable-next-line prefer-const -- assigned once the server listens, read by the handler defined here
    let fake: FakeLlmServer | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => fake!.answer(req.method ?? '', req.url ?? '', req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    fake = new FakeLlmServer(server, `http://127.0.0.1:${port}`);
    return fake;
  }

  /** Queues responses, answered in order; with the queue empty the server answers 599. */
  script(...responses: ScriptedResponse[]): void {
    this.queue.push(...responses);
  }

  /** Forgets recorded requests and unanswered scripts (call between tests). */
  reset(): void {
    this.requests.length = 0;
    this.queue = [];
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private answer(
    method: string,
    url: string,
    headers: IncomingHttpHeaders,
    rawBody: string,
    res: import('node:http').ServerResponse,
  ): void {
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    this.requests.push({ method, url, headers, rawBody, body });
    const next = this.queue.shift() ?? { status: 599, body: { error: { type: 'test_error', message: 'no scripted response left' } } };
    const send = () => {
      if (res.destroyed) return;
      const payload = typeof next.body === 'string' ? next.body : JSON.stringify(next.body ?? {});
      res.writeHead(next.status ?? 200, { 'content-type': 'application/json', ...next.headers });
      res.end(payload);
    };
    if (!next.delayMs) return send();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      send();
    }, next.delayMs);
    this.timers.add(timer);
  }
}

// ---- Messages API shapes ----

export interface ClaudeUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

export const CLAUDE_USAGE: ClaudeUsage = {
  input_tokens: 1_200,
  output_tokens: 800,
  cache_creation_input_tokens: 5_000,
  cache_read_input_tokens: 20_000,
};

/** A Message whose content is one propose_experiment tool_use block. */
export function claudeToolUse(input: unknown, usage: ClaudeUsage = CLAUDE_USAGE): ScriptedResponse {
  return claudeMessage([{ type: 'tool_use', id: 'toolu_test_1', name: 'propose_experiment', input }], 'tool_use', usage);
}

export function claudeMessage(content: unknown[], stopReason: string, usage: ClaudeUsage = CLAUDE_USAGE): ScriptedResponse {
  return {
    status: 200,
    headers: { 'request-id': 'req_test_1' },
    body: {
      id: 'msg_test_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-test',
      content,
      stop_reason: stopReason,
      stop_sequence: null,
      usage,
    },
  };
}

export function claudeError(status: number, type: string, message: string, headers: Record<string, string> = {}): ScriptedResponse {
  return { status, headers, body: { type: 'error', error: { type, message } } };
}

// ---- OpenAI chat-completions shapes ----

export function openaiToolCall(
  args: unknown,
  usage: object = { prompt_tokens: 9_000, completion_tokens: 700, prompt_tokens_details: { cached_tokens: 6_000 } },
): ScriptedResponse {
  return openaiMessage(
    {
      role: 'assistant',
      content: null,
      tool_calls: [
        {
          id: 'call_test_1',
          type: 'function',
          function: { name: 'propose_experiment', arguments: typeof args === 'string' ? args : JSON.stringify(args) },
        },
      ],
    },
    'tool_calls',
    usage,
  );
}

export function openaiMessage(message: object, finishReason: string, usage: object = { prompt_tokens: 100, completion_tokens: 10 }): ScriptedResponse {
  return {
    status: 200,
    body: {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'local-test-model',
      choices: [{ index: 0, message, finish_reason: finishReason }],
      usage,
    },
  };
}

export function openaiError(status: number, message: string, headers: Record<string, string> = {}): ScriptedResponse {
  return { status, headers, body: { error: { message, type: 'invalid_request_error', code: null } } };
}

/**
 * One fake LLM server for the tests of a file: started in beforeAll, closed in afterAll, reset after
 * each test. Read `server` inside the tests (or hooks registered after this call); reading it earlier throws.
 */
export function useFakeLlm(): { readonly server: FakeLlmServer } {
  let started: FakeLlmServer | undefined;
  beforeAll(async () => {
    started = await FakeLlmServer.start();
  });
  afterAll(async () => {
    await started?.close();
    started = undefined;
  });
  afterEach(() => started?.reset());
  return {
    get server(): FakeLlmServer {
      if (!started) throw new Error('useFakeLlm: the fake LLM server is not started; read `server` inside a test or a hook registered after useFakeLlm()');
      return started;
    },
  };
}

/**
 * Points the worker's Anthropic environment at the fake for the file's tests and restores it
 * after: the worker's environment is the only place the key lives (the worker here is in-process).
 * Call it after useFakeLlm() and before useTestTemporal(), so the key is set when the worker starts.
 */
export function useAnthropicEnvFor(fake: { readonly server: FakeLlmServer }, key: string): void {
  const saved = { ANTHROPIC_API_KEY: process.env.ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL: process.env.ANTHROPIC_BASE_URL };
  beforeAll(() => {
    process.env.ANTHROPIC_API_KEY = key;
    process.env.ANTHROPIC_BASE_URL = fake.server.url;
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
}
