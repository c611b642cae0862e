/**
 * The run input, validated and resolved once, as the run starts (a local activity, so its result
 * is in the run's history): every default, the pipeline choice and the price per token are
 * filled in here, and a later release that changes one of them does not change a running run.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { parseRunInput, pipelineOf, type RunConfig } from '../core/runInput.js';
import { priceFor } from '../core/cost.js';
import { FAILURE } from '../core/failures.js';

export async function resolveRunConfig(input: unknown): Promise<RunConfig> {
  const parsed = parseRunInput(input);
  if (!parsed.ok) throw ApplicationFailure.nonRetryable(parsed.error, FAILURE.InvalidRunInput);
  const { config } = parsed;
  let price;
  try {
    price = priceFor(config.proposer); // an unpriced model would make the cost cap meaningless
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`invalid run input: proposer.model: ${(err as Error).message}`, FAILURE.InvalidRunInput);
  }
  return { ...config, pipeline: pipelineOf(config), proposer: { ...config.proposer, price } };
}
