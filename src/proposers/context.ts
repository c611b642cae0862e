import type { BestResult, ExperimentRecord, RunningExperiment } from '../definitions.js';

/** Everything a proposer sees when it proposes the next experiment. */
export interface ProposerContext {
  /** Experiment number being proposed (0 is the baseline). */
  experiment: number;
  /** The research direction: program.md, or the text that replaced it by update. */
  program: string;
  /** Editable files, path relative to the trainer dir, current content at the best commit. */
  files: { path: string; content: string }[];
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
  previousProposal?: import('./proposal.js').Proposal;
}

/** Token usage of one proposer call; zero for the offline proposer. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
}

export const ZERO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 };

export interface ProposeResult {
  proposal: import('./proposal.js').Proposal;
  usage: Usage;
  /** Prompt size sent, for estimateMaxCallCostUsd of the next call. */
  promptChars?: number;
}

/**
 * The seam every proposer (offline, Claude, OpenAI-compatible) implements. The result's usage (or
 * a failure's `usage`) is every call this propose() paid for; `onSpending` hears of each as it
 * happens, before propose() returns.
 */
export interface Proposer {
  propose(ctx: ProposerContext, signal?: AbortSignal, onSpending?: import('./billing.js').OnSpending): Promise<ProposeResult>;
}

/**
 * A proposer error that retrying cannot fix (bad key, bad request, model refuses the tool).
 * The hypothesize activity turns it into a non-retryable ApplicationFailure.
 */
export class ProposerFatalError extends Error {
  constructor(message: string, readonly type = 'ProposerFatal', readonly usage?: Usage) {
    super(message);
    this.name = 'ProposerFatalError';
  }
}

/** The model returned something that does not validate as a Proposal; goes back to it for repair. */
export class ProposalInvalidError extends Error {
  /** A call that was answered (and billed) but gave no usable proposal still counts toward the cost. */
  constructor(message: string, readonly usage?: Usage) {
    super(message);
    this.name = 'ProposalInvalidError';
  }
}
