import path from 'node:path';
import { findExperimentCommit, gitAt, TRAILER } from './gitOps.js';
import type { RunPaths } from './runPaths.js';

export interface CommitInput {
  paths: RunPaths;
  trainerDirRel: string;
  editable: string[];
  experimentId: string;
  description: string;
  hypothesis: string;
}

/** One commit per experiment; a retry finds its own earlier commit by the trailer instead of committing twice. */
export async function commit(input: CommitInput): Promise<{ commit: string; commitFull: string }> {
  const git = gitAt(input.paths.worktree);
  let full = await findExperimentCommit(git, input.experimentId);
  if (!full) {
    await git.add(input.editable.map((p) => path.posix.join(input.trainerDirRel, p)));
    const message = `${input.description}\n\n${input.hypothesis}\n\n${TRAILER}: ${input.experimentId}`;
    await git.raw(['commit', '--allow-empty', '-q', '-m', message]);
    full = (await git.revparse(['HEAD'])).trim();
  }
  return { commit: full.slice(0, 7), commitFull: full };
}
