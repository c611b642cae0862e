import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { ApplicationFailure } from '@temporalio/activity';
import type { Proposal } from '../proposers/proposal.js';
import { applyEdits, EditRejectedError } from './applyEdits.js';
import { gitAt } from './gitOps.js';
import type { RunPaths } from './runPaths.js';

export interface EditInput {
  paths: RunPaths;
  editable: string[];
  /** The best commit: every edit starts from it, which makes a retry idempotent. */
  baseCommit: string;
  proposal: Proposal;
}

/** Resets the worktree to the best commit, applies the edits, and checks the result parses. */
export async function edit(input: EditInput): Promise<{ changedFiles: string[] }> {
  const git = gitAt(input.paths.worktree);
  await git.raw(['reset', '--hard', input.baseCommit]);
  const before: Record<string, string> = {};
  for (const p of input.editable) before[p] = await readFile(path.join(input.paths.trainerDir, p), 'utf8');
  let after: Record<string, string>;
  try {
    after = applyEdits(before, input.proposal.edits, input.editable);
  } catch (err) {
    if (err instanceof EditRejectedError) throw ApplicationFailure.nonRetryable(err.message, 'EditRejected');
    throw err;
  }
  const changed = Object.keys(after).filter((p) => after[p] !== before[p]);
  for (const p of changed) await writeFile(path.join(input.paths.trainerDir, p), after[p]);
  for (const p of changed.filter((f) => f.endsWith('.py'))) {
    // ast.parse rather than py_compile: same syntax check, no __pycache__ left in the worktree.
    const r = await execa('python3', ['-c', 'import ast,sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])', p], {
      cwd: input.paths.trainerDir, reject: false, all: true });
    if (r.exitCode !== 0) {
      await git.raw(['reset', '--hard', input.baseCommit]);
      throw ApplicationFailure.nonRetryable(`the edited ${p} does not parse:\n${r.all?.slice(-1500)}`, 'EditRejected');
    }
  }
  return { changedFiles: changed };
}
