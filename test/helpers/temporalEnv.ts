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
