/**
 * An experiment's training runs and the keep decision they lead to, on its lane: the baseline
 * `decision.repeats` times; a candidate once, then the confirmations and re-measurements the keep
 * rule asks for (each one more run of the candidate and one of the incumbent, with new seeds);
 * and once it is judged a keep, fresh runs of it, the new incumbent's reference (the runs that
 * got it kept were chosen for being low). The rules are keepRule.ts; the run makes the final
 * compare-and-set against the best of its own time (decisions.ts `judge`).
 */
import type { ActivityInterfaceFor } from '@temporalio/workflow';
import type { Activities, Evaluation } from '../api/activities.js';
import type { TrainerSummary } from '../core/trainerSummary.js';
import { experimentName, experimentRef, type Lane, type LanePaths } from '../core/names.js';
import { budgetOf, type Measured, type ModelShape } from '../core/keepDecision.js';
import { decideKeep, followUp, modelShapeChanged } from '../core/keepRule.js';
import { estimateNoise, mean, type Measurement } from '../core/noiseEstimate.js';
import type { ExperimentInput } from './experiment.js';

export interface MeasureArgs {
  input: ExperimentInput;
  lane: Lane;
  laneSteps: ActivityInterfaceFor<Activities>;
  trainer: ActivityInterfaceFor<Activities>;
  laneInput: { config: ExperimentInput['config']; laneId: string; bestCommit: string; bestRef: string };
  candidate: { commitFull: string };
  paths: LanePaths;
  show(phase: string): void;
}

export interface MeasureResult {
  /** The first run's evaluation: a crash there is the experiment's crash. */
  first: Evaluation;
  measured?: { valBpb: number; measured: Measured; failure?: string };
}

/** Every run gets its own seed, from the experiment's number and the run's: a replay or a retry gives the same one. */
export const seedOf = (experiment: number, run: number) => experiment * 1000 + run + 1;

export function measurementOf(s: TrainerSummary): Measurement {
  return {
    valBpb: s.val_bpb, steps: s.num_steps, trainingSeconds: s.training_seconds,
    // total_tokens is exact; total_tokens_M is rounded to 0.1 M (163,840 tokens print as 0.2).
    tokens: typeof s.total_tokens === 'number' ? s.total_tokens : s.total_tokens_M === undefined ? undefined : Math.round(s.total_tokens_M * 1e6),
  };
}
const shapeOf = (s: TrainerSummary): ModelShape => ({ numParamsM: s.num_params_M, depth: s.depth });

export async function measure(a: MeasureArgs): Promise<MeasureResult> {
  const { input, laneSteps, trainer, laneInput, paths } = a;
  const { config, experiment: n } = input;
  const dc = config.decision;
  const budget = budgetOf(config);
  const name = experimentName(n);
  let run = 0;
  const trainOnce = async (label: string, logName: string): Promise<Evaluation> => {
    const seed = seedOf(n, run++);
    const trained = await trainer.train.executeWithOptions(
      { summary: `train ${label} on ${a.lane.id}: seed ${seed} (${config.trainer.tokenBudget ? `${config.trainer.tokenBudget} tokens` : `${config.trainer.timeBudgetSeconds} s`})` },
      [{ experimentId: input.experimentId, trainerDir: paths.trainerDir, logFile: `${paths.logsDir}/${logName}.log`, trainer: config.trainer,
        lane: a.lane.id, gpu: a.lane.gpu, baseCommit: input.baseCommit, seed }],
    );
    return laneSteps.evaluate.executeWithOptions({ summary: `evaluate ${label}` }, [trained]);
  };
  /** One more run of the candidate's commit or the incumbent's, from a clean worktree. */
  const again = async (which: 'candidate' | 'incumbent', k: number): Promise<Measurement | undefined> => {
    const target = which === 'candidate'
      ? { commitFull: a.candidate.commitFull, ref: experimentRef(config.tag, n) }
      : { commitFull: laneInput.bestCommit, ref: laneInput.bestRef };
    await laneSteps.checkoutCommit.executeWithOptions({ summary: `${name}: the ${which} for run ${k}` }, [{ lane: laneInput, ...target }]);
    const e = await trainOnce(`${name} (${which} run ${k})`, `${name}.${which}-${k}`);
    return e.ok ? measurementOf(e.summary) : undefined;
  };

  const first = await trainOnce(name, name);
  if (!first.ok) return { first };
  const candidate = [measurementOf(first.summary)];
  const shape = shapeOf(first.summary);
  const done = (measured: Omit<Measured, 'shape' | 'candidate'>, failure?: string): MeasureResult => (
    { first, measured: { valBpb: mean(candidate.map((m) => m.valBpb)), measured: { ...measured, candidate, shape }, failure } });

  if (input.baseline) {
    // The reference and the first estimate of σ: the unmodified trainer, once per seed.
    const repeats = dc.mode === 'greedy' ? 1 : dc.repeats;
    for (let k = 1; k < repeats; k++) {
      a.show(`baseline run ${k + 1}/${repeats}`);
      const m = await again('candidate', k);
      if (m) candidate.push(m);
    }
    const decision = decideKeep({ incumbent: [], candidate, noise: estimateNoise([candidate], budget, dc, input.noise), budget }, dc);
    return done({ incumbentReruns: [], fresh: candidate, remeasured: 0, decision });
  }

  const netAddedLines = dc.mode === 'noise' && dc.pricePerLine > 0
    ? await laneSteps.diffLines.executeWithOptions({ summary: `${name}: lines added` }, [{ lane: laneInput, commitFull: a.candidate.commitFull }])
    : undefined;
  const incumbentReruns: Measurement[] = [];
  let remeasured = 0;
  const throughputExplained = input.incumbent.shape ? modelShapeChanged(shape, input.incumbent.shape) : false;
  const decide = () => {
    const incumbent = [...input.incumbent.runs, ...incumbentReruns];
    return decideKeep({
      incumbent, candidate, noise: estimateNoise([incumbent], budget, dc, input.noise), budget, netAddedLines, throughputExplained, remeasured,
    }, dc);
  };
  let decision = decide();
  for (let k = 1; decision.verdict === 'confirm' || decision.verdict === 'remeasure'; k++) {
    const next = followUp(decision.verdict, dc);
    if (next.kind !== 'pair') break;
    if (next.remeasure) remeasured++;
    const what = next.remeasure ? 're-measurement' : 'confirmation';
    a.show(`${what} ${k}: ${decision.reason}`);
    const c = await again('candidate', k);
    const i = await again('incumbent', k);
    if (i) incumbentReruns.push(i);
    if (!c) {
      const failure = `a ${what} run of the candidate crashed: not kept`;
      return done({ incumbentReruns, fresh: [], remeasured, netAddedLines, decision: { ...decision, verdict: 'discard', reason: failure } }, failure);
    }
    candidate.push(c);
    decision = decide();
  }
  const fresh: Measurement[] = [];
  const next = followUp(decision.verdict, dc);
  if (next.kind === 'measureNewIncumbent') {
    for (let k = 1; k <= next.runs; k++) {
      a.show(`kept: fresh run ${k}/${next.runs} of the new best`);
      const m = await again('candidate', 100 + k);
      if (m) fresh.push(m);
    }
  }
  return done({ incumbentReruns, fresh, remeasured, netAddedLines, decision });
}
