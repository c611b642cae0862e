/**
 * The decisions benchmark's simulation: a fixture objective with known true effects, measured
 * with seed noise and with machines that are fast or slow by chance, decided by greedy and by the
 * noise rule (src/core/keepRule.ts). Seeded, so a figure can be reproduced; the test runs it
 * at a small size (test/unit/keepRule.test.ts), `npm run bench -- decisions` at full size.
 */
import type { DecisionConfig } from '../src/core/decisionConfig.js';
import { normalCdf, type Measurement } from '../src/core/noiseEstimate.js';
import { FIRST_NOISE_RULE, greedyRule, noiseRule, type Lab, type RuleFactory } from './researchRules.js';

/** The fixture. Effects and shifts are in units of σ, the seed noise of one run. */
export interface Fixture {
  proposals: number;
  /** Share of proposals that truly help, by helpfulMin..helpfulMax σ. */
  helpfulFraction: number;
  helpfulMin: number;
  helpfulMax: number;
  /** Share that are truly harmful, by 0..harmfulMax σ; the rest are neutral (exactly 0). */
  harmfulFraction: number;
  harmfulMax: number;
  /** σ in bpb (only the scale of the printed numbers; every rule is scale-free). */
  sigmaBpb: number;
  /** Share of runs on a machine that is fast or slow by chance, and by how much (log of the speed ratio). */
  oddMachineFraction: number;
  oddSpeedMin: number;
  oddSpeedMax: number;
  /** Throughput jitter of an ordinary run (sd of the log speed). */
  speedJitter: number;
  /** val_bpb shift, in σ, per unit of log speed under the time budget (10% faster ≈ −0.95σ at 10). */
  sigmaPerLogSpeed: number;
}

export const DEFAULT_FIXTURE: Fixture = {
  proposals: 100,
  helpfulFraction: 0.1, helpfulMin: 1, helpfulMax: 3,
  harmfulFraction: 0.45, harmfulMax: 1,
  sigmaBpb: 0.001,
  oddMachineFraction: 0.05, oddSpeedMin: 0.2, oddSpeedMax: 0.7,
  speedJitter: 0.02, sigmaPerLogSpeed: 10,
};

export interface RuleFigures {
  /** Truly-not-better proposals kept, over all truly-not-better proposals. */
  falseKeepRate: number;
  /** Truly-helping proposals kept, over all truly-helping proposals. */
  detectionRate: number;
  /** Kept proposals that were not truly better, over all kept proposals. */
  falseShareOfKeeps: number;
  /** Training runs per seed, baseline repeats, confirmations and re-measurements included. */
  runs: number;
  /** True improvement of the final incumbent over the baseline, in σ, per seed. */
  trueGainSigma: number;
  kept: number;
  confirmations: number;
  remeasures: number;
}

export interface BenchFigures {
  seeds: number;
  greedy: RuleFigures;
  rule: RuleFigures;
  /** The rule's runs over greedy's. */
  runRatio: number;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness (the benchmark's own; the rules never use any)

export type Rng = () => number;

/** mulberry32: small, fast, good enough for a simulation. */
export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rng: Rng): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

// ---------------------------------------------------------------------------------------------
// The fixture objective

/** True effects of the proposals, in σ: positive helps (lowers val_bpb). */
export function drawEffects(f: Fixture, rng: Rng): number[] {
  const helpful = Math.round(f.proposals * f.helpfulFraction);
  const harmful = Math.round(f.proposals * f.harmfulFraction);
  const effects = Array.from({ length: f.proposals }, (_, i) =>
    i < helpful ? uniform(rng, f.helpfulMin, f.helpfulMax) : i < helpful + harmful ? -uniform(rng, 0, f.harmfulMax) : 0);
  return shuffle(effects, rng);
}

function shuffle<T>(xs: T[], rng: Rng): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

/** The machine a run lands on: its log speed relative to a normal one. */
function drawMachine(f: Fixture, rng: Rng): number {
  const jitter = f.speedJitter * gaussian(rng);
  if (rng() >= f.oddMachineFraction) return jitter;
  return jitter + (rng() < 0.5 ? -1 : 1) * uniform(rng, f.oddSpeedMin, f.oddSpeedMax);
}

const TIME_BUDGET_S = 300;
const NORMAL_TOKENS_PER_S = 100_000;
const TOKENS_PER_STEP = 65_536;

/** One training run under a time budget: seed noise, plus what the machine's speed did to it. */
function train(f: Fixture, rng: Rng, trueSigma: number, logSpeed = drawMachine(f, rng)): Measurement {
  const valSigma = trueSigma + gaussian(rng) - f.sigmaPerLogSpeed * logSpeed;
  const tokens = Math.round(NORMAL_TOKENS_PER_S * Math.exp(logSpeed) * TIME_BUDGET_S);
  return { valBpb: 1 + valSigma * f.sigmaBpb, tokens, steps: Math.floor(tokens / TOKENS_PER_STEP), trainingSeconds: TIME_BUDGET_S };
}

// ---------------------------------------------------------------------------------------------
// One night per rule

export interface Tally { falseKeeps: number; nulls: number; detected: number; helpful: number; kept: number; runs: number; trueGain: number; confirmations: number; remeasures: number }

export function emptyTally(): Tally {
  return { falseKeeps: 0, nulls: 0, detected: 0, helpful: 0, kept: 0, runs: 0, trueGain: 0, confirmations: 0, remeasures: 0 };
}

function count(t: Tally, effect: number, kept: boolean): void {
  if (effect > 0) t.helpful++;
  else t.nulls++;
  if (!kept) return;
  t.kept++;
  t.trueGain += effect;
  if (effect > 0) t.detected++;
  else t.falseKeeps++;
}

/** The lab of one night: runs of a code (its true value in σ) on the fixture's machines. */
function fixtureLab(f: Fixture, rng: Rng, t: Tally): Lab<number> {
  return {
    machine: () => drawMachine(f, rng),
    train(trueSigma, logSpeed = drawMachine(f, rng)) {
      t.runs++;
      return train(f, rng, trueSigma, logSpeed);
    },
  };
}

/** One night of `rule` over the proposals' effects: each is judged against the incumbent of its time. */
export function fixtureNight(f: Fixture, effects: number[], rng: Rng, t: Tally, rule: RuleFactory): void {
  let trueValue = 0;
  const judge = rule(fixtureLab(f, rng, t));
  judge.start(trueValue);
  for (const effect of effects) {
    const j = judge.judge(trueValue - effect);
    t.confirmations += j.confirmations;
    t.remeasures += j.remeasures;
    count(t, effect, j.kept);
    if (j.kept) trueValue -= effect;
  }
}

export function figures(t: Tally, seeds: number): RuleFigures {
  return {
    falseKeepRate: t.falseKeeps / Math.max(1, t.nulls),
    detectionRate: t.detected / Math.max(1, t.helpful),
    falseShareOfKeeps: t.falseKeeps / Math.max(1, t.kept),
    runs: t.runs / seeds,
    trueGainSigma: t.trueGain / seeds,
    kept: t.kept / seeds,
    confirmations: t.confirmations / seeds,
    remeasures: t.remeasures / seeds,
  };
}

export interface SimOptions {
  seeds: number;
  firstSeed?: number;
  fixture?: Partial<Fixture>;
}

/**
 * One rule over `seeds` nights. Every rule sees the same proposals; greedy and the others each
 * get their own stream of runs from the same seed.
 */
export function simulateRule(rule: RuleFactory, opts: SimOptions): RuleFigures {
  const f = { ...DEFAULT_FIXTURE, ...opts.fixture };
  const t = emptyTally();
  for (let s = 0; s < opts.seeds; s++) {
    const seed = (opts.firstSeed ?? 1) + s;
    fixtureNight(f, drawEffects(f, makeRng(seed)), makeRng(seed * 7919 + (rule === greedyRule ? 1 : 2)), t, rule);
  }
  return figures(t, opts.seeds);
}

/** Greedy and the noise rule at `config` (over the first noise rule's settings) on the same nights. */
export function simulate(opts: SimOptions & { config?: Partial<DecisionConfig> }): BenchFigures {
  const g = simulateRule(greedyRule, opts);
  const r = simulateRule(noiseRule({ ...FIRST_NOISE_RULE, ...opts.config, mode: 'noise' }), opts);
  return { seeds: opts.seeds, greedy: g, rule: r, runRatio: r.runs / g.runs };
}

/**
 * The ceiling: n runs of every proposal against an incumbent and a σ known exactly, and a bar
 * that lets 2% of neutral proposals through. No rule that spends n runs per proposal detects more.
 */
export function detectionCeiling(n: number, f: Fixture, falseKeeps = 0.02): number {
  const z = quantile(1 - falseKeeps);
  const steps = 400;
  let sum = 0;
  for (let i = 0; i < steps; i++) {
    const effect = f.helpfulMin + ((i + 0.5) / steps) * (f.helpfulMax - f.helpfulMin);
    sum += 1 - normalCdf(z - effect * Math.sqrt(n));
  }
  return sum / steps;
}

function quantile(p: number): number {
  let lo = -10, hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}
