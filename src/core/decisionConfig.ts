/**
 * The run input's `decision` field: how keep decisions see the noise (src/workflows/keepRule.ts,
 * docs/decisions.md). Either a mode name, `"greedy"` (the original's rule) or `"noise"` (the
 * defaults), or an object that sets single knobs. Always parses to a full DecisionConfig.
 */
import { z } from 'zod';
import {
  DECISION_MODES, DEFAULT_CONFIRM_FROM, DEFAULT_CONFIRMATIONS, DEFAULT_DECISION_CONFIG, DEFAULT_K, DEFAULT_PRICE_PER_LINE, DEFAULT_REMEASURES,
  DEFAULT_REPEATS, DEFAULT_SIGMA_FLOOR, DEFAULT_THROUGHPUT_TOLERANCE, GREEDY_DECISION_CONFIG, type DecisionConfig,
} from './keepRule.js';

/** Greedy mode is the original's rule exactly, so the noise knobs do not apply to it. */
function resolve(c: DecisionConfig): DecisionConfig {
  return c.mode === 'greedy' ? GREEDY_DECISION_CONFIG : c;
}

export const DecisionObjectSchema = z
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
  })
  .strict();

export const DecisionSchema = z
  .union([z.enum(DECISION_MODES).transform((mode) => ({ ...DEFAULT_DECISION_CONFIG, mode })), DecisionObjectSchema], {
    error: `expected ${DECISION_MODES.map((m) => `"${m}"`).join(' or ')}, or an object of decision settings`,
  })
  .transform((c): DecisionConfig => resolve(c))
  .default(DEFAULT_DECISION_CONFIG);

export type DecisionInput = z.input<typeof DecisionSchema>;
