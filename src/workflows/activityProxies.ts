/**
 * The activities as the workflows call them: which queue, which timeouts, which retries.
 * Git and file steps retry until they succeed (a full disk for a minute, a lock): the run waits,
 * and the web UI shows the pending step's last failure. They heartbeat (every activity but train
 * and the lease does, from a wrapper), so a dead worker is noticed in SHORT_HEARTBEAT, not at the
 * start-to-close timeout.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../api/activities.js';
import { NON_RETRYABLE } from '../core/failures.js';
import type { Lane } from '../core/names.js';
import type { RunConfig } from '../core/runInput.js';

const RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE };
const SHORT_HEARTBEAT = '20 seconds';
export const SHORT_STEP = { startToCloseTimeout: '10 minutes', heartbeatTimeout: SHORT_HEARTBEAT, retry: RETRY } as const;

/** The run's git steps on the shared queue (any host): prepare the run, keep, write results.tsv and steering.tsv. */
export const remoteSteps = proxyActivities<Activities>(SHORT_STEP);

/** The proposer: an LLM endpoint may be down for a while; the run waits for it rather than failing. */
export const proposer = proxyActivities<Activities>({
  // Covers the proposer's own bounded retries (4 attempts of up to 300 s plus backoff).
  startToCloseTimeout: '25 minutes',
  heartbeatTimeout: SHORT_HEARTBEAT,
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: NON_RETRYABLE },
});

/** An experiment's steps on its lane's queue: the short git and file steps, and the trainer with its own timeouts. */
export function laneActivities(lane: Lane, config: RunConfig) {
  return {
    laneSteps: proxyActivities<Activities>({ taskQueue: lane.queue, ...SHORT_STEP }),
    trainer: proxyActivities<Activities>({
      taskQueue: lane.queue,
      startToCloseTimeout: `${config.trainer.timeoutSeconds} seconds`,
      heartbeatTimeout: `${config.trainer.heartbeatTimeoutSeconds} seconds`,
      retry: { initialInterval: '5 seconds', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
    }),
  };
}
