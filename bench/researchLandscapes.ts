/**
 * Landscapes with known truth for the research benchmark: the true val_bpb of any code, the
 * code's own throughput (a deeper model trains slower, and under a time budget speed is bpb),
 * and what a simulated LLM's ideas are worth. Each night draws its own hidden optimum from its seed.
 */
import { gaussian, uniform, type Rng } from './decisionSim.js';

/** Under the time budget, val_bpb falls by this much per unit of log throughput (10% faster: −0.0029 bpb). */
export const BPB_PER_LOG_SPEED = 0.03;

/** A code: the editable constants' values, and the summed worth (bpb gained) of the ideas applied. */
export interface Code {
  values: Record<string, number>;
  ideas: number;
}

export interface ConstantSpec {
  name: string;
  kind: 'int' | 'float';
  initial: number;
  /** How the truth reads it: the log of the value, or the log of its distance to 1 (betas, ratios near 1). */
  scale: 'log' | 'tail';
  /** A change of it changes the model's shape (depth, width): it explains a change of throughput. */
  shape?: boolean;
}

/** One night's truth. */
export interface Truth {
  /** val_bpb at a normal machine's speed, the code's own speed included. */
  value(code: Code): number;
  /** The code's own log throughput against the baseline's. */
  logSpeed(code: Code): number;
  /** The direction (+1 up, −1 down) in which a constant's value gets better, as a well-read LLM may guess. */
  better(name: string, code: Code): number;
}

export interface Landscape {
  name: string;
  summary: string;
  /** Seed noise of one run, bpb. */
  sigmaBpb: number;
  constants: ConstantSpec[];
  /** Pairs of constants a simulated LLM moves together. */
  coupled: [string, string][];
  night(rng: Rng): Truth;
  /** The worth of one of the simulated LLM's ideas, bpb gained (negative: it harms). */
  idea(rng: Rng): number;
}

export function baselineCode(l: Landscape): Code {
  return { values: Object.fromEntries(l.constants.map((c) => [c.name, c.initial])), ideas: 0 };
}

/** The coordinate the truth is smooth in, relative to the initial value. */
export function coordinate(spec: ConstantSpec, value: number): number {
  if (spec.scale === 'tail') return -Math.log(Math.max(1e-9, 1 - value)) + Math.log(1 - spec.initial);
  return Math.log(Math.max(1e-9, value) / spec.initial);
}

const TUNABLE: ConstantSpec[] = [
  { name: 'MATRIX_LR', kind: 'float', initial: 0.04, scale: 'log' },
  { name: 'EMBEDDING_LR', kind: 'float', initial: 0.6, scale: 'log' },
  { name: 'WEIGHT_DECAY', kind: 'float', initial: 0.2, scale: 'log' },
  { name: 'WARMDOWN_RATIO', kind: 'float', initial: 0.5, scale: 'tail' },
  { name: 'ADAM_BETA2', kind: 'float', initial: 0.95, scale: 'tail' },
];
const DEPTH: ConstantSpec = { name: 'DEPTH', kind: 'int', initial: 8, scale: 'log', shape: true };

/** The decisions bench's ideas, in σ: 10% help by 1–3σ, 45% are neutral, 45% harm by 0–1σ. */
function fixtureIdea(sigma: number) {
  return (rng: Rng) => {
    const r = rng();
    return sigma * (r < 0.1 ? uniform(rng, 1, 3) : r < 0.55 ? 0 : -uniform(rng, 0, 1));
  };
}

/** Separable bowls: Σ w·(u − u*)², each optimum a random distance from the initial value. */
function bowls(specs: ConstantSpec[], rng: Rng, weight: () => number, offset: () => number) {
  const terms = specs.map((spec) => ({ spec, w: weight(), opt: offset() }));
  return {
    value: (code: Code) => terms.reduce((s, t) => s + t.w * (coordinate(t.spec, code.values[t.spec.name]) - t.opt) ** 2, 0),
    better: (name: string, code: Code) => {
      const t = terms.find((x) => x.spec.name === name);
      if (!t) return 0;
      // Both scales grow with the value, so a coordinate below the optimum means up.
      return coordinate(t.spec, code.values[name]) < t.opt ? 1 : -1;
    },
  };
}

/**
 * Depth against speed: a deeper model learns more per token but trains fewer tokens in the time
 * budget. The night's optimum lies between 6 and 13 layers.
 */
function depthTerm(rng: Rng) {
  const perToken = uniform(rng, 0.025, 0.04);
  const curvature = 0.01;
  const x = (code: Code) => Math.log(code.values.DEPTH / DEPTH.initial);
  return {
    quality: (code: Code) => -perToken * x(code) + curvature * x(code) ** 2,
    logSpeed: (code: Code) => -x(code),
    better: (code: Code) => (-perToken + BPB_PER_LOG_SPEED + 2 * curvature * x(code) < 0 ? 1 : -1),
  };
}

function truthOf(parts: { value: (c: Code) => number; better: (name: string, c: Code) => number }, depth: ReturnType<typeof depthTerm>): Truth {
  return {
    logSpeed: depth.logSpeed,
    value: (code) => 1 + parts.value(code) + depth.quality(code) - BPB_PER_LOG_SPEED * depth.logSpeed(code) - code.ideas,
    better: (name, code) => (name === 'DEPTH' ? depth.better(code) : parts.better(name, code)),
  };
}

const SIGMA = 0.0003;

export const SMOOTH: Landscape = {
  name: 'smooth',
  summary: 'smooth and separable: a bowl per constant, optimum ~0.5 log units away, depth against speed',
  sigmaBpb: SIGMA,
  constants: [...TUNABLE, DEPTH],
  coupled: [],
  night(rng) {
    const b = bowls(TUNABLE, rng, () => uniform(rng, 0.002, 0.004), () => 0.5 * gaussian(rng));
    return truthOf(b, depthTerm(rng));
  },
  idea: fixtureIdea(SIGMA),
};

/**
 * Two learning rates must move together: off their ratio a step costs 3σ, along it the gain is
 * about 3σ a step. Moving one alone looks worse.
 */
export const INTERACTING: Landscape = {
  name: 'interacting',
  summary: 'interacting: MATRIX_LR and EMBEDDING_LR gain only when moved together (alone a step looks ~1σ worse)',
  sigmaBpb: SIGMA,
  constants: [...TUNABLE, DEPTH],
  coupled: [['MATRIX_LR', 'EMBEDDING_LR']],
  night(rng) {
    const rest = bowls(TUNABLE.slice(2), rng, () => uniform(rng, 0.002, 0.004), () => 0.5 * gaussian(rng));
    const along = (rng() < 0.5 ? -1 : 1) * uniform(rng, 0.6, 1.2);
    const [a, e] = TUNABLE;
    const pair = (code: Code) => {
      const u = coordinate(a, code.values[a.name]);
      const v = coordinate(e, code.values[e.name]);
      return { ridge: u - v, along: u + v };
    };
    return truthOf({
      value: (code) => {
        const p = pair(code);
        return rest.value(code) + 0.02 * p.ridge ** 2 + 0.002 * (p.along - along) ** 2;
      },
      better: (name, code) => (name === a.name || name === e.name ? (pair(code).along < along ? 1 : -1) : rest.better(name, code)),
    }, depthTerm(rng));
  },
  idea: fixtureIdea(SIGMA),
};

/**
 * A better basin behind a plateau: raising LOGIT_SOFTCAP up to 4x looks ~1σ worse, 5x or more is
 * 9σ better. Lowering it is simply worse.
 */
const SOFTCAP: ConstantSpec = { name: 'LOGIT_SOFTCAP', kind: 'float', initial: 15, scale: 'log' };
export const DECEPTIVE: Landscape = {
  name: 'deceptive',
  summary: 'deceptive: LOGIT_SOFTCAP x1.5-4 looks ~1σ worse, x5 and beyond is 9σ better',
  sigmaBpb: SIGMA,
  constants: [...TUNABLE, SOFTCAP, DEPTH],
  coupled: [],
  night(rng) {
    const rest = bowls(TUNABLE, rng, () => uniform(rng, 0.002, 0.004), () => 0.5 * gaussian(rng));
    const cap = (code: Code) => {
      const u = coordinate(SOFTCAP, code.values[SOFTCAP.name]);
      if (u < 0) return 0.002 * u * u;
      const plateau = SIGMA * Math.min(1, Math.max(0, (u - 0.15) / 0.35));
      const basin = 0.003 * smoothstep((u - 1.5) / 0.3);
      return plateau - basin;
    };
    return truthOf({
      value: (code) => rest.value(code) + cap(code),
      better: (name, code) => (name === SOFTCAP.name ? 1 : rest.better(name, code)),
    }, depthTerm(rng));
  },
  idea: fixtureIdea(SIGMA),
};

function smoothstep(x: number): number {
  const t = Math.min(1, Math.max(0, x));
  return t * t * (3 - 2 * t);
}

/**
 * The original's night as measured: σ of a few 0.0001 bpb, most gains near 0.001 bpb, a few large
 * ones. Nine constants each hold 0.0005–0.0015 bpb one or two steps away, two hold 0.003–0.006.
 */
const CALIBRATED_CONSTANTS: ConstantSpec[] = [
  ...TUNABLE,
  { name: 'SCALAR_LR', kind: 'float', initial: 0.5, scale: 'log' },
  { name: 'UNEMBEDDING_LR', kind: 'float', initial: 0.004, scale: 'log' },
  { name: 'WARMUP_RATIO', kind: 'float', initial: 0.05, scale: 'log' },
  { name: 'ASPECT_RATIO', kind: 'int', initial: 64, scale: 'log' },
  { name: 'HEAD_DIM', kind: 'int', initial: 128, scale: 'log' },
  { name: 'FINAL_LR_FRAC', kind: 'float', initial: 0.1, scale: 'log' },
];
export const CALIBRATED: Landscape = {
  name: 'calibrated',
  summary: "the original's night: σ 0.0003 bpb, most gains near 0.001 bpb, a few of 0.003-0.006",
  sigmaBpb: SIGMA,
  constants: [...CALIBRATED_CONSTANTS, DEPTH],
  coupled: [],
  night(rng) {
    const large = new Set([Math.floor(rng() * CALIBRATED_CONSTANTS.length)]);
    large.add(Math.floor(rng() * CALIBRATED_CONSTANTS.length));
    const terms = CALIBRATED_CONSTANTS.map((spec, i) => {
      const opt = (rng() < 0.5 ? -1 : 1) * uniform(rng, 0.2, 0.5);
      const worth = large.has(i) ? uniform(rng, 0.003, 0.006) : uniform(rng, 0.0005, 0.0015);
      return { spec, opt, w: worth / opt ** 2 };
    });
    return truthOf({
      value: (code) => terms.reduce((s, t) => s + t.w * (coordinate(t.spec, code.values[t.spec.name]) - t.opt) ** 2, 0),
      better: (name, code) => {
        const t = terms.find((x) => x.spec.name === name);
        return t && coordinate(t.spec, code.values[name]) > t.opt ? -1 : 1;
      },
    }, depthTerm(rng));
  },
  idea(rng) {
    const r = rng();
    if (r < 0.04) return uniform(rng, 0.002, 0.006);
    if (r < 0.24) return 0.001 * Math.exp(0.5 * gaussian(rng));
    if (r < 0.55) return 0;
    return -0.001 * Math.exp(0.8 * gaussian(rng));
  },
};

export const LANDSCAPES: Landscape[] = [SMOOTH, INTERACTING, DECEPTIVE, CALIBRATED];
