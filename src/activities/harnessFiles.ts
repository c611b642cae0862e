/**
 * The harness stays as the run's base commit had it: prepare.py and every other file of the trainer
 * dir that is not in `trainer.editable`. Checked by content (git blob hashes of the files on disk),
 * not by git's stat cache, which a trainer that restores a file's size and mtime could fool.
 *
 * git runs in the worktree that holds the trainer dir, found by path (worktreeTopOf), never from the
 * trainer dir: a `.git` the trainer planted there would decide what git reads, and run its config.
 */
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { gitAt, nestedGitPaths, worktreeTopOf } from './gitOps.js';

export interface HarnessCheckInput {
  trainerDir: string;
  /** trainer.dir: the trainer dir's path inside its repository (the worktree's top is found from it). */
  trainerRel?: string;
  baseCommit: string;
  editable: string[];
  /** Also refuse files that are new and not git-ignored (before training: the edit step left none). */
  untracked: boolean;
}

const git = (top: string, args: string[], input?: string) => gitAt(top).raw(args, input);

/** The worktree's top level, and the trainer dir's path inside it ('' when it is the top). */
function locate(trainerDir: string, trainerRel?: string): { top: string; rel: string } {
  const top = worktreeTopOf(trainerDir, trainerRel);
  return { top, rel: path.relative(top, path.resolve(trainerDir)).split(path.sep).join('/') };
}

interface TreeEntry { mode: string; blob: string; file: string }

/** Every file under `rel` at `commit` (path relative to the repository's top level). */
async function treeAt(top: string, commit: string, rel: string): Promise<TreeEntry[]> {
  const out = await git(top, ['ls-tree', '-r', '-z', '--full-tree', commit, '--', rel || '.']);
  return out.split('\0').filter(Boolean).map((line) => {
    const [meta, file] = line.split('\t');
    const [mode, , blob] = meta.split(' ');
    return { mode, blob, file };
  });
}

/**
 * New `.gitignore` files under `rel` that no rule of the repository's own hides: one the trainer
 * planted (ignoring itself, and what it planted beside it) would keep its files out of the check for
 * new files. uv's `.venv/.gitignore` lies in a directory the repository ignores, so it passes.
 */
async function plantedIgnoreFiles(top: string, rel: string): Promise<string[]> {
  const glob = `:(glob)${rel ? `${rel}/` : ''}**/.gitignore`;
  const planted = (await git(top, ['ls-files', '-z', '--others', '--full-name', '--', glob])).split('\0').filter(Boolean);
  if (!planted.length) return [];
  const dirs = planted.map((file) => path.posix.dirname(file));
  // `<source> <line> <pattern> <path>` per directory; exit 1 when none is ignored.
  const fields = (await gitAt(top).raw(['check-ignore', '-v', '-z', '-n', '--stdin'], dirs.map((d) => `${d}\0`).join(''), [1])).split('\0');
  const hiddenByRepo = new Set<string>();
  for (let i = 0; i + 3 < fields.length; i += 4) {
    const [source, , pattern, dir] = fields.slice(i, i + 4);
    if (source && !pattern.startsWith('!') && !planted.includes(source)) hiddenByRepo.add(dir);
  }
  return planted.filter((_, i) => !hiddenByRepo.has(dirs[i]));
}

/**
 * One sentence per harness file that differs from the base commit (changed, deleted, replaced by a
 * link, or new when `untracked`), each naming the file; empty when the harness is intact. A `.git`
 * under the trainer dir, and a harness entry that is a submodule at the base, are refused too.
 */
export async function harnessChanges(input: HarnessCheckInput): Promise<string[]> {
  const { top, rel } = locate(input.trainerDir, input.trainerRel);
  const editable = new Set(input.editable.map((e) => path.posix.join(rel, e)));
  const base = input.baseCommit.slice(0, 12);
  const problems: string[] = [];
  for (const planted of await nestedGitPaths(top, rel)) problems.push(`${planted} is a git repository inside the trainer dir (not allowed)`);
  const regular: TreeEntry[] = [];
  for (const entry of await treeAt(top, input.baseCommit, rel)) {
    if (editable.has(entry.file)) continue;
    if (entry.mode === '160000') {
      problems.push(`${entry.file} is a submodule at the base commit ${base}: a harness file must be a file`);
      continue;
    }
    const onDisk = path.join(top, entry.file);
    const stat = await lstat(onDisk).catch(() => undefined);
    if (!stat) problems.push(`${entry.file} was deleted (base ${base})`);
    else if (entry.mode === '120000') {
      const target = stat.isSymbolicLink() ? await readlink(onDisk) : undefined;
      if (target !== (await git(top, ['cat-file', 'blob', entry.blob]))) problems.push(`${entry.file} differs from the base commit ${base}`);
    } else if (!stat.isFile()) problems.push(`${entry.file} is no longer a plain file (base ${base})`);
    else regular.push(entry);
  }
  if (regular.length) {
    const hashes = (await git(top, ['hash-object', '--no-filters', '--stdin-paths'], regular.map((e) => e.file).join('\n'))).split('\n');
    regular.forEach((entry, i) => {
      if (hashes[i]?.trim() !== entry.blob) problems.push(`${entry.file} differs from the base commit ${base}`);
    });
  }
  if (input.untracked) {
    const others = await git(top, ['ls-files', '-z', '--others', '--exclude-standard', '--full-name', '--', rel || '.']);
    const news = new Set([...others.split('\0').filter(Boolean), ...(await plantedIgnoreFiles(top, rel))]);
    for (const file of [...news].sort()) {
      if (!editable.has(file)) problems.push(`${file} is a new file, not in trainer.editable (base ${base})`);
    }
  }
  return problems;
}

/**
 * The text of `file` (relative to the trainer dir) at `commit`, or undefined when it has none (or
 * it is not a plain blob there: a submodule, say). Replace refs are never followed (gitAt).
 */
export async function harnessFileAt(trainerDir: string, commit: string, file: string, trainerRel?: string): Promise<string | undefined> {
  const { top, rel } = locate(trainerDir, trainerRel);
  return git(top, ['cat-file', 'blob', `${commit}:${path.posix.join(rel, file)}`]).catch(() => undefined);
}
