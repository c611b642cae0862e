import { z } from 'zod';

/** The trainer's final summary block (docs/architecture.md, "The trainer contract"). Only val_bpb is required. */
export const TrainerSummarySchema = z.object({
  val_bpb: z.number().finite().positive(),
  training_seconds: z.number().finite().optional(),
  total_seconds: z.number().finite().optional(),
  peak_vram_mb: z.number().finite().nonnegative().optional(),
  mfu_percent: z.number().finite().optional(),
  total_tokens_M: z.number().finite().optional(),
  num_steps: z.number().finite().optional(),
  num_params_M: z.number().finite().optional(),
  depth: z.number().finite().optional(),
}).catchall(z.number());
export type TrainerSummary = z.infer<typeof TrainerSummarySchema>;

export type SummaryParse = { ok: true; summary: TrainerSummary } | { ok: false; reason: string };

/**
 * Parses the last `---` block of a trainer's output. `FAIL` anywhere after the last block start,
 * a missing block, or a NaN val_bpb is a failure with a reason (the experiment becomes a crash).
 */
export function parseSummary(output: string): SummaryParse {
  const lines = output.split(/\r?\n/);
  if (lines.some((l) => l.trim() === 'FAIL')) return { ok: false, reason: 'trainer printed FAIL' };
  const start = lines.map((l) => l.trim()).lastIndexOf('---');
  if (start < 0) return { ok: false, reason: 'no summary block (a line "---" then "val_bpb: ...")' };
  const values: Record<string, number> = {};
  for (const line of lines.slice(start + 1)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*):\s+(\S+)\s*$/.exec(line.trim());
    if (!m) continue;
    const v = Number(m[2]);
    // A non-finite val_bpb must fail validation; other keys are informative only, so drop them.
    if (Number.isFinite(v) || m[1] === 'val_bpb') values[m[1]] = v;
  }
  if (!('val_bpb' in values)) return { ok: false, reason: 'summary block has no val_bpb' };
  const parsed = TrainerSummarySchema.safeParse(values);
  if (!parsed.success) {
    return { ok: false, reason: `invalid summary: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  }
  return { ok: true, summary: parsed.data };
}
