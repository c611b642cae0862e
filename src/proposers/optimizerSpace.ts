/**
 * The optimizer's search space: the numeric top-level constants of the editable files, each with a
 * range given in the run input or made from its value at the run's start (so it stays the same all
 * run long). Pure.
 */
import type { OptimizerSettings } from '../core/optimizerSettings.js';
import { type Constant, findConstants } from './constants.js';
import type { Dimension, Trial } from './optimizerProtocol.js';

/** A seed is noise, not a setting: never searched. */
const NEVER = /(^|_)SEED$/;

export type NumericConstant = Constant & { value: { kind: 'int' | 'float'; value: number } };

/** The editable files' numeric constants the optimizer may search, in file order. */
export function searchableConstants(files: readonly { path: string; content: string }[], settings: Pick<OptimizerSettings, 'exclude'>): NumericConstant[] {
  const excluded = new Set(settings.exclude ?? []);
  return files
    .flatMap((f) => findConstants(f.path, f.content))
    .filter((c): c is NumericConstant => (c.value.kind === 'int' || c.value.kind === 'float') && !NEVER.test(c.name) && !excluded.has(c.name));
}

/** A name that says its value is a fraction: it stays at or below 1. */
const FRACTION = /(RATIO|FRAC|FRACTION|PROB|DROPOUT)$/;

/**
 * A range around a value: ints ±50%; positive floats a factor of 4 either way on a log scale, a
 * fraction (by its name) no higher than 1, and one in [0.9, 1) (a beta, a decay) a factor of 4 in
 * its distance to 1. Zero and negative values have no scale to search from: they need a range in
 * the run input.
 */
export function autoRange(name: string, kind: 'int' | 'float', v: number): Omit<Dimension, 'name' | 'kind'> | undefined {
  if (!(v > 0)) return undefined;
  if (kind === 'int') {
    const low = Math.max(1, Math.floor(v * 0.5));
    return { low, high: Math.max(low + 1, Math.ceil(v * 1.5)), log: false };
  }
  if (v >= 0.9 && v < 1) return { low: 1 - (1 - v) * 4, high: 1 - (1 - v) / 4, log: false };
  if (v < 1 && FRACTION.test(name)) return { low: v / 4, high: Math.min(1, v * 4), log: true };
  return { low: v / 4, high: v * 4, log: true };
}

/**
 * The space, and the trials that fit it. An automatic range grows to take in every value the
 * journal has trained (and the current one), so no trained value is lost; a range from the run
 * input is kept as given, and a trial outside it is left out.
 */
export function searchSpace(input: {
  constants: readonly NumericConstant[];
  settings: Pick<OptimizerSettings, 'ranges'>;
  start: Record<string, number>;
  trials: readonly Trial[];
}): { space: Dimension[]; trials: Trial[] } {
  const space: Dimension[] = [];
  for (const c of input.constants) {
    const kind = c.value.kind;
    const given = input.settings.ranges?.[c.name];
    if (given) {
      const [low, high] = kind === 'int' ? [Math.ceil(given[0]), Math.floor(given[1])] : given;
      if (low < high) space.push({ name: c.name, kind, low, high, log: low > 0 && high / low >= 8 });
      continue;
    }
    const range = autoRange(c.name, kind, input.start[c.name] ?? c.value.value);
    if (!range) continue;
    const seen = [c.value.value, ...input.trials.map((t) => t.params[c.name])].filter((x) => x !== undefined && (!range.log || x > 0));
    space.push({ name: c.name, kind, low: Math.min(range.low, ...seen), high: Math.max(range.high, ...seen), log: range.log });
  }
  const inside = (t: Trial) => space.every((d) => t.params[d.name] !== undefined && t.params[d.name] >= d.low && t.params[d.name] <= d.high);
  const trials = input.trials
    .filter(inside)
    .map((t) => ({ ...t, params: Object.fromEntries(space.map((d) => [d.name, t.params[d.name]])) }));
  return { space, trials };
}
