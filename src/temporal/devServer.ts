import { execa, type ResultPromise } from 'execa';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Connection } from '@temporalio/client';

const TEMPORAL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../temporal');

/** Path of the Temporal CLI, built by temporal/install.sh when missing (cached outside the clone). */
export async function temporalCli(): Promise<string> {
  const { stdout } = await execa('bash', [path.join(TEMPORAL_DIR, 'install.sh')], { stderr: 'inherit' });
  return stdout.trim();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface DevServerOptions {
  dbFile: string;
  port?: number;
  uiPort?: number;
  /** Without a UI unless asked: tests need none. */
  ui?: boolean;
  dynamicConfig?: Record<string, string | number | boolean>;
  logFile?: string;
}

export interface DevServer {
  address: string;
  port: number;
  uiPort?: number;
  stop(): Promise<void>;
}

function searchAttributeFlags(): string[] {
  return readFileSync(path.join(TEMPORAL_DIR, 'search-attributes.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .flatMap((sa) => ['--search-attribute', sa.trim()]);
}

/** Starts `temporal server start-dev` on loopback and waits (bounded) until it answers. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const cli = await temporalCli();
  const port = opts.port ?? (await freePort());
  const uiPort = opts.ui ? (opts.uiPort ?? (await freePort())) : undefined;
  const args = ['server', 'start-dev', '--db-filename', opts.dbFile, '--ip', '127.0.0.1', '--port', String(port),
    '--log-level', 'error', ...searchAttributeFlags()];
  args.push(...(uiPort ? ['--ui-port', String(uiPort)] : ['--headless']));
  for (const [k, v] of Object.entries(opts.dynamicConfig ?? {})) args.push('--dynamic-config-value', `${k}=${JSON.stringify(v)}`);
  const child: ResultPromise = execa(cli, args, {
    stdout: opts.logFile ? { file: opts.logFile, append: true } : 'ignore',
    stderr: opts.logFile ? { file: opts.logFile, append: true } : 'ignore',
    reject: false,
    cleanup: true,
  });
  const address = `127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && !child.killed) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await child;
    clearTimeout(timer);
  };
  try {
    await waitUntilServing(address, 60_000, () => child.exitCode !== null);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, port, uiPort, stop };
}

async function waitUntilServing(address: string, timeoutMs: number, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`temporal dev server on ${address} exited during start-up`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await conn.workflowService.describeNamespace({ namespace: 'default' });
        return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error(`temporal dev server on ${address} did not answer within ${timeoutMs} ms: ${String(lastError)}`);
}
