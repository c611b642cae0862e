/**
 * The journal on the git remote: a commit chain under JOURNAL_REF whose tree holds one file per
 * record, `<tag>/<bucket>/exp-NNNN-<id>.json`. A write adds the files that are not there yet and
 * pushes with a lease on the commit it read (a compare-and-set): a retry, or a second host writing
 * the same record, finds its file and writes nothing, so no record is lost or doubled.
 */
import { formatRecord, JOURNAL_REF, parseRecord, recordPath, type JournalRecord } from '../core/journal.js';
import { fetchRef, type Git } from './gitOps.js';

/** Records by blob id, for this worker's life: a blob never changes, so each is read once. */
const parsed = new Map<string, JournalRecord | null>();
/** How many times a write reads and tries again when another writer moved the ref first. */
const WRITE_ATTEMPTS = 8;

export interface Journal {
  /** The ref's commit on the remote; undefined when nothing was written yet. */
  tip?: string;
  records: JournalRecord[];
  /** The tags with at least one record. */
  tags: Set<string>;
}

/** Every record on the remote (a file that does not parse is skipped, not fatal: the rest still count). */
export async function readJournal(git: Git, remote: string): Promise<Journal> {
  const tip = await fetchRef(git, remote, JOURNAL_REF);
  if (!tip) return { records: [], tags: new Set() };
  const blobs = (await git.raw(['ls-tree', '-r', '--full-tree', tip])).split('\n').filter(Boolean).map((line) => {
    const tab = line.indexOf('\t');
    return { sha: line.slice(0, tab).split(' ')[2], path: line.slice(tab + 1) };
  });
  const missing = blobs.filter((b) => !parsed.has(b.sha)).map((b) => b.sha);
  if (missing.length) for (const [sha, text] of await readBlobs(git, missing)) parsed.set(sha, parseOrNull(text));
  const records = blobs.map((b) => parsed.get(b.sha)).filter((r): r is JournalRecord => !!r);
  return { tip, records, tags: new Set(blobs.map((b) => b.path.split('/')[0])) };
}

function parseOrNull(text: string): JournalRecord | null {
  try {
    return parseRecord(text);
  } catch {
    return null;
  }
}

/**
 * Blobs by id, in one `cat-file --batch`. Records are ASCII (formatRecord), so a blob's byte size
 * is its length in the output; a blob where that does not hold is read alone.
 */
async function readBlobs(git: Git, shas: string[]): Promise<Map<string, string>> {
  const out = await git.raw(['cat-file', '--batch'], shas.join('\n') + '\n');
  const blobs = new Map<string, string>();
  let at = 0;
  for (const sha of shas) {
    const eol = out.indexOf('\n', at);
    const [got, type, size] = out.slice(at, eol).split(' ');
    if (got !== sha || type !== 'blob') break; // out of step: the rest are read one by one below
    const text = out.slice(eol + 1, eol + 1 + Number(size));
    blobs.set(sha, text);
    at = eol + 1 + Number(size) + 1;
    if (out[at - 1] !== '\n') {
      blobs.delete(sha);
      break;
    }
  }
  for (const sha of shas.filter((s) => !blobs.has(s))) blobs.set(sha, await git.raw(['cat-file', 'blob', sha]));
  return blobs;
}

/**
 * Adds the records whose files are not on the remote yet; returns how many it added. A record
 * already there is never rewritten: the first write of a record is its record.
 */
export async function writeRecords(git: Git, remote: string, records: JournalRecord[], message: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const parent = await fetchRef(git, remote, JOURNAL_REF);
    const wanted = new Map(records.map((r) => [recordPath(r), r]));
    const present = parent ? (await git.raw(['ls-tree', '-r', '--name-only', parent, '--', ...wanted.keys()])).split('\n') : [];
    for (const file of present) wanted.delete(file);
    const files = new Map<string, string>();
    for (const [file, r] of wanted) files.set(file, (await git.raw(['hash-object', '-w', '--stdin'], formatRecord(r))).trim());
    if (files.size === 0) return 0;
    const tree = await addToTree(git, parent ? `${parent}^{tree}` : undefined, files);
    const commit = (await git.raw(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', message])).trim();
    try {
      await git.raw(['push', '-q', `--force-with-lease=${JOURNAL_REF}:${parent ?? ''}`, remote, `${commit}:${JOURNAL_REF}`]);
      return files.size;
    } catch (err) {
      // Another writer moved the ref since it was read: read again and add what is still missing.
      if (attempt >= WRITE_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 100));
    }
  }
}

/**
 * The tree `base` (a tree-ish, or undefined for an empty one) with `files` (path → blob id) added:
 * only the directories on their paths are read and written again, so a write costs the same at
 * 10 records as at 10,000.
 */
async function addToTree(git: Git, base: string | undefined, files: Map<string, string>): Promise<string> {
  const entries = new Map<string, string>(); // name → `<mode> <type> <sha>\t<name>`
  if (base) {
    for (const line of (await git.raw(['ls-tree', base])).split('\n').filter(Boolean)) entries.set(line.slice(line.indexOf('\t') + 1), line);
  }
  const subdirs = new Map<string, Map<string, string>>();
  for (const [file, sha] of files) {
    const slash = file.indexOf('/');
    if (slash < 0) {
      entries.set(file, `100644 blob ${sha}\t${file}`);
      continue;
    }
    const dir = file.slice(0, slash);
    if (!subdirs.has(dir)) subdirs.set(dir, new Map());
    subdirs.get(dir)!.set(file.slice(slash + 1), sha);
  }
  for (const [dir, inner] of subdirs) {
    const existing = entries.get(dir);
    const subtree = await addToTree(git, existing?.startsWith('040000 tree ') ? existing.split(' ')[2].split('\t')[0] : undefined, inner);
    entries.set(dir, `040000 tree ${subtree}\t${dir}`);
  }
  return (await git.raw(['mktree'], [...entries.values()].join('\n') + '\n')).trim();
}
