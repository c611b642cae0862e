import { z } from 'zod';

/** A constant's name as the optimizer searches it: a top-level UPPER_CASE assignment. */
const ConstantName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'an UPPER_CASE constant name, e.g. MATRIX_LR');

/** `[lo, hi]`, lo below hi, both finite. */
const RangeSchema = z
  .tuple([z.number().finite(), z.number().finite()])
  .refine(([lo, hi]) => lo < hi, { message: 'must be [lo, hi] with lo below hi' });

/**
 * The optimizer's settings (`proposer.optimizer`): for kind `optimizer` it proposes every trial;
 * for kind `claude` or `openai` it proposes `share` of them and the LLM the rest (the hybrid).
 */
export const OptimizerSettingsSchema = z
  .object({
    /** TPE (the default) or CMA-ES. */
    sampler: z.enum(['tpe', 'cmaes']).default('tpe'),
    /** Search ranges by constant name; a constant without one gets a range from its value at the run's start. */
    ranges: z.record(ConstantName, RangeSchema).optional(),
    /** Constants never searched (SEED is never searched either). */
    exclude: z.array(ConstantName).optional(),
    /** The hybrid: the share of trials the optimizer proposes (the LLM the rest). Only for kind claude or openai. */
    share: z.number().min(0).max(1).optional(),
  })
  .strict();
export type OptimizerSettings = z.output<typeof OptimizerSettingsSchema>;

/** The hybrid's share when `optimizer` is given to an LLM proposer without one. */
export const DEFAULT_HYBRID_SHARE = 0.7;

/** Checks that belong to the proposer as a whole: which kinds take optimizer settings, and what they mean there. */
export function checkOptimizerSettings(p: { kind: string; optimizer?: OptimizerSettings }, ctx: z.RefinementCtx): void {
  if (!p.optimizer) return;
  if (p.kind === 'offline') {
    ctx.addIssue({ code: 'custom', path: ['optimizer'], message: 'is for kind "optimizer", or "claude"/"openai" with a share (the hybrid); not for "offline"' });
  }
  if (p.kind === 'optimizer' && p.optimizer.share !== undefined && p.optimizer.share !== 1) {
    ctx.addIssue({ code: 'custom', path: ['optimizer', 'share'], message: 'is for the hybrid (kind "claude" or "openai"); kind "optimizer" proposes every trial' });
  }
}
