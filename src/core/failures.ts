/**
 * Failure types: what an activity raises as a non-retryable ApplicationFailure, and the errors a
 * proposer throws that become them. The failure chain itself is read by ../api/failures.ts.
 */
import type { Usage } from './usage.js';

export const FAILURE = {
  /** The run input cannot work (names the field). Ends the run. */
  InvalidRunInput: 'InvalidRunInput',
  /** The proposer cannot work (bad key, unknown model). Ends the run. */
  ProposerFatal: 'ProposerFatal',
  /** The trainer command cannot start. Ends the run. */
  TrainerConfig: 'TrainerConfig',
  /** An edit that does not apply or parse: goes back to the proposer. */
  EditRejected: 'EditRejected',
  /** Proposer output that is not a valid proposal: goes back to the proposer. */
  ProposalInvalid: 'ProposalInvalid',
} as const;
export type FailureType = (typeof FAILURE)[keyof typeof FAILURE];

/** Failures no later experiment can get past: the run ends with them. */
export const RUN_FATAL: FailureType[] = [FAILURE.InvalidRunInput, FAILURE.ProposerFatal, FAILURE.TrainerConfig];
/** Failures the proposer can repair. */
export const REPAIRABLE: FailureType[] = [FAILURE.EditRejected, FAILURE.ProposalInvalid];
export const NON_RETRYABLE: FailureType[] = [...RUN_FATAL, ...REPAIRABLE];

/**
 * A proposer error that retrying cannot fix (bad key, bad request, model refuses the tool).
 * The hypothesize activity turns it into a non-retryable ApplicationFailure.
 */
export class ProposerFatalError extends Error {
  constructor(message: string, readonly type: string = FAILURE.ProposerFatal, readonly usage?: Usage) {
    super(message);
    this.name = 'ProposerFatalError';
  }
}

/** The model returned something that does not validate as a Proposal; goes back to it for repair. */
export class ProposalInvalidError extends Error {
  /** A call that was answered (and billed) but gave no usable proposal still counts toward the cost. */
  constructor(message: string, readonly usage?: Usage) {
    super(message);
    this.name = 'ProposalInvalidError';
  }
}
