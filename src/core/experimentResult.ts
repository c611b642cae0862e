/**
 * One shape for a result, from the trainer's summary to the row. A training run's summary
 * (trainerSummary.ts) becomes a Measurement; an experiment's runs and its lane's decision are
 * `Measured`; the experiment hands the run an ExperimentResult; the run judges it and records an
 * ExperimentRecord, which is the row of results.tsv (resultsTsv.ts) and reads back as a ResultRow.
 * val_bpb is `valBpb` from the summary on: the trainer and results.tsv spell it as the original does.
 */
import { experimentId } from './names.js';
import { judge, meanValBpb, type Measured, type ModelShape, type Outcome, type Reference } from './keepDecision.js';
import type { Measurement } from './noiseEstimate.js';
import type { BestResult, ExperimentRecord } from './results.js';
import type { TrainerSummary } from './trainerSummary.js';
import type { RunConfig } from './runInput.js';

/** What an experiment hands back to its run: the record before the run's decision, and what the decision needs. */
export type ExperimentResult = Omit<ExperimentRecord, 'experiment' | 'experimentId' | 'status' | 'valBpb' | 'delta' | 'sigma' | 'extraRuns' | 'steps' | 'tokens'> & {
  outcome: Outcome;
  /** The end of the log of a crashed experiment. */
  logTail?: string;
  /** Its runs and the keep decision its lane reached (absent when it did not train). */
  measured?: Measured;
};

/** One training run's figures for the keep rule, from its summary. */
export function measurementOf(s: TrainerSummary): Measurement {
  return {
    valBpb: s.val_bpb, steps: s.num_steps, trainingSeconds: s.training_seconds,
    // total_tokens is exact; total_tokens_M is rounded to 0.1 M (163,840 tokens print as 0.2).
    tokens: typeof s.total_tokens === 'number' ? s.total_tokens : s.total_tokens_M === undefined ? undefined : Math.round(s.total_tokens_M * 1e6),
  };
}

export function shapeOf(s: TrainerSummary): ModelShape {
  return { numParamsM: s.num_params_M, depth: s.depth };
}

/** Peak memory in GB, to one decimal, as results.tsv has it (0 when the trainer did not say). */
export function memoryGbOf(s: TrainerSummary | undefined): number {
  return s?.peak_vram_mb !== undefined ? Math.round((s.peak_vram_mb / 1024) * 10) / 10 : 0;
}

/** The outcome of an experiment whose lane measured it (absent: it crashed on its first run). */
export function outcomeOf(measured: Measured | undefined): Outcome {
  return measured ? { kind: 'trained', valBpb: meanValBpb(measured) } : { kind: 'crash' };
}

/**
 * The record of a finished experiment: its result judged against the best of now (keepDecision.ts
 * `judge`), with the decision's inputs for results.tsv. `baseline`: the run's first experiment,
 * whose delta means nothing.
 */
export function judgedRecord(
  config: RunConfig, state: Reference & { best?: BestResult }, at: { runWorkflowId: string; experiment: number; startedFrom?: BestResult; baseline: boolean },
  result: ExperimentResult,
): ExperimentRecord {
  const { status, reason, decision } = judge(config, state, at.startedFrom, result.outcome, result.measured);
  // A result recorded before `reason` had its name carries it as `error`.
  const { outcome, logTail: _logTail, measured, error: legacyReason, ...rest } = result as ExperimentResult & { error?: string };
  const last = measured?.candidate.at(-1);
  const given = result.reason ?? legacyReason;
  return {
    ...rest, experiment: at.experiment, experimentId: experimentId(at.runWorkflowId, at.experiment), status,
    valBpb: outcome.kind === 'trained' ? outcome.valBpb : 0, reason: given ?? reason,
    delta: decision && !at.baseline ? decision.delta : undefined, sigma: decision?.sigma,
    extraRuns: measured ? measured.candidate.length - 1 : 0, steps: last?.steps, tokens: last?.tokens,
  };
}

/** The record of an experiment whose child workflow failed past its retries: a crash row. */
export function failedRecord(runWorkflowId: string, experiment: number, failure: { cause: string; message: string }): ExperimentRecord {
  return {
    experiment, experimentId: experimentId(runWorkflowId, experiment), commit: '', commitFull: '', valBpb: 0, memoryGb: 0,
    status: 'crash', description: `experiment failed: ${failure.cause}`.slice(0, 200), hypothesis: '', costUsd: 0, reason: failure.message,
  };
}
