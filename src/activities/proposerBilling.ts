import { Context } from '@temporalio/activity';
import { z } from 'zod';
import type { RunConfig } from '../core/runInput.js';
import { isSpent, type Spending } from '../proposers/billing.js';
import type { Proposer } from '../proposers/context.js';
import { type Usage, ZERO_USAGE, addUsage } from '../core/usage.js';
import { recordHeartbeatDetails } from './heartbeat.js';

/**
 * Money spent by a hypothesize attempt outlives the attempt. Each call's cost goes into the
 * activity's heartbeat as it is spent (and the worst case of the call on the wire); a retried
 * attempt adds what its predecessors recorded to its own result, or to its failure's usage, so
 * the workflow counts every billed call once whichever attempt reports it.
 */

const UsageSchema = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheWriteTokens: z.number(),
  costUsd: z.number(),
});
const SpendingSchema = z.object({ spent: UsageSchema, inFlight: UsageSchema.optional() });

/**
 * What the earlier attempts spent, from their last heartbeat: their spending, plus the call one of
 * them had on the wire when it died (charged at its worst case; the provider may have billed it).
 */
export function earlierSpending(heartbeatDetails: unknown): Usage {
  const parsed = SpendingSchema.safeParse(heartbeatDetails);
  if (!parsed.success) return ZERO_USAGE;
  return parsed.data.inFlight ? addUsage(parsed.data.spent, parsed.data.inFlight) : parsed.data.spent;
}

/** The proposer factory of the hypothesize activity, with its spending carried across attempts. */
export function billedAcrossAttempts(createProposer: (c: RunConfig['proposer']) => Proposer): (c: RunConfig['proposer']) => Proposer {
  return (config) => {
    const proposer = createProposer(config);
    return {
      async propose(ctx, signal, onSpending) {
        const earlier = earlierSpending(Context.current().info.heartbeatDetails);
        let mine: Spending = { spent: ZERO_USAGE };
        const record = (spending: Spending) => {
          mine = spending;
          recordHeartbeatDetails({ spent: addUsage(earlier, spending.spent), inFlight: spending.inFlight } satisfies Spending);
          onSpending?.(spending);
        };
        try {
          const result = await proposer.propose(ctx, signal, record);
          return { ...result, usage: addUsage(earlier, result.usage) };
        } catch (err) {
          const own = (err as { usage?: Usage }).usage ?? mine.spent;
          const total = addUsage(earlier, own);
          if (isSpent(total) && err instanceof Error) Object.assign(err, { usage: total });
          throw err;
        }
      },
    };
  };
}
