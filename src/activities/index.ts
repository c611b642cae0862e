import type { RunConfig } from '../config/runInput.js';
import type { Proposer } from '../proposers/context.js';
import { createProposer } from '../proposers/index.js';
import { commit } from './commit.js';
import { edit } from './edit.js';
import { evaluate } from './evaluate.js';
import { finalize } from './finalize.js';
import { hypothesizeWith } from './hypothesize.js';
import { prepareRun } from './prepareRun.js';
import { train } from './train.js';
import { writeResults } from './writeResults.js';

/** The activities a worker registers; the proposer factory is injectable for tests. */
export function createActivities(deps: { createProposer?: (c: RunConfig['proposer']) => Proposer } = {}) {
  return {
    prepareRun,
    hypothesize: hypothesizeWith(deps.createProposer ?? createProposer),
    edit,
    commit,
    train,
    evaluate,
    finalize,
    writeResults,
  };
}

export type Activities = ReturnType<typeof createActivities>;
