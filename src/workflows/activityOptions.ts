import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { TrainerConfig } from '../config/runInput.js';

/** Errors that retrying cannot fix: the activities raise them as non-retryable ApplicationFailures. */
/** Of those, the ones that end the run: every later experiment would fail the same way. */
export const NON_RETRYABLE_FATAL = ['InvalidRunInput', 'ProposerFatal', 'TrainerConfig'];
export const NON_RETRYABLE = [...NON_RETRYABLE_FATAL, 'EditRejected', 'ProposalInvalid'];

/** Short local steps (git, files): quick retries. */
export const io = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE },
});

/** The proposer: an LLM endpoint may be down for a while; the run waits for it rather than failing. */
export const proposer = proxyActivities<Activities>({
  // Covers the proposer's own bounded retries (4 attempts of up to 300 s plus backoff).
  startToCloseTimeout: '25 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: NON_RETRYABLE },
});

/** Training: the hard limit is the trainer's timeoutSeconds; heartbeats reveal a dead worker early. */
export function trainer(config: TrainerConfig) {
  return proxyActivities<Activities>({
    startToCloseTimeout: `${config.timeoutSeconds} seconds`,
    heartbeatTimeout: `${config.heartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '5 seconds', maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
  });
}
