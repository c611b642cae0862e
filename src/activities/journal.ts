/**
 * The run's writes to the journal: one record per experiment, appended beside its results.tsv
 * row, and the first time a remote is read, the results.tsv of every run made before the journal.
 * The editable files' content hash is computed here, from the commit's blobs.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { RunConfig } from '../core/runInput.js';
import { settingsOf, touchedNames, type JournalRecord } from '../core/journal.js';
import { experimentRef, resultsRef } from '../core/names.js';
import type { ExperimentRecord } from '../core/results.js';
import { parseResults, type ResultRow } from '../core/resultsTsv.js';
import { fetchRef, gitAt, hasCommit, type Git } from './gitOps.js';
import { readJournal, writeRecords } from './journalStore.js';
import { resolveRunPaths } from './runPaths.js';

/** sha256 of the editable files (path and content, in path order): what "the same code" is made of. */
export function contentHashOf(files: { path: string; content: string }[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) hash.update(`${f.path}\0${f.content}\0`);
  return hash.digest('hex');
}

/** What a commit tells the journal: its parent, the editable files' hash, what its diff touched, and whether it changed nothing. */
export interface CommitFacts {
  parentCommit: string;
  contentHash: string;
  touched: string[];
  /** No change to its parent: a baseline (the code a run starts from, measured again on purpose). */
  unchanged: boolean;
}

export async function commitFacts(git: Git, trainer: RunConfig['trainer'], commit: string): Promise<CommitFacts> {
  const paths = trainer.editable.map((p) => path.posix.join(trainer.dir, p));
  const files = await Promise.all(trainer.editable.map(async (p, i) => (
    { path: p, content: await git.show([`${commit}:${paths[i]}`]).catch(() => '\0missing') })));
  const parentCommit = (await git.raw(['rev-parse', '--verify', '-q', `${commit}^`], undefined, [1])).trim();
  const diff = parentCommit ? await git.raw(['diff', '-U0', '--no-color', '--no-ext-diff', parentCommit, commit, '--', ...paths]) : '';
  const unchanged = parentCommit !== '' && (await git.raw(['rev-parse', `${commit}^{tree}`, `${parentCommit}^{tree}`])).trim().split('\n')
    .every((tree, _, all) => tree === all[0]);
  return { parentCommit, contentHash: contentHashOf(files), touched: touchedNames(diff), unchanged };
}

/**
 * The facts of a row's commit, fetched from its experiment ref when this clone lacks it. A commit
 * neither here nor on the remote (its ref deleted) has none: its record is still written.
 */
export async function factsOf(git: Git, remote: string, config: RunConfig, record: ExperimentRecord): Promise<CommitFacts | undefined> {
  const present = record.commitFull !== '' && ((await hasCommit(git, record.commitFull))
    || (await fetchRef(git, remote, experimentRef(config.tag, record.experiment))) === record.commitFull);
  return present ? commitFacts(git, config.trainer, record.commitFull) : undefined;
}

/** The journal's record of a row of this run. */
export function journalRecordOf(config: RunConfig, record: ExperimentRecord, facts: CommitFacts | undefined, time: string): JournalRecord {
  return {
    tag: config.tag, experimentId: record.experimentId, experiment: record.experiment, parentCommit: facts?.parentCommit ?? '',
    commit: record.commitFull, contentHash: facts?.contentHash ?? '', description: record.description, hypothesis: record.hypothesis,
    status: record.status, valBpb: record.valBpb, delta: record.delta, sigma: record.sigma, confirmations: record.extraRuns ?? 0,
    reason: record.reason ?? '', lane: record.lane ?? '', time, settings: settingsOf(config.trainer), touched: facts?.touched ?? [],
    refusals: record.refusals ?? 0, baseline: facts?.unchanged ?? false,
  };
}

/** Appends the experiment's record to the journal on the remote (nothing when a retry finds it there). */
export async function appendJournal(input: { config: RunConfig; record: ExperimentRecord }): Promise<void> {
  const { config, record } = input;
  const paths = resolveRunPaths(config);
  const git = gitAt(paths.repo);
  const facts = await factsOf(git, paths.remote, config, record);
  await writeRecords(git, paths.remote, [journalRecordOf(config, record, facts, new Date().toISOString())],
    `journal: ${config.tag} ${record.experimentId} ${record.status}`);
}

/**
 * Imports, as far as their columns allow, the results.tsv of every tag on the remote that has no
 * record in the journal yet: a run made before the journal. Its settings are unknown, so its code
 * is shown to the proposer but not refused. Returns the tags imported.
 */
export async function importOldResults(input: { config: RunConfig }): Promise<string[]> {
  const paths = resolveRunPaths(input.config);
  const git = gitAt(paths.repo);
  const listed = await git.raw(['ls-remote', paths.remote, 'refs/autoresearch/*/results']);
  const tags = listed.split('\n').map((line) => /^\S+\trefs\/autoresearch\/([^/]+)\/results$/.exec(line)?.[1]).filter((t): t is string => !!t);
  const { tags: journalled } = await readJournal(git, paths.remote);
  const imported: string[] = [];
  for (const tag of tags.filter((t) => !journalled.has(t))) {
    const ref = await fetchRef(git, paths.remote, resultsRef(tag));
    let rows: ResultRow[];
    try {
      rows = parseResults(await git.show([`${ref}:results.tsv`]));
    } catch {
      continue; // unreadable: nothing to import, and the run goes on
    }
    const records: JournalRecord[] = [];
    for (const [i, row] of rows.entries()) records.push(await importedRecord(git, paths.remote, input.config.trainer, tag, i, row));
    if (records.length) await writeRecords(git, paths.remote, records, `journal: import ${tag} from results.tsv`);
    imported.push(tag);
  }
  return imported;
}

/** The import as a run starts: a failure is logged, never the run's (the tags stay importable the next time). */
export async function importBeforeRun(config: RunConfig): Promise<void> {
  try {
    const imported = await importOldResults({ config });
    if (imported.length) log('info', `journal: imported the results.tsv of ${imported.join(', ')}`);
  } catch (err) {
    log('warn', `journal: could not import older runs' results.tsv (${(err as Error).message})`);
  }
}

function log(level: 'info' | 'warn', message: string): void {
  try {
    Context.current().log[level](message);
  } catch {
    console[level](message); // outside an activity
  }
}

async function importedRecord(git: Git, remote: string, trainer: RunConfig['trainer'], tag: string, index: number, row: ResultRow): Promise<JournalRecord> {
  const experiment = Number(/exp-(\d+)$/.exec(row.experimentId ?? '')?.[1] ?? index);
  let commit = '';
  if (row.commit && row.commit !== '-') {
    commit = (await fetchRef(git, remote, experimentRef(tag, experiment))) ?? '';
    if (!commit.startsWith(row.commit)) commit = (await git.raw(['rev-parse', '--verify', '-q', `${row.commit}^{commit}`], undefined, [1])).trim();
  }
  const facts = commit ? await commitFacts(git, trainer, commit).catch(() => undefined) : undefined;
  const time = commit ? (await git.raw(['log', '-1', '--format=%cI', commit])).trim() : '';
  return {
    tag, experimentId: row.experimentId ?? `${tag}/exp-${String(experiment).padStart(4, '0')}`, experiment, parentCommit: facts?.parentCommit ?? '',
    commit, contentHash: facts?.contentHash ?? '', description: row.description, hypothesis: '', status: row.status, valBpb: row.valBpb,
    delta: row.delta, sigma: row.sigma, confirmations: row.extraRuns ?? 0, reason: row.reason ?? '', lane: '', time,
    touched: facts?.touched ?? [], refusals: 0, baseline: (facts?.unchanged ?? false) || row.description === 'baseline', imported: true,
  };
}
