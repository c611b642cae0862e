import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { createWorker } from './createWorker.js';
import { TASK_QUEUE } from './core/names.js';
import { hostName } from './activities/lanes.js';
import { connectConfig, connectWorkerConnection } from './temporal/connection.js';
import { ensureSearchAttributes } from './temporal/searchAttributes.js';

const USAGE = `usage: npm run worker -- [--gpus 0,1,...] [--lanes N] [--machine-class LABEL]
  --gpus LIST            one lane per GPU index (env AUTORESEARCH_GPUS); each lane's trainer sees only its GPU
  --lanes N              N CPU lanes on a machine without GPUs (env AUTORESEARCH_LANES; default 1)
  --machine-class LABEL  the machine class of this worker's lanes (env AUTORESEARCH_MACHINE_CLASS): candidates
                         are compared with the incumbent's runs on their own class; default: the device the
                         trainer names (its summary's device_name: the GPU's name, or the CPU model)
Env: AUTORESEARCH_HOST names this host in lane ids (default: the machine's name); AUTORESEARCH_REPO is
this host's clone of the research repository; TEMPORAL_ADDRESS etc. name the server (default localhost:7233).`;

/** `npm run worker`: serves the shared queue `autoresearch` and one queue per lane of this host. */
async function main() {
  const { values } = parseArgs({ options: { gpus: { type: 'string' }, lanes: { type: 'string' }, 'machine-class': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return console.log(USAGE);
  const gpus = (values.gpus ?? process.env.AUTORESEARCH_GPUS ?? '').split(',').map((g) => g.trim()).filter(Boolean);
  const laneCount = Number(values.lanes ?? process.env.AUTORESEARCH_LANES ?? 1);
  if (!Number.isInteger(laneCount) || laneCount < 1) throw new Error(`--lanes: a whole number of at least 1 (got ${values.lanes ?? process.env.AUTORESEARCH_LANES})`);
  const machineClass = values['machine-class'] ?? process.env.AUTORESEARCH_MACHINE_CLASS;
  const { connectionOptions, namespace } = connectConfig();
  const admin = await Connection.connect(connectionOptions as Parameters<typeof Connection.connect>[0]);
  await ensureSearchAttributes(admin, namespace);
  await admin.close();
  const { connection } = await connectWorkerConnection();
  const worker = await createWorker({ connection, namespace, host: hostName(), gpus, laneCount, machineClass });
  const lanes = worker.lanes.map((l) => `${l.id}${l.gpu !== undefined ? ` (CUDA_VISIBLE_DEVICES=${l.gpu})` : ''}${l.machineClass ? ` [${l.machineClass}]` : ''}`).join(', ');
  console.log(`worker: task queue "${TASK_QUEUE}" on ${connectionOptions.address} (namespace ${namespace}); lanes: ${lanes}`);
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(`worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
