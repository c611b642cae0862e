import { type Usage, ZERO_USAGE, addUsage } from '../core/usage.js';

/**
 * What one propose() has spent so far, told each time it changes: `spent` is every call answered
 * (its reported usage) or sent and never answered (its worst case); `inFlight` is the worst case
 * of the call on the wire now. The hypothesize activity keeps it in its heartbeat, so an attempt
 * that dies mid-way still has its money counted by the next.
 */
export interface Spending {
  spent: Usage;
  inFlight?: Usage;
}
export type OnSpending = (spending: Spending) => void;

/** The running bill of one propose(): each HTTP attempt goes through `call`. */
export class Bill {
  private spent: Usage = ZERO_USAGE;

  constructor(private readonly onSpending?: OnSpending) {}

  get total(): Usage {
    return this.spent;
  }

  /**
   * Sends one attempt. An answered attempt counts its usage. An attempt that `unanswered` says was
   * sent but never answered (a timeout, an abort) counts its worst case: the provider may have
   * finished and billed it. Any other failure (an HTTP error, a refused connection) was not billed.
   */
  async call<T>(worstCase: Usage, send: () => Promise<T>, usageOf: (reply: T) => Usage, unanswered: (err: unknown) => boolean): Promise<T> {
    this.onSpending?.({ spent: this.spent, inFlight: worstCase });
    let billed = ZERO_USAGE;
    try {
      const reply = await send();
      billed = usageOf(reply);
      return reply;
    } catch (err) {
      if (unanswered(err)) billed = worstCase;
      throw err;
    } finally {
      this.spent = addUsage(this.spent, billed);
      this.onSpending?.({ spent: this.spent });
    }
  }
}

/** Whether a usage is worth carrying (any token or any money). */
export function isSpent(u: Usage | undefined): u is Usage {
  return !!u && (u.costUsd > 0 || u.inputTokens + u.outputTokens + u.cacheReadTokens + u.cacheWriteTokens > 0);
}
