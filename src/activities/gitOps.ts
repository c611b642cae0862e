import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
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

/** The commit after `since` on HEAD's history that carries this experiment's trailer, if any. */
export async function findExperimentCommit(git: SimpleGit, experimentId: string, since: string): Promise<string | undefined> {
  const out = await git.raw(['log', '-1', '--format=%H', '--fixed-strings', `--grep=${TRAILER}: ${experimentId}`, `${since}..HEAD`]);
  return out.trim() || undefined;
}

/** Fetches one ref from the remote; its commit, or undefined when the remote has no such ref. */
export async function fetchRef(git: SimpleGit, remote: string, ref: string): Promise<string | undefined> {
  const listed = (await git.raw(['ls-remote', remote, ref])).trim();
  if (!listed) return undefined;
  const sha = listed.split(/\s/)[0];
  // Fetched objects only: no local ref is written, so no two runs or lanes race on one.
  if (!(await hasCommit(git, sha))) await git.raw(['fetch', '-q', '--no-write-fetch-head', remote, ref]);
  return sha;
}

export async function hasCommit(git: SimpleGit, sha: string): Promise<boolean> {
  return git.raw(['cat-file', '-e', `${sha}^{commit}`]).then(() => true, () => false);
}

/** Keeps the run directory out of `git status` when it lives inside the repo (git metadata only). */
export async function excludeFromStatus(repo: string, dir: string): Promise<void> {
  const rel = path.relative(repo, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return;
  const common = path.resolve(repo, (await gitAt(repo).raw(['rev-parse', '--git-common-dir'])).trim());
  const exclude = path.join(common, 'info', 'exclude');
  const line = `/${rel.split(path.sep)[0]}/`;
  const current = existsSync(exclude) ? await readFile(exclude, 'utf8') : '';
  if (!current.split('\n').includes(line)) {
    await mkdir(path.dirname(exclude), { recursive: true });
    await appendFile(exclude, `${current.endsWith('\n') || current === '' ? '' : '\n'}${line}\n`);
  }
}
