/**
 * The harness stays as the run's base commit had it: prepare.py and every other file of the trainer
 * dir that is not in `trainer.editable`. Checked by content (git blob hashes of the files on disk),
 * not by git's stat cache, which a trainer that restores a file's size and mtime could fool.
 */
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { gitAt } from './gitOps.js';

export interface HarnessCheckInput {
  trainerDir: string;
  baseCommit: string;
  editable: string[];
  /** Also refuse files that are new and not git-ignored (before training: the edit step left none). */
  untracked: boolean;
}

const git = (cwd: string, args: string[], input?: string) => gitAt(cwd).raw(args, input);

/** The trainer dir's path inside its repository, and the repository's top level. */
async function locate(trainerDir: string): Promise<{ top: string; rel: string }> {
  const top = (await git(trainerDir, ['rev-parse', '--show-toplevel'])).trim();
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
 * One sentence per harness file that differs from the base commit (changed, deleted, replaced by a
 * link, or new when `untracked`), each naming the file; empty when the harness is intact.
 */
export async function harnessChanges(input: HarnessCheckInput): Promise<string[]> {
  const { top, rel } = await locate(input.trainerDir);
  const editable = new Set(input.editable.map((e) => path.posix.join(rel, e)));
  const base = input.baseCommit.slice(0, 12);
  const problems: string[] = [];
  const regular: TreeEntry[] = [];
  for (const entry of await treeAt(top, input.baseCommit, rel)) {
    if (editable.has(entry.file) || entry.mode === '160000') continue; // submodules are not the trainer's files
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
    const others = await git(input.trainerDir, ['ls-files', '-z', '--others', '--exclude-standard', '--full-name', '--', '.']);
    for (const file of others.split('\0').filter(Boolean)) {
      if (!editable.has(file)) problems.push(`${file} is a new file, not in trainer.editable (base ${base})`);
    }
  }
  return problems;
}

/** The text of `file` (relative to the trainer dir) at `commit`, or undefined when it has none. */
export async function harnessFileAt(trainerDir: string, commit: string, file: string): Promise<string | undefined> {
  const { top, rel } = await locate(trainerDir);
  return gitAt(top).show([`${commit}:${path.posix.join(rel, file)}`]).catch(() => undefined);
}
