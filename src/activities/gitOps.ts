import { simpleGit, type SimpleGit } from 'simple-git';

export function gitAt(dir: string): SimpleGit {
  // A minimal environment: simple-git refuses editor/pager variables, and commits made by the run
  // carry a fixed identity (unless the worker sets one) so a machine without git config still works.
  return simpleGit(dir).env({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    LANG: 'C.UTF-8',
    GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? 'autoresearch',
    GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? 'autoresearch@localhost',
    GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? 'autoresearch',
    GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? 'autoresearch@localhost',
  });
}

export const TRAILER = 'Experiment-Id';

/** The commit on HEAD's history that carries this experiment's trailer, if any. */
export async function findExperimentCommit(git: SimpleGit, experimentId: string): Promise<string | undefined> {
  const out = await git.raw(['log', '-1', '--format=%H', '--fixed-strings', `--grep=${TRAILER}: ${experimentId}`, 'HEAD']);
  return out.trim() || undefined;
}

/** Where a discarded experiment's commit stays reachable after the branch is reset. */
export function discardedRef(branch: string, experimentName: string): string {
  return `refs/${branch}/discarded/${experimentName}`;
}
