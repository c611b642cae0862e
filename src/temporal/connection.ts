import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';

export const DEFAULT_ADDRESS = 'localhost:7233';

/**
 * Connection settings from Temporal's own environment variables and config profile
 * (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS, TEMPORAL_PROFILE), defaulting to the local server.
 */
export function connectConfig() {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  return {
    connectionOptions: { ...connectionOptions, address: connectionOptions.address ?? DEFAULT_ADDRESS },
    namespace: namespace ?? 'default',
  };
}

export async function connectClient(): Promise<Client> {
  const { connectionOptions, namespace } = connectConfig();
  const connection = await Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]);
  return new Client({ connection, namespace });
}

export async function connectWorkerConnection() {
  const { connectionOptions, namespace } = connectConfig();
  return { connection: await NativeConnection.connect(connectionOptions), namespace };
}

/** The web UI address for a workflow, for the local dev server or TEMPORAL_UI_URL when set. */
export function webUiUrl(workflowId?: string): string {
  const base = process.env.TEMPORAL_UI_URL ?? guessUiBase(connectConfig().connectionOptions.address);
  const ns = connectConfig().namespace;
  return workflowId ? `${base}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}` : base;
}

function guessUiBase(address: string): string {
  // The dev server's UI listens on the gRPC port + 1000 by default.
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) return 'http://localhost:8233';
  const host = m[1] === '127.0.0.1' ? 'localhost' : m[1];
  return `http://${host}:${Number(m[2]) + 1000}`;
}
