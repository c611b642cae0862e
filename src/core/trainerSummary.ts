import { z } from 'zod';

/** The trainer's final summary block (docs/architecture.md, "The trainer contract"). Only val_bpb is required. */
const TrainerSummarySchema = z.object({
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

/** The nine keys of the original's summary block. */
const SUMMARY_KEYS: readonly string[] = Object.keys(TrainerSummarySchema.shape);

/** At most this many keys beyond the nine are kept (the first ones printed), so the summary stays small. */
export const MAX_EXTRA_METRICS = 32;

/** Under harness evaluation the trainer may print no val_bpb (its validation split is hidden): the harness scores it. */
const HarnessTrainerSummarySchema = TrainerSummarySchema.partial({ val_bpb: true });
export type PartialTrainerSummary = z.infer<typeof HarnessTrainerSummarySchema>;

/** The device the trainer ran on (`device_name: NVIDIA H100 80GB HBM3`): the lane's machine class unless the worker names one. */
const DEVICE_NAME = /^device_name:\s+(\S.{0,199})$/;

export type SummaryParse = { ok: true; summary: TrainerSummary; deviceName?: string } | { ok: false; reason: string };
export type PartialSummaryParse = { ok: true; summary: PartialTrainerSummary; deviceName?: string } | { ok: false; reason: string };

/**
 * Parses the last `---` block of a trainer's output. `FAIL` after the last block start (or anywhere,
 * when there is no block), a missing block, or a NaN val_bpb is a failure with a reason (the
 * experiment becomes a crash). Keys beyond the nine (names up to 64 characters) are kept up to MAX_EXTRA_METRICS.
 * With `valBpb: 'optional'` (harness evaluation) a block without val_bpb is accepted. The one text
 * line read is `device_name`, kept beside the numbers.
 */
export function parseSummary(output: string): SummaryParse;
export function parseSummary(output: string, options: { valBpb: 'optional' }): PartialSummaryParse;
export function parseSummary(output: string, options?: { valBpb: 'optional' }): SummaryParse | PartialSummaryParse {
  const lines = output.split(/\r?\n/).map((l) => l.trim());
  const start = lines.lastIndexOf('---');
  if (lines.slice(start + 1).includes('FAIL')) return { ok: false, reason: 'trainer printed FAIL' };
  if (start < 0) return { ok: false, reason: 'no summary block (a line "---" then "val_bpb: ...")' };
  const known = new Set(SUMMARY_KEYS);
  const values: Record<string, number> = {};
  let extra = 0;
  let deviceName: string | undefined;
  for (const line of lines.slice(start + 1)) {
    const device = DEVICE_NAME.exec(line);
    if (device) {
      deviceName = device[1].trim();
      continue;
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]{0,63}):\s+(\S+)$/.exec(line);
    if (!m) continue;
    const [, key, text] = m;
    const v = Number(text);
    // A non-finite val_bpb must fail validation; other keys are informative only, so drop them.
    if (!Number.isFinite(v) && key !== 'val_bpb') continue;
    if (!known.has(key) && !(key in values)) {
      if (extra >= MAX_EXTRA_METRICS) continue;
      extra++;
    }
    values[key] = v;
  }
  if (!('val_bpb' in values) && !options) return { ok: false, reason: 'summary block has no val_bpb' };
  const parsed = (options ? HarnessTrainerSummarySchema : TrainerSummarySchema).safeParse(values);
  if (!parsed.success) {
    return { ok: false, reason: `invalid summary: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
  }
  return { ok: true, summary: parsed.data, ...(deviceName ? { deviceName } : {}) };
}
