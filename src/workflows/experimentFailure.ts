import { ApplicationFailure, rootCause, TemporalFailure } from '@temporalio/workflow';
import { NON_RETRYABLE_FATAL } from './activityOptions.js';
import { experimentName, type ExperimentRecord } from './types.js';

/** The typed ApplicationFailure in a failure chain (ChildWorkflowFailure → ActivityFailure → ApplicationFailure). */
export function applicationFailureOf(err: unknown): ApplicationFailure | undefined {
  for (let e: unknown = err; e instanceof TemporalFailure; e = e.cause) {
    if (e instanceof ApplicationFailure && e.type) return e;
  }
  return undefined;
}

export function rootFailureType(err: unknown): string | undefined {
  return applicationFailureOf(err)?.type ?? undefined;
}

/** Failures no later experiment can get past: the run ends with them. */
export function isRunFatal(err: unknown): boolean {
  const type = rootFailureType(err);
  return type !== undefined && NON_RETRYABLE_FATAL.includes(type);
}

/** The results row of an experiment whose child workflow failed. */
export function failedExperiment(runId: string, index: number, err: unknown): ExperimentRecord {
  return {
    index, experimentId: `${runId}/${experimentName(index)}`, commit: '', commitFull: '', valBpb: 0, memoryGb: 0,
    status: 'crash', description: `experiment failed: ${rootCause(err as Error) ?? String(err)}`.slice(0, 200),
    hypothesis: '', costUsd: 0, error: String((err as Error)?.message ?? err),
  };
}
