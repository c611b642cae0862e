/**
 * Stale git locks: the `*.lock` files a git killed mid-command leaves, found in a repository's git
 * dirs and removed only when no live git process can hold them.
 */
import { readdir, readFile, readlink, realpath, stat, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Context } from '@temporalio/activity';

/** A lock file younger than this is never cleared: a git process may have just made it. */
export const STALE_LOCK_SECONDS = 5;

/**
 * Removes the `*.lock` files a git killed mid-command (SIGKILL) left in the repository whose common
 * git dir is `commonDir`, so the next git command does not fail with "File exists". A lock is removed
 * only when it is older than STALE_LOCK_SECONDS and no live git process works in the repository:
 * for a linked worktree's own locks (its index, HEAD), none in that worktree; for the shared ones
 * (refs, packed-refs, config), none in any worktree of the repository. Linux only (it reads /proc);
 * when unsure, a lock is left. Never throws. Returns the locks it removed.
 */
export async function removeStaleLocks(commonDir: string): Promise<string[]> {
  try {
    if (!existsSync('/proc/self/cwd') || !existsSync(commonDir)) return [];
    const common = await real(commonDir);
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
