import type { RunConfig } from '../config/runInput.js';
import type { Proposer } from '../proposers/context.js';
import { createProposer } from '../proposers/index.js';
import { evaluate, train } from './training.js';
import { commit, edit, hypothesizeWith, keepOrRevert, prepareRun, recordResult, recordSteering } from './workspace.js';

/** The activities a worker registers; the proposer factory is injectable for tests. */
export function createActivities(deps: { createProposer?: (c: RunConfig['proposer']) => Proposer } = {}) {
  return {
    prepareRun,
    hypothesize: hypothesizeWith(deps.createProposer ?? createProposer),
    edit,
    commit,
    train,
    evaluate,
    keepOrRevert,
    recordResult,
    recordSteering,
  };
}

export type Activities = ReturnType<typeof createActivities>;
