/** The typed failure in a Temporal failure chain, as the workflows and the CLI read it. */
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import { RUN_FATAL, type FailureType } from '../core/failures.js';

/** The typed ApplicationFailure in a failure chain (ChildWorkflowFailure → ActivityFailure → ApplicationFailure). */
export function applicationFailureOf(err: unknown): ApplicationFailure | undefined {
  for (let e: unknown = err; e instanceof TemporalFailure; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type) return e;
  }
  return undefined;
}

export function isRunFatal(err: unknown): boolean {
  return RUN_FATAL.includes(applicationFailureOf(err)?.type as FailureType);
}
