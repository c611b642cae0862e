/**
 * `research clean`: frees the disk a finished run no longer needs. A run's lane worktrees (with any
 * venv an older version built inside them) and the model files a killed attempt left beside its log
 * are bulky and never read again; its branch, refs, results.tsv, logs and journal are its record and
 * stay. A run the Temporal server still runs is never touched, and one it cannot vouch for (the
 * server unreachable) only with --force. `--envs` also removes the worker's trainer environments
 * built for lock files other than the current one.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { PROJECT_ROOT } from '../activities/runPaths.js';
import { cacheHome } from '../activities/trainerEnv.js';
import { environmentDirOf, lockFilesIn } from '../activities/trainerPython.js';
import { connectClient } from '../temporal/connection.js';
import { CliError } from './commands.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)([smhdw])$/;

const CleanFlagsSchema = z.object({
  tag: z.string().refine((t) => t !== '' && t !== '.' && t !== '..' && path.basename(t) === t,
    '--tag: give a run tag (the name of its directory under .autoresearch/runs)').optional(),
  'older-than': z.string().regex(DURATION, '--older-than: give a number and a unit (s, m, h, d or w), e.g. 7d or 12h')
    .transform((s) => { const [, n, unit] = DURATION.exec(s)!; return Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS]; }).optional(),
  'dry-run': z.boolean().default(false),
  force: z.boolean().default(false),
  envs: z.boolean().default(false),
  repo: z.string().min(1, '--repo: give a directory').optional(),
}).refine((f) => f.tag === undefined || f['older-than'] === undefined, '--tag and --older-than: give one or the other');

export interface CleanOptions {
  /** The clone whose runs are cleaned (`.autoresearch/runs/` under it). */
  repo: string;
  tag?: string;
  /** Only runs whose last activity (results.tsv, a log) is older than this. */
  olderThanMs?: number;
  dryRun: boolean;
  /** Clean even when the server cannot say the run is finished. */
  force: boolean;
  envs: boolean;
}

export const CLEAN_USAGE = 'clean [--tag T | --older-than D] [--dry-run] [--envs] [--force] [--repo DIR]';

/** The command line of `clean`, checked: an error names the flag. */
export function parseCleanArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): CleanOptions {
  let values: Record<string, unknown>;
  try {
    const parsed = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: { tag: { type: 'string' }, 'older-than': { type: 'string' }, 'dry-run': { type: 'boolean' }, force: { type: 'boolean' }, envs: { type: 'boolean' }, repo: { type: 'string' } },
    });
    values = parsed.values;
  } catch (err) {
    throw new CliError(`clean: ${(err as Error).message}\nusage: npm run research -- ${CLEAN_USAGE}`);
  }
  const flags = CleanFlagsSchema.safeParse(values);
  if (!flags.success) throw new CliError(`clean: ${flags.error.issues.map((i) => i.message).join('; ')}`);
  const f = flags.data;
  return {
    repo: path.resolve(f.repo ?? env.AUTORESEARCH_REPO ?? PROJECT_ROOT),
    ...(f.tag !== undefined ? { tag: f.tag } : {}),
    ...(f['older-than'] !== undefined ? { olderThanMs: f['older-than'] } : {}),
    dryRun: f['dry-run'], force: f.force, envs: f.envs,
  };
}

/** What the server says of a run's workflow (its id is the tag). */
export type RunState = 'running' | 'closed' | 'absent';

/** The server's view: each tag's state, and the tags of every research run running now. Rejects when the server cannot be asked. */
export interface ServerView {
  states(tags: string[]): Promise<Map<string, RunState>>;
  running(): Promise<string[]>;
}

const SERVER_DEADLINE_MS = 10_000;

/** The Temporal server's view, every call bounded (connecting is bounded by the client's own 10 s). */
export function temporalView(connect: () => Promise<Client> = connectClient): ServerView {
  let client: Promise<Client> | undefined;
  const ask = <T>(fn: (c: Client) => Promise<T>) => (client ??= connect()).then((c) => c.withDeadline(Date.now() + SERVER_DEADLINE_MS, () => fn(c)));
  return {
    async states(tags) {
      const out = new Map<string, RunState>();
      for (const tag of tags) {
        const state = await ask((c) => c.workflow.getHandle(tag).describe()).then(
          (d): RunState => (['RUNNING', 'PAUSED', 'UNKNOWN', 'UNSPECIFIED'].includes(d.status.name) ? 'running' : 'closed'),
          (err: unknown) => { if (err instanceof WorkflowNotFoundError) return 'absent' as const; throw err; });
        out.set(tag, state);
      }
      return out;
    },
    async running() {
      const tags: string[] = [];
      await ask(async (c) => {
        for await (const w of c.workflow.list({ query: `WorkflowType = 'researchRun' AND ExecutionStatus = 'Running'` })) tags.push(w.workflowId);
      });
      return tags;
    },
  };
}

/** One thing removed (or, on a dry run, to be removed), and the disk it held. */
export interface Removal {
  path: string;
  what: 'worktree' | 'model files' | 'leftover' | 'trainer environment';
  bytes: number;
}

export interface CleanReport {
  removed: Removal[];
  bytes: number;
  /** Runs left alone, and why. */
  skipped: { tag: string; reason: string }[];
}

/** Disk used under `p` as du counts it (allocated blocks, a hard-linked file once), without following links. */
export async function diskBytes(p: string, seen = new Set<string>()): Promise<number> {
  const s = await lstat(p).catch(() => undefined);
  if (!s) return 0;
  if (s.nlink > 1 && !s.isDirectory()) {
    const key = `${s.dev}:${s.ino}`;
    if (seen.has(key)) return 0;
    seen.add(key);
  }
  let total = s.blocks * 512;
  if (s.isDirectory()) for (const name of await readdir(p)) total += await diskBytes(path.join(p, name), seen);
  return total;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

interface RunDir { tag: string; dir: string }

export function runsRoot(repo: string): string {
  return path.join(repo, '.autoresearch', 'runs');
}

const names = (dir: string) => readdir(dir).catch(() => [] as string[]);

/** The newest change to the run's record: results.tsv, its logs, the run dir itself. */
async function lastActivityMs(dir: string): Promise<number> {
  const logs = path.join(dir, 'logs');
  const paths = [dir, path.join(dir, 'results.tsv'), logs, ...(await names(logs)).map((n) => path.join(logs, n))];
  const times = await Promise.all(paths.map((p) => lstat(p).then((s) => s.mtimeMs, () => 0)));
  return Math.max(...times);
}

/** What of a run may go: everything under lanes/ (the worktrees), and the model directories under logs/. */
async function bulkyFiles(run: RunDir): Promise<Omit<Removal, 'bytes'>[]> {
  const lanes = path.join(run.dir, 'lanes');
  const logs = path.join(run.dir, 'logs');
  const out: Omit<Removal, 'bytes'>[] = [];
  for (const n of await names(lanes)) out.push({ path: path.join(lanes, n), what: existsSync(path.join(lanes, n, '.git')) ? 'worktree' : 'leftover' });
  for (const n of await names(logs)) if (n.endsWith('.model')) out.push({ path: path.join(logs, n), what: 'model files' });
  return out;
}

/** Through git, so its worktree list stays clean; a directory git does not know as a worktree is removed as it is. */
async function removeWorktree(repo: string, dir: string): Promise<void> {
  const r = await execa('git', ['-C', repo, 'worktree', 'remove', '--force', dir], { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0 || existsSync(dir)) await rm(dir, { recursive: true, force: true });
}

/** Removes the finished runs' bulky files (see the file's comment); the plan is printed line by line. */
export async function clean(opts: CleanOptions, view: ServerView, print: (line: string) => void = console.log): Promise<CleanReport> {
  const report: CleanReport = { removed: [], bytes: 0, skipped: [] };
  const verb = opts.dryRun ? 'would remove' : 'removed';
  const root = runsRoot(opts.repo);
  let runs: RunDir[] = (await names(root)).filter((n) => opts.tag === undefined || n === opts.tag).map((tag) => ({ tag, dir: path.join(root, tag) }));
  if (opts.tag !== undefined && runs.length === 0) throw new CliError(`clean: no run "${opts.tag}" under ${root}`);
  if (opts.olderThanMs !== undefined) {
    const cutoff = Date.now() - opts.olderThanMs;
    const ages = await Promise.all(runs.map((r) => lastActivityMs(r.dir)));
    runs = runs.filter((_, i) => ages[i] < cutoff);
  }
  const plans = new Map<string, Omit<Removal, 'bytes'>[]>();
  for (const run of runs) {
    const plan = await bulkyFiles(run);
    if (plan.length) plans.set(run.tag, plan);
    else if (opts.tag !== undefined) print(`run ${run.tag}: nothing to remove`);
  }
  const states = await serverStates(opts, view, [...plans.keys()], print);
  for (const run of runs.filter((r) => plans.has(r.tag))) {
    if (states.get(run.tag) === 'running') {
      if (opts.tag !== undefined) throw new CliError(`clean: run "${run.tag}" is still running: stop it first (npm run research -- stop ${run.tag}) and clean it once it has ended`);
      report.skipped.push({ tag: run.tag, reason: 'still running' });
      print(`kept run ${run.tag}: still running`);
      continue;
    }
    let freed = 0;
    for (const item of plans.get(run.tag)!) {
      const removal = { ...item, bytes: await diskBytes(item.path) };
      if (!opts.dryRun) {
        if (item.what === 'worktree') await removeWorktree(opts.repo, item.path);
        else await rm(item.path, { recursive: true, force: true });
      }
      report.removed.push(removal);
      freed += removal.bytes;
      print(`${verb} ${item.what} ${path.relative(opts.repo, item.path)} (${formatBytes(removal.bytes)})`);
    }
    if (!opts.dryRun) await rmdir(path.join(run.dir, 'lanes')).catch(() => undefined);
    print(`run ${run.tag}${states.get(run.tag) === 'absent' ? ' (not on this server)' : ''}: ${opts.dryRun ? 'would free' : 'freed'} ${formatBytes(freed)}`);
    report.bytes += freed;
  }
  if (!opts.dryRun && plans.size) await execa('git', ['-C', opts.repo, 'worktree', 'prune'], { reject: false, stdin: 'ignore' });
  if (opts.envs) report.bytes += await cleanEnvironments(opts, view, report, print);
  print(`${opts.dryRun ? 'would free' : 'freed'} ${formatBytes(report.bytes)} in all${opts.dryRun ? ' (dry run: nothing removed)' : ''}`);
  return report;
}

/** Each run's state on the server; when the server cannot be asked, a refusal naming the runs, unless --force. */
async function serverStates(opts: CleanOptions, view: ServerView, tags: string[], print: (line: string) => void): Promise<Map<string, RunState>> {
  if (tags.length === 0) return new Map();
  try {
    return await view.states(tags);
  } catch (err) {
    const which = tags.map((t) => `"${t}"`).join(', ');
    const why = (err as Error).message.split('\n')[0];
    if (!opts.force) {
      throw new CliError(`clean: cannot ask the Temporal server whether run ${which} ${tags.length > 1 ? 'have' : 'has'} ended (${why}); ` +
        'start it (npm run temporal) or set TEMPORAL_ADDRESS, or pass --force if you know no worker runs them');
    }
    print(`warning: the Temporal server cannot be asked (${why}); --force: cleaning ${which} anyway`);
    return new Map(tags.map((t) => [t, 'closed' as const]));
  }
}

/** Written last by the worker's build of an environment: one without it may be building now. */
const READY = '.autoresearch-ready';

/**
 * The worker's trainer environments other than the current lock file's (this clone's trainer/).
 * A running run may use an older one, so none goes while a run runs, unless --force.
 */
async function cleanEnvironments(opts: CleanOptions, view: ServerView, report: CleanReport, print: (line: string) => void): Promise<number> {
  const trainerDir = path.join(opts.repo, 'trainer');
  const current = await lockFilesIn(trainerDir).then((files) => environmentDirOf(files), () => undefined);
  if (!current) throw new CliError(`clean --envs: cannot tell which trainer environment is in use: no pyproject.toml and uv.lock in ${trainerDir}`);
  const root = path.join(cacheHome(), 'envs');
  const old = (await names(root)).filter((n) => /^[0-9a-f]{16}$/.test(n)).map((n) => path.join(root, n))
    .filter((dir) => dir !== current && existsSync(path.join(dir, READY)));
  if (old.length === 0) {
    print(`trainer environments: only the current one (${current})`);
    return 0;
  }
  const running = await view.running().catch((err: Error) => {
    if (opts.force) return [];
    throw new CliError(`clean --envs: cannot ask the Temporal server which runs are running (${err.message.split('\n')[0]}); pass --force if none is`);
  });
  if (running.length && !opts.force) {
    print(`kept ${old.length} old trainer environment(s): run ${running.join(', ')} is running and may use one (stop it, or pass --force)`);
    return 0;
  }
  let freed = 0;
  for (const dir of old) {
    const removal: Removal = { path: dir, what: 'trainer environment', bytes: await diskBytes(dir) };
    if (!opts.dryRun) await rm(dir, { recursive: true, force: true });
    report.removed.push(removal);
    freed += removal.bytes;
    print(`${opts.dryRun ? 'would remove' : 'removed'} trainer environment ${dir} (${formatBytes(removal.bytes)}; the current one is ${path.basename(current)})`);
  }
  return freed;
}
