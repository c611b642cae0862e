/**
 * `research journal [--tag T] [--repo DIR] [--remote R] [--json]`: the repository's journal, read
 * from its git remote: each run's totals, then one line per experiment, oldest first.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { byTime, summarizeRuns, type JournalRecord } from '../core/journal.js';
import { experimentName } from '../core/names.js';
import { gitAt } from '../activities/gitOps.js';
import { readJournal } from '../activities/journalStore.js';
import { PROJECT_ROOT } from '../activities/runPaths.js';

export const JOURNAL_USAGE = 'journal [--tag T] [--repo DIR] [--remote R] [--json]';

export interface JournalArgs {
  tag?: string;
  repo: string;
  remote: string;
  json: boolean;
}

/** The repository: --repo, else AUTORESEARCH_REPO, else this project (as a run would take it); the remote: --remote, else the repository. */
export function parseJournalArgs(argv: string[]): JournalArgs {
  const { values } = parseArgs({
    args: argv,
    options: { tag: { type: 'string' }, repo: { type: 'string' }, remote: { type: 'string' }, json: { type: 'boolean' } },
  });
  const repo = path.resolve(values.repo ?? process.env.AUTORESEARCH_REPO ?? PROJECT_ROOT);
  return { tag: values.tag, repo, remote: values.remote ?? repo, json: values.json ?? false };
}

export async function journal(args: JournalArgs, print: (line: string) => void = console.log): Promise<void> {
  const { records } = await readJournal(gitAt(args.repo), args.remote);
  const shown = records.filter((r) => !args.tag || r.tag === args.tag).sort(byTime);
  if (args.json) {
    print(JSON.stringify(shown, null, 2));
    return;
  }
  print(formatJournal(shown, args.tag ? `run ${args.tag} in the journal of ${args.remote}` : `journal of ${args.remote}`));
}

/** Totals per run, then each experiment on one line. */
export function formatJournal(records: readonly JournalRecord[], title: string): string {
  if (records.length === 0) return `${title}: no records (a run writes them as its experiments finish)`;
  const runs = summarizeRuns(records);
  const lines = [`${title}: ${records.length} experiment${records.length === 1 ? '' : 's'} in ${runs.length} run${runs.length === 1 ? '' : 's'}`];
  for (const run of runs) {
    const counts = Object.entries(run.counts).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ');
    const best = run.best ? `, best val_bpb ${run.best.valBpb.toFixed(6)} at ${experimentName(run.best.experiment)}` : '';
    lines.push(`  ${run.tag}: ${run.experiments} (${counts})${best}, ${run.refusals} repeat${run.refusals === 1 ? '' : 's'} refused` +
      `${run.imported ? ' (imported from results.tsv)' : ''}`);
  }
  lines.push('');
  for (const r of records) {
    const value = r.status === 'keep' || r.status === 'discard' ? r.valBpb.toFixed(6) : '-'.padEnd(8);
    const delta = r.delta === undefined ? '' : ` Δ ${r.delta >= 0 ? '+' : ''}${r.delta.toFixed(6)}`;
    const why = r.status === 'crash' || r.status === 'invalid' ? ` (${r.reason.replace(/\s+/g, ' ').slice(0, 100)})` : '';
    lines.push(`${r.tag} ${experimentName(r.experiment)} ${r.status.padEnd(7)} ${value}${delta}  ${r.description}${why}` +
      `${r.commit ? `  ${r.commit.slice(0, 7)}` : ''}`);
  }
  return lines.join('\n');
}
