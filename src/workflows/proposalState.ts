/** An experiment's proposal and its repair state; it survives a move to another lane. */
import { applicationFailureOf } from '../api/failures.js';
import type { ExperimentInput } from '../api/experiment.js';
import { FAILURE, REPAIRABLE, type FailureType } from '../core/failures.js';
import type { Proposal, ProposeResult } from '../core/proposal.js';
import type { Usage } from '../core/usage.js';
import { ALREADY_MEASURED } from '../core/journal.js';

/** The unmodified trainer: the run's first experiment trains it, with an empty commit. */
export const BASELINE: Proposal = { hypothesis: 'baseline: the unmodified trainer', description: 'baseline', edits: [] };

export class ProposalState {
  current?: Proposal;
  previous?: Proposal;
  repairError?: string;
  promptChars?: number;
  /** Proposals refused because the journal had trained their code (counted as repairs). */
  refusals: number;
  private readonly usage: Usage[] = [];
  private readonly preparedUsd: number;

  constructor(input: ExperimentInput) {
    this.current = input.baseline ? BASELINE : input.prepared?.proposal;
    this.preparedUsd = input.prepared?.costUsd ?? 0;
    this.promptChars = input.prepared?.promptChars;
    this.refusals = input.refusedAhead ?? 0;
  }

  costUsd(): number {
    return this.usage.reduce((s, u) => s + u.costUsd, this.preparedUsd);
  }

  /**
   * Runs a hypothesize (returns a proposal result) or an edit (returns undefined); true when it
   * worked. A failure the proposer can repair is kept for the next ask; any other is thrown.
   */
  async ask(step: () => Promise<ProposeResult | undefined>): Promise<boolean> {
    try {
      const asked = await step();
      if (asked) {
        this.usage.push(asked.usage);
        this.promptChars = asked.promptChars ?? this.promptChars;
        this.current = asked.proposal;
      }
      this.repairError = undefined;
      return true;
    } catch (err) {
      const failure = applicationFailureOf(err);
      const billed = failure?.details?.[0] as Usage | undefined; // a billed call that gave nothing usable
      if (billed) this.usage.push(billed);
      if (!REPAIRABLE.includes(failure?.type as FailureType)) throw err;
      if (failure!.details?.[1] === ALREADY_MEASURED) this.refusals++;
      this.repairError = failure!.message;
      this.previous = failure!.type === FAILURE.EditRejected ? this.current : undefined;
      return false;
    }
  }
}
