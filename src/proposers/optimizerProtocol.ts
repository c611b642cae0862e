/**
 * What the optimizer proposer sends its sampler (python/suggest.py) and what it reads back: the
 * answer is validated here, at the boundary, before it becomes a proposal.
 */
import { z } from 'zod';

export interface Dimension {
  name: string;
  kind: 'int' | 'float';
  low: number;
  high: number;
  log: boolean;
}

export interface Trial {
  params: Record<string, number>;
  /** val_bpb of a complete trial; null for a failed (crashed) or running one. */
  value: number | null;
  state: 'complete' | 'fail' | 'running';
}

export interface SuggestRequest {
  sampler: 'tpe' | 'cmaes';
  /** The sampler's seed: from the run's seed, the experiment number and the attempt. */
  seed: number;
  space: Dimension[];
  /** In the order they were recorded: the study is the same for the same journal. */
  trials: Trial[];
  /** Where CMA-ES starts: the values at the run's start. */
  x0?: Record<string, number>;
}

export const SuggestAnswerSchema = z
  .object({ params: z.record(z.string(), z.number().finite()) })
  .strict();
export type SuggestAnswer = z.infer<typeof SuggestAnswerSchema>;

/** Runs the sampler once (the worker: python/suggest.py in its own environment). */
export type Suggest = (request: SuggestRequest, signal?: AbortSignal) => Promise<SuggestAnswer>;

/** The answer checked against the space it was asked for: every dimension, inside its range. */
export function checkedAnswer(raw: unknown, space: readonly Dimension[]): SuggestAnswer {
  const answer = SuggestAnswerSchema.parse(raw);
  for (const d of space) {
    const v = answer.params[d.name];
    if (v === undefined) throw new Error(`the optimizer's answer has no value for ${d.name}`);
    if (v < d.low || v > d.high) throw new Error(`the optimizer's answer ${d.name}=${v} is outside [${d.low}, ${d.high}]`);
  }
  return answer;
}
