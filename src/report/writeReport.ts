/** The report's I/O: read results.tsv, save the diffs it can find, write report.html and chart.png. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { ChromiumMissingError, screenshotChart } from './browser.js';
import { parseResults, ResultsParseError, type ResultRow } from '../core/resultsTsv.js';
import { renderReport } from './render.js';
import { gitAt } from '../activities/gitOps.js';
import { readJournal } from '../activities/journalStore.js';
import type { JournalRecord } from '../core/journal.js';

export interface ReportRequest {
  resultsPath: string;
  outDir: string;
  /** Git repository holding the run's commits; without one the table has no diff links. */
  repo?: string;
  tag: string;
  /** σ of one run, bpb, to assume where results.tsv has none (greedy runs, the original's files). */
  sigma?: number;
}

export interface WrittenReport {
  html: string;
  /** Absent when Chromium was not available (see `warnings`). */
  png?: string;
  /** Paths of the diffs written, one per commit found in the repo. */
  diffs: string[];
  warnings: string[];
}

/** A report that cannot be made; the message is one line for the user. */
export class ReportError extends Error {
  name = 'ReportError';
}

export async function writeReport(request: ReportRequest): Promise<WrittenReport> {
  const rows = await readResults(request.resultsPath);
  await mkdir(request.outDir, { recursive: true });
  const diffLinks = request.repo ? await writeDiffs(rows, request.repo, request.outDir) : {};
  const html = join(request.outDir, 'report.html');
  const steeringNotes = await readSteering(join(dirname(request.resultsPath), 'steering.tsv'));
  const journal = request.repo ? await readJournalOf(request.repo) : undefined;
  await writeFile(html, renderReport(rows, { tag: request.tag, diffLinks, steeringNotes, sigma: request.sigma, journal }));

  const written: WrittenReport = { html, diffs: Object.values(diffLinks).map((link) => join(request.outDir, link)), warnings: [] };
  const png = join(request.outDir, 'chart.png');
  try {
    await screenshotChart(html, png);
    written.png = png;
  } catch (error) {
    if (!(error instanceof ChromiumMissingError)) throw error;
    written.warnings.push(`chart.png skipped: ${error.message}`);
  }
  return written;
}

/** The journal on the repository's own refs (where a one-host run writes it); none when it cannot be read. */
async function readJournalOf(repo: string): Promise<JournalRecord[] | undefined> {
  try {
    return (await readJournal(gitAt(repo), repo)).records;
  } catch {
    return undefined;
  }
}

/** steering.tsv (`from_experiment<TAB>note`), written by the run beside results.tsv; absent is fine. */
async function readSteering(path: string): Promise<{ fromExperiment: number; note: string }[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.split('\t'))
    .filter(([from, note]) => note && /^\d+$/.test(from))
    .map(([from, note]) => ({ fromExperiment: Number(from), note }));
}

async function readResults(path: string): Promise<ResultRow[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ReportError(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return parseResults(text);
  } catch (error) {
    if (error instanceof ResultsParseError) throw new ReportError(`${path} line ${error.line}: ${error.reason}`);
    throw error;
  }
}

/** `git show` of every commit the repo knows → diffs/<commit>.diff; returns commit → relative link. */
async function writeDiffs(rows: ResultRow[], repo: string, outDir: string): Promise<Record<string, string>> {
  const isRepo = await execa('git', ['-C', repo, 'rev-parse', '--git-dir'], { reject: false });
  if (isRepo.exitCode !== 0) return {};
  // Only hashes go to git: a commit cell is free text in a hand-written results.tsv.
  const commits = [...new Set(rows.map((row) => row.commit))].filter((commit) => /^[0-9a-f]{4,40}$/i.test(commit));
  const links: Record<string, string> = {};
  for (const commit of commits) {
    const shown = await execa('git', ['-C', repo, 'show', '--no-color', '--stat', '--patch', `${commit}^{commit}`], { reject: false });
    if (shown.exitCode !== 0) continue;
    await mkdir(join(outDir, 'diffs'), { recursive: true });
    await writeFile(join(outDir, 'diffs', `${commit}.diff`), `${shown.stdout}\n`);
    links[commit] = `diffs/${commit}.diff`;
  }
  return links;
}
