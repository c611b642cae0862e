/**
 * The hybrid: an LLM proposer with the optimizer beside it. The optimizer proposes `share` of the
 * experiments; on the others the LLM proposes, with the optimizer's next suggestion in its prompt
 * to take, adapt or override. Whatever the LLM changes among the numeric constants is written on
 * its hypothesis's `constants:` line, so the journal tells it back to the optimizer as a trial.
 */
import type { ProposerConfig } from '../core/runInput.js';
import { DEFAULT_HYBRID_SHARE, type OptimizerSettings } from '../core/optimizerSettings.js';
import type { Proposal } from '../core/proposal.js';
import { ZERO_USAGE } from '../core/usage.js';
import type { Proposer, ProposerContext } from './context.js';
import { findConstants } from './constants.js';
import { nextSuggestion, proposalOf, type Suggestion } from './optimizer.js';
import type { Suggest } from './optimizerProtocol.js';
import { type Change, CONSTANTS_LINE, formatChanges } from './optimizerTrials.js';

const HYPOTHESIS_CHARS = 2000;

/**
 * Whether the optimizer proposes experiment `experiment`: a stride of `share` with a phase drawn
 * from the seed, so any n consecutive experiments hold ⌊n·share⌋ or ⌈n·share⌉ of its turns, and a
 * retry of an experiment gets the same turn.
 */
export function optimizerTurn(seed: number, experiment: number, share: number): boolean {
  const phase = ((seed * 0.6180339887498949) % 1 + 1) % 1;
  return Math.floor((experiment + 1) * share + phase) > Math.floor(experiment * share + phase);
}

/** The text the LLM sees under "the optimizer's suggestion". */
export function suggestionText(s: Suggestion): string {
  const sampler = s.sampler === 'cmaes' ? 'CMA-ES' : 'TPE';
  return `${sampler}, from a study of ${s.trials} trials rebuilt from the journal, would try next: ${formatChanges(s.changes)}.\n` +
    'Take it as it is (copy these values into your edits), adapt it, or override it with a different idea: a structural change ' +
    'the optimizer cannot make is welcome. Whatever you change among these constants is told back to the optimizer as a trial.';
}

/** The files after the proposal's edits, as far as they apply (the edit step says why one does not). */
function filesAfter(files: readonly { path: string; content: string }[], proposal: Proposal): Record<string, string> {
  const out = Object.fromEntries(files.map((f) => [f.path, f.content]));
  for (const e of proposal.edits) {
    if ('content' in e) out[e.path] = e.content;
    else if (out[e.path] !== undefined && out[e.path].split(e.search).length === 2) out[e.path] = out[e.path].replace(e.search, () => e.replace);
  }
  return out;
}

/** The numeric constants a proposal changes, read from the code (whatever its description says). */
export function constantChanges(files: readonly { path: string; content: string }[], proposal: Proposal): Change[] {
  const after = filesAfter(files, proposal);
  return files.flatMap((f) => {
    const now = new Map(findConstants(f.path, after[f.path] ?? '').map((c) => [c.name, c]));
    return findConstants(f.path, f.content).flatMap((c) => {
      const next = now.get(c.name);
      const numeric = (k: string) => k === 'int' || k === 'float';
      if (!next || !numeric(c.value.kind) || !numeric(next.value.kind) || next.literal === c.literal) return [];
      return [{ name: c.name, from: c.literal, to: next.literal }];
    });
  });
}

/** The proposal with its `constants:` line: the journal's record of what it changed. */
export function withConstantsLine(proposal: Proposal, changes: readonly Change[]): Proposal {
  if (changes.length === 0) return proposal;
  const line = `${CONSTANTS_LINE}${formatChanges(changes)}`;
  if (line.length > HYPOTHESIS_CHARS - 100) return proposal; // too many to list: the journal marks them unknown
  const own = proposal.hypothesis.split('\n').filter((l) => !l.startsWith(CONSTANTS_LINE)).join('\n').trimEnd();
  return { ...proposal, hypothesis: `${own.slice(0, HYPOTHESIS_CHARS - line.length - 1)}\n${line}` };
}

export function hybridSettingsOf(config: ProposerConfig): OptimizerSettings & { share: number } {
  const s = config.optimizer ?? { sampler: 'tpe' as const };
  return { ...s, share: s.share ?? DEFAULT_HYBRID_SHARE };
}

export function createHybridProposer(llm: Proposer, config: ProposerConfig, suggest: Suggest | undefined): Proposer {
  const settings = hybridSettingsOf(config);
  return {
    async propose(ctx, signal, onSpending) {
      const turn = optimizerTurn(config.seed, ctx.experiment, settings.share);
      let suggestion: Suggestion | undefined;
      try {
        suggestion = suggest ? await nextSuggestion(ctx, settings, config.seed, suggest, signal) : undefined;
      } catch (err) {
        if (turn) throw err; // the optimizer's own turn fails as it would alone; on the LLM's, the prompt goes without it
      }
      // Nothing to search (no numeric constant, every setting near it tried): the LLM takes the turn.
      if (suggestion && turn) return { proposal: proposalOf(suggestion), usage: ZERO_USAGE };
      const seen: ProposerContext = suggestion ? { ...ctx, optimizerSuggestion: suggestionText(suggestion) } : ctx;
      const result = await llm.propose(seen, signal, onSpending);
      return { ...result, proposal: withConstantsLine(result.proposal, constantChanges(ctx.files, result.proposal)) };
    },
  };
}
