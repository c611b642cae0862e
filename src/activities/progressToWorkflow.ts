/**
 * Tells the experiment workflow how far its trainer is, for its page in the web UI: the workflow
 * cannot see heartbeats, so the train activity signals it the same words `research wait` prints,
 * at most every 12 s. Best effort: a signal that fails is dropped (the next one says more).
 */
import type { Context } from '@temporalio/activity';
import { trainProgressSignal } from '../api/messages.js';
import type { TrainerConfig } from '../core/runInput.js';
import { PROGRESS_EVERY_MS, trainProgress } from '../core/trainProgress.js';

export function progressToWorkflow(ctx: Context, trainer: Pick<TrainerConfig, 'tokenBudget' | 'timeBudgetSeconds'>, startedAtMs: number) {
  let lastAtMs = 0;
  let inFlight = false;
  return (details: { elapsedSeconds: number; budgetSeconds: number; lastLine: string }): void => {
    const now = Date.now();
    if (inFlight || now - lastAtMs < PROGRESS_EVERY_MS) return;
    lastAtMs = now;
    const text = trainProgress({ details, startedAtMs, heartbeatAtMs: now, settings: trainer }, now);
    const execution = ctx.info.workflowExecution;
    if (!execution) return; // a standalone activity: no workflow to tell
    let handle;
    try {
      handle = ctx.client.workflow.getHandle(execution.workflowId, execution.runId);
    } catch {
      return; // no client (a test's mock environment): nothing to tell
    }
    inFlight = true;
    handle.signal(trainProgressSignal, text).catch(() => undefined).finally(() => { inFlight = false; });
  };
}
