/**
 * The steps of an experiment around its lane's worktree: prepare the lane, hypothesize (from the
 * best commit's files, on any host), edit, commit. Each is idempotent, so a retry after a crash
 * does no harm. Training and evaluation are in training.ts; the run's shared state in remote.ts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { CommitInput, CommitResult, EditInput, ExistingCommit, HypothesizeInput, LaneInput } from '../api/activities.js';
import { describeIssues, type RunConfig } from '../core/runInput.js';
import { ProposalSchema, type Proposal, type ProposeResult } from '../core/proposal.js';
import { ProposalInvalidError, ProposerFatalError, FAILURE } from '../core/failures.js';
import type { Proposer } from '../proposers/context.js';
import type { Usage } from '../core/usage.js';
import type { LanePaths } from '../core/names.js';
import { applyEdits, EditRejectedError } from './applyEdits.js';
import { AlreadyMeasuredError, memoryOf, refuseRepeat } from './journalMemory.js';
import { ALREADY_MEASURED } from '../core/journal.js';
import { clearStaleLocks, ensureCommit, excludeFromStatus, experimentCommitAtHead, fetchRef, gitAt, hasCommit, resetWorktree, TRAILER } from './gitOps.js';
import { resolveLanePaths, resolveRunPaths } from './runPaths.js';

/** The lane's own worktree, made once (from the remote), with the best commit at hand. Every lane step starts here. */
export async function laneWorktree(input: LaneInput): Promise<LanePaths> {
  const paths = resolveLanePaths(input.config, input.laneId);
  await clearStaleLocks(paths.repo); // a git killed mid-command (SIGKILL) leaves its locks behind
  const git = gitAt(paths.repo);
  await ensureCommit(git, paths.remote, input.bestCommit, input.bestRef);
  if (input.startCommit) await ensureCommit(git, paths.remote, input.startCommit, input.startRef ?? input.bestRef);
  await mkdir(paths.logsDir, { recursive: true });
  await excludeFromStatus(paths.repo, paths.workDir);
  if (!existsSync(path.join(paths.worktree, '.git'))) {
    await git.raw(['worktree', 'prune']);
    await git.raw(['worktree', 'add', '-f', '--detach', paths.worktree, input.bestCommit]);
  }
  return paths;
}

/**
 * For an experiment that lost its lane: the commit a lane that died had pushed, if any (the
 * experiment then carries on from there instead of asking for a new proposal).
 */
export async function prepareLane(input: LaneInput & { experimentRef: string }): Promise<ExistingCommit | undefined> {
  const paths = await laneWorktree(input);
  const git = gitAt(paths.repo);
  const made = await fetchRef(git, paths.remote, input.experimentRef);
  if (!made) return undefined;
  const [description, ...body] = (await git.raw(['log', '-1', '--format=%B', made])).trim().split('\n');
  const hypothesis = body.filter((line) => !line.startsWith(`${TRAILER}:`)).join('\n').trim();
  return { commitFull: made, description, hypothesis };
}

export function hypothesizeWith(createProposer: (c: RunConfig['proposer']) => Proposer) {
  return async function hypothesize(input: HypothesizeInput): Promise<ProposeResult> {
    const { config } = input;
    const paths = resolveRunPaths(config);
    const git = gitAt(paths.repo);
    if (!(await hasCommit(git, input.bestCommit))) await fetchRef(git, paths.remote, input.bestRef);
    const programFile = path.join(paths.repo, config.program);
    const program = input.programOverride ?? (existsSync(programFile) ? await readFile(programFile, 'utf8') : '(no program.md: improve val_bpb)');
    const files = await Promise.all(config.trainer.editable.map(async (p) => (
      { path: p, content: await git.show([`${input.bestCommit}:${path.posix.join(config.trainer.dir, p)}`]) })));
    const memory = await memoryOf(config, input.recent); // the journal: every run of the repository
    try {
      const result = await createProposer(config.proposer).propose(
        { experiment: input.experiment, program, files, filesCommit: input.bestCommit, recent: input.recent, experimentsDone: input.experimentsDone, best: input.best,
          lastCrashLog: input.lastCrashLog, steeringNotes: input.steeringNotes, inFlight: input.inFlight, repairError: input.repairError,
          previousProposal: input.previousProposal, journal: memory.section, measured: (after) => memory.measuredAs(after) !== undefined,
          history: { tag: config.tag, records: memory.records } },
        Context.current().cancellationSignal,
      );
      const proposal = validProposal(result);
      refuseRepeat(memory, files, proposal, config.trainer.editable, result.usage); // code trained before goes back, naming it
      return { ...result, proposal };
    } catch (err) {
      // details[0] carries the usage of a billed call, so it still counts toward the cost cap.
      const usage = (err as { usage?: Usage }).usage;
      if (err instanceof ProposerFatalError) throw ApplicationFailure.nonRetryable(err.message, err.type, usage);
      // Malformed output goes back to the workflow, which asks again with the error (repair loop).
      if (err instanceof ProposalInvalidError) {
        throw ApplicationFailure.nonRetryable(err.message, FAILURE.ProposalInvalid, usage, ...(err instanceof AlreadyMeasuredError ? [ALREADY_MEASURED] : []));
      }
      throw err;
    }
  };
}

/** The proposer's proposal, validated: one that is not (a NUL in its hypothesis, say) goes back for repair. */
function validProposal(result: ProposeResult): Proposal {
  const parsed = ProposalSchema.safeParse(result.proposal);
  if (!parsed.success) throw new ProposalInvalidError(`the proposal is invalid: ${describeIssues(parsed.error)}`, result.usage);
  return parsed.data;
}

/** The commit an experiment's edits start from: the best's, or the node tree search started it from. */
const startOf = (lane: LaneInput) => lane.startCommit ?? lane.bestCommit;

/** Resets the lane's worktree to the start commit, applies the edits, and checks that the result parses. */
export async function edit(input: EditInput): Promise<void> {
  const paths = await laneWorktree(input.lane);
  const startCommit = startOf(input.lane);
  const git = gitAt(paths.worktree);
  // Whatever an earlier experiment left (a module that shadows the harness, a nested .git, bytecode) goes too.
  await resetWorktree(git, startCommit, input.lane.config.trainer.dir);
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
    const error = await pythonSyntaxError(p, after[p]);
    if (error !== undefined) {
      await git.raw(['reset', '-q', '--hard', startCommit]);
      throw ApplicationFailure.nonRetryable(`the edited ${p} does not parse:\n${error.slice(-1500)}`, FAILURE.EditRejected);
    }
  }
}

/** Compiles the source to an AST only: nothing of it runs, and no bytecode is written. */
const PARSE_STDIN = 'import ast, sys; ast.parse(sys.stdin.buffer.read(), sys.argv[1])';

/**
 * Python's own syntax check of `source` (named `file` in the message), or undefined when it parses.
 * Nothing of the trainer dir is read: the source comes on stdin, and python3 runs isolated (-I: no
 * script dir or cwd on sys.path, no PYTHON* variables, no user site) from `/`, with PATH and LANG
 * only, so a module planted beside train.py (an ast.py, an ast.pyc) is never imported, and nothing
 * run could see the worker's secrets.
 */
export async function pythonSyntaxError(file: string, source: string): Promise<string | undefined> {
  const r = await execa('python3', ['-I', '-c', PARSE_STDIN, file], {
    cwd: '/', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, extendEnv: false, input: source, reject: false, all: true,
  });
  return r.exitCode === 0 ? undefined : String(r.all ?? r.shortMessage);
}

/**
 * The commit's message: its description, hypothesis and trailer, with control characters other
 * than newline and tab dropped (a NUL cannot pass to git at all; the schema refuses them already).
 */
export function commitMessage(input: { description: string; hypothesis: string; experimentId: string }): string {
  const clean = (text: string) => text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  return `${clean(input.description)}\n\n${clean(input.hypothesis)}\n\n${TRAILER}: ${clean(input.experimentId)}`;
}

/**
 * One commit per experiment, pushed under its experiment ref. A retry, or another lane taking over
 * from a dead one, finds the commit already made (on the remote under the experiment's ref, or at
 * the worktree's HEAD on the start commit) instead of committing twice. Only this run's commits
 * count: the experiment ref's number is this run's alone (prepareRun numbers a resumed run after
 * every earlier experiment), and HEAD counts only when it was made on the start commit since edit.
 */
export async function commit(input: CommitInput): Promise<CommitResult> {
  const paths = await laneWorktree(input.lane);
  const { config } = input.lane;
  const startCommit = startOf(input.lane);
  const git = gitAt(paths.worktree);
  // On the remote already: a retry after the push, or a lane that died after it.
  let full = await fetchRef(git, paths.remote, input.experimentRef);
  if (full) {
    await resetWorktree(git, full, config.trainer.dir);
    return { commit: full.slice(0, 7), commitFull: full, paths };
  }
  if (input.edited) {
    full = await experimentCommitAtHead(git, input.experimentId, startCommit);
  } else {
    // The baseline, or a restarted lane's worktree: whatever a killed earlier experiment or run left
    // there (a commit, modified or untracked files) is never measured as the baseline.
    await resetWorktree(git, startCommit, config.trainer.dir);
  }
  if (!full) {
    await git.add(config.trainer.editable.map((p) => path.posix.join(config.trainer.dir, p)));
    await git.raw(['commit', '--allow-empty', '-q', '-m', commitMessage(input)]);
    full = (await git.revparse(['HEAD'])).trim();
  }
  await git.raw(['push', '-q', paths.remote, `${full}:${input.experimentRef}`]);
  return { commit: full.slice(0, 7), commitFull: full, paths };
}
