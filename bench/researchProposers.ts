/**
 * The research benchmark's proposers. `offline` is the product's mutation search itself
 * (proposeMutation over a file that holds the landscape's constants); `llm` is a simulated LLM
 * whose ideas have worths drawn from a distribution, as the decisions bench does, and whose
 * constant edits guess the better direction more often than not. Another proposer joins
 * PROPOSERS under its own name and gets its rows in every table.
 */
import { findConstants, formatLiteral } from '../src/proposers/constants.js';
import { proposeMutation } from '../src/proposers/offline.js';
import { ProposerFatalError } from '../src/core/failures.js';
import type { ProposerContext } from '../src/proposers/context.js';
import { RECENT_WINDOW } from '../src/core/runState.js';
import type { ExperimentRecord } from '../src/core/results.js';
import { gaussian, type Rng } from './decisionSim.js';
import type { Code, ConstantSpec, Landscape, Truth } from './researchLandscapes.js';

export interface Proposed {
  code: Code;
  description: string;
}

export interface Outcome {
  description: string;
  kept: boolean;
}

export interface SimProposer {
  /** The next candidate, built on the incumbent; undefined when the proposer has nothing left. */
  propose(incumbent: Code, experiment: number, history: readonly Outcome[]): Proposed | undefined;
}

export type ProposerFactory = (landscape: Landscape, truth: Truth, rng: Rng, seed: number) => SimProposer;

const FILE = 'train.py';

/** The landscape's constants as the trainer file the offline proposer reads. */
export function sourceOf(l: Landscape, code: Code): string {
  return l.constants.map((c) => `${c.name} = ${formatLiteral({ kind: c.kind, value: code.values[c.name] })}\n`).join('');
}

function record(experiment: number, o: Outcome): ExperimentRecord {
  return {
    experiment, experimentId: '', commit: '', commitFull: '', valBpb: 0, memoryGb: 0, costUsd: 0, hypothesis: '',
    description: o.description, status: o.kept ? 'keep' : 'discard',
  };
}

/** The product's offline mutation search, fed the history it would see (the latest RECENT_WINDOW results). */
export const offlineProposer: ProposerFactory = (landscape, _truth, _rng, seed) => ({
  propose(incumbent, experiment, history) {
    const content = sourceOf(landscape, incumbent);
    const recent = history.slice(-RECENT_WINDOW).map((o, i) => record(experiment - Math.min(history.length, RECENT_WINDOW) + i, o));
    const ctx: ProposerContext = {
      experiment, program: '', files: [{ path: FILE, content }], recent, experimentsDone: history.length, steeringNotes: [],
    };
    let proposal;
    try {
      proposal = proposeMutation(ctx, seed);
    } catch (e) {
      if (e instanceof ProposerFatalError) return undefined;
      throw e;
    }
    let edited = content;
    for (const edit of proposal.edits) edited = 'content' in edit ? edit.content : edited.replace(edit.search, edit.replace);
    const values = { ...incumbent.values };
    for (const c of findConstants(FILE, edited)) if (typeof c.value.value === 'number') values[c.name] = c.value.value;
    return { code: { values, ideas: incumbent.ideas }, description: proposal.description };
  },
});

/** Share of the simulated LLM's proposals that are ideas (the rest edit constants). */
const IDEA_SHARE = 0.5;
/** How often its constant edits go the better way. */
const RIGHT_DIRECTION = 0.65;

function moved(spec: ConstantSpec, value: number, step: number): number {
  const next = spec.scale === 'tail' ? 1 - (1 - value) * Math.exp(-step) : value * Math.exp(step);
  if (spec.kind === 'float') return Number(next.toPrecision(4));
  const rounded = Math.max(1, Math.round(next));
  return rounded !== value ? rounded : Math.max(1, value + Math.sign(step));
}

/**
 * A simulated LLM: half its proposals are ideas worth what the landscape's distribution draws,
 * half edit one constant (or a coupled pair, together) by a modest step, one in ten by a leap.
 */
export const llmProposer: ProposerFactory = (landscape, truth, rng) => ({
  propose(incumbent, experiment) {
    if (rng() < IDEA_SHARE) {
      return { code: { ...incumbent, ideas: incumbent.ideas + landscape.idea(rng) }, description: `idea ${experiment}` };
    }
    const pair = landscape.coupled.length > 0 && rng() < 0.5 ? landscape.coupled[Math.floor(rng() * landscape.coupled.length)] : undefined;
    const names = pair ?? [landscape.constants[Math.floor(rng() * landscape.constants.length)].name];
    const direction = (rng() < RIGHT_DIRECTION ? 1 : -1) * truth.better(names[0], incumbent);
    const step = direction * (rng() < 0.1 ? 0.3 + 1.2 * Math.abs(gaussian(rng)) : 0.1 + 0.3 * Math.abs(gaussian(rng)));
    const values = { ...incumbent.values };
    for (const name of names) values[name] = moved(landscape.constants.find((c) => c.name === name)!, values[name], step);
    return { code: { values, ideas: incumbent.ideas }, description: `${names.join('+')} ${step > 0 ? 'up' : 'down'}` };
  },
});

export const PROPOSERS: Record<string, ProposerFactory> = { offline: offlineProposer, llm: llmProposer };
