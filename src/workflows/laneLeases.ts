/**
 * The run's lanes: it holds a lease on `lanes` of them, each an activity that a worker with a free
 * lane runs for as long as the run keeps it. A lease that ends by itself means its host is gone:
 * the experiment on it is cancelled (the run moves it to another lane), and a new lease is asked
 * for (any live host, or the same one when it comes back, may grant it). Leases are activities,
 * not state: they end before continue-as-new and are asked for again after.
 */
import { CancellationScope, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { laneGrantedSignal, leaseQueue, type Lane } from '../definitions.js';

/** A lease: the lane once granted, and the experiment on it. */
export interface HeldLane {
  lane?: Lane;
  experiment?: number;
}

export class LaneLeases {
  private readonly leases = new Map<number, HeldLane>();
  private readonly scope = new CancellationScope();
  private count = 0;
  private ending = false;
  private readonly steps: ReturnType<typeof proxyActivities<Activities>>;

  constructor(heartbeatTimeoutSeconds: number, private readonly onLost: (experiment: number) => void) {
    this.steps = proxyActivities<Activities>({
      taskQueue: leaseQueue(workflowInfo().taskQueue),
      startToCloseTimeout: '365 days',
      heartbeatTimeout: `${heartbeatTimeoutSeconds} seconds`,
      retry: { maximumAttempts: 1 },
    });
    setHandler(laneGrantedSignal, ({ lease, lane }) => {
      const held = this.leases.get(lease);
      if (held && !held.lane) held.lane = lane; // a grant for a lease already lost changes nothing
    });
  }

  ask(): void {
    const lease = ++this.count;
    this.leases.set(lease, {});
    void this.scope.run(() => this.steps.holdLane({ lease })).catch(() => undefined).then(() => {
      const lost = this.leases.get(lease);
      this.leases.delete(lease);
      if (this.ending) return;
      if (lost?.experiment !== undefined) {
        log.warn('a lane was lost: its experiment moves to another lane', { lane: lost.lane?.id, experiment: lost.experiment });
        this.onLost(lost.experiment);
      }
      this.ask();
    });
  }

  /** Granted lanes with no experiment on them. */
  free(): HeldLane[] {
    return [...this.leases.values()].filter((l) => l.lane && l.experiment === undefined);
  }

  /** Whether the run still holds this lease (a lost one is gone from the map). */
  holds(held: HeldLane): boolean {
    return [...this.leases.values()].includes(held);
  }

  /** The lanes go back to their workers. */
  end(): void {
    this.ending = true;
    this.scope.cancel();
  }
}
