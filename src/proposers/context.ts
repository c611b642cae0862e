import type { BestResult, ExperimentRecord } from '../core/results.js';
import type { ProposeResult } from '../core/proposal.js';
import type { RunningExperiment } from '../core/runState.js';

/** Everything a proposer sees when it proposes the next experiment. */
export interface ProposerContext {
  /** Experiment number being proposed (0 is the baseline). */
  experiment: number;
  /** The research direction: program.md, or the text that replaced it by update. */
  program: string;
  /** Editable files, path relative to the trainer dir, current content at `filesCommit`. */
  files: { path: string; content: string }[];
  /** The commit the files are from: the best's, or the node tree search starts this experiment from. */
  filesCommit?: string;
  /** The latest results, oldest first (a bounded window). */
  recent: ExperimentRecord[];
  /** How many experiments have finished in all. */
  experimentsDone: number;
  /** The best kept experiment so far. */
  best?: BestResult;
  /** Tail of the last crashed experiment's log, if any. */
  lastCrashLog?: string;
  /** Experiments running now on other lanes: their ideas are taken. */
  inFlight?: RunningExperiment[];
  /** Steering notes from the person, oldest first. */
  steeringNotes: string[];
  /** When the previous proposal for this experiment failed to apply: why (the repair loop). */
  repairError?: string;
  /** Previous (failed) proposal for this experiment, when repairing. */
  previousProposal?: import('../core/proposal.js').Proposal;
  /** The journal's section of the prompt: every run of the repository, within its budget (replaces the table of `recent`). */
  journal?: string;
  /** Whether the code these editable files make (path → content) was trained already, by this run or an earlier one. */
  measured?: (files: Record<string, string>) => boolean;
  /** The journal's records in this run's memory, and this run's tag: the optimizer rebuilds its study from them. */
  history?: { tag: string; records: readonly import('../core/journal.js').JournalRecord[] };
  /** The hybrid: the optimizer's next suggestion, shown to the LLM, which may take it or override it. */
  optimizerSuggestion?: string;
}

/**
 * The seam every proposer (offline, Claude, OpenAI-compatible) implements. The result's usage (or
 * a failure's `usage`) is every call this propose() paid for; `onSpending` hears of each as it
 * happens, before propose() returns.
 */
export interface Proposer {
  propose(ctx: ProposerContext, signal?: AbortSignal, onSpending?: import('./billing.js').OnSpending): Promise<ProposeResult>;
}
