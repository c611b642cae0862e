/**
 * What the trainer's sandbox hides or keeps read-only in the trainer's own directory: the
 * validation split under harness evaluation, and the tracked files it may not change.
 */
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gitAt, worktreeTopOf } from './gitOps.js';

/** True once the data cache holds a prepared data set (v<N>/<source>/vocab<V>/meta.json). */
export async function holdsPreparedData(cache: string): Promise<boolean> {
  const dirs = async (dir: string) => (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  for (const version of (await dirs(cache)).filter((d) => /^v\d+$/.test(path.basename(d)))) {
    for (const source of await dirs(version)) {
      for (const vocab of await dirs(source)) if (existsSync(path.join(vocab, 'meta.json'))) return true;
    }
  }
  return false;
}

/** The original climbmix's pinned validation shard, kept in the cache root under its own name (prepare.py). */
const CLIMBMIX_VAL_SHARD = 'shard_06542.parquet';

/**
 * What holds the validation split in a prepared data cache: every v<N>/<source>/vocab<V>/val.bin, the
 * climbmix val shard, and the raw downloads (TinyStories' file holds its validation documents).
 */
export async function validationPathsOf(cache: string): Promise<{ files: string[]; dirs: string[] }> {
  const dirs = async (dir: string) => (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  const files: string[] = [];
  for (const version of (await dirs(cache)).filter((d) => /^v\d+$/.test(path.basename(d)))) {
    for (const source of await dirs(version)) {
      for (const vocab of await dirs(source)) if (existsSync(path.join(vocab, 'val.bin'))) files.push(path.join(vocab, 'val.bin'));
    }
  }
  if (existsSync(path.join(cache, CLIMBMIX_VAL_SHARD))) files.push(path.join(cache, CLIMBMIX_VAL_SHARD));
  return { files, dirs: existsSync(path.join(cache, 'downloads')) ? [path.join(cache, 'downloads')] : [] };
}

/** An empty read-only file to bind over what the trainer must not read (one per worker process). */
let emptyFile: Promise<string> | undefined;
export function anEmptyFile(): Promise<string> {
  emptyFile ??= (async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-hidden-')), 'empty');
    await writeFile(file, '');
    await chmod(file, 0o444);
    return file;
  })();
  return emptyFile;
}

/**
 * The worktree's `.git` file, its git dir and the common git dir, where the trainer dir is in a git
 * worktree, and its tracked files. The worktree is found by path (worktreeTopOf), not by git
 * discovery from the trainer dir, which would take a `.git` the trainer planted there.
 */
export async function gitPathsOf(trainerDir: string): Promise<{ paths: string[]; tracked: string[] | undefined }> {
  let top: string;
  try {
    top = worktreeTopOf(trainerDir);
  } catch {
    return { paths: [], tracked: undefined };
  }
  const git = gitAt(top);
  const rev = await git.raw(['rev-parse', '--path-format=absolute', '--git-dir', '--git-common-dir']).catch(() => undefined);
  if (rev === undefined) return { paths: [], tracked: undefined };
  const [gitDir, commonDir] = rev.split('\n').map((l) => l.trim());
  const files = await git.raw(['ls-files', '-z', '--full-name', '--', path.relative(top, trainerDir) || '.']).catch(() => undefined);
  const tracked = files?.split('\0').filter(Boolean).map((f) => path.join(top, f));
  return { paths: [path.join(top, '.git'), gitDir, commonDir].filter(Boolean), tracked };
}

/** Every file of the trainer dir the trainer must not change: tracked and not editable (the top level when it is not in git). */
export async function protectedFiles(trainerDir: string, editable: string[], tracked: string[] | undefined): Promise<string[]> {
  const mine = new Set(editable.map((e) => path.resolve(trainerDir, e)));
  const candidates = tracked ?? (await readdir(trainerDir)).map((name) => path.join(trainerDir, name));
  const out: string[] = [];
  for (const file of candidates) {
    if (mine.has(file)) continue;
    // Only real files: a bind onto a symlink would follow it out of the trainer dir.
    const stat = await lstat(file).catch(() => undefined);
    if (stat?.isFile()) out.push(file);
  }
  return out;
}
