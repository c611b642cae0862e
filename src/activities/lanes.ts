/**
 * The lanes a worker serves, and the lease a run holds on one for its experiments. A lease is an
 * activity on the shared lease queue that runs for as long as the run keeps the lane: the worker
 * runs at most one lease per lane at once, so no two experiments (of one run or of two) share a
 * GPU, and a host that dies stops heartbeating its leases, which is how its runs learn to move the
 * experiments on them.
 */
import os from 'node:os';
import { Context } from '@temporalio/activity';
import { laneGrantedSignal } from '../api/messages.js';
import { laneQueue, type Lane } from '../core/names.js';
import { machineClassOf } from '../core/machineClass.js';

/** This host's name in lane ids: AUTORESEARCH_HOST, else the machine's host name. */
export function hostName(): string {
  return process.env.AUTORESEARCH_HOST ?? os.hostname();
}

/**
 * One lane per listed GPU (`--gpus 0,1` / AUTORESEARCH_GPUS), else `count` CPU lanes; each with the
 * worker's machine class label when it has one (`--machine-class` / AUTORESEARCH_MACHINE_CLASS).
 */
export function lanesOf(sharedQueue: string, opts: { host: string; gpus?: string[]; count?: number; machineClass?: string }): Lane[] {
  const slots = opts.gpus?.length ? opts.gpus.map((gpu) => ({ id: `${opts.host}-gpu${gpu}`, gpu })) : Array.from(
    { length: opts.count ?? 1 }, (_, i) => ({ id: `${opts.host}-cpu${i}`, gpu: undefined as string | undefined }));
  const label = machineClassOf(opts.machineClass, undefined);
  return slots.map(({ id, gpu }) => ({
    id, host: opts.host, queue: laneQueue(sharedQueue, id), ...(gpu !== undefined ? { gpu } : {}), ...(label !== undefined ? { machineClass: label } : {}),
  }));
}

/** The lanes of this worker not leased now. */
export class LanePool {
  private readonly free: Lane[];
  constructor(readonly lanes: Lane[]) {
    this.free = [...lanes];
  }
  take(): Lane {
    const lane = this.free.shift();
    // Cannot happen while the lease worker runs at most lanes.length leases at once.
    if (!lane) throw new Error('no free lane on this worker');
    return lane;
  }
  give(lane: Lane): void {
    this.free.push(lane);
  }
}

const HEARTBEAT_MS = 1_000;

export function holdLaneWith(pool: LanePool) {
  /** Takes a free lane, tells the experiment which, and holds it until the experiment cancels the lease. */
  return async function holdLane(input: { lease: number }): Promise<void> {
    const ctx = Context.current();
    const lane = pool.take();
    try {
      const execution = ctx.info.workflowExecution;
      if (!execution) throw new Error('holdLane runs only for an experiment workflow');
      await ctx.client.workflow.getHandle(execution.workflowId, execution.runId).signal(laneGrantedSignal, { lease: input.lease, lane });
      const beat = Math.min(HEARTBEAT_MS, (ctx.info.heartbeatTimeoutMs ?? Infinity) / 3);
      for (;;) {
        ctx.heartbeat({ lane: lane.id });
        await ctx.sleep(beat); // rejects when the lease is cancelled: the experiment is done with the lane
      }
    } finally {
      pool.give(lane);
    }
  };
}
