/**
 * The run's lanes: it holds a lease on `lanes` of them, each an activity that a worker with a free
 * lane runs for as long as the run keeps it. A lease that ends by itself means its host is gone:
 * the experiment on it is cancelled (the run moves it to another lane), and a new lease is asked
 * for (any live host, or the same one when it comes back, may grant it). A lease the run gives
 * back (paused, or ending) is cancelled on purpose and not asked for again until the run wants
 * more lanes. Leases are activities, not state: they end before continue-as-new and are asked for
 * again after.
 */
import { CancellationScope, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../api/activities.js';
import { laneGrantedSignal } from '../api/messages.js';
import { leaseQueue, type Lane } from '../core/names.js';

/** A lease: the lane once granted, and the experiment on it. */
export interface HeldLane {
  lane?: Lane;
  experiment?: number;
}

export class LaneLeases {
  private readonly leases = new Map<number, HeldLane>();
  /** Each lease's own scope (under `scope`), so that one can be given back alone. */
  private readonly scopes = new Map<number, CancellationScope>();
  /** Leases given back and not yet ended: their end is no lost host. */
  private readonly released = new Set<number>();
  private readonly scope = new CancellationScope();
  private count = 0;
  private ending = false;
  private readonly lease: ReturnType<typeof proxyActivities<Activities>>;

  /** `target`: how many leases the run wants now; a lost lease is asked for again only while it wants more. */
  constructor(heartbeatTimeoutSeconds: number, private readonly onLost: (experiment: number) => void, private readonly target: () => number) {
    this.lease = proxyActivities<Activities>({
      taskQueue: leaseQueue(workflowInfo().taskQueue),
      startToCloseTimeout: '365 days',
      heartbeatTimeout: `${heartbeatTimeoutSeconds} seconds`,
      retry: { maximumAttempts: 1 },
    });
    setHandler(laneGrantedSignal, ({ lease, lane }) => {
      const held = this.leases.get(lease);
      if (held && !held.lane) held.lane = lane; // a grant for a lease already lost or given back changes nothing
    });
  }

  ask(): void {
    const lease = ++this.count;
    this.leases.set(lease, {});
    const scope = new CancellationScope({ cancellable: true, parent: this.scope });
    this.scopes.set(lease, scope);
    void scope.run(() => this.lease.holdLane({ lease })).catch(() => undefined).then(() => {
      this.scopes.delete(lease);
      if (this.released.delete(lease)) return;
      const lost = this.leases.get(lease);
      this.leases.delete(lease);
      if (this.ending) return;
      if (lost?.experiment !== undefined) {
        log.warn('a lane was lost: its experiment moves to another lane', { lane: lost.lane?.id, experiment: lost.experiment });
        this.onLost(lost.experiment);
      }
      if (this.leases.size < this.target()) this.ask();
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

  /** Lanes granted, and leases asked for and not granted yet (what the run waits for). */
  counts(): { held: number; waitingFor: number } {
    const held = [...this.leases.values()].filter((l) => l.lane).length;
    return { held, waitingFor: this.leases.size - held };
  }

  /** Whether `fit(wanted)` would change anything: too few leases, or an idle one too many. */
  misfit(wanted: number): boolean {
    return this.leases.size < wanted || (this.leases.size > wanted && this.idle().length > 0);
  }

  /**
   * Asks for leases up to `wanted`, or gives idle ones back down to it, those not yet granted
   * first. A lease with an experiment on it is kept until the experiment ends.
   */
  fit(wanted: number): void {
    for (const [lease] of this.idle()) {
      if (this.leases.size <= wanted) break;
      this.leases.delete(lease);
      this.released.add(lease);
      this.scopes.get(lease)?.cancel(); // the worker learns at its next heartbeat and frees the lane
    }
    while (this.leases.size < wanted) this.ask();
  }

  /** The lanes go back to their workers. */
  end(): void {
    this.ending = true;
    this.scope.cancel();
  }

  /** Leases with no experiment, those not granted yet first. */
  private idle(): [number, HeldLane][] {
    const idle = [...this.leases].filter(([, l]) => l.experiment === undefined);
    return [...idle.filter(([, l]) => !l.lane), ...idle.filter(([, l]) => l.lane)];
  }
}
