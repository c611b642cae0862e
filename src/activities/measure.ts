/**
 * The lane steps a keep decision asks for beyond an experiment's own: put a commit already made
 * (the candidate, or the incumbent) back in the lane's worktree to train it again with another
 * seed, and count the lines a diff adds (their price counts against its gain). Both idempotent.
 */
import path from 'node:path';
import type { LanePaths } from '../core/names.js';
import { ensureCommit, gitAt, resetWorktree } from './gitOps.js';
import { laneWorktree } from './workspace.js';
import type { LaneInput } from '../api/activities.js';

/** The lane's worktree at `commitFull` (fetched by `ref` when this host lacks it), clean of anything an earlier run left. */
export async function checkoutCommit(input: { lane: LaneInput; commitFull: string; ref: string }): Promise<{ paths: LanePaths }> {
  const paths = await laneWorktree(input.lane);
  const git = gitAt(paths.worktree);
  await ensureCommit(git, paths.remote, input.commitFull, input.ref);
  await resetWorktree(git, input.commitFull, input.lane.config.trainer.dir);
  return { paths };
}

/**
 * Lines the candidate adds minus the lines it removes, over the editable files, from the best
 * commit. That is the change in their line count (every line is kept, added or removed), so it is
 * counted from the two commits' blobs: no diff runs, and no .gitattributes (one the trainer left in
 * the worktree marking Python binary, say) can hide a line.
 */
export async function diffLines(input: { lane: LaneInput; commitFull: string }): Promise<number> {
  const paths = await laneWorktree(input.lane);
  const { config, bestCommit } = input.lane;
  const git = gitAt(paths.worktree);
  let net = 0;
  for (const file of config.trainer.editable.map((p) => path.posix.join(config.trainer.dir, p))) {
    const [before, after] = await Promise.all([bestCommit, input.commitFull].map((c) => git.raw(['cat-file', 'blob', `${c}:${file}`]).catch(() => '')));
    if (before.includes('\0') || after.includes('\0')) continue; // a binary file has no lines
    net += lineCount(after) - lineCount(before);
  }
  return net;
}

/** Lines as git counts them: a last line without its newline is a line. */
function lineCount(text: string): number {
  const newlines = text.split('\n').length - 1;
  return newlines + (text.length > 0 && !text.endsWith('\n') ? 1 : 0);
}
