import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, type WorkflowBundle } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../src/temporal/devServer.js';
import { WORKFLOWS_PATH } from '../../src/createWorker.js';

/** A real dev server on a free port with its own SQLite file, plus a client; one per test file. */
export interface TestTemporal {
  server: DevServer;
  dbFile: string;
  client: Client;
  connection: Connection;
  workerConnection: NativeConnection;
  /** Restarts the server on the same port and database (the restart test). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestTemporal(opts: { dynamicConfig?: Record<string, string | number | boolean> } = {}): Promise<TestTemporal> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-temporal-'));
  const dbFile = path.join(dir, 'temporal.db');
  const logFile = path.join(dir, 'server.log');
  let server = await startDevServer({ dbFile, dynamicConfig: opts.dynamicConfig, logFile });
  const connection = await Connection.connect({ address: server.address });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  const env: TestTemporal = {
    server,
    dbFile,
    connection,
    workerConnection,
    client: new Client({ connection, namespace: 'default' }),
    async restart() {
      await server.stop();
      server = await startDevServer({ dbFile, port: server.port, dynamicConfig: opts.dynamicConfig, logFile });
      env.server = server;
    },
    async close() {
      await workerConnection.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await server.stop();
    },
  };
  return env;
}

export interface UseTestTemporalOptions {
  dynamicConfig?: Record<string, string | number | boolean>;
  /** Also build the workflow bundle before the tests (so the first worker does not pay for webpack). */
  bundle?: boolean;
  /** Bound on the start, in ms (default 120 s). */
  timeoutMs?: number;
}

/**
 * One dev server for the tests of a file: started in beforeAll, shut down in afterAll. Read `t` inside
 * the tests (or hooks registered after this call); reading it earlier throws. Tests that start or stop
 * servers themselves call `startTestTemporal` instead.
 */
export function useTestTemporal(opts: UseTestTemporalOptions = {}): { readonly t: TestTemporal } {
  let started: TestTemporal | undefined;
  beforeAll(async () => {
    const [t] = await Promise.all([startTestTemporal({ dynamicConfig: opts.dynamicConfig }), opts.bundle ? workflowBundle() : undefined]);
    started = t;
  }, opts.timeoutMs ?? 120_000);
  afterAll(async () => {
    await started?.close();
    started = undefined;
  });
  return {
    get t(): TestTemporal {
      if (!started) throw new Error('useTestTemporal: the dev server is not started; read `t` inside a test or a hook registered after useTestTemporal()');
      return started;
    },
  };
}

let bundle: Promise<WorkflowBundle> | undefined;
/** Bundles the workflow code once per test file (webpack is slow). */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  return bundle;
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`;
}
