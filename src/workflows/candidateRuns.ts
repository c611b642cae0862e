/**
 * An experiment's training runs on its lane, as many as the keep rule asks for: the baseline
 * `decision.repeats` times; a candidate once, then the confirmations and re-measurements the rule
 * asks for (each one more run of the candidate and one of the incumbent, with new seeds); and once
 * its lane decides to keep it, fresh runs of it, the new incumbent's reference (the runs that got
 * it kept were chosen for being low). A candidate on a machine class the incumbent has no run on
 * waits for the incumbent's runs there. The decisions are ../core/keepDecision.ts: `decideOnLane`
 * here, and the run's compare-and-set against the best of its own time, `judge`.
 */
import { patched, type ActivityInterfaceFor } from '@temporalio/workflow';
import type { Activities, Evaluation, LaneInput } from '../api/activities.js';
import type { ExperimentInput } from '../api/experiment.js';
import { measurementOf, shapeOf } from '../core/experimentResult.js';
import { budgetOf, classOfRuns, decideOnLane, incumbentRunsToMeasure, type CandidateRuns, type Measured } from '../core/keepDecision.js';
import { keptRunsOf } from '../core/confirmedKeep.js';
import { machineClassOf, onClass } from '../core/machineClass.js';
import { followUp } from '../core/keepRule.js';
import { experimentName, experimentRef, type LanePaths } from '../core/names.js';
import type { Measurement } from '../core/noiseEstimate.js';
import { nextPairedSeed, pairedSeed } from '../core/pairedKeep.js';

export interface CandidateRunsArgs {
  input: ExperimentInput;
  laneSteps: ActivityInterfaceFor<Activities>;
  trainer: ActivityInterfaceFor<Activities>;
  laneInput: LaneInput;
  candidate: { commitFull: string };
  paths: LanePaths;
  show(phase: string): void;
}

export interface TrainedCandidate {
  /** The first run's evaluation: a crash there is the experiment's crash. */
  first: Evaluation;
  /** Its runs and its lane's decision (absent when the first run crashed). */
  measured?: Measured;
  /** Why a follow-up run ended it: not kept. */
  failure?: string;
}

/** Every run gets its own seed, from the experiment's number and the run's: a replay or a retry gives the same one. */
const seedOf = (experiment: number, run: number) => experiment * 1000 + run + 1;

/** A run's measurement with its lane's machine class (the worker's label, else the device the trainer named) and, when runs are paired, its seed. */
function measuredOn(laneClass: string | undefined, e: Evaluation & { ok: true }, seed?: number): Measurement {
  const machineClass = machineClassOf(laneClass, e.deviceName);
  return { ...measurementOf(e.summary), ...(machineClass !== undefined ? { machineClass } : {}), ...(seed !== undefined ? { seed } : {}) };
}

export async function trainCandidate(a: CandidateRunsArgs): Promise<TrainedCandidate> {
  const { input, laneSteps, trainer, laneInput, paths } = a;
  const { config, experiment: n, lane } = input;
  const dc = config.decision;
  const name = experimentName(n);
  let run = 0;
  // Paired runs: every code's j-th run takes the same seed (../core/pairedKeep.ts); else each run a seed of its own.
  const paired = dc.mode === 'noise' && dc.paired === true;
  const trainOnce = async (label: string, logName: string, pairSeed?: number): Promise<Evaluation> => {
    const ownSeed = seedOf(n, run++);
    const seed = pairSeed ?? ownSeed;
    const trained = await trainer.train.executeWithOptions(
      { summary: `train ${label} on ${lane.id}: seed ${seed} (${config.trainer.tokenBudget ? `${config.trainer.tokenBudget} tokens` : `${config.trainer.timeBudgetSeconds} s`})` },
      [{ experimentId: input.experimentId, trainerDir: paths.trainerDir, logFile: `${paths.logsDir}/${logName}.log`, trainer: config.trainer,
        lane: lane.id, gpu: lane.gpu, baseCommit: input.baseCommit, seed }],
    );
    return laneSteps.evaluate.executeWithOptions({ summary: `evaluate ${label}` }, [trained]);
  };
  /** One more run of the candidate's commit or the incumbent's, from a clean worktree. */
  const again = async (which: 'candidate' | 'incumbent', k: number, pairSeed?: number): Promise<Measurement | undefined> => {
    const target = which === 'candidate'
      ? { commitFull: a.candidate.commitFull, ref: experimentRef(config.tag, n) }
      : { commitFull: laneInput.bestCommit, ref: laneInput.bestRef };
    await laneSteps.checkoutCommit.executeWithOptions({ summary: `${name}: the ${which} for run ${k}` }, [{ lane: laneInput, ...target }]);
    const e = await trainOnce(`${name} (${which} run ${k})`, `${name}.${which}-${k}`, pairSeed);
    return e.ok ? measuredOn(lane.machineClass, e, pairSeed) : undefined;
  };
  const firstSeed = paired ? pairedSeed(0) : undefined;
  const first = await trainOnce(name, name, firstSeed);
  if (!first.ok) return { first };
  const runs: CandidateRuns = { candidate: [measuredOn(lane.machineClass, first, firstSeed)], incumbentReruns: [], remeasured: 0, shape: shapeOf(first.summary) };
  /** The incumbent's runs on this lane's class, for the seeds it has already. */
  const incumbentOnClass = () => onClass([...input.incumbent.runs, ...runs.incumbentReruns], classOfRuns(runs));
  const done = (rest: Pick<Measured, 'fresh' | 'decision'>, failure?: string): TrainedCandidate => ({ first, measured: { ...runs, ...rest }, failure });

  if (input.baseline) {
    // The reference and the first estimate of σ: the unmodified trainer, once per seed.
    const repeats = dc.mode === 'greedy' ? 1 : dc.repeats;
    for (let k = 1; k < repeats; k++) {
      a.show(`baseline run ${k + 1}/${repeats}`);
      const m = await again('candidate', k, paired ? pairedSeed(k) : undefined);
      if (m) runs.candidate.push(m);
    }
    return done({ fresh: runs.candidate, decision: decideOnLane(config, input, runs, true) });
  }

  if (dc.mode === 'noise' && dc.pricePerLine > 0) {
    runs.netAddedLines = await laneSteps.diffLines.executeWithOptions({ summary: `${name}: lines added` }, [{ lane: laneInput, commitFull: a.candidate.commitFull }]);
  }
  await measureIncumbentOnClass(a, runs, (which, k) => again(which, k, paired ? pairedSeed(k - 1) : undefined));
  let decision = decideOnLane(config, input, runs, false);
  for (let k = 1; decision.verdict === 'confirm' || decision.verdict === 'remeasure'; k++) {
    const next = followUp(decision.verdict, dc);
    if (next.kind !== 'pair') break;
    if (next.remeasure) runs.remeasured++;
    const what = next.remeasure ? 're-measurement' : 'confirmation';
    a.show(`${what} ${k}: ${decision.reason}`);
    // Paired: the candidate's next seed, and the incumbent only where it has no run of that seed (a re-measurement runs both).
    const seed = paired ? nextPairedSeed(runs.candidate) : undefined;
    const c = await again('candidate', k, seed);
    const i = seed === undefined || next.remeasure || !incumbentOnClass().some((m) => m.seed === seed) ? await again('incumbent', k, seed) : undefined;
    if (i) runs.incumbentReruns.push(i);
    if (!c) {
      const failure = `a ${what} run of the candidate crashed: not kept`;
      return done({ fresh: [], decision: { ...decision, verdict: 'discard', reason: failure } }, failure);
    }
    runs.candidate.push(c);
    decision = decideOnLane(config, input, runs, false);
  }
  const fresh: Measurement[] = [];
  // Runs recorded before asked for fresh runs of an off-speed best under a token budget too; they replay as they were.
  const kept = decision.verdict === 'keep' && patched('fresh-runs-for-speed-under-time-budget-only') ? keptRunsOf(decision, budgetOf(config)) : decision;
  const next = followUp(decision.verdict, dc, kept);
  if (next.kind === 'measureNewIncumbent') {
    for (let k = 1; k <= next.runs; k++) {
      a.show(`kept: fresh run ${k}/${next.runs} of the new best`);
      const m = await again('candidate', 100 + k, paired ? nextPairedSeed([...runs.candidate, ...fresh]) : undefined);
      if (m) fresh.push(m);
    }
  }
  return done({ fresh, decision });
}

/**
 * The first time the incumbent meets this lane's machine class, it is trained here `repeats` times
 * (the baseline's precision): a faster class scores lower by itself, so a candidate is compared
 * only with the incumbent as measured on its own class. The runs join the incumbent's, so the next
 * candidate on this class finds them.
 */
async function measureIncumbentOnClass(
  a: CandidateRunsArgs, runs: CandidateRuns, again: (which: 'incumbent', k: number) => Promise<Measurement | undefined>,
): Promise<void> {
  const cls = classOfRuns(runs);
  const count = incumbentRunsToMeasure(a.input.config, a.input, cls);
  // Runs recorded before classes never get here: they and their incumbent share "no class".
  if (count === 0 || !patched('incumbent-on-machine-class')) return;
  for (let k = 1; k <= count; k++) {
    a.show(`the incumbent on ${cls ?? 'this lane'}: run ${k}/${count}`);
    const m = await again('incumbent', 200 + k);
    if (m) runs.incumbentReruns.push(m);
  }
}
