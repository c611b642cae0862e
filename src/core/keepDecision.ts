/**
 * The keep decision: what a candidate is compared with (the incumbent's own runs and shape,
 * former incumbents' noise as sums), the decision on its lane while it can still ask for more
 * runs (decideOnLane), and the run's compare-and-set against the best of now (judge). The rule
 * itself is keepRule.ts; the lane's runs it asks for, ../workflows/candidateRuns.ts. Pure.
 */
import type { RunConfig } from './runInput.js';
import type { BestResult, ExperimentStatus } from './results.js';
import { decideKeep, modelShapeChanged, type Decision } from './keepRule.js';
import { estimateNoise, mean, type Measurement, type NoiseEstimate, type NoiseTotals } from './noiseEstimate.js';
import type { BudgetKind, DecisionConfig } from './decisionConfig.js';
import { hasClass, onClass, onWords, type MachineClass } from './machineClass.js';

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

/** What a candidate is compared with: the incumbent, and the noise of former incumbents' runs, as sums. */
export interface Reference {
  incumbent: Incumbent;
  noise: NoiseTotals;
}

/** The runs of a candidate so far, and what the rule needs to know about its change. */
export interface CandidateRuns {
  /** Every run of the candidate: its first, confirmations, re-measurements. */
  candidate: Measurement[];
  /** Runs of the incumbent it made beside confirmations. */
  incumbentReruns: Measurement[];
  remeasured: number;
  netAddedLines?: number;
  shape?: ModelShape;
}

/** What an experiment measured for the keep decision: its runs, and the decision its lane reached. */
export interface Measured extends CandidateRuns {
  /** Fresh runs of the candidate once its lane decided to keep it: the new incumbent's reference. */
  fresh: Measurement[];
  /** The decision the experiment reached against the incumbent it started from. */
  decision: Decision;
}

/** How an experiment ended, before the run's decision: trained (its mean val_bpb), crashed, or never trained. */
export type Outcome = { kind: 'trained'; valBpb: number } | { kind: 'crash' } | { kind: 'invalid' };

/** The candidate's val_bpb: the mean of its runs. */
export function meanValBpb(runs: Pick<CandidateRuns, 'candidate'>): number {
  return mean(runs.candidate.map((m) => m.valBpb));
}

/** What the trainer's budget counts: a token budget makes results independent of the machine's speed. */
export function budgetOf(config: RunConfig): BudgetKind {
  return config.trainer.tokenBudget ? 'tokens' : 'time';
}

/** σ of one run as the keep rule sees it now: the incumbent's runs pooled with former incumbents'. */
export function noiseOf(config: RunConfig, reference: Reference, extraRuns: Measurement[] = []): NoiseEstimate {
  return estimateNoise([[...reference.incumbent.runs, ...extraRuns]], budgetOf(config), config.decision, reference.noise);
}

/** The candidate's machine class: its lane's, which all its runs share. */
export function classOfRuns(runs: Pick<CandidateRuns, 'candidate'>): MachineClass {
  return runs.candidate[0]?.machineClass;
}

/**
 * How many runs of the incumbent a lane makes on its own class before it judges a candidate there:
 * none when the incumbent has runs on that class (or none at all: the baseline), `repeats` the
 * first time it meets the class, the precision the baseline had on its own. Greedy compares across
 * classes as the original did: it asks for no extra runs.
 */
export function incumbentRunsToMeasure(config: RunConfig, reference: Reference, cls: MachineClass): number {
  return runsToMeasureOnClass(config.decision, reference.incumbent.runs, cls);
}

/** `incumbentRunsToMeasure` on the incumbent's runs alone (the research benchmark's rule calls it too). */
export function runsToMeasureOnClass(settings: DecisionConfig, runs: readonly Measurement[], cls: MachineClass): number {
  return settings.mode === 'noise' && runs.length > 0 && !hasClass(runs, cls) ? settings.repeats : 0;
}

/**
 * The incumbent's runs a candidate on `cls` is compared with: those on its class (under the noise
 * rule). σ pools all of them, each class a group of its own.
 */
export function comparedWith<T extends Measurement>(settings: DecisionConfig, runs: readonly T[], cls: MachineClass): T[] {
  return settings.mode === 'noise' ? onClass(runs, cls) : [...runs];
}

/** What a candidate on `cls` is judged against: the incumbent's runs on its class, else all of them, with `missing` set when none is on it. */
function againstClass(settings: DecisionConfig, all: Measurement[], cls: MachineClass): { runs: Measurement[]; missing: boolean } {
  const compared = comparedWith(settings, all, cls);
  return { runs: compared.length ? compared : all, missing: compared.length === 0 && all.length > 0 };
}

/** No incumbent run on the candidate's class (they crashed, or the best moved to one measured elsewhere): not kept. */
function noRunOnClass(decision: Decision, cls: MachineClass, whose: string): Decision {
  return { ...decision, verdict: 'discard', incumbentRuns: 0, reason: `${whose} no run${onWords(cls)} to compare with: not kept` };
}

/**
 * The decision on the candidate's lane, against the incumbent it started from as measured on the
 * candidate's machine class, which may ask for more runs (`followUp`). The baseline has no
 * incumbent: its runs are the reference, and σ's first estimate. A change of the model's shape
 * explains a change of speed.
 */
export function decideOnLane(config: RunConfig, reference: Reference, runs: CandidateRuns, baseline: boolean): Decision {
  const budget = budgetOf(config);
  const settings = config.decision;
  if (baseline) {
    return decideKeep({ incumbent: [], candidate: runs.candidate, noise: estimateNoise([runs.candidate], budget, settings, reference.noise), budget }, settings);
  }
  const cls = classOfRuns(runs);
  const all = [...reference.incumbent.runs, ...runs.incumbentReruns];
  const against = againstClass(settings, all, cls);
  const decision = decideKeep({
    incumbent: against.runs, candidate: runs.candidate, noise: estimateNoise([all], budget, settings, reference.noise), budget,
    netAddedLines: runs.netAddedLines, throughputExplained: reference.incumbent.shape && runs.shape ? modelShapeChanged(runs.shape, reference.incumbent.shape) : false,
    remeasured: runs.remeasured, machineClass: cls,
  }, settings);
  return against.missing ? noRunOnClass(decision, cls, 'the incumbent has') : decision;
}

/**
 * Keep or revert one finished experiment against the best as it is now (compare-and-set: other
 * lanes may have moved it since this one started). Its lane decided against the incumbent it
 * started from, with the runs the rule asked for; when the best has moved since, its runs are
 * judged again against the new incumbent, with no further runs, and a result that would have been
 * kept says why it was not.
 */
export function judge(
  config: RunConfig, state: Reference & { best?: BestResult }, startedFrom: BestResult | undefined, outcome: Outcome, measured?: Measured,
): { status: ExperimentStatus; reason?: string; decision?: Decision } {
  if (outcome.kind !== 'trained' || !measured) return { status: outcome.kind === 'trained' ? 'crash' : outcome.kind };
  const sameIncumbent = state.best?.experiment === startedFrom?.experiment;
  if (sameIncumbent) {
    const { decision } = measured;
    return { status: decision.verdict === 'keep' ? 'keep' : 'discard', reason: decision.reason, decision };
  }
  const cls = classOfRuns(measured);
  const against = againstClass(config.decision, state.incumbent.runs, cls);
  const best = state.best!;
  const againstBest = decideKeep({
    incumbent: against.runs, candidate: measured.candidate, noise: noiseOf(config, state), budget: budgetOf(config),
    netAddedLines: measured.netAddedLines, remeasured: measured.remeasured, machineClass: cls,
  }, { ...config.decision, confirmations: 0, remeasures: 0 });
  const decision = against.missing ? noRunOnClass(againstBest, cls, 'the best since has') : againstBest;
  if (decision.verdict === 'keep') return { status: 'keep', reason: decision.reason, decision };
  const from = startedFrom ? `its starting point ${startedFrom.valBpb.toFixed(6)} (exp ${startedFrom.experiment})` : 'the base commit';
  const reason = measured.decision.verdict === 'keep'
    ? `beat ${from} but not the best since, ${best.valBpb.toFixed(6)} (exp ${best.experiment}): ${decision.reason}`
    : measured.decision.reason;
  return { status: 'discard', reason, decision };
}
