import { readFile } from 'node:fs/promises';
import { parseSummary, type TrainerSummary } from './summary.js';
import type { TrainResult } from './train.js';

export type Evaluation =
  | { ok: true; summary: TrainerSummary }
  | { ok: false; reason: string };

/** No block, FAIL, NaN, a timeout or a non-zero exit: each is a crash, with the reason recorded. */
export async function evaluate(result: TrainResult): Promise<Evaluation> {
  if (result.timedOut) return { ok: false, reason: `timed out after ${result.seconds.toFixed(0)}s` };
  if (result.exitCode !== 0) return { ok: false, reason: `trainer exited with ${result.exitCode ?? result.signal}` };
  const parsed = parseSummary(await readFile(result.logFile, 'utf8'));
  return parsed.ok ? parsed : { ok: false, reason: parsed.reason };
}
