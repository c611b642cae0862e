import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
import { TASK_QUEUE } from './definitions.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/** One place that builds a worker, for `npm run worker`, the quick start and the tests. */
export function createWorker(opts: {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  workflowBundle?: WorkerOptions['workflowBundle'];
  activities?: ReturnType<typeof createActivities>;
}): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    activities: opts.activities ?? createActivities(),
    // On SIGINT/SIGTERM running activities are cancelled; train() then ends its trainer's process group.
    shutdownGraceTime: '15 seconds',
  });
}
