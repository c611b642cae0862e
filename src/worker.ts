import { Connection } from '@temporalio/client';
import { createWorker } from './createWorker.js';
import { connectConfig, connectWorkerConnection } from './temporal/connection.js';
import { TASK_QUEUE } from './definitions.js';
import { ensureSearchAttributes } from './temporal/searchAttributes.js';

/** `npm run worker`: serves the `autoresearch` task queue on the server named by TEMPORAL_ADDRESS (default localhost:7233). */
async function main() {
  const { connectionOptions, namespace } = connectConfig();
  const admin = await Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]);
  await ensureSearchAttributes(admin, namespace);
  await admin.close();
  const { connection } = await connectWorkerConnection();
  const worker = await createWorker({ connection, namespace });
  console.log(`worker: task queue "${TASK_QUEUE}" on ${connectionOptions.address} (namespace ${namespace})`);
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(`worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
