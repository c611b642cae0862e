import { execa, type ResultPromise } from 'execa';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { searchAttributeFlags } from './searchAttributes.js';

const TEMPORAL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../temporal');

/** Path of the Temporal CLI, built by temporal/install.sh when missing (cached outside the clone). */
export async function temporalCli(): Promise<string> {
  const { stdout } = await execa('bash', [path.join(TEMPORAL_DIR, 'install.sh')], { stderr: 'inherit' });
  return stdout.trim();
}

/**
 * A free loopback port below Linux's ephemeral range (32768+): a port the OS handed out with
 * listen(0) can be taken by any outgoing connection before the server binds it (seen in CI).
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free port found between 20000 and 32000');
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
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


class ExitedDuringStartup extends Error {}

/**
 * Starts `temporal server start-dev` on loopback and waits (bounded) until it answers. The server
 * also binds ports of its own choosing; when one is taken meanwhile it exits, and a fresh try with
 * new ports follows (a fixed `port`, as in a restart, is kept).
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(opts);
    } catch (err) {
      if (attempt >= 3 || !(err instanceof ExitedDuringStartup)) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}


async function startDevServerOnce(opts: DevServerOptions): Promise<DevServer> {
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
    if (exited()) throw new ExitedDuringStartup(`temporal dev server on ${address} exited during start-up (see its log)`);
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
