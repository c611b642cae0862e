/** The typed failure in a Temporal failure chain, as the workflows and the CLI read it. */
import { ApplicationFailure, rootCause, TemporalFailure } from '@temporalio/common';
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

/** A failure in words for a results row: its root cause and its message. */
export function describeFailure(err: unknown): { cause: string; message: string } {
  return { cause: rootCause(err as Error) ?? String(err), message: String((err as Error)?.message ?? err) };
}
