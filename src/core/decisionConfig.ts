/**
 * The keep rule's settings, their defaults, and the run input's `decision` field that sets them
 * (the rule itself: keepRule.ts; docs/decisions.md): a mode name, `"greedy"` (the original's rule)
 * or `"noise"` (the defaults), or an object that sets single knobs. Always parses to a full
 * DecisionConfig.
 */
import { z } from 'zod';
import { DEFAULT_FRESH_RUNS, DEFAULT_K_CONFIRMED } from './confirmedKeep.js';

/** `greedy`: the original's rule (keep iff strictly below the best). `noise`: the rules below. */
const DECISION_MODES = ['greedy', 'noise'] as const;
export type DecisionMode = (typeof DECISION_MODES)[number];

/** What the trainer's budget counts. Only a time budget lets the machine's speed move val_bpb. */
export type BudgetKind = 'time' | 'tokens';

export interface DecisionConfig {
  mode: DecisionMode;
  /** A gain is kept when it exceeds k standard errors of the measured difference (widened for a σ from few runs). */
  k: number;
  /** Gains between confirmFrom standard errors and the keep threshold earn a confirmation; smaller ones are discarded. */
  confirmFrom: number;
  /** Runs (each with its own seed) of the baseline and of every new best: its reference value and σ. */
  repeats: number;
  /** At most this many confirmations per candidate (each one more run of the candidate and of the incumbent). */
  confirmations: number;
  /** Under a time budget, throughput may differ from the incumbent's by this fraction before a result is suspect. */
  throughputTolerance: number;
  /** At most this many re-measurements (the candidate and the incumbent again, back to back) per candidate. */
  remeasures: number;
  /** What one net added line of the diff costs, in bpb. */
  pricePerLine: number;
  /** The smallest σ believed, in bpb: a trainer that ignores its seed measures σ = 0. */
  sigmaFloor: number;
  /** The bar, in standard errors, for a mean over confirmations (absent: k). */
  kConfirmed?: number;
  /** Every code's j-th run takes the same seed, and a candidate is judged on its differences from the incumbent's runs of those seeds (pairedKeep.ts). Absent: off. */
  paired?: boolean;
  /** Runs of every new best with new seeds, its reference from then on (absent: repeats; 0: the runs that got it kept). */
  freshRuns?: number;
}

/** k: a neutral change passes one comparison 2.3% of the time. */
export const DEFAULT_K = 2;
/**
 * Gains above half a standard error earn a confirmation: with the lower bar for a confirmed mean
 * (confirmedKeep.ts) that is where the real gains one run cannot show are (bench/research.ts).
 */
const DEFAULT_CONFIRM_FROM = 0.5;
/** Three runs: the least that gives σ two degrees of freedom and the incumbent a mean worth comparing to. */
const DEFAULT_REPEATS = 3;
/** One confirmation: a second buys little real gain at equal training runs (bench/research.ts). */
const DEFAULT_CONFIRMATIONS = 1;
const DEFAULT_THROUGHPUT_TOLERANCE = 0.15;
const DEFAULT_REMEASURES = 1;
/** 100 added lines must buy 0.001 bpb, about the size of the original's typical kept gain. */
const DEFAULT_PRICE_PER_LINE = 0.00001;
/** val_bpb is printed with six decimals: nothing below that is measured. */
export const DEFAULT_SIGMA_FLOOR = 0.000001;

export const DEFAULT_DECISION_CONFIG: DecisionConfig = {
  mode: 'noise',
  k: DEFAULT_K,
  confirmFrom: DEFAULT_CONFIRM_FROM,
  repeats: DEFAULT_REPEATS,
  confirmations: DEFAULT_CONFIRMATIONS,
  throughputTolerance: DEFAULT_THROUGHPUT_TOLERANCE,
  remeasures: DEFAULT_REMEASURES,
  pricePerLine: DEFAULT_PRICE_PER_LINE,
  sigmaFloor: DEFAULT_SIGMA_FLOOR,
  kConfirmed: DEFAULT_K_CONFIRMED,
  freshRuns: DEFAULT_FRESH_RUNS,
};

/** The original's rule: one run each, no noise estimate, no confirmations. */
export const GREEDY_DECISION_CONFIG: DecisionConfig = { ...DEFAULT_DECISION_CONFIG, mode: 'greedy', repeats: 1, confirmations: 0, remeasures: 0, pricePerLine: 0 };



/** Greedy mode is the original's rule exactly, so the noise knobs do not apply to it. */
function resolve(c: DecisionConfig): DecisionConfig {
  return c.mode === 'greedy' ? GREEDY_DECISION_CONFIG : c;
}

const DecisionObjectSchema = z
  .object({
    mode: z.enum(DECISION_MODES).default('noise'),
    /** Keep above k standard errors of the difference. */
    k: z.number().positive().max(10).default(DEFAULT_K),
    /** Confirm gains above this many standard errors (and below the keep bar); discard smaller ones. */
    confirmFrom: z.number().min(0).max(10).default(DEFAULT_CONFIRM_FROM),
    /** Runs of the baseline and of each new best. σ needs two runs of the same code at least. */
    repeats: z.number().int().min(2).max(20).default(DEFAULT_REPEATS),
    /** Confirmations per candidate, each one more run of the candidate and of the incumbent. */
    confirmations: z.number().int().min(0).max(10).default(DEFAULT_CONFIRMATIONS),
    /** Fraction by which throughput may differ from the incumbent's under a time budget. */
    throughputTolerance: z.number().positive().max(10).default(DEFAULT_THROUGHPUT_TOLERANCE),
    /** Re-measurements per candidate whose throughput is off. */
    remeasures: z.number().int().min(0).max(10).default(DEFAULT_REMEASURES),
    /** bpb one net added line costs. */
    pricePerLine: z.number().min(0).max(1).default(DEFAULT_PRICE_PER_LINE),
    /** The smallest σ believed, bpb. */
    sigmaFloor: z.number().min(0).max(1).default(DEFAULT_SIGMA_FLOOR),
    /** Keep a mean over confirmations above this many standard errors. */
    kConfirmed: z.number().positive().max(10).default(DEFAULT_K_CONFIRMED),
    /** Fresh runs of each new best; 0: the runs that got it kept are its reference. */
    freshRuns: z.number().int().min(0).max(20).default(DEFAULT_FRESH_RUNS),
    /** Runs paired by seed: a candidate judged on its differences from the incumbent's runs of the same seeds. */
    paired: z.boolean().optional(),
  })
  .strict();

export const DecisionSchema = z
  .union([z.enum(DECISION_MODES).transform((mode) => ({ ...DEFAULT_DECISION_CONFIG, mode })), DecisionObjectSchema], {
    error: `expected ${DECISION_MODES.map((m) => `"${m}"`).join(' or ')}, or an object of decision settings`,
  })
  .transform((c): DecisionConfig => resolve(c))
  .default(DEFAULT_DECISION_CONFIG);

