/**
 * The decisions benchmark's simulation: a fixture objective with known true effects, measured
 * with seed noise and with machines that are fast or slow by chance, decided by greedy and by the
 * noise rule (src/workflows/keepRule.ts). Seeded, so a figure can be reproduced; the test runs it
 * at a small size (test/unit/keepRule.test.ts), `npm run bench -- decisions` at full size.
 */
import { DEFAULT_DECISION_CONFIG, type DecisionConfig } from '../src/core/decisionConfig.js';
import { decideKeep, followUp } from '../src/core/keepRule.js';
import { estimateNoise, normalCdf, type Measurement } from '../src/core/noiseEstimate.js';

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

type Rng = () => number;

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

function gaussian(rng: Rng): number {
  const u = 1 - rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

function uniform(rng: Rng, lo: number, hi: number): number {
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

interface Tally { falseKeeps: number; nulls: number; detected: number; helpful: number; kept: number; runs: number; trueGain: number; confirmations: number; remeasures: number }

function emptyTally(): Tally {
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

/** The original: one run each, keep iff strictly below the best measured value. */
function greedyNight(f: Fixture, effects: number[], rng: Rng, t: Tally): void {
  let trueValue = 0;
  let best = train(f, rng, trueValue).valBpb;
  t.runs++;
  for (const effect of effects) {
    const m = train(f, rng, trueValue - effect);
    t.runs++;
    const kept = m.valBpb < best;
    count(t, effect, kept);
    if (kept) {
      best = m.valBpb;
      trueValue -= effect;
    }
  }
}

/**
 * The noise rule as the workflow runs it: the baseline R times, then each proposal until the rule
 * stops asking for runs, the follow-ups scheduled as `followUp` says.
 */
function ruleNight(f: Fixture, effects: number[], rng: Rng, t: Tally, config: DecisionConfig): void {
  let trueValue = 0;
  const measure = (n: number): Measurement[] => {
    t.runs += n;
    return Array.from({ length: n }, () => train(f, rng, trueValue));
  };
  // σ comes from the incumbents' runs only: no run in them was chosen for its value.
  let incumbent = measure(config.repeats);
  const groups: Measurement[][] = [incumbent];
  for (const effect of effects) {
    const candidateValue = trueValue - effect;
    const candidate = [train(f, rng, candidateValue)];
    t.runs++;
    let remeasured = 0;
    for (;;) {
      const noise = estimateNoise(groups, 'time', config);
      const d = decideKeep({ incumbent, candidate, noise, budget: 'time', remeasured }, config);
      const next = followUp(d.verdict, config);
      if (next.kind === 'pair') {
        // Back to back: one machine for both. Otherwise each run lands where it lands.
        const machine = next.remeasure ? drawMachine(f, rng) : undefined;
        candidate.push(train(f, rng, candidateValue, machine ?? drawMachine(f, rng)));
        incumbent.push(train(f, rng, trueValue, machine ?? drawMachine(f, rng)));
        t.runs += 2;
        if (next.remeasure) {
          remeasured++;
          t.remeasures++;
        } else t.confirmations++;
        continue;
      }
      count(t, effect, d.verdict === 'keep');
      if (next.kind === 'measureNewIncumbent') {
        trueValue = candidateValue;
        incumbent = measure(next.runs);
        groups.push(incumbent);
      }
      break;
    }
  }
}

function figures(t: Tally, seeds: number): RuleFigures {
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

/** Both rules over `seeds` nights of the same proposals and the same seeds. */
export function simulate(opts: { seeds: number; firstSeed?: number; fixture?: Partial<Fixture>; config?: Partial<DecisionConfig> }): BenchFigures {
  const f = { ...DEFAULT_FIXTURE, ...opts.fixture };
  const config = { ...DEFAULT_DECISION_CONFIG, ...opts.config, mode: 'noise' as const };
  const greedy = emptyTally();
  const rule = emptyTally();
  for (let s = 0; s < opts.seeds; s++) {
    const seed = (opts.firstSeed ?? 1) + s;
    const effects = drawEffects(f, makeRng(seed));
    // Each rule gets its own stream from the same seed: the same proposals, independent runs.
    greedyNight(f, effects, makeRng(seed * 7919 + 1), greedy);
    ruleNight(f, effects, makeRng(seed * 7919 + 2), rule, config);
  }
  const g = figures(greedy, opts.seeds);
  const r = figures(rule, opts.seeds);
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
