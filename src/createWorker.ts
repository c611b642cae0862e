import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities/index.js';
import type { WorkerActivities } from './api/activities.js';
import { holdLaneWith, hostName, LanePool, lanesOf } from './activities/lanes.js';
import { endOrphanTrainers } from './activities/trainerProcess.js';
import { leaseQueue, TASK_QUEUE, type Lane } from './core/names.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

/** The Temporal workers of one process: the shared queue, the lane leases, and one queue per lane. */
export interface ResearchWorker {
  readonly lanes: Lane[];
  run(): Promise<void>;
  /** Runs the workers until `work` settles, then shuts them down. */
  runUntil<R>(work: Promise<R> | (() => Promise<R>)): Promise<R>;
  shutdown(): void;
}

export interface ResearchWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  workflowBundle?: WorkerOptions['workflowBundle'];
  activities?: WorkerActivities;
  /** This host's name in lane ids (default AUTORESEARCH_HOST, else the machine's name). */
  host?: string;
  /** One lane per GPU index, or `laneCount` CPU lanes (default 1). */
  gpus?: string[];
  laneCount?: number;
  /** A label for this worker's machines, their lanes' machine class (default: the device each trainer names). */
  machineClass?: string;
}

/** One place that builds the workers, for `npm run worker`, the quick start and the tests. */
export async function createWorker(opts: ResearchWorkerOptions): Promise<ResearchWorker> {
  const sharedQueue = opts.taskQueue ?? TASK_QUEUE;
  const lanes = lanesOf(sharedQueue, { host: opts.host ?? hostName(), gpus: opts.gpus, count: opts.laneCount, machineClass: opts.machineClass });
  const activities = { ...(opts.activities ?? createActivities()), holdLane: holdLaneWith(new LanePool(lanes)) };
  // A worker that died left its trainers running; an experiment that moved to another host never comes back to end them.
  const orphans = await endOrphanTrainers(lanes.map((l) => l.id));
  if (orphans.length) console.warn(`worker: ended ${orphans.length} trainer process group(s) a dead worker left on these lanes: ${orphans.join(', ')}`);
  const base = {
    connection: opts.connection,
    namespace: opts.namespace,
    activities,
    // On SIGINT/SIGTERM running activities are cancelled; train() then ends its trainer's process group.
    shutdownGraceTime: '15 seconds',
  };
  const workers = await Promise.all([
    // Heartbeats sent within a second: hypothesize's heartbeat records the money each call spent, which a
    // retried attempt counts only if the heartbeat reached the server before the worker died.
    Worker.create({ ...base, taskQueue: sharedQueue, maxHeartbeatThrottleInterval: '1 second',
      ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }) }),
    // At most one lease per lane at once: the lease is what keeps two experiments off one GPU.
    // Heartbeats not held back: a lease learns within a second that its run let it go, and frees its lane.
    Worker.create({ ...base, taskQueue: leaseQueue(sharedQueue), maxConcurrentActivityTaskExecutions: lanes.length, maxHeartbeatThrottleInterval: '1 second' }),
    // One step at a time per lane: its edit, commit, train and evaluate follow each other. Heartbeats
    // held back 5 s at most (the default is 80% of the heartbeat timeout, 48 s): the trainer's progress
    // in them is what `research wait`/`watch` and the web UI show.
    ...lanes.map((lane) => Worker.create({ ...base, taskQueue: lane.queue, maxConcurrentActivityTaskExecutions: 1, maxHeartbeatThrottleInterval: '5 seconds' })),
  ]);
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const run = async () => {
    const runs = workers.map((w) => w.run());
    try {
      await Promise.all(runs);
    } finally {
      shutdown(); // one worker failing stops the others
      await Promise.allSettled(runs);
    }
  };
  return {
    lanes,
    run,
    shutdown,
    async runUntil(work) {
      let done = false;
      const stopped = run().then(() => {
        if (!done) throw new Error('the workers stopped before the work was done');
      });
      try {
        return await Promise.race([typeof work === 'function' ? work() : work, stopped as Promise<never>]);
      } finally {
        done = true;
        shutdown();
        await stopped.catch(() => undefined);
      }
    },
  };
}
