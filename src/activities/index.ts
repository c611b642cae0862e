import type { RunConfig } from '../config/runInput.js';
import type { Proposer } from '../proposers/context.js';
import { createProposer } from '../proposers/index.js';
import type { holdLaneWith } from './lanes.js';
import { keepOrRevert, prepareRun, recordResult, recordSteering } from './remote.js';
import { resolveRunConfig } from './resolveRunConfig.js';
import { checkoutCommit, diffLines } from './measure.js';
import { evaluate, train } from './training.js';
import { commit, edit, hypothesizeWith, prepareLane } from './workspace.js';

/** The activities a worker registers (the lease, holdLane, comes with its lanes); the proposer factory is injectable for tests. */
export function createActivities(deps: { createProposer?: (c: RunConfig['proposer']) => Proposer } = {}) {
  return {
    resolveRunConfig,
    prepareRun,
    hypothesize: hypothesizeWith(deps.createProposer ?? createProposer),
    prepareLane,
    edit,
    commit,
    train,
    evaluate,
    checkoutCommit,
    diffLines,
    keepOrRevert,
    recordResult,
    recordSteering,
  };
}

/** What a worker is given (tests replace some of them). */
export type WorkerActivities = ReturnType<typeof createActivities>;
/** Every activity, the lease included: what workflows proxy. */
export type Activities = WorkerActivities & { holdLane: ReturnType<typeof holdLaneWith> };
