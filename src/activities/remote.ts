/**
 * The run's shared state on its git remote, written from any host: the branch at the best commit,
 * and results.tsv and steering.tsv under the results ref. Each step is idempotent and, where two
 * writers could meet, a compare-and-set (`--force-with-lease`).
 */
import { mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { KeepInput, PrepareRunInput, PrepareRunResult } from '../api/activities.js';
import { z } from 'zod';
import type { RunConfig } from '../core/runInput.js';
import { describeBest } from '../core/describe.js';
import { FAILURE } from '../core/failures.js';
import { formatResultsRow, RESULTS_HEADER, parseResults, type ResultRow } from '../core/resultsTsv.js';
import { bestOf, oneLine, type ExperimentRecord } from '../core/results.js';
import { resultsRef, STEERING_FILE, type RunPaths } from '../core/names.js';
import type { SteeringNote } from '../core/runState.js';
import { clearStaleLocks, excludeFromStatus, fetchRef, gitAt, type Git } from './gitOps.js';
import { resolveRunPaths } from './runPaths.js';
import { appendJournal, importBeforeRun } from './journal.js';

const invalidInput = (message: string) => ApplicationFailure.nonRetryable(message, FAILURE.InvalidRunInput);

/** Beside results.tsv on the results ref: one row per run that started or took over the tag; the last row owns it. */
export const RUNS_FILE = 'runs.tsv';
const RUNS_HEADER = 'run_key\tstart\tfirst_experiment\tbase_commit\tsteering_rows';

const RunRowSchema = z.object({
  /** The owning run's identity (see PrepareRunInput.runKey). */
  runKey: z.string().min(1),
  start: z.enum(['new', 'resumed']),
  /** Its first experiment's number: 0 for a new tag, after every earlier experiment for a resumed one. */
  firstExperiment: z.coerce.number().int().nonnegative(),
  baseCommit: z.string().regex(/^[0-9a-f]{40}$/),
  /** How many rows of steering.tsv were there before it: earlier runs' notes, kept when it writes its own. */
  steeringRows: z.coerce.number().int().nonnegative(),
});
type RunRow = z.infer<typeof RunRowSchema>;

function parseRuns(text: string | undefined): RunRow[] {
  return (text ?? '').split('\n').slice(1).filter(Boolean).map((line) => {
    const [runKey, start, firstExperiment, baseCommit, steeringRows] = line.split('\t');
    return RunRowSchema.parse({ runKey, start, firstExperiment, baseCommit, steeringRows });
  });
}

const formatRun = (r: RunRow) => [r.runKey, r.start, r.firstExperiment, r.baseCommit, r.steeringRows].join('\t') + '\n';

/**
 * Checks the repository and the trainer, and claims the run's tag on the remote: its owner in
 * runs.tsv (a compare-and-set on the results ref), then its branch at `base`. A tag that exists
 * already (the branch, or results or experiments under refs/autoresearch/<tag>/) is refused unless
 * the run input says `resume: true`; then the run takes it over and continues it, losing nothing.
 * A retry of the same run (same runKey) gets the same answer.
 */
export async function prepareRun(input: PrepareRunInput | RunConfig): Promise<PrepareRunResult> {
  const { config, runKey } = 'config' in input ? { config: input.config, runKey: input.runKey ?? callingRunKey() } : { config: input, runKey: callingRunKey() };
  const paths = resolveRunPaths(config);
  await clearStaleLocks(paths.repo); // a git killed mid-command (SIGKILL) leaves its locks behind
  if (!existsSync(paths.repo)) throw invalidInput(`repo: ${paths.repo} does not exist`);
  const git = gitAt(paths.repo);
  if (!(await git.checkIsRepo())) throw invalidInput(`repo: ${paths.repo} is not a git repository`);
  await git.raw(['ls-remote', '--heads', paths.remote]).catch((err: Error) => {
    throw invalidInput(`remote: ${paths.remote} is not a git repository this worker can reach (${oneLine(err.message)})`);
  });
  await mkdir(paths.logsDir, { recursive: true });
  await excludeFromStatus(paths.repo, paths.workDir);

  const branchRef = `refs/heads/${paths.branch}`;
  const tip = await fetchRef(git, paths.remote, branchRef);
  const shared = await readResultsRef(git, paths.remote, config.tag);
  const owner = parseRuns(shared.files.get(RUNS_FILE)).at(-1);
  // The same run again (a retry) gets its own claim back; any other claims the tag, or is refused.
  const claim = owner?.runKey === runKey ? owner : await claimTag(git, config, paths, runKey, tip, shared.files, shared.parent !== undefined);
  await checkTrainer(git, config, paths.repo, claim.baseCommit); // before anything changes on the remote
  if (claim !== owner) {
    await updateResults(config, (files) => {
      const runs = parseRuns(files.get(RUNS_FILE));
      if (runs.at(-1)?.runKey === runKey) return undefined; // a retry after the push
      if (runs.at(-1)?.runKey !== owner?.runKey) throw new Error(`${paths.branch} changed hands while this run was claiming it; trying again`);
      return new Map([...files, [RUNS_FILE, (files.get(RUNS_FILE) ?? `${RUNS_HEADER}\n`) + formatRun(claim)]]);
    });
  }
  if (tip === undefined) await git.raw(['push', '-q', paths.remote, `${claim.baseCommit}:${branchRef}`]);
  await importBeforeRun(config); // runs made before the journal: their results.tsv, once
  return { paths, baseCommit: claim.baseCommit, ...(claim.start === 'resumed' ? { resumed: { nextExperiment: claim.firstExperiment } } : {}) };
}

/**
 * The claim of a run on a tag it does not own yet (nothing is written here): a new tag starts at
 * `base`; an existing one is refused, unless `resume` takes it over from its branch's tip, its
 * numbering after every experiment it had.
 */
async function claimTag(git: Git, config: RunConfig, paths: RunPaths, runKey: string, tip: string | undefined,
  files: Map<string, string>, hasResults: boolean): Promise<RunRow> {
  const experimentRefs = await listExperimentRefs(git, paths.remote, config.tag);
  if (tip === undefined && !hasResults && experimentRefs.length === 0) {
    return { runKey, start: 'new', firstExperiment: 0, baseCommit: await resolveBase(git, config, paths.repo), steeringRows: 0 };
  }
  if (tip === undefined) {
    throw invalidInput(`tag: ${paths.branch} has results or experiments on the remote under refs/autoresearch/${config.tag}/ but no branch; ` +
      'choose another tag (or delete those refs to start it again)');
  }
  if (!config.resume) {
    throw invalidInput(`tag: ${paths.branch} already exists (${describeTag(files.get('results.tsv'))}); ` +
      'start it with resume: true to continue it, or choose another tag');
  }
  const nextExperiment = nextExperimentAfter(files.get('results.tsv'), experimentRefs, await logNumbers(paths.logsDir));
  return { runKey, start: 'resumed', firstExperiment: nextExperiment, baseCommit: tip, steeringRows: dataRows(files.get(STEERING_FILE)) };
}

/** The calling workflow execution as a run key; prepareRun runs once, in the run's first execution, so its run id is the first one. */
function callingRunKey(): string {
  let execution;
  try {
    execution = Context.current().info.workflowExecution;
  } catch {
    // not in an activity: below
  }
  if (!execution) throw new Error('prepareRun needs a runKey when no workflow calls it');
  return `${execution.workflowId}/${execution.runId}`;
}

async function resolveBase(git: Git, config: RunConfig, repo: string): Promise<string> {
  const base = config.base ?? 'HEAD';
  return (await git.raw(['rev-parse', '--verify', `${base}^{commit}`]).catch(() => {
    throw invalidInput(`base: "${base}" is not a commit in ${repo}`);
  })).trim();
}

/** The trainer directory and its editable files must be there, as plain files, at the commit the run starts from. */
async function checkTrainer(git: Git, config: RunConfig, repo: string, commit: string): Promise<void> {
  const tree = await git.raw(['ls-tree', '-r', '-z', commit, '--', config.trainer.dir]);
  if (!tree.trim()) throw invalidInput(`trainer.dir: ${config.trainer.dir} does not exist in ${repo} at ${commit.slice(0, 7)}`);
  // `<mode> <type> <object>\t<path>` per entry: an editable file must be a plain file (120000 is a
  // symlink, whose edits would be written wherever it points; 160000 a submodule).
  const modes = new Map(tree.split('\0').filter(Boolean).map((entry) => [entry.slice(entry.indexOf('\t') + 1), entry.split(' ')[0]]));
  for (const file of config.trainer.editable) {
    const mode = modes.get(path.posix.join(config.trainer.dir, file));
    if (!mode) throw invalidInput(`trainer.editable: ${file} does not exist in ${config.trainer.dir}`);
    if (mode === '120000') throw invalidInput(`trainer.editable: ${file} is a symlink in ${config.trainer.dir}; an editable file must be a plain file`);
    if (mode !== '100644' && mode !== '100755') throw invalidInput(`trainer.editable: ${file} is not a plain file in ${config.trainer.dir} (mode ${mode})`);
  }
}

/** `12 experiments, best val_bpb 0.981200 at abc1234 (exp 7)`: what the refusal tells about the tag. */
function describeTag(resultsTsv: string | undefined): string {
  let rows: ResultRow[];
  try {
    rows = parseResults(resultsTsv ?? RESULTS_HEADER);
  } catch {
    return 'its results.tsv is unreadable';
  }
  if (rows.length === 0) return 'no experiments recorded';
  const best = bestOf(rows);
  const count = `${rows.length} experiment${rows.length === 1 ? '' : 's'}`;
  return best ? `${count}, ${describeBest({ ...best, experiment: numberOf(best.experimentId) ?? NaN })}` : `${count}, none kept`;
}

/** The number after every experiment the tag has had: its rows, its experiment refs, and this host's logs. */
function nextExperimentAfter(resultsTsv: string | undefined, experimentRefs: number[], logs: number[]): number {
  let rows: ResultRow[] = [];
  try {
    rows = parseResults(resultsTsv ?? RESULTS_HEADER);
  } catch {
    // unreadable rows: the refs and the logs still number the experiments
  }
  const numbers = [...rows.map((r) => numberOf(r.experimentId)).filter((n) => n !== undefined), ...experimentRefs, ...logs];
  return Math.max(rows.length, ...numbers.map((n) => n + 1));
}

const numberOf = (name: string | undefined) => {
  const m = /exp-(\d+)(?:\.log)?$/.exec(name ?? '');
  return m ? Number(m[1]) : undefined;
};

async function listExperimentRefs(git: Git, remote: string, tag: string): Promise<number[]> {
  const listed = await git.raw(['ls-remote', remote, `refs/autoresearch/${tag}/*`]);
  return listed.split('\n').map((line) => numberOf(line.split('\t')[1])).filter((n) => n !== undefined);
}

async function logNumbers(logsDir: string): Promise<number[]> {
  return (await readdir(logsDir).catch(() => [] as string[])).map(numberOf).filter((n) => n !== undefined);
}

const dataRows = (tsv: string | undefined) => (tsv ?? '').split('\n').slice(1).filter(Boolean).length;

/**
 * Keep: the run's branch moves to the experiment's commit. The decision is the workflow's; this
 * only acts on it. A revert needs no action: the branch never moved, and the commit stays
 * reachable under its experiment ref.
 */
export async function keepOrRevert(input: KeepInput): Promise<void> {
  const paths = resolveRunPaths(input.config);
  await clearStaleLocks(paths.repo); // a git killed mid-command (SIGKILL) leaves its locks behind
  const git = gitAt(paths.repo);
  const branchRef = `refs/heads/${paths.branch}`;
  if ((await fetchRef(git, paths.remote, branchRef)) === input.commitFull) return; // a retry after the push
  await fetchRef(git, paths.remote, input.experimentRef);
  await git.raw(['push', '-q', `--force-with-lease=${branchRef}:${input.expectedBest}`, paths.remote, `${input.commitFull}:${branchRef}`]);
}

/** Appends the experiment's row to results.tsv on the remote's results ref, and to this host's copy; then its journal record. */
export async function recordResult(input: { config: RunConfig; record: ExperimentRecord }): Promise<void> {
  await updateResults(input.config, (files) => {
    const text = files.get('results.tsv') ?? RESULTS_HEADER;
    if (text.split('\n').some((line) => line.split('\t')[6] === input.record.experimentId)) return undefined; // a retry
    return new Map([...files, ['results.tsv', text + formatResultsRow(input.record)]]);
  });
  await appendJournal(input); // after the row: a retry finds the row there and writes the record it lacks
}

/**
 * Writes steering.tsv: the rows earlier runs of the tag left (as many as the owner found when it
 * took over), then this run's notes, whole (their number is bounded).
 */
export async function recordSteering(input: { config: RunConfig; notes: SteeringNote[] }): Promise<void> {
  await updateResults(input.config, (files) => {
    const earlier = (files.get(STEERING_FILE) ?? '').split('\n').slice(1).filter(Boolean)
      .slice(0, parseRuns(files.get(RUNS_FILE)).at(-1)?.steeringRows ?? 0);
    const text = ['from_experiment\tnote', ...earlier, ...input.notes.map((n) => `${n.fromExperiment}\t${oneLine(n.note)}`)].join('\n') + '\n';
    return files.get(STEERING_FILE) === text ? undefined : new Map([...files, [STEERING_FILE, text]]);
  });
}

/**
 * Read-modify-write of the results ref: one commit per change, pushed with a lease on the commit
 * it was made from. `change` returns undefined when there is nothing to do. This host's copies of
 * the files are written either way, so the last writer always has them whole.
 */
async function updateResults(config: RunConfig, change: (files: Map<string, string>) => Map<string, string> | undefined) {
  const paths = resolveRunPaths(config);
  await clearStaleLocks(paths.repo); // a git killed mid-command (SIGKILL) leaves its locks behind
  const git = gitAt(paths.repo);
  const ref = resultsRef(config.tag);
  const { parent, files } = await readResultsRef(git, paths.remote, config.tag);
  const changed = change(files);
  if (changed) {
    const entries = await Promise.all([...changed].map(async ([name, text]) => `100644 blob ${(await git.raw(['hash-object', '-w', '--stdin'], text)).trim()}\t${name}`));
    const tree = (await git.raw(['mktree'], entries.join('\n') + '\n')).trim();
    const commit = (await git.raw(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', `results of ${config.tag}`])).trim();
    await git.raw(['push', '-q', `--force-with-lease=${ref}:${parent ?? ''}`, paths.remote, `${commit}:${ref}`]);
  }
  await mkdir(paths.workDir, { recursive: true });
  for (const [name, text] of changed ?? files) await writeAtomically(path.join(paths.workDir, name), text);
}

/** The results ref's commit on the remote (undefined when there is none yet) and its files. */
async function readResultsRef(git: Git, remote: string, tag: string): Promise<{ parent?: string; files: Map<string, string> }> {
  const parent = await fetchRef(git, remote, resultsRef(tag));
  const files = new Map<string, string>();
  if (parent) {
    for (const name of (await git.raw(['ls-tree', '--name-only', parent])).split('\n').filter(Boolean)) {
      files.set(name, await git.show([`${parent}:${name}`]));
    }
  }
  return { parent, files };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file); // a reader never sees half a file
}
