import { appendFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import { GitError, GitPluginError, simpleGit, type SimpleGitOptions } from 'simple-git';
import { removeStaleLocks } from './gitLocks.js';

export { STALE_LOCK_SECONDS } from './gitLocks.js';

/** The git commands the activities run, in one repository or worktree. */
export interface Git {
  /** The worktree top or repository it runs in (gitAt's `dir`). */
  readonly dir: string;
  /** stdout; a failing command throws with git's message (an exit code in `ok` is no failure). */
  raw(args: string[], input?: string, ok?: number[]): Promise<string>;
  show(args: string[]): Promise<string>;
  revparse(args: string[]): Promise<string>;
  add(files: string[]): Promise<void>;
  checkIsRepo(): Promise<boolean>;
}

/**
 * git in `dir`, through simple-git. A minimal environment (no editor or pager), and a fixed identity
 * for the run's commits unless the worker sets one, so a machine without git config still works.
 *
 * `dir` is a worktree's top level or a repository, never a directory inside one: its git dir is
 * named on every command (gitLocationOf), so git never discovers a repository by walking up from
 * where it runs (a trainer can plant a `.git` in its own directory). Nothing a repository's
 * objects or config could select runs either: no replace refs, no system config, no fsmonitor,
 * no hooks, no pager.
 */
export function gitAt(dir: string): Git {
  const env = gitEnv();
  let location: string[] | undefined;
  const raw = async (args: string[], input?: string, ok: number[] = []) => {
    // A NUL cannot pass through exec: retrying would fail the same way.
    if (args.some((a) => a.includes('\0'))) throw ApplicationFailure.nonRetryable(`git ${args[0]}: an argument holds a NUL byte`, 'GitArgument');
    location ??= locationArgs(gitLocationOf(dir));
    const git = simpleGit({ ...OPTIONS, baseDir: dir, input: () => input || NO_INPUT, errors: (error, r) => failure(error, r.exitCode, ok, r.stdErr, r.stdOut) })
      .env(env)
      .outputHandler(markEndOfOutput);
    try {
      return await git.raw([...location, ...SAFE_CONFIG, ...args]);
    } catch (err) {
      const message = `git ${args[0]}: ${(err as Error).message}`;
      // simple-git refused the arguments (its unsafe-operation checks): retrying would be refused the same way.
      if (err instanceof GitPluginError) throw ApplicationFailure.nonRetryable(message, 'GitArgument');
      throw new Error(message);
    }
  };
  return {
    dir,
    raw,
    show: (args) => raw(['show', ...args]),
    revparse: (args) => raw(['rev-parse', ...args]),
    add: async (files) => void (await raw(['add', '--', ...files])),
    checkIsRepo: () => raw(['rev-parse', '--is-inside-work-tree']).then((out) => out.trim() === 'true', () => false),
  };
}

/** Config no repository may override: these run commands (fsmonitor, hooks, pager). */
const SAFE_CONFIG = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '-c', 'core.pager=cat'];

/** The whole environment git runs with (nothing else of the worker's is passed on). */
function gitEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    LANG: 'C.UTF-8',
    GIT_TERMINAL_PROMPT: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_PAGER: 'cat',
    GIT_AUTHOR_NAME: process.env.GIT_AUTHOR_NAME ?? 'autoresearch',
    GIT_AUTHOR_EMAIL: process.env.GIT_AUTHOR_EMAIL ?? 'autoresearch@localhost',
    GIT_COMMITTER_NAME: process.env.GIT_COMMITTER_NAME ?? 'autoresearch',
    GIT_COMMITTER_EMAIL: process.env.GIT_COMMITTER_EMAIL ?? 'autoresearch@localhost',
  };
}

/**
 * simple-git spawns git directly (child_process.spawn, no shell) with the env given to `.env()`.
 * Its checks of arguments and environment run in strict mode, and allow exactly what gitAt needs:
 * - `allowUnsafeConfigPaths`: for --git-dir/--work-tree, which name the repository on every command
 *   so that git never discovers one (the reason this category exists is a directory whose config
 *   git would read; ours is the run's own repository or lane, never one the trainer chose);
 * - `allowConfig`: the SAFE_CONFIG keys, which turn command-running config off;
 * - `allowEnvironment`: the GIT_ variables of gitEnv (simple-git drops or refuses any other);
 *   HOME too, in case the worker has none and gitEnv sets one.
 * `completion`: a task ends on the process's `close` (all output read), never `exit` plus a wait.
 */
const OPTIONS: Partial<SimpleGitOptions> = {
  strict: true,
  unsafe: { allowUnsafeConfigPaths: true },
  allowConfig: ['core.fsmonitor', 'core.hooksPath', 'core.pager'],
  allowEnvironment: [...Object.keys(gitEnv()).filter((key) => key.startsWith('GIT_')), 'HOME'],
  completion: { onClose: true, onExit: false },
};

/**
 * stdin for a command without input, or with empty input (which simple-git would leave open):
 * closed at once, so no git ever waits on it.
 */
const NO_INPUT = Buffer.alloc(0);

/**
 * simple-git waits a fixed 50 ms after a command that printed nothing (reset, add, commit, push,
 * cat-file -e: about eight per experiment), whatever its `completion` option says, unless output
 * was seen. An empty chunk when stdout ends (always before the process's `close`) counts as output,
 * so no command waits; it adds no byte. Without it the result is the same, only 50 ms later.
 */
function markEndOfOutput(_command: string, stdout: NodeJS.ReadableStream): void {
  stdout.once('end', () => stdout.emit('data', Buffer.alloc(0)));
}

/** A failed command's error: git's stderr (else stdout, else its exit code); none when the exit code is 0 or in `ok`. */
function failure(error: Buffer | Error | undefined, exitCode: number, ok: number[], stderr: Buffer[], stdout: Buffer[]): Error | undefined {
  if (error instanceof GitPluginError) return error;
  if (exitCode === 0 || ok.includes(exitCode)) return undefined;
  const text = (Buffer.concat(stderr).toString() || Buffer.concat(stdout).toString()).trim();
  return new GitError(undefined, text || `exit ${exitCode}`);
}

/** A repository's git dir, and its work tree unless it is bare. */
export interface GitLocation {
  gitDir: string;
  workTree?: string;
}

function locationArgs(where: GitLocation): string[] {
  return [`--git-dir=${where.gitDir}`, ...(where.workTree ? [`--work-tree=${where.workTree}`] : [])];
}

/**
 * Where git keeps the data of `dir`, read from `dir` itself and never from a directory above it: a
 * `.git` directory (a repository), a `.git` file `gitdir: <path>` (a linked worktree), or `dir`
 * being a bare repository. Throws otherwise.
 */
export function gitLocationOf(dir: string): GitLocation {
  const top = path.resolve(dir);
  const dotGit = path.join(top, '.git');
  const stat = statSync(dotGit, { throwIfNoEntry: false });
  if (stat?.isDirectory()) return { gitDir: dotGit, workTree: top };
  if (stat?.isFile()) {
    const pointer = gitdirPointer(dotGit);
    if (!pointer) throw new Error(`${dotGit} is not a "gitdir: <path>" file`);
    return { gitDir: pointer, workTree: top };
  }
  if (['HEAD', 'objects', 'refs'].every((name) => existsSync(path.join(top, name)))) return { gitDir: top };
  throw new Error(`${top} is neither the top level of a git worktree nor a git repository`);
}

/**
 * The git dir that all worktrees of `dir`'s repository share (refs, objects, config, info/exclude),
 * read as git reads it, with no git run: a linked worktree's git dir names it in its `commondir`
 * file; any other git dir is its own.
 */
export function gitCommonDirOf(dir: string): string {
  const { gitDir } = gitLocationOf(dir);
  const pointer = path.join(gitDir, 'commondir');
  return existsSync(pointer) ? path.resolve(gitDir, readFileSync(pointer, 'utf8').trim()) : gitDir;
}

/** The git dir a `.git` file names (resolved against the file's directory), or undefined. */
function gitdirPointer(dotGitFile: string): string | undefined {
  const m = /^gitdir: *(.+?) *$/m.exec(readFileSync(dotGitFile, 'utf8'));
  return m ? path.resolve(path.dirname(dotGitFile), m[1]) : undefined;
}

/**
 * The top level of the worktree that holds `trainerDir`, without asking git (which would walk up
 * from the trainer dir and take a `.git` the trainer planted there). Given `trainerRel`
 * (trainer.dir, the trainer dir's path inside the repository), by path arithmetic. Without it, the
 * nearest directory whose `.git` the trainer cannot have made: at the trainer dir itself only a
 * linked worktree's `.git` file that its git dir points back to (the trainer cannot write the
 * repository's git dir); above it, any `.git` (the trainer writes only its own directory).
 */
export function worktreeTopOf(trainerDir: string, trainerRel?: string): string {
  const dir = path.resolve(trainerDir);
  if (trainerRel !== undefined) {
    const rel = path.normalize(trainerRel);
    const top = path.resolve(dir, path.relative(path.resolve('/', rel), '/'));
    if (path.resolve(top, rel) !== dir) throw new Error(`the trainer dir ${dir} does not end with trainer.dir ${trainerRel}`);
    return top;
  }
  if (isVerifiedWorktreeTop(dir)) return dir;
  for (let up = path.dirname(dir); ; up = path.dirname(up)) {
    if (existsSync(path.join(up, '.git'))) return up;
    if (up === path.dirname(up)) throw new Error(`${dir} is not inside a git worktree`);
  }
}

/** `dir/.git` is a linked worktree's file whose git dir's `gitdir` file names it back. */
function isVerifiedWorktreeTop(dir: string): boolean {
  const dotGit = path.join(dir, '.git');
  try {
    if (!lstatSync(dotGit).isFile()) return false;
    const gitDir = gitdirPointer(dotGit);
    if (!gitDir) return false;
    const back = readFileSync(path.join(gitDir, 'gitdir'), 'utf8').trim();
    return realpathSync(path.resolve(gitDir, back)) === realpathSync(dotGit);
  } catch {
    return false;
  }
}

export const TRAILER = 'Experiment-Id';

/**
 * HEAD, when it is this experiment's commit made on `parent` (a retry after the commit, before the
 * push), else undefined. Only HEAD itself, with that parent and the exact trailer line: a commit an
 * earlier run of the tag left in the worktree carries the same trailer when both runs had the same
 * workflow id, and must never be taken for this run's.
 */
export async function experimentCommitAtHead(git: Git, experimentId: string, parent: string): Promise<string | undefined> {
  const [sha, parents, ...body] = (await git.raw(['log', '-1', '--format=%H%n%P%n%B', 'HEAD'])).split('\n');
  if (parents.trim() !== parent || !body.some((line) => line.trim() === `${TRAILER}: ${experimentId}`)) return undefined;
  return sha;
}

/**
 * Resets a worktree to `commit` and removes everything untracked under `dir` (the trainer dir,
 * relative to the worktree's top): ignored files, a `.gitignore` that hides itself and every nested
 * `.git` included (git clean never removes a `.git` inside a tracked directory), so nothing an
 * experiment planted reaches the next. Cleaned before the reset as well, so no `.gitattributes` the
 * trainer left steers the checkout.
 */
export async function resetWorktree(git: Git, commit: string, dir: string): Promise<void> {
  const top = git.dir; // a worktree's top level (gitAt)
  for (const nested of await nestedGitPaths(top, dir)) await rm(path.join(top, nested), { recursive: true, force: true });
  await git.raw(['clean', '-ffdxq', '--', dir]);
  await git.raw(['reset', '-q', '--hard', commit]);
  await git.raw(['clean', '-ffdxq', '--', dir]);
}

/**
 * Every `.git` under `dir` (relative to the worktree's top `top`): a directory, file or link of that
 * name at any depth, as a path relative to `top`; the worktree's own `.git` excepted. Links are not followed.
 */
export async function nestedGitPaths(top: string, dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const entry of await readdir(at, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(at, entry.name);
      if (entry.name === '.git') {
        if (at !== top) found.push(path.relative(top, full).split(path.sep).join('/'));
      } else if (entry.isDirectory()) await walk(full);
    }
  };
  await walk(path.resolve(top, dir));
  return found.sort();
}

/** Makes `commit` present in this clone, fetching `ref` (which holds it) from the remote when it is missing. */
export async function ensureCommit(git: Git, remote: string, commit: string, ref: string): Promise<void> {
  if (!(await hasCommit(git, commit)) && !(await fetchRef(git, remote, ref))) throw new Error(`${ref} is not on the remote ${remote}`);
}

/** Fetches one ref from the remote; its commit, or undefined when the remote has no such ref. */
export async function fetchRef(git: Git, remote: string, ref: string): Promise<string | undefined> {
  const listed = (await git.raw(['ls-remote', remote, ref])).trim();
  if (!listed) return undefined;
  const sha = listed.split(/\s/)[0];
  // Fetched objects only: no local ref is written, so no two runs or lanes race on one.
  if (!(await hasCommit(git, sha))) await git.raw(['fetch', '-q', '--no-write-fetch-head', remote, ref]);
  return sha;
}

export async function hasCommit(git: Git, sha: string): Promise<boolean> {
  return git.raw(['cat-file', '-e', `${sha}^{commit}`]).then(() => true, () => false);
}

/** Keeps the run directory out of `git status` when it lives inside the repo (git metadata only). */
export async function excludeFromStatus(repo: string, dir: string): Promise<void> {
  const rel = path.relative(repo, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return;
  const exclude = path.join(gitCommonDirOf(repo), 'info', 'exclude');
  const line = `/${rel.split(path.sep)[0]}/`;
  const current = existsSync(exclude) ? await readFile(exclude, 'utf8') : '';
  if (!current.split('\n').includes(line)) {
    await mkdir(path.dirname(exclude), { recursive: true });
    await appendFile(exclude, `${current.endsWith('\n') || current === '' ? '' : '\n'}${line}\n`);
  }
}

/** Removes the stale git locks (removeStaleLocks) of the repository whose worktree or git dir is `dir`. Never throws. */
export async function clearStaleLocks(dir: string): Promise<string[]> {
  let common: string;
  try {
    common = gitCommonDirOf(dir);
  } catch {
    return [];
  }
  return removeStaleLocks(common);
}
