import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { RunSummary } from '../../src/api/messages.js';
import { experimentName } from '../../src/core/names.js';
import type { ExperimentRecord } from '../../src/core/results.js';
import { trainerProcesses } from './workerProcess.js';
import { runDir } from './run.js';

/**
 * What must hold after any finished run, however it was disturbed: no experiment lost or
 * duplicated (one record, one results.tsv row and one commit per experiment id), the branch at the
 * best kept commit, and no trainer left running.
 */
export async function expectConsistentRun(opts: { repo: string; tag: string; experiments: number; summary: RunSummary; records: ExperimentRecord[] }) {
  const { repo, tag, records, summary } = opts;
  expect(summary.experiments).toBe(opts.experiments);
  expect(records.map((r) => r.experimentId)).toEqual(Array.from({ length: opts.experiments }, (_, i) => `${tag}/${experimentName(i)}`));

  const tsv = (await readFile(path.join(runDir(repo, tag), 'results.tsv'), 'utf8')).trimEnd().split('\n').slice(1);
  const rows = tsv.map((l) => l.split('\t'));
  expect(rows.map((c) => [c[0], c[3], c[6]])).toEqual(records.map((r) => [r.commit, r.status, r.experimentId]));

  const git = (...a: string[]) => execa('git', a, { cwd: repo }).then((r) => r.stdout);
  for (const r of records) {
    // --all: the branch and the refs that keep discarded commits reachable.
    const commits = (await git('log', '--all', '--format=%H', '--fixed-strings', `--grep=Experiment-Id: ${r.experimentId}`)).split('\n').filter(Boolean);
    expect(commits).toEqual([r.commitFull]);
  }

  const best = records.filter((r) => r.status === 'keep').sort((a, b) => a.valBpb - b.valBpb)[0];
  expect(best).toBeDefined();
  expect(summary.best?.commit).toBe(best.commit);
  expect(await git('rev-parse', `autoresearch/${tag}`)).toBe(best.commitFull);

  expect(await trainerProcesses(tag)).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// The same invariants without Jest, counted rather than asserted: the fault harness gathers a
// run's facts once (collectRunFacts) and checks them with a pure function (checkRunFacts), so the
// checker itself can be shown to catch a planted fault.

/** One row of results.tsv, by column name (the columns after experiment_id may change). */
export interface TsvRow {
  experimentId: string;
  commit: string;
  status: string;
  valBpb: number;
  reason: string;
}

/** What the harness reads about a finished run: the remote, the hosts, the run's queries and /proc. */
export interface RunFacts {
  tag: string;
  /** The experiments the run was asked for (maxExperiments). */
  experiments: number;
  baseCommit: string;
  /** results.tsv under the remote's results ref. */
  rows: TsvRow[];
  /** Each host's own copy of results.tsv (a subset of the remote's). */
  hostRows: { host: string; rows: TsvRow[] }[];
  /** The `results` query (the latest 20) and the `status` query; undefined when the run never answered. */
  records?: Pick<ExperimentRecord, 'experimentId' | 'commit' | 'commitFull' | 'status' | 'valBpb'>[];
  status?: { experimentsDone: number; counts: Record<string, number>; running: number };
  summary?: { experiments: number; bestCommit?: string };
  /** Full hashes of the commits on the remote whose message has the experiment's trailer, by experiment id. */
  trailerCommits: Record<string, string[]>;
  /** Full hash of refs/autoresearch/<tag>/exp-NNNN on the remote, by experiment id. */
  experimentRefs: Record<string, string | undefined>;
  /** Full hash of autoresearch/<tag> on the remote. */
  branch?: string;
  /** The score each committed experiment's code gives, and whether its code sets CRASH = True, by experiment id. */
  code: Record<string, { valBpb: number; crashConstant: boolean }>;
  /** Worktrees (clones and lane worktrees) with uncommitted changes, with `git status --porcelain`. */
  dirtyWorktrees: string[];
  /** Trainer processes of the run still alive after it finished. */
  trainers: { pid: number; experimentId: string }[];
  /** The trainer fault the fixture was told to give each experiment, by experiment id. */
  injected: Record<string, string | undefined>;
}

export interface RunCheck {
  lost: number;
  duplicated: number;
  orphans: number;
  /** Every violated invariant, one line each, naming the run. */
  failures: string[];
}

/** How many results the `results` query returns (RECENT_WINDOW in the run state). */
const RESULTS_WINDOW = 20;
/** A crash row's val_bpb is 0; a fault that must end as a crash. */
const CRASHING_FAULTS = new Set(['crash', 'hang', 'nan', 'memory']);

const countBy = (ids: string[]) => ids.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());

/** Checks a finished run's facts against every invariant; pure. */
export function checkRunFacts(f: RunFacts): RunCheck {
  const failures: string[] = [];
  const fail = (invariant: string, detail: string) => failures.push(`${f.tag}: ${invariant}: ${detail}`);
  const expected = Array.from({ length: f.experiments }, (_, i) => experimentIdOf(f.tag, i));
  const expectedSet = new Set(expected);

  // Exactly once: in the remote's results.tsv, each host's copy, the results query and the commits.
  const lostIds = new Set<string>();
  const duplicatedIds = new Set<string>();
  const rowCounts = countBy(f.rows.map((r) => r.experimentId));
  for (const id of expected) if (!rowCounts.has(id)) lostIds.add(id);
  for (const [id, n] of rowCounts) {
    if (!expectedSet.has(id)) fail('unexpected row', `${id} in results.tsv (${n}x)`);
    if (n > 1) duplicatedIds.add(id);
  }
  for (const host of f.hostRows) {
    for (const [id, n] of countBy(host.rows.map((r) => r.experimentId))) {
      if (n > 1) duplicatedIds.add(id);
      if (!rowCounts.has(id)) fail('host row not on the remote', `${host.host} has ${id}`);
    }
  }
  if (!f.records) fail('run state', 'the results query did not answer');
  else {
    const window = expected.slice(-RESULTS_WINDOW);
    const recordCounts = countBy(f.records.map((r) => r.experimentId));
    for (const id of window) if (!recordCounts.has(id)) lostIds.add(id);
    for (const [id, n] of recordCounts) {
      if (n > 1) duplicatedIds.add(id);
      if (!expectedSet.has(id)) fail('unexpected record', id);
    }
    for (const r of f.records) {
      const row = f.rows.find((x) => x.experimentId === r.experimentId);
      if (row && (row.commit !== (r.commit || '-') || row.status !== r.status)) {
        fail('row and record differ', `${r.experimentId}: results.tsv ${row.commit} ${row.status}, run state ${r.commit} ${r.status}`);
      }
    }
  }
  if (f.status) {
    const counted = Object.values(f.status.counts).reduce((a, b) => a + b, 0);
    if (f.status.experimentsDone !== f.experiments) fail('run state', `status says ${f.status.experimentsDone} experiments done, expected ${f.experiments}`);
    if (counted !== f.experiments) fail('run state', `status counts add up to ${counted}, expected ${f.experiments}`);
    if (f.status.running > 0) fail('run state', `${f.status.running} experiments still running after the run ended`);
  } else fail('run state', 'the status query did not answer');
  if (f.summary && f.summary.experiments !== f.experiments) fail('run summary', `${f.summary.experiments} experiments, expected ${f.experiments}`);
  for (const [id, commits] of Object.entries(f.trailerCommits)) if (commits.length > 1) duplicatedIds.add(id);
  for (const id of lostIds) fail('lost', `${id} is missing from results.tsv or the run state`);
  for (const id of duplicatedIds) {
    fail('duplicated', `${id}: ${rowCounts.get(id) ?? 0} rows on the remote, ${f.trailerCommits[id]?.length ?? 0} commits`);
  }

  // Every trained experiment's commit stays reachable under its ref, and its score is its code's.
  for (const row of f.rows) {
    if (row.status === 'invalid') continue;
    const ref = f.experimentRefs[row.experimentId];
    if (!ref) fail('unreachable commit', `${row.experimentId} (${row.status}) has no ref ${row.experimentId.replace(/^.*\//, `refs/autoresearch/${f.tag}/`)}`);
    else if (!ref.startsWith(row.commit)) fail('unreachable commit', `${row.experimentId}: its ref is at ${ref.slice(0, 7)}, its row names ${row.commit}`);
    const code = f.code[row.experimentId];
    const fault = f.injected[row.experimentId];
    const mustCrash = (fault !== undefined && CRASHING_FAULTS.has(fault)) || code?.crashConstant;
    if (mustCrash && row.status !== 'crash') fail('fault not a crash', `${row.experimentId} (${fault ?? 'CRASH = True'}) is ${row.status}`);
    if (!mustCrash && row.status === 'crash') fail('crash without a fault', `${row.experimentId}: ${row.reason}`);
    if ((row.status === 'keep' || row.status === 'discard') && code && Math.abs(code.valBpb - row.valBpb) > 5e-6) {
      fail('wrong score', `${row.experimentId}: val_bpb ${row.valBpb}, its code gives ${code.valBpb.toFixed(6)}`);
    }
  }

  // The branch is at the best kept commit (the base commit while nothing is kept); each keep beat the best before it.
  let bestSoFar = Infinity;
  for (const row of f.rows) {
    if (row.status !== 'keep') continue;
    if (row.valBpb >= bestSoFar) fail('keep rule', `${row.experimentId} kept at ${row.valBpb} though ${bestSoFar} was already kept`);
    bestSoFar = Math.min(bestSoFar, row.valBpb);
  }
  const best = f.rows.filter((r) => r.status === 'keep').sort((a, b) => a.valBpb - b.valBpb)[0];
  const bestCommit = best ? f.experimentRefs[best.experimentId] : f.baseCommit;
  if (!f.branch) fail('branch', `autoresearch/${f.tag} is missing on the remote`);
  else if (bestCommit && f.branch !== bestCommit) {
    fail('branch', `autoresearch/${f.tag} is at ${f.branch.slice(0, 7)}, the best kept commit is ${bestCommit.slice(0, 7)}${best ? ` (${best.experimentId})` : ' (the base)'}`);
  }
  if (best && f.summary?.bestCommit && f.summary.bestCommit !== best.commit) fail('run summary', `best ${f.summary.bestCommit}, results.tsv's best ${best.commit}`);

  for (const w of f.dirtyWorktrees) fail('dirty worktree', w);
  for (const t of f.trainers) fail('orphan trainer', `pid ${t.pid} (${t.experimentId}) alive after the run`);
  return { lost: lostIds.size, duplicated: duplicatedIds.size, orphans: f.trainers.length, failures };
}

function experimentIdOf(tag: string, experiment: number): string {
  return `${tag}/${experimentName(experiment)}`;
}

/** results.tsv's rows by column name. */
export function parseTsvRows(text: string): TsvRow[] {
  const [header, ...lines] = text.trimEnd().split('\n');
  if (!header) return [];
  const column = new Map(header.split('\t').map((name, i) => [name, i]));
  const get = (cells: string[], name: string) => cells[column.get(name) ?? -1] ?? '';
  return lines.filter(Boolean).map((line) => {
    const cells = line.split('\t');
    return {
      experimentId: get(cells, 'experiment_id'),
      commit: get(cells, 'commit'),
      status: get(cells, 'status'),
      valBpb: Number(get(cells, 'val_bpb')),
      reason: get(cells, 'reason'),
    };
  });
}
