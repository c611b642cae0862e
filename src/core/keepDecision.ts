/**
 * The keep decision as the run makes it: what it compares with (the incumbent's own runs and
 * shape, former incumbents' noise as sums), what an experiment hands back (its runs and the
 * decision it reached on its lane), and the final compare-and-set against the best of now. The
 * rules themselves are keepRule.ts; the runs they ask for, measuring.ts. Pure.
 */
import type { RunConfig } from './runInput.js';
import type { BestResult, ExperimentStatus } from './results.js';
import { decideKeep, type Decision } from './keepRule.js';
import { estimateNoise, type Measurement, type NoiseEstimate } from './noiseEstimate.js';
import type { BudgetKind } from './decisionConfig.js';
import type { Outcome, RunState } from './runState.js';

/** The best's runs and model shape. */
export interface Incumbent {
  runs: Measurement[];
  shape?: ModelShape;
}
export interface ModelShape {
  numParamsM?: number;
  depth?: number;
}
/** Runs of the incumbent kept in the state; older ones are pooled into the noise sums. */
export const INCUMBENT_RUNS = 20;

/** What an experiment measured for the keep decision, beside its outcome. */
export interface Measured {
  /** Every run of the candidate: its first, confirmations, re-measurements. */
  candidate: Measurement[];
  /** Runs of the incumbent it made beside confirmations. */
  incumbentReruns: Measurement[];
  /** Fresh runs of the candidate once the experiment judged it a keep: the new incumbent's reference. */
  fresh: Measurement[];
  remeasured: number;
  netAddedLines?: number;
  shape?: ModelShape;
  /** The decision the experiment reached against the incumbent it started from. */
  decision: Decision;
}

/** What the trainer's budget counts: a token budget makes results independent of the machine's speed. */
export function budgetOf(config: RunConfig): BudgetKind {
  return config.trainer.tokenBudget ? 'tokens' : 'time';
}

/** σ of one run as the keep rule sees it now: the incumbent's runs pooled with former incumbents'. */
export function noiseOf(config: RunConfig, state: Pick<RunState, 'incumbent' | 'noise'>, extraRuns: Measurement[] = []): NoiseEstimate {
  return estimateNoise([[...state.incumbent.runs, ...extraRuns]], budgetOf(config), config.decision, state.noise);
}

/**
 * Keep or revert one finished experiment against the best as it is now (compare-and-set: other
 * lanes may have moved it since this one started). The experiment decided against the incumbent
 * it started from, with the confirmations the rule asked for; when the best has moved since, its
 * runs are judged again against the new incumbent, with no further runs, and a result that would
 * have been kept says why it was not.
 */
export function judge(
  config: RunConfig, state: Pick<RunState, 'best' | 'incumbent' | 'noise'>, startedFrom: BestResult | undefined, outcome: Outcome, measured?: Measured,
): { status: ExperimentStatus; reason?: string; decision?: Decision } {
  if (outcome.kind !== 'trained' || !measured) return { status: outcome.kind === 'trained' ? 'crash' : outcome.kind };
  const sameIncumbent = state.best?.experiment === startedFrom?.experiment;
  if (sameIncumbent) {
    const { decision } = measured;
    return { status: decision.verdict === 'keep' ? 'keep' : 'discard', reason: decision.reason, decision };
  }
  const decision = decideKeep({
    incumbent: state.incumbent.runs, candidate: measured.candidate, noise: noiseOf(config, state), budget: budgetOf(config),
    netAddedLines: measured.netAddedLines, remeasured: measured.remeasured,
  }, { ...config.decision, confirmations: 0, remeasures: 0 });
  if (decision.verdict === 'keep') return { status: 'keep', reason: decision.reason, decision };
  const best = state.best!;
  const from = startedFrom ? `its starting point ${startedFrom.valBpb.toFixed(6)} (exp ${startedFrom.experiment})` : 'the base commit';
  const reason = measured.decision.verdict === 'keep'
    ? `beat ${from} but not the best since, ${best.valBpb.toFixed(6)} (exp ${best.experiment}): ${decision.reason}`
    : measured.decision.reason;
  return { status: 'discard', reason, decision };
}

