/**
 * The proposer's memory, read by its activity on every call (no workflow payload grows with the
 * history): the journal section of the prompt, and the check that refuses a proposal whose code
 * was measured already, by this run or an earlier one, before anything is trained.
 */
import type { RunConfig } from '../core/runInput.js';
import { alreadyMeasuredMessage, contentKey, measuredIndex, recordsInMemory, settingsOf, type JournalRecord } from '../core/journal.js';
import { renderJournal } from '../core/journalPrompt.js';
import type { Proposal } from '../core/proposal.js';
import type { ExperimentRecord } from '../core/results.js';
import type { Usage } from '../core/usage.js';
import { ProposalInvalidError } from '../core/failures.js';
import { applyEdits } from './applyEdits.js';
import { gitAt } from './gitOps.js';
import { contentHashOf, factsOf, journalRecordOf } from './journal.js';
import { readJournal } from './journalStore.js';
import { resolveRunPaths } from './runPaths.js';

export interface Memory {
  /** The journal section of the prompt, within its budget. */
  section: string;
  /** The earliest measured record of the code these editable files make, under this run's settings. */
  measuredAs(files: Record<string, string>): JournalRecord | undefined;
  /** The records in memory, oldest first (the optimizer rebuilds its study from them). */
  records: JournalRecord[];
}

/** A proposal whose code was measured already: it goes back to the proposer, naming the earlier result. */
export class AlreadyMeasuredError extends ProposalInvalidError {
  constructor(readonly earlier: JournalRecord, usage?: Usage) {
    super(alreadyMeasuredMessage(earlier), usage);
    this.name = 'AlreadyMeasuredError';
  }
}

/**
 * The memory of a run: the journal on its remote, with the rows of this run the run knows of
 * (`recent`) but whose records are not written yet (its remote writes trail its decisions).
 */
export async function memoryOf(config: RunConfig, recent: readonly ExperimentRecord[]): Promise<Memory> {
  const paths = resolveRunPaths(config);
  const git = gitAt(paths.repo);
  const journal = await readJournal(git, paths.remote);
  const written = new Set(journal.records.filter((r) => r.tag === config.tag).map((r) => r.experimentId));
  const pending: JournalRecord[] = [];
  for (const row of recent.filter((r) => !written.has(r.experimentId))) {
    const facts = row.status === 'invalid' ? undefined : await factsOf(git, paths.remote, config, row);
    pending.push(journalRecordOf(config, row, facts, new Date().toISOString()));
  }
  // A run started before `memory` existed has none in its config: memory on, every tag.
  const records = recordsInMemory([...journal.records, ...pending], config);
  const index = measuredIndex(records);
  const settings = settingsOf(config.trainer);
  return {
    section: renderJournal(records, { tag: config.tag }),
    records,
    measuredAs: (files) => index.get(contentKey(contentHashOf(Object.entries(files).map(([p, content]) => ({ path: p, content }))), settings)),
  };
}

/**
 * Throws AlreadyMeasuredError when the proposal's edits, applied in memory to `files` (the best
 * commit's editable files), make code measured already. An edit that does not apply is left to
 * the edit step, which says why.
 */
export function refuseRepeat(memory: Memory, files: { path: string; content: string }[], proposal: Proposal, editable: string[], usage?: Usage): void {
  let after: Record<string, string>;
  try {
    after = applyEdits(Object.fromEntries(files.map((f) => [f.path, f.content])), proposal.edits, editable);
  } catch {
    return;
  }
  const earlier = memory.measuredAs(after);
  if (earlier) throw new AlreadyMeasuredError(earlier, usage);
}
