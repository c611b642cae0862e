/**
 * An experiment's result: the one shape from the run's decision to its row of results.tsv
 * (resultsTsv.ts writes and reads it), and which of a set of results is the best.
 */

export const EXPERIMENT_STATUSES = ['keep', 'discard', 'crash', 'invalid'] as const;
export type ExperimentStatus = (typeof EXPERIMENT_STATUSES)[number];

/** One experiment's outcome: one row of results.tsv, plus what the run needs to decide and report. */
export interface ExperimentRecord {
  /** The experiment number, from 0 (the unmodified baseline). */
  experiment: number;
  /** `<workflow id of the run>/exp-NNNN`: the child workflow's id and the commit trailer. */
  experimentId: string;
  /** Short commit hash ('' for an invalid proposal that was never committed). */
  commit: string;
  commitFull: string;
  /** The mean val_bpb of its runs; 0 for crash and invalid rows. */
  valBpb: number;
  /** Peak memory in GB (0 for crash and invalid rows). */
  memoryGb: number;
  status: ExperimentStatus;
  description: string;
  hypothesis: string;
  /** Cost of this experiment's proposer calls, USD. */
  costUsd: number;
  /** Why it was kept, discarded, crashed or was invalid, in words. */
  reason?: string;
  /** The lane it trained on. */
  lane?: string;
  /** Size of the last prompt sent, for the worst-case cost of the next call. */
  promptChars?: number;
  /** The keep decision's inputs: the incumbent's mean minus this one's, bpb (positive is better). */
  delta?: number;
  /** σ of one training run, bpb, as the decision saw it (0 under the greedy rule). */
  sigma?: number;
  /** Runs of this experiment beyond its first that the keep rule asked for: confirmations and re-measurements (results.tsv's `confirmations`). */
  extraRuns?: number;
  /** Proposals refused for it before training because the journal had trained their code already. */
  refusals?: number;
  /** Training steps and tokens of its latest run, as the trainer reported them. */
  steps?: number;
  tokens?: number;
  /** The experiment its code started from (absent for a baseline): the best, or a node tree search branched from. */
  parent?: number;
}

/** The best kept experiment: where edits start and reverts return. */
export interface BestResult {
  experiment: number;
  commit: string;
  commitFull: string;
  valBpb: number;
}

/** The commit edits start from and reverts return to: the best's, or the run's base commit until something is kept. */
export function bestCommitOf(s: { best?: Pick<BestResult, 'commitFull'>; baseCommit?: string }): string {
  return s.best?.commitFull ?? s.baseCommit!;
}

/** Whether the trainer produced a val_bpb (keep and discard rows; crash and invalid rows have none). */
export function wasTrained(r: { status: ExperimentStatus }): boolean {
  return r.status === 'keep' || r.status === 'discard';
}

/**
 * The best of a set of results, in the order they were decided: the latest keep. Every keep moves
 * the run's branch to its commit, so this is the branch's tip. It is not always the lowest val_bpb:
 * a change with fewer lines is kept when it is no worse within the noise, and its val_bpb may be
 * a little higher.
 */
export function bestOf<R extends { status: ExperimentStatus }>(results: readonly R[]): R | undefined {
  for (let i = results.length - 1; i >= 0; i--) if (results[i].status === 'keep') return results[i];
  return undefined;
}

export function oneLine(s: string): string {
  return s.replace(/[\t\r\n]+/g, ' ').trim();
}
