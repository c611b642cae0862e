/**
 * The lane steps a keep decision asks for beyond an experiment's own: put a commit already made
 * (the candidate, or the incumbent) back in the lane's worktree to train it again with another
 * seed, and count the lines a diff adds (their price counts against its gain). Both idempotent.
 */
import path from 'node:path';
import type { LanePaths } from '../definitions.js';
import { ensureCommit, gitAt, resetWorktree } from './gitOps.js';
import { laneWorktree, type LaneInput } from './workspace.js';

/** The lane's worktree at `commitFull` (fetched by `ref` when this host lacks it), clean of anything an earlier run left. */
export async function checkoutCommit(input: { lane: LaneInput; commitFull: string; ref: string }): Promise<{ paths: LanePaths }> {
  const paths = await laneWorktree(input.lane);
  const git = gitAt(paths.worktree);
  await ensureCommit(git, paths.remote, input.commitFull, input.ref);
  await resetWorktree(git, input.commitFull, input.lane.config.trainer.dir);
  return { paths };
}

/** Lines the candidate adds minus the lines it removes, over the editable files, from the best commit. */
export async function diffLines(input: { lane: LaneInput; commitFull: string }): Promise<number> {
  const paths = await laneWorktree(input.lane);
  const { config, bestCommit } = input.lane;
  const files = config.trainer.editable.map((p) => path.posix.join(config.trainer.dir, p));
  // Every line counts as text: a .gitattributes the trainer left (`-diff`, a textconv driver) must not hide any.
  const numstat = await gitAt(paths.worktree).raw(['diff', '--numstat', '--text', '--no-textconv', '--no-ext-diff', bestCommit, input.commitFull, '--', ...files]);
  let net = 0;
  for (const line of numstat.split('\n').filter(Boolean)) {
    const [added, removed] = line.split('\t');
    if (added !== '-') net += Number(added) - Number(removed); // '-': a binary file, no lines
  }
  return net;
}
