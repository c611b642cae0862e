/**
 * Keep rules as the benchmarks run them, on any code a night can hold: greedy (the original's),
 * and the noise rule as the workflow runs it (decideKeep and followUp of src/core/keepRule.ts) at
 * its first settings, at the default, and along the default's frontier. A rule sees only its runs;
 * what is true is the caller's to know (bench/decisionSim.ts, bench/researchSim.ts), and the oracle's.
 */
import { DEFAULT_DECISION_CONFIG, type DecisionConfig } from '../src/core/decisionConfig.js';
import { comparedWith, runsToMeasureOnClass } from '../src/core/keepDecision.js';
import { decideKeep, followUp } from '../src/core/keepRule.js';
import { estimateNoise, type Measurement } from '../src/core/noiseEstimate.js';
import { nextPairedSeed, pairedSeed } from '../src/core/pairedKeep.js';

/** Where a rule trains: the experiment's lane, which gives each run a machine. */
export interface Lab<C> {
  /** A machine for one run: its log speed against a normal one. Each call draws a new one. */
  machine(): number;
  /**
   * One training run of `code` on `machine` (a new draw when omitted), with `seed` (a seed of its
   * own when omitted: runs of one seed share its part of the noise). Every call is a training run.
   */
  train(code: C, machine?: number, seed?: number): Measurement;
  /** Whether the candidate's change explains a change of throughput (a model shape change). */
  explained?(candidate: C, incumbent: C): boolean;
  /** The code's true value, for the oracle alone: no rule sees it. */
  truth?(code: C): number;
}

export interface Judgement {
  kept: boolean;
  confirmations: number;
  remeasures: number;
  /** The candidate's measured val_bpb (the mean of its runs): what a search ranks the nodes of its tree by. */
  valBpb: number;
}

export interface KeepRule<C> {
  /** Measures the baseline, the first incumbent. */
  start(baseline: C): void;
  /** Judges one candidate built on the incumbent; a keep makes it the incumbent. */
  judge(candidate: C): Judgement;
}

export type RuleFactory = <C>(lab: Lab<C>) => KeepRule<C>;

/** The original: one run each, keep iff strictly below the best measured value. */
export const greedyRule: RuleFactory = <C>(lab: Lab<C>): KeepRule<C> => {
  let best = Number.NaN;
  return {
    start(baseline) {
      best = lab.train(baseline).valBpb;
    },
    judge(candidate) {
      const value = lab.train(candidate).valBpb;
      const kept = value < best;
      if (kept) best = value;
      return { kept, confirmations: 0, remeasures: 0, valBpb: value };
    },
  };
};

/** For scale, not a rule: one run each (counted), kept iff truly better. What a perfect judge makes of the same runs. */
export const oracleRule: RuleFactory = <C>(lab: Lab<C>): KeepRule<C> => {
  let best = Number.NaN;
  return {
    start(baseline) {
      lab.train(baseline);
      best = lab.truth!(baseline);
    },
    judge(candidate) {
      const measured = lab.train(candidate).valBpb;
      const value = lab.truth!(candidate);
      const kept = value < best;
      if (kept) best = value;
      return { kept, confirmations: 0, remeasures: 0, valBpb: measured };
    },
  };
};

/**
 * The noise rule as the workflow runs it, at `config`: the baseline `repeats` times, then each
 * candidate until the rule stops asking for runs, its follow-ups scheduled as `followUp` says. σ
 * pools the incumbents' runs only, as the run's state does. Runs on a machine with classes (its
 * lanes' kinds) are compared within the candidate's class, the incumbent trained `repeats` times on
 * a class it has no run on (src/core/keepDecision.ts); `classBlind` drops the classes, as before them.
 */
export function noiseRule(config: DecisionConfig = DEFAULT_DECISION_CONFIG, opts: { classBlind?: boolean } = {}): RuleFactory {
  return <C>(lab: Lab<C>): KeepRule<C> => {
    let incumbentCode!: C;
    let incumbent: Measurement[] = [];
    const groups: Measurement[][] = [];
    const train = (code: C, machine?: number, seed?: number): Measurement => {
      const m = lab.train(code, machine, seed);
      if (!opts.classBlind) return m;
      const { machineClass: _dropped, ...blind } = m;
      return blind;
    };
    // Paired (decision.paired): the j-th run of every code takes seed j + 1, as the workflow does (src/workflows/candidateRuns.ts).
    const seedOf = (j: number) => (config.paired ? pairedSeed(j) : undefined);
    const measure = (code: C, n: number) => Array.from({ length: n }, (_, j) => train(code, undefined, seedOf(j)));
    return {
      start(baseline) {
        incumbentCode = baseline;
        incumbent = measure(baseline, config.repeats);
        groups.push(incumbent);
      },
      judge(code) {
        const candidate = [train(code, undefined, seedOf(0))];
        const cls = candidate[0].machineClass;
        // The incumbent's first runs on this class join its runs, as in the run's state.
        incumbent.push(...measure(incumbentCode, runsToMeasureOnClass(config, incumbent, cls)));
        const throughputExplained = lab.explained?.(code, incumbentCode) ?? false;
        let remeasured = 0;
        let confirmations = 0;
        for (;;) {
          const noise = estimateNoise(groups, 'time', config);
          const onClass = comparedWith(config, incumbent, cls);
          const d = decideKeep({ incumbent: onClass, candidate, noise, budget: 'time', remeasured, throughputExplained, machineClass: cls }, config);
          const next = followUp(d.verdict, config, d);
          if (next.kind === 'pair') {
            // Back to back: one machine for both. Otherwise each run lands where it lands.
            const machine = next.remeasure ? lab.machine() : undefined;
            const seed = config.paired ? nextPairedSeed(candidate) : undefined;
            candidate.push(train(code, machine ?? lab.machine(), seed));
            // Paired: the incumbent trains only a seed it has no run of on this class (a re-measurement runs both).
            if (seed === undefined || next.remeasure || !onClass.some((m) => m.seed === seed)) incumbent.push(train(incumbentCode, machine ?? lab.machine(), seed));
            if (next.remeasure) remeasured++;
            else confirmations++;
            continue;
          }
          const kept = d.verdict === 'keep';
          if (kept) {
            incumbentCode = code;
            // With no fresh runs the runs that got it kept are its reference, as in the run's state.
            incumbent = next.kind === 'measureNewIncumbent' ? measure(code, next.runs) : candidate;
            groups.push(incumbent);
          }
          const valBpb = candidate.reduce((sum, m) => sum + m.valBpb, 0) / candidate.length;
          return { kept, confirmations, remeasures: remeasured, valBpb };
        }
      },
    };
  };
}

/** The first noise rule's settings, pinned for comparison: one bar, two confirmations from 1.75 SE, three fresh runs of each new best. */
export const FIRST_NOISE_RULE: DecisionConfig = {
  mode: 'noise', k: 2, confirmFrom: 1.75, repeats: 3, confirmations: 2, throughputTolerance: 0.15, remeasures: 1, pricePerLine: 0.00001, sigmaFloor: 0.000001,
};

export const RULES: Record<string, RuleFactory> = {
  greedy: greedyRule,
  'first noise': noiseRule(FIRST_NOISE_RULE),
  default: noiseRule(DEFAULT_DECISION_CONFIG),
  paired: noiseRule({ ...DEFAULT_DECISION_CONFIG, paired: true }),
  'class-blind': noiseRule(DEFAULT_DECISION_CONFIG, { classBlind: true }),
  oracle: oracleRule,
};

/** The default's family from loose to strict (k / kConfirmed), for the frontier: the default is k 2 / 1.5. */
export const FRONTIER_SETTINGS: [number, number][] = [[1, 0.5], [1.5, 1], [2, 1.5], [2.5, 2], [3, 2.5]];
export const FRONTIER: Record<string, RuleFactory> = Object.fromEntries(
  FRONTIER_SETTINGS.map(([k, kConfirmed]) => [`k ${k} / ${kConfirmed}`, noiseRule({ ...DEFAULT_DECISION_CONFIG, k, kConfirmed })]),
);
