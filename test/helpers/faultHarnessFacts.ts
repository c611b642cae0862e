/** Gathers a finished run's facts for checkRunFacts: the remote's refs and results, each host's copy and worktrees, the run's queries, /proc. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { WorkflowHandle } from '@temporalio/client';
import { experimentRef, resultsRef } from '../../src/core/names.js';
import { resultsQuery, statusQuery, type RunSummary } from '../../src/api/messages.js';
import { fixtureValBpb } from './fixtureRepo.js';
import { parseTsvRows, type RunFacts } from './runInvariants.js';
import { sleep, trainerProcesses } from './workerProcess.js';

const QUERY_TIMEOUT_MS = 30_000;
/** A cancelled trainer gets SIGTERM, then SIGKILL 5 s later: it may still be dying when the run ends. */
const TRAINER_GRACE_MS = 12_000;

const git = (cwd: string, ...args: string[]) => execa('git', args, { cwd, reject: false }).then((r) => (r.exitCode === 0 ? r.stdout : undefined));

export interface CollectInput {
  tag: string;
  experiments: number;
  remote: string;
  baseCommit: string;
  hosts: { name: string; clone: string }[];
  handle: WorkflowHandle;
  summary?: RunSummary;
  injected: Record<string, string | undefined>;
}

export async function collectRunFacts(c: CollectInput): Promise<RunFacts> {
  const rows = parseTsvRows((await git(c.remote, 'show', `${resultsRef(c.tag)}:results.tsv`)) ?? '');
  const hostRows = await Promise.all(c.hosts.map(async (h) => ({
    host: h.name,
    rows: parseTsvRows(await readFile(path.join(runDirOf(h.clone, c.tag), 'results.tsv'), 'utf8').catch(() => '')),
  })));
  const [records, status] = await Promise.all([
    withTimeout(c.handle.query(resultsQuery)),
    withTimeout(c.handle.query(statusQuery)),
  ]);

  const experimentRefs: Record<string, string | undefined> = {};
  const code: RunFacts['code'] = {};
  for (let i = 0; i < c.experiments; i++) {
    const id = `${c.tag}/${experimentRef(c.tag, i).split('/').pop()}`;
    const commit = await git(c.remote, 'rev-parse', '--verify', '-q', `${experimentRef(c.tag, i)}^{commit}`);
    experimentRefs[id] = commit;
    const source = commit && (await git(c.remote, 'show', `${commit}:trainer/train.py`));
    if (source) code[id] = { valBpb: Number(fixtureValBpb(source).toFixed(6)), crashConstant: /^CRASH = True/m.test(source) };
  }

  return {
    tag: c.tag,
    experiments: c.experiments,
    baseCommit: c.baseCommit,
    rows,
    hostRows,
    records,
    status: status && { experimentsDone: status.experimentsDone, counts: status.counts, running: status.running.length },
    summary: c.summary && { experiments: c.summary.experiments, bestCommit: c.summary.best?.commit },
    trailerCommits: await trailerCommits(c.remote, c.tag),
    experimentRefs,
    branch: await git(c.remote, 'rev-parse', '--verify', '-q', `refs/heads/autoresearch/${c.tag}`),
    code,
    dirtyWorktrees: (await Promise.all(c.hosts.map((h) => dirtyWorktrees(h.clone, c.tag)))).flat(),
    trainers: await trainersAfterGrace(c.tag),
    injected: c.injected,
  };
}

/** Where a run lives in a host's clone when its input names no workDir. */
export function runDirOf(clone: string, tag: string): string {
  return path.join(clone, '.autoresearch', 'runs', tag);
}

/** Every commit on the remote carrying an `Experiment-Id: <tag>/...` trailer, by experiment id. */
async function trailerCommits(remote: string, tag: string): Promise<Record<string, string[]>> {
  const log = (await git(remote, 'log', '--all', '--fixed-strings', `--grep=Experiment-Id: ${tag}/`, '--format=%H%x00%B%x01')) ?? '';
  const found: Record<string, string[]> = {};
  for (const entry of log.split('\x01')) {
    const [hash, body] = entry.trim().split('\x00');
    const id = body && /^Experiment-Id: (\S+)$/m.exec(body)?.[1];
    if (hash && id?.startsWith(`${tag}/`)) (found[id] ??= []).push(hash);
  }
  return found;
}

/** The host's clone and the run's lane worktrees in it, each with what `git status --porcelain` shows, when anything. */
async function dirtyWorktrees(clone: string, tag: string): Promise<string[]> {
  const list = (await git(clone, 'worktree', 'list', '--porcelain')) ?? '';
  const worktrees = list.split('\n').filter((l) => l.startsWith('worktree ')).map((l) => l.slice('worktree '.length));
  const mine = [clone, ...worktrees.filter((w) => w.startsWith(runDirOf(clone, tag) + path.sep))];
  const dirty: string[] = [];
  for (const w of mine) {
    const status = await git(w, 'status', '--porcelain');
    if (status === undefined) dirty.push(`${w}: git status failed`);
    else if (status.trim()) dirty.push(`${w}: ${status.trim().split('\n').slice(0, 5).join('; ')}`);
  }
  return dirty;
}

/** The run's trainers still alive once a dying one has had its grace. */
async function trainersAfterGrace(tag: string): Promise<{ pid: number; experimentId: string }[]> {
  const deadline = Date.now() + TRAINER_GRACE_MS;
  for (;;) {
    const left = await trainerProcesses(tag);
    if (left.length === 0 || Date.now() > deadline) return left.map(({ pid, experimentId }) => ({ pid, experimentId }));
    await sleep(500);
  }
}

async function withTimeout<T>(p: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), QUERY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
