import { Context } from '@temporalio/activity';

/**
 * Heartbeats for the activities that do not beat on their own (all but train and holdLane), so
 * the workflow can give them a short heartbeat timeout and a dead worker is noticed in seconds
 * rather than at the end of the start-to-close timeout.
 */

/** At most this long between beats; with a heartbeat timeout, a quarter of it (four beats per timeout). */
const MAX_BEAT_MS = 5_000;
const MIN_BEAT_MS = 100;

/** The details the beats carry, per running activity: the previous attempt's until this one sets its own. */
const detailsOf = new WeakMap<Context, { details: unknown }>();

export function beatIntervalMs(heartbeatTimeoutMs: number | undefined): number {
  return Math.max(MIN_BEAT_MS, Math.min(MAX_BEAT_MS, (heartbeatTimeoutMs ?? Infinity) / 4));
}

/** Wraps an activity so that it heartbeats from its start until it settles. */
export function heartbeating<A extends unknown[], R>(activity: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  const wrapped = async (...args: A): Promise<R> => {
    const ctx = Context.current();
    // Carried forward, so what an earlier attempt recorded (money spent) outlives an attempt that records nothing.
    const state = { details: ctx.info.heartbeatDetails as unknown };
    detailsOf.set(ctx, state);
    const beat = () => ctx.heartbeat(state.details);
    beat();
    const timer = setInterval(beat, beatIntervalMs(ctx.info.heartbeatTimeoutMs));
    try {
      return await activity(...args);
    } finally {
      clearInterval(timer);
    }
  };
  Object.defineProperty(wrapped, 'name', { value: activity.name });
  return wrapped;
}

/** Sets the details every later beat of this activity carries, and beats now. */
export function recordHeartbeatDetails(details: unknown): void {
  const ctx = Context.current();
  const state = detailsOf.get(ctx);
  if (state) state.details = details;
  ctx.heartbeat(details);
}
