import { discardedRef, gitAt } from './gitOps.js';
import type { RunPaths } from './runPaths.js';

export interface FinalizeInput {
  paths: RunPaths;
  keep: boolean;
  /** The experiment's commit (absent for an invalid proposal that was never committed). */
  commitFull?: string;
  bestCommit: string;
  experimentName: string;
}

/** Keep leaves the branch at the commit; otherwise the commit gets a ref of its own and the branch goes back to the best. */
export async function finalize(input: FinalizeInput): Promise<void> {
  const git = gitAt(input.paths.worktree);
  if (input.keep && input.commitFull) {
    await git.raw(['reset', '--hard', input.commitFull]);
    return;
  }
  if (input.commitFull) await git.raw(['update-ref', discardedRef(input.paths.branch, input.experimentName), input.commitFull]);
  await git.raw(['reset', '--hard', input.bestCommit]);
}
