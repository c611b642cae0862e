import { appendFile, mkdir, readdir, readFile, readlink, realpath, rm, stat, unlink } from 'node:fs/promises';
import { existsSync, lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { execa } from 'execa';

/** The git commands the activities run, in one repository or worktree. */
export interface Git {
  /** stdout; a failing command throws with git's message (an exit code in `ok` is no failure). */
  raw(args: string[], input?: string, ok?: number[]): Promise<string>;
  show(args: string[]): Promise<string>;
  revparse(args: string[]): Promise<string>;
  add(files: string[]): Promise<void>;
  checkIsRepo(): Promise<boolean>;
}

/**
 * git in `dir`, run directly: simple-git waits a fixed 50 ms after every command that prints
 * nothing (reset, add, commit, push, cat-file -e), about eight per experiment; measured here, that
 * was most of the loop's overhead. A minimal environment (no editor or pager), and a fixed identity
 * for the run's commits unless the worker sets one, so a machine without git config still works.
 *
 * `dir` is a worktree's top level or a repository, never a directory inside one: its git dir is
 * named on every command (gitLocationOf), so git never discovers a repository by walking up from
 * where it runs (a trainer can plant a `.git` in its own directory). Nothing a repository's
 * objects or config could select runs either: no replace refs, no system config, no fsmonitor,
 * no hooks, no pager.
 */
export function gitAt(dir: string): Git {
  const env = {
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
  let location: string[] | undefined;
  const raw = async (args: string[], input?: string, ok: number[] = []) => {
    // A NUL cannot pass through exec: retrying would fail the same way.
    if (args.some((a) => a.includes('\0'))) throw ApplicationFailure.nonRetryable(`git ${args[0]}: an argument holds a NUL byte`, 'GitArgument');
    location ??= locationArgs(gitLocationOf(dir));
    const r = await execa('git', [...location, ...SAFE_CONFIG, ...args], { cwd: dir, env, extendEnv: false, input, stripFinalNewline: false, reject: false });
    if (r.exitCode !== 0 && !ok.includes(r.exitCode ?? -1)) throw new Error(`git ${args[0]}: ${(r.stderr || r.stdout).trim() || `exit ${r.exitCode}`}`);
    return r.stdout;
  };
  return {
    raw,
    show: (args) => raw(['show', ...args]),
    revparse: (args) => raw(['rev-parse', ...args]),
    add: async (files) => void (await raw(['add', '--', ...files])),
    checkIsRepo: () => raw(['rev-parse', '--is-inside-work-tree']).then((out) => out.trim() === 'true', () => false),
  };
}

/** Config no repository may override: these run commands (fsmonitor, hooks, pager). */
const SAFE_CONFIG = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '-c', 'core.pager=cat'];

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
  const top = (await git.raw(['rev-parse', '--show-toplevel'])).trim();
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
  const common = path.resolve(repo, (await gitAt(repo).raw(['rev-parse', '--path-format=absolute', '--git-common-dir'])).trim());
  const exclude = path.join(common, 'info', 'exclude');
  const line = `/${rel.split(path.sep)[0]}/`;
  const current = existsSync(exclude) ? await readFile(exclude, 'utf8') : '';
  if (!current.split('\n').includes(line)) {
    await mkdir(path.dirname(exclude), { recursive: true });
    await appendFile(exclude, `${current.endsWith('\n') || current === '' ? '' : '\n'}${line}\n`);
  }
}

/** A lock file younger than this is never cleared: a git process may have just made it. */
export const STALE_LOCK_SECONDS = 5;

/**
 * Removes the `*.lock` files a git killed mid-command (SIGKILL) left in a repository, so the next
 * git command does not fail with "File exists". A lock is removed only when it is older than
 * STALE_LOCK_SECONDS and no live git process works in the repository: for a linked worktree's own
 * locks (its index, HEAD), none in that worktree; for the shared ones (refs, packed-refs, config),
 * none in any worktree of the repository. Linux only (it reads /proc); when unsure, a lock is left.
 * Never throws. Returns the locks it removed.
 */
export async function clearStaleLocks(dir: string): Promise<string[]> {
  try {
    if (!existsSync('/proc/self/cwd') || !existsSync(dir)) return [];
    const common = await real(path.resolve(dir, (await gitAt(dir).raw(['rev-parse', '--path-format=absolute', '--git-common-dir'])).trim()));
    const candidates = await findLocks(common);
    if (candidates.length === 0) return [];
    // The repository's places: its common dir, the main worktree, and each linked worktree with its git dir.
    const linked = await linkedWorktrees(common);
    const mainTop = path.basename(common) === '.git' ? path.dirname(common) : common;
    const everywhere = [common, mainTop, ...linked.flatMap((w) => [w.gitDir, w.top])]; // real paths, as /proc gives them
    const gitCwds = await liveGitCwds();
    const removed: string[] = [];
    for (const lock of candidates) {
      const own = linked.find((w) => isInside(lock, w.gitDir));
      const places = own ? [own.gitDir, own.top] : everywhere;
      if (gitCwds.some((cwd) => cwd === undefined || places.some((p) => isInside(cwd, p)))) continue;
      const before = await stat(lock.file).catch(() => undefined);
      // Still the same file, and still old: a lock a new git just took is never removed.
      if (!before || before.ino !== lock.ino || Date.now() - before.mtimeMs < STALE_LOCK_SECONDS * 1000) continue;
      await unlink(lock.file).then(() => removed.push(lock.file), () => undefined);
    }
    if (removed.length) warn(`removed stale git locks (no live git process held them): ${removed.join(', ')}`);
    return removed;
  } catch {
    return [];
  }
}

interface LockFile { file: string; ino: number }

/** Lock files older than STALE_LOCK_SECONDS: in the common dir, its refs, and each linked worktree's git dir. */
async function findLocks(common: string): Promise<LockFile[]> {
  const dirs = [common, ...(await subdirs(path.join(common, 'worktrees')))];
  const files: string[] = [];
  for (const d of dirs) files.push(...(await listFiles(d, false)));
  files.push(...(await listFiles(path.join(common, 'refs'), true)));
  const locks: LockFile[] = [];
  for (const file of files.filter((f) => f.endsWith('.lock'))) {
    const s = await stat(file).catch(() => undefined);
    if (s?.isFile() && Date.now() - s.mtimeMs >= STALE_LOCK_SECONDS * 1000) locks.push({ file, ino: s.ino });
  }
  return locks;
}

async function listFiles(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: string[] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isFile()) out.push(full);
    else if (recursive && e.isDirectory()) out.push(...(await listFiles(full, true)));
  }
  return out;
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
}

/** Each linked worktree: its git dir (`<common>/worktrees/<name>`) and its top (from the `gitdir` file there). */
async function linkedWorktrees(common: string): Promise<{ gitDir: string; top: string }[]> {
  const out: { gitDir: string; top: string }[] = [];
  for (const gitDir of await subdirs(path.join(common, 'worktrees'))) {
    const pointer = (await readFile(path.join(gitDir, 'gitdir'), 'utf8').catch(() => '')).trim();
    out.push({ gitDir: await real(gitDir), top: await real(pointer ? path.dirname(path.resolve(gitDir, pointer)) : gitDir) });
  }
  return out;
}

/** The working directory of every live git process on this host (undefined where it cannot be read). */
async function liveGitCwds(): Promise<(string | undefined)[]> {
  const cwds: (string | undefined)[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
    if (comm !== 'git' && !comm.startsWith('git-')) continue;
    const state = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).replace(/^.*\) /s, '')[0];
    if (state === 'Z' || state === undefined) continue; // a zombie holds nothing; a process that is gone neither
    cwds.push(await readlink(`/proc/${pid}/cwd`).catch(() => undefined));
  }
  return cwds;
}

async function real(p: string): Promise<string> {
  return realpath(p).catch(() => p);
}

function isInside(file: string | { file: string }, dir: string): boolean {
  const rel = path.relative(dir, typeof file === 'string' ? file : file.file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function warn(message: string): void {
  try {
    Context.current().log.warn(message);
  } catch {
    console.warn(message); // outside an activity
  }
}
