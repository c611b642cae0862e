/**
 * The steps of an experiment that read or write the run's workspace (its git worktree, results.tsv
 * and logs): prepare, hypothesize, edit, commit, keep or revert, record. Each is idempotent, so a
 * retry after a crash does no harm. Training and evaluation are in training.ts.
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { RunConfig } from '../config/runInput.js';
import { ProposalSchema, type Proposal } from '../proposers/proposal.js';
import { ProposalInvalidError, ProposerFatalError, type ProposeResult, type Proposer, type Usage } from '../proposers/context.js';
import {
  experimentName, FAILURE, formatResultsRow, oneLine, RESULTS_HEADER, STEERING_FILE, type BestResult, type ExperimentRecord, type RunPaths,
  type SteeringNote,
} from '../definitions.js';
import { applyEdits, EditRejectedError } from './applyEdits.js';
import { discardedRef, excludeFromStatus, findExperimentCommit, gitAt, TRAILER } from './gitOps.js';
import { resolveRunPaths } from './runPaths.js';
import { readTail } from './trainerProcess.js';

const invalidInput = (message: string) => ApplicationFailure.nonRetryable(message, FAILURE.InvalidRunInput);

/** Creates (or reuses, on a retry or a resumed run) the run's worktree on `autoresearch/<tag>`. */
export async function prepareRun(config: RunConfig): Promise<{ paths: RunPaths; baseCommit: string }> {
  const paths = resolveRunPaths(config);
  if (!existsSync(paths.repo)) throw invalidInput(`repo: ${paths.repo} does not exist`);
  const git = gitAt(paths.repo);
  if (!(await git.checkIsRepo())) throw invalidInput(`repo: ${paths.repo} is not a git repository`);
  await mkdir(paths.logsDir, { recursive: true });
  await excludeFromStatus(paths.repo, paths.workDir);

  if (!existsSync(path.join(paths.worktree, '.git'))) {
    await git.raw(['worktree', 'prune']);
    const branchExists = (await git.raw(['branch', '--list', paths.branch])).trim() !== '';
    if (branchExists) await git.raw(['worktree', 'add', paths.worktree, paths.branch]);
    else {
      const base = config.base ?? 'HEAD';
      await git.raw(['rev-parse', '--verify', `${base}^{commit}`]).catch(() => {
        throw invalidInput(`base: "${base}" is not a commit in ${paths.repo}`);
      });
      await git.raw(['worktree', 'add', '-b', paths.branch, paths.worktree, base]);
    }
  }
  if (!existsSync(paths.trainerDir)) throw invalidInput(`trainer.dir: ${config.trainer.dir} does not exist in ${paths.repo}`);
  for (const file of config.trainer.editable) {
    const full = path.resolve(paths.trainerDir, file);
    if (!full.startsWith(paths.worktree + path.sep)) throw invalidInput(`trainer.editable: ${file} is outside the repository`);
    if (!existsSync(full)) throw invalidInput(`trainer.editable: ${file} does not exist in ${config.trainer.dir}`);
  }
  return { paths, baseCommit: (await gitAt(paths.worktree).revparse(['HEAD'])).trim() };
}

export interface HypothesizeInput {
  experiment: number;
  config: RunConfig;
  paths: RunPaths;
  /** The direction, when replaced by update; else program.md is read from the repo. */
  programOverride?: string;
  recent: ExperimentRecord[];
  experimentsDone: number;
  best?: BestResult;
  lastCrash?: number;
  steeringNotes: string[];
  repairError?: string;
  previousProposal?: Proposal;
}

/** Bytes of the last crash's log the proposer sees. */
const CRASH_LOG_TAIL = 8_000;

export function hypothesizeWith(createProposer: (c: RunConfig['proposer']) => Proposer) {
  return async function hypothesize(input: HypothesizeInput): Promise<ProposeResult> {
    const { paths, config } = input;
    const programFile = path.join(paths.repo, config.program);
    const program = input.programOverride ?? (existsSync(programFile) ? await readFile(programFile, 'utf8') : '(no program.md: improve val_bpb)');
    const files = await Promise.all(
      config.trainer.editable.map(async (p) => ({ path: p, content: await readFile(path.join(paths.trainerDir, p), 'utf8') })),
    );
    const lastCrashLog = input.lastCrash === undefined ? undefined : await readTail(path.join(paths.logsDir, `${experimentName(input.lastCrash)}.log`), CRASH_LOG_TAIL);
    try {
      const result = await createProposer(config.proposer).propose(
        { experiment: input.experiment, program, files, recent: input.recent, experimentsDone: input.experimentsDone, best: input.best,
          lastCrashLog, steeringNotes: input.steeringNotes, repairError: input.repairError, previousProposal: input.previousProposal },
        Context.current().cancellationSignal,
      );
      return { ...result, proposal: ProposalSchema.parse(result.proposal) };
    } catch (err) {
      // details[0] carries the usage of a billed call, so it still counts toward the cost cap.
      const usage = (err as { usage?: Usage }).usage;
      if (err instanceof ProposerFatalError) throw ApplicationFailure.nonRetryable(err.message, err.type, usage);
      // Malformed output goes back to the workflow, which asks again with the error (repair loop).
      if (err instanceof ProposalInvalidError) throw ApplicationFailure.nonRetryable(err.message, FAILURE.ProposalInvalid, usage);
      throw err;
    }
  };
}

export interface EditInput {
  paths: RunPaths;
  editable: string[];
  /** Every edit starts from the best commit, which makes a retry idempotent. */
  bestCommit: string;
  proposal: Proposal;
}

/** Resets the worktree to the best commit, applies the edits, and checks that the result parses. */
export async function edit(input: EditInput): Promise<void> {
  const { paths } = input;
  const git = gitAt(paths.worktree);
  await git.raw(['reset', '--hard', input.bestCommit]);
  const before: Record<string, string> = {};
  for (const p of input.editable) before[p] = await readFile(path.join(paths.trainerDir, p), 'utf8');
  let after: Record<string, string>;
  try {
    after = applyEdits(before, input.proposal.edits, input.editable);
  } catch (err) {
    if (err instanceof EditRejectedError) throw ApplicationFailure.nonRetryable(err.message, FAILURE.EditRejected);
    throw err;
  }
  const changed = Object.keys(after).filter((p) => after[p] !== before[p]);
  for (const p of changed) await writeFile(path.join(paths.trainerDir, p), after[p]);
  for (const p of changed.filter((f) => f.endsWith('.py'))) {
    // ast.parse rather than py_compile: the same syntax check, and no __pycache__ left in the worktree.
    const r = await execa('python3', ['-c', 'import ast,sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])', p], {
      cwd: paths.trainerDir, reject: false, all: true });
    if (r.exitCode !== 0) {
      await git.raw(['reset', '--hard', input.bestCommit]);
      throw ApplicationFailure.nonRetryable(`the edited ${p} does not parse:\n${r.all?.slice(-1500)}`, FAILURE.EditRejected);
    }
  }
}

export interface CommitInput {
  paths: RunPaths;
  trainerDirRel: string;
  editable: string[];
  experimentId: string;
  description: string;
  hypothesis: string;
}

/** One commit per experiment; a retry finds its own earlier commit by the trailer instead of committing twice. */
export async function commit(input: CommitInput): Promise<{ commit: string; commitFull: string }> {
  const git = gitAt(input.paths.worktree);
  let full = await findExperimentCommit(git, input.experimentId);
  if (!full) {
    await git.add(input.editable.map((p) => path.posix.join(input.trainerDirRel, p)));
    await git.raw(['commit', '--allow-empty', '-q', '-m', `${input.description}\n\n${input.hypothesis}\n\n${TRAILER}: ${input.experimentId}`]);
    full = (await git.revparse(['HEAD'])).trim();
  }
  return { commit: full.slice(0, 7), commitFull: full };
}

export interface KeepOrRevertInput {
  paths: RunPaths;
  keep: boolean;
  /** The experiment's commit (absent for an invalid proposal that was never committed). */
  commitFull?: string;
  bestCommit: string;
  experimentName: string;
}

/** Keep leaves the branch at the commit; otherwise the commit gets a ref of its own and the branch goes back to the best. */
export async function keepOrRevert(input: KeepOrRevertInput): Promise<void> {
  const git = gitAt(input.paths.worktree);
  if (input.keep && input.commitFull) {
    await git.raw(['reset', '--hard', input.commitFull]);
    return;
  }
  if (input.commitFull) await git.raw(['update-ref', discardedRef(input.paths.branch, input.experimentName), input.commitFull]);
  await git.raw(['reset', '--hard', input.bestCommit]);
}

/** Appends the experiment's row to results.tsv, unless a retry finds it there already. */
export async function recordResult(input: { paths: RunPaths; record: ExperimentRecord }): Promise<void> {
  const file = input.paths.resultsFile;
  const text = existsSync(file) ? await readFile(file, 'utf8') : '';
  if (text.split('\n').some((line) => line.endsWith(`\t${input.record.experimentId}`))) return;
  if (!text) await writeFile(file, RESULTS_HEADER);
  else if (!text.endsWith('\n')) await appendFile(file, '\n'); // a row cut short by a crash stays its own line
  await appendFile(file, formatResultsRow(input.record));
}

/** Writes steering.tsv beside results.tsv: the person's notes, whole (their number is bounded). */
export async function recordSteering(input: { paths: RunPaths; notes: SteeringNote[] }): Promise<void> {
  const file = path.join(path.dirname(input.paths.resultsFile), STEERING_FILE);
  const text = ['from_experiment\tnote', ...input.notes.map((n) => `${n.fromExperiment}\t${oneLine(n.note)}`)].join('\n') + '\n';
  await writeFile(`${file}.tmp`, text);
  await rename(`${file}.tmp`, file); // a reader never sees half a file
}
