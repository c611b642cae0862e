/**
 * The run's shared state on its git remote, written from any host: the branch at the best commit,
 * and results.tsv and steering.tsv under the results ref. Each step is idempotent and, where two
 * writers could meet, a compare-and-set (`--force-with-lease`).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { RunConfig } from '../config/runInput.js';
import {
  FAILURE, formatResultsRow, oneLine, RESULTS_HEADER, resultsRef, STEERING_FILE, type ExperimentRecord, type RunPaths, type SteeringNote,
} from '../definitions.js';
import { clearStaleLocks, excludeFromStatus, fetchRef, gitAt } from './gitOps.js';
import { resolveRunPaths } from './runPaths.js';

const invalidInput = (message: string) => ApplicationFailure.nonRetryable(message, FAILURE.InvalidRunInput);

/**
 * Checks the repository and the trainer, and puts the run's branch on the remote (at `base`, or
 * where it already is when the run resumes). Returns this host's paths and the commit the run starts from.
 */
export async function prepareRun(config: RunConfig): Promise<{ paths: RunPaths; baseCommit: string }> {
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

  let baseCommit = await fetchRef(git, paths.remote, `refs/heads/${paths.branch}`);
  if (!baseCommit) {
    const base = config.base ?? 'HEAD';
    baseCommit = (await git.raw(['rev-parse', '--verify', `${base}^{commit}`]).catch(() => {
      throw invalidInput(`base: "${base}" is not a commit in ${paths.repo}`);
    })).trim();
    await git.raw(['push', '-q', paths.remote, `${baseCommit}:refs/heads/${paths.branch}`]);
  }
  const tree = await git.raw(['ls-tree', '-r', '-z', baseCommit, '--', config.trainer.dir]);
  if (!tree.trim()) throw invalidInput(`trainer.dir: ${config.trainer.dir} does not exist in ${paths.repo} at ${baseCommit.slice(0, 7)}`);
  // `<mode> <type> <object>\t<path>` per entry: an editable file must be a plain file (120000 is a
  // symlink, whose edits would be written wherever it points; 160000 a submodule).
  const modes = new Map(tree.split('\0').filter(Boolean).map((entry) => [entry.slice(entry.indexOf('\t') + 1), entry.split(' ')[0]]));
  for (const file of config.trainer.editable) {
    const mode = modes.get(path.posix.join(config.trainer.dir, file));
    if (!mode) throw invalidInput(`trainer.editable: ${file} does not exist in ${config.trainer.dir}`);
    if (mode === '120000') throw invalidInput(`trainer.editable: ${file} is a symlink in ${config.trainer.dir}; an editable file must be a plain file`);
    if (mode !== '100644' && mode !== '100755') throw invalidInput(`trainer.editable: ${file} is not a plain file in ${config.trainer.dir} (mode ${mode})`);
  }
  return { paths, baseCommit };
}

export interface KeepInput {
  config: RunConfig;
  experimentRef: string;
  commitFull: string;
  /** The branch's commit the run believes: the move is a compare-and-set against it. */
  expectedBest: string;
}

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

/** Appends the experiment's row to results.tsv on the remote's results ref, and to this host's copy. */
export async function recordResult(input: { config: RunConfig; record: ExperimentRecord }): Promise<void> {
  await updateResults(input.config, (files) => {
    const text = files.get('results.tsv') ?? RESULTS_HEADER;
    if (text.split('\n').some((line) => line.split('\t')[6] === input.record.experimentId)) return undefined; // a retry
    return new Map([...files, ['results.tsv', text + formatResultsRow(input.record)]]);
  });
}

/** Writes steering.tsv, the person's notes, whole (their number is bounded). */
export async function recordSteering(input: { config: RunConfig; notes: SteeringNote[] }): Promise<void> {
  const text = ['from_experiment\tnote', ...input.notes.map((n) => `${n.fromExperiment}\t${oneLine(n.note)}`)].join('\n') + '\n';
  await updateResults(input.config, (files) => (files.get(STEERING_FILE) === text ? undefined : new Map([...files, [STEERING_FILE, text]])));
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
  const parent = await fetchRef(git, paths.remote, ref);
  const files = new Map<string, string>();
  if (parent) {
    for (const name of (await git.raw(['ls-tree', '--name-only', parent])).split('\n').filter(Boolean)) {
      files.set(name, await git.show([`${parent}:${name}`]));
    }
  }
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

async function writeAtomically(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file); // a reader never sees half a file
}
