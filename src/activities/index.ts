import type { WorkerActivities } from '../api/activities.js';
import type { RunConfig } from '../core/runInput.js';
import type { Proposer } from '../proposers/context.js';
import { createProposer } from '../proposers/index.js';
import { heartbeating } from './heartbeat.js';
import { suggestInPython } from './optimizerPython.js';
import { billedAcrossAttempts } from './proposerBilling.js';
import { keepOrRevert, prepareRun, recordResult, recordSteering } from './remote.js';
import { resolveRunConfig } from './resolveRunConfig.js';
import { checkoutCommit, diffLines } from './measure.js';
import { evaluate, train } from './training.js';
import { commit, edit, hypothesizeWith, prepareLane } from './workspace.js';

/**
 * The activities a worker registers (the lease, holdLane, comes with its lanes); the proposer
 * factory is injectable for tests. All but train (which beats with its progress) heartbeat while
 * they run, so a short heartbeat timeout notices a dead worker; hypothesize's spending survives a
 * retried attempt.
 */
export function createActivities(deps: { createProposer?: (c: RunConfig['proposer']) => Proposer } = {}): WorkerActivities {
  return {
    resolveRunConfig, // a local activity: milliseconds
    prepareRun: heartbeating(prepareRun),
    hypothesize: heartbeating(hypothesizeWith(billedAcrossAttempts(deps.createProposer ?? ((c) => createProposer(c, { suggest: suggestInPython }))))),
    prepareLane: heartbeating(prepareLane),
    edit: heartbeating(edit),
    commit: heartbeating(commit),
    train,
    evaluate: heartbeating(evaluate),
    checkoutCommit: heartbeating(checkoutCommit),
    diffLines: heartbeating(diffLines),
    keepOrRevert: heartbeating(keepOrRevert),
    recordResult: heartbeating(recordResult),
    recordSteering: heartbeating(recordSteering),
  };
}
