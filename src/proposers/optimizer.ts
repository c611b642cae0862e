/**
 * The optimizer proposer: Optuna's ask-and-tell over the editable files' numeric constants. The
 * study is rebuilt from the journal on every call (its trials are the journal's records), so there
 * is no database of its own to lose; the sampler's seed comes from the run's seed and the
 * experiment number, so the same journal gives the same proposal on a retry.
 */
import type { ProposerConfig } from '../core/runInput.js';
import type { OptimizerSettings } from '../core/optimizerSettings.js';
import type { Proposal } from '../core/proposal.js';
import { ProposerFatalError } from '../core/failures.js';
import { ZERO_USAGE } from '../core/usage.js';
import type { Proposer, ProposerContext } from './context.js';
import { formatLiteral } from './constants.js';
import { checkedAnswer, type Dimension, type Suggest, type SuggestAnswer, type SuggestRequest } from './optimizerProtocol.js';
import { type NumericConstant, searchableConstants, searchSpace } from './optimizerSpace.js';
import { type Change, CONSTANTS_LINE, formatChanges, runningTrials, trialsOf } from './optimizerTrials.js';

/** Asks with another seed when a suggestion is the current code, or code the journal has trained. */
const MAX_ASKS = 5;
const DESCRIPTION_CHARS = 200;
const HYPOTHESIS_CHARS = 2000;

export interface Suggestion {
  changes: Change[];
  constants: NumericConstant[];
  /** How many trials the study held. */
  trials: number;
  sampler: OptimizerSettings['sampler'];
}

/** The sampler's seed: the run's seed, the experiment and the attempt, in numpy's range. */
export function samplerSeed(seed: number, experiment: number, attempt: number): number {
  const mixed = (BigInt(seed) * 1_000_003n + BigInt(experiment) * 7_919n + BigInt(attempt)) % 2_147_483_647n;
  return Number(mixed < 0n ? mixed + 2_147_483_647n : mixed);
}

/** The study's request for this context, or undefined when there is nothing to search. */
export function studyRequest(ctx: ProposerContext, settings: OptimizerSettings, seed: number): { request: SuggestRequest; constants: NumericConstant[] } | undefined {
  const constants = searchableConstants(ctx.files, settings);
  if (constants.length === 0) return undefined;
  const names = constants.map((c) => c.name);
  const current = Object.fromEntries(constants.map((c) => [c.name, c.value.value]));
  const history = ctx.history
    ? trialsOf({ records: ctx.history.records, tag: ctx.history.tag, names, current, bestCommit: ctx.filesCommit ?? ctx.best?.commitFull })
    : { trials: [] };
  const start = history.start ?? current;
  const all = [...history.trials, ...runningTrials(ctx.inFlight ?? [], names, current)];
  const { space, trials } = searchSpace({ constants, settings, start, trials: all });
  if (space.length === 0) return undefined;
  const x0 = Object.fromEntries(space.map((d) => [d.name, start[d.name]]));
  return { request: { sampler: settings.sampler, seed: samplerSeed(seed, ctx.experiment, 0), space, trials, x0 }, constants };
}

function literalOf(d: Dimension, v: number): string {
  return formatLiteral(d.kind === 'int' ? { kind: 'int', value: Math.round(v) } : { kind: 'float', value: v });
}

/** The constant's line with another literal (after the `=`: a name such as X2 may hold the literal too). */
export function lineWith(c: NumericConstant, literal: string): string {
  const eq = c.line.indexOf('=') + 1;
  return c.line.slice(0, eq) + c.line.slice(eq).replace(c.literal, () => literal);
}

/** The editable files with these changes made, line by line. */
export function filesWith(files: readonly { path: string; content: string }[], constants: readonly NumericConstant[], changes: readonly Change[]): Record<string, string> {
  const out = Object.fromEntries(files.map((f) => [f.path, f.content]));
  for (const ch of changes) {
    const c = constants.find((x) => x.name === ch.name)!;
    out[c.file] = out[c.file].replace(c.line, () => lineWith(c, ch.to));
  }
  return out;
}

/**
 * The optimizer's next suggestion: the constants it would change, and to what. Asks again with the
 * next seed while the answer is no change or code the journal has trained, at most MAX_ASKS times.
 */
export async function nextSuggestion(ctx: ProposerContext, settings: OptimizerSettings, seed: number, suggest: Suggest,
  signal?: AbortSignal): Promise<Suggestion | undefined> {
  const study = studyRequest(ctx, settings, seed);
  if (!study) return undefined;
  const { request, constants } = study;
  for (let attempt = 0; attempt < MAX_ASKS; attempt++) {
    const answer = checkedAnswer(await suggest({ ...request, seed: samplerSeed(seed, ctx.experiment, attempt) }, signal), request.space);
    const changes = changesFor(request.space, constants, answer);
    if (changes.length === 0 || ctx.measured?.(filesWith(ctx.files, constants, changes))) continue;
    return { changes, constants, trials: request.trials.length, sampler: settings.sampler };
  }
  return undefined;
}

/** The constants an answer changes, as their literals will read. */
export function changesFor(space: readonly Dimension[], constants: readonly NumericConstant[], answer: SuggestAnswer): Change[] {
  return fitting(space.flatMap((d) => {
    const c = constants.find((x) => x.name === d.name)!;
    const to = literalOf(d, answer.params[d.name]);
    return to === c.literal ? [] : [{ name: d.name, from: c.literal, to }];
  }));
}

/** As many changes as the hypothesis's `constants:` line can list (every change made is listed, so the journal can read it back). */
function fitting(changes: Change[]): Change[] {
  const room = HYPOTHESIS_CHARS - 400;
  let n = changes.length;
  while (n > 0 && formatChanges(changes.slice(0, n)).length > room) n--;
  return changes.slice(0, n);
}

/** `A: 1 -> 2, B: 3 -> 4 (+5 more)` within the description's length. */
function describe(changes: readonly Change[]): string {
  for (let n = changes.length; n > 0; n--) {
    const more = changes.length - n;
    const text = formatChanges(changes.slice(0, n)) + (more ? ` (+${more} more)` : '');
    if (text.length <= DESCRIPTION_CHARS) return text;
  }
  return `${changes.length} constants changed`.slice(0, DESCRIPTION_CHARS);
}

const SAMPLER_NAMES = { tpe: 'TPE', cmaes: 'CMA-ES' } as const;

export function proposalOf(s: Suggestion): Proposal {
  return {
    hypothesis: `${SAMPLER_NAMES[s.sampler]} trial over ${s.constants.length} constants, from a study of ${s.trials} trials rebuilt from the journal.\n` +
      `${CONSTANTS_LINE}${formatChanges(s.changes)}`,
    description: describe(s.changes),
    edits: s.changes.map((ch) => {
      const c = s.constants.find((x) => x.name === ch.name)!;
      return { path: c.file, search: c.line, replace: lineWith(c, ch.to) };
    }),
  };
}

/** The settings of kind "optimizer": TPE over every numeric constant unless the run input says otherwise. */
export function optimizerSettingsOf(config: ProposerConfig): OptimizerSettings {
  return config.optimizer ?? { sampler: 'tpe' };
}

export function createOptimizerProposer(config: ProposerConfig, suggest: Suggest | undefined): Proposer {
  const settings = optimizerSettingsOf(config);
  return {
    async propose(ctx, signal) {
      if (!suggest) throw new ProposerFatalError('the optimizer proposer needs its sampler (python/suggest.py), which this worker was not given');
      const s = await nextSuggestion(ctx, settings, config.seed, suggest, signal);
      if (!s) {
        throw new ProposerFatalError(`optimizer proposer: ${searchableConstants(ctx.files, settings).length === 0
          ? 'the editable files have no numeric constant to search' : `no new setting after ${MAX_ASKS} asks`}`);
      }
      return { proposal: proposalOf(s), usage: ZERO_USAGE };
    },
  };
}
