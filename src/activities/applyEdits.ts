import path from 'node:path';
import type { Edit } from '../core/proposal.js';

/** An edit that cannot be applied; its message goes back to the proposer (repair loop). */
export class EditRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EditRejectedError';
  }
}

/**
 * Checks that `file` names an editable file inside the trainer dir: no escape via `..` or an
 * absolute path, and only allow-listed names. Returns the normalised relative path.
 */
export function checkEditablePath(file: string, editable: string[]): string {
  if (path.isAbsolute(file)) throw new EditRejectedError(`${file}: absolute paths are not allowed; use a path relative to the trainer directory`);
  const norm = path.posix.normalize(file.replace(/\\/g, '/'));
  if (norm.startsWith('../') || norm === '..') throw new EditRejectedError(`${file}: escapes the trainer directory`);
  const allowed = editable.map((e) => path.posix.normalize(e));
  if (!allowed.includes(norm)) throw new EditRejectedError(`${file}: not an editable file (editable: ${allowed.join(', ')})`);
  return norm;
}

/**
 * Applies the edits to in-memory file contents, in order. Search blocks must occur exactly once,
 * so an edit never lands somewhere the proposer did not mean. Pure: the activity does the I/O.
 */
export function applyEdits(files: Record<string, string>, edits: Edit[], editable: string[]): Record<string, string> {
  const out = { ...files };
  edits.forEach((edit, i) => {
    const file = checkEditablePath(edit.path, editable);
    const where = `edit ${i + 1} (${file})`;
    if ('content' in edit) {
      out[file] = edit.content;
      return;
    }
    const current = out[file];
    if (current === undefined) throw new EditRejectedError(`${where}: file not found`);
    const first = current.indexOf(edit.search);
    if (first < 0) throw new EditRejectedError(`${where}: search text not found in the current file:\n${clip(edit.search)}`);
    if (current.indexOf(edit.search, first + 1) >= 0) {
      throw new EditRejectedError(`${where}: search text occurs more than once; include more context so it is unique:\n${clip(edit.search)}`);
    }
    out[file] = current.slice(0, first) + edit.replace + current.slice(first + edit.search.length);
  });
  return out;
}

function clip(s: string, max = 400): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
