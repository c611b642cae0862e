/**
 * Where the next experiment starts: the run's search (docs/search.md). `greedy` always starts
 * from the best. `tree`, after `stallAfter` experiments without a keep, branches: the next
 * `branchLength` experiments start from another node of the tree (the nearest miss not branched
 * from yet: a runner-up within the noise, else the change that looked least worse), and inside the
 * branch from the branch's own best node; then back to the best. The keep rule still judges every
 * experiment against the global best, so a branch moves the run's branch only through a keep.
 * The state is bounded: a few candidate nodes, never the whole tree. Pure.
 */
import { z } from 'zod';
import type { ExperimentStatus } from './results.js';

export type SearchKind = 'greedy' | 'tree';

export interface SearchConfig {
  kind: SearchKind;
  /** Experiments without a keep (since the last keep or the last branch's end) before the run branches. */
  stallAfter: number;
  /** Experiments one branch holds. */
  branchLength: number;
}

/** Set by the research benchmark (bench/research.ts, docs/search.md). */
export const DEFAULT_SEARCH: SearchConfig = { kind: 'greedy', stallAfter: 8, branchLength: 6 };

const positiveInt = () => z.number().int('must be a whole number').min(1, 'must be ≥ 1');

/** The run input's `search`: `"greedy"`, `"tree"` (its defaults) or an object of settings. */
export const SearchSchema = z
  .preprocess(
    (v) => (typeof v === 'string' ? { kind: v } : v),
    z.object({
      kind: z.enum(['greedy', 'tree']).default('tree'),
      stallAfter: positiveInt().max(1000).default(DEFAULT_SEARCH.stallAfter),
      branchLength: positiveInt().max(100).default(DEFAULT_SEARCH.branchLength),
    }).strict(),
  )
  .optional()
  .transform((s): SearchConfig => s ?? DEFAULT_SEARCH);

/** A node of the tree: one trained experiment, with the commit experiments may start from. */
export interface SearchNode {
  experiment: number;
  commitFull: string;
  valBpb: number;
}

export interface Branch {
  /** The node it started from. */
  root: SearchNode;
  /** Its best node: the lowest val_bpb of the root and the experiments started in it. */
  best: SearchNode;
  /** Experiments it may still start. */
  left: number;
  /** The experiments started in it, for their results. */
  members: number[];
  /** Of those, the ones not finished yet. */
  open: number;
}

export interface SearchState {
  /** Experiments finished without a keep since the last keep or the last branch's end. */
  sinceKeep: number;
  branch?: Branch;
  /** Trained experiments not kept, lowest val_bpb first: where a branch may start. */
  candidates: SearchNode[];
  /** Nodes branched from already, the latest last. */
  branched: number[];
}

/** Candidates and branched nodes remembered: enough for a night, bounded for the payload. */
export const SEARCH_MEMORY = 16;

export function initialSearchState(): SearchState {
  return { sinceKeep: 0, candidates: [], branched: [] };
}

/**
 * The node experiment `experiment` starts from (undefined: the best), and the state after it has
 * started. In a branch it spends one of the branch's experiments.
 */
export function startNode(config: SearchConfig, state: SearchState, experiment: number): { node?: SearchNode; state: SearchState } {
  const b = state.branch;
  if (config.kind !== 'tree' || !b || b.left <= 0) return { state };
  return { node: b.best, state: { ...state, branch: { ...b, left: b.left - 1, members: [...b.members, experiment], open: b.open + 1 } } };
}

export interface SearchResult {
  experiment: number;
  commitFull: string;
  valBpb: number;
  status: ExperimentStatus;
}

/** The state after an experiment's result: stall count, candidates, the branch's best, its end, a new branch. */
export function afterResult(config: SearchConfig, state: SearchState, r: SearchResult): SearchState {
  if (config.kind !== 'tree') return state;
  const node: SearchNode = { experiment: r.experiment, commitFull: r.commitFull, valBpb: r.valBpb };
  let branch = state.branch;
  if (r.status === 'keep') {
    // The branch's best is now the global best (or a new one is elsewhere): the branch is done.
    return { ...state, sinceKeep: 0, branch: undefined };
  }
  const trained = r.status === 'discard' && r.commitFull !== '' && Number.isFinite(r.valBpb) && r.valBpb > 0;
  let candidates = state.candidates;
  if (trained) {
    candidates = [...candidates.filter((c) => c.experiment !== node.experiment), node]
      .sort((a, b) => a.valBpb - b.valBpb || a.experiment - b.experiment)
      .slice(0, SEARCH_MEMORY);
  }
  let sinceKeep = state.sinceKeep + 1;
  if (branch && branch.members.includes(r.experiment)) {
    branch = { ...branch, open: branch.open - 1, best: trained && r.valBpb < branch.best.valBpb ? node : branch.best };
    // The branch ends when its experiments have all started and finished; the stall count starts again.
    if (branch.left <= 0 && branch.open <= 0) {
      branch = undefined;
      sinceKeep = 0;
    }
  }
  let next: SearchState = { ...state, sinceKeep, branch, candidates };
  if (!next.branch && next.sinceKeep >= config.stallAfter) next = branchFrom(config, next);
  return next;
}

/** Starts a branch from the nearest miss not branched from yet; none left: the stall count starts again. */
function branchFrom(config: SearchConfig, state: SearchState): SearchState {
  // The nearest miss: on the benchmark as good as the latest on the deceptive landscape, better on the interacting one.
  const root = state.candidates.find((c) => !state.branched.includes(c.experiment));
  if (!root) return { ...state, sinceKeep: 0 };
  return {
    ...state,
    sinceKeep: 0,
    branch: { root, best: root, left: config.branchLength, members: [], open: 0 },
    branched: [...state.branched, root.experiment].slice(-SEARCH_MEMORY),
  };
}
