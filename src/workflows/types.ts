/** Types and naming shared by workflow and activity code. No imports: workflow-safe. */

export type ExperimentStatus = 'keep' | 'discard' | 'crash' | 'invalid';

/** One row of results.tsv, plus what the workflow needs to decide and report. */
export interface ExperimentRecord {
  /** 0-based experiment number; 0 is the unmodified baseline. */
  index: number;
  /** `<runId>/exp-NNNN` */
  experimentId: string;
  /** Short commit hash ('' for an invalid proposal that was never committed). */
  commit: string;
  /** Full commit hash. */
  commitFull: string;
  /** 0 for crash/invalid rows. */
  valBpb: number;
  /** Peak memory in GB (0 for crash/invalid rows). */
  memoryGb: number;
  status: ExperimentStatus;
  description: string;
  hypothesis: string;
  /** Cost of the proposer calls for this experiment, USD. */
  costUsd: number;
  /** Other summary keys the trainer printed. */
  metrics?: Record<string, number>;
  /** Why it crashed or was invalid. */
  error?: string;
  /** Size of the last prompt sent, for the worst-case cost of the next call. */
  promptChars?: number;
}

/** `exp-0007`: child workflow id suffix, log file name, discarded ref name. */
export function experimentName(index: number): string {
  return `exp-${String(index).padStart(4, '0')}`;
}

export function spentUsd(records: ExperimentRecord[]): number {
  return records.reduce((s, r) => s + r.costUsd, 0);
}

/** A person's note for the proposer, and the first experiment whose hypothesis sees it. */
export interface SteeringNote {
  note: string;
  fromExperiment: number;
}
