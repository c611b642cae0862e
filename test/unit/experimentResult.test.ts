import { formatResultsRow, parseResults, RESULTS_HEADER } from '../../src/core/resultsTsv.js';
import { finishExperiment, initialRunState, startExperiment, type RunState } from '../../src/core/runState.js';
import { bestOf } from '../../src/core/results.js';
import { memoryGbOf, measurementOf, outcomeOf, type ExperimentResult } from '../../src/core/experimentResult.js';
import { decideKeep } from '../../src/core/keepRule.js';
import type { Measured } from '../../src/core/keepDecision.js';
import { parseRunInput, type RunConfig } from '../../src/core/runInput.js';

/**
 * One shape for a result, from the trainer's summary to the row and back, and one definition of
 * the best, shared by the run and every reader of its rows.
 */
const config = (extra: object = {}): RunConfig => {
  const r = parseRunInput({ tag: 'the-tag', ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.config;
};

/** A finished experiment as its child hands it back, decided on its lane with `verdict`. */
function resultOf(valBpb: number, verdict: 'keep' | 'discard', extra: Partial<ExperimentResult> = {}): ExperimentResult {
  const candidate = [{ valBpb, steps: 100, tokens: 1000 }, { valBpb, steps: 101, tokens: 1010 }];
  const decision = { ...decideKeep({ incumbent: [], candidate, budget: 'tokens', noise: { sigma: 0.001, df: 2, pooled: 0.001 } }), verdict, reason: `lane: ${verdict}` };
  const measured: Measured = { candidate, incumbentReruns: [], fresh: candidate, remeasured: 0, decision };
  return {
    outcome: outcomeOf(measured), measured, commit: `c${valBpb}`.slice(0, 7), commitFull: `full-${valBpb}`, memoryGb: 1.5, description: `at ${valBpb}`,
    hypothesis: 'h', costUsd: 0.01, lane: 'host-cpu0', ...extra,
  };
}

/** Starts and finishes experiments one after another, as the run does, under the workflow id `runId`. */
function runThrough(c: RunConfig, results: ExperimentResult[], runId = 'a-workflow-id'): { state: RunState; rows: string } {
  let state = initialRunState();
  let rows = RESULTS_HEADER;
  results.forEach((result, n) => {
    state = startExperiment(state).state;
    const finished = finishExperiment(c, state, runId, n, { result });
    state = finished.state;
    rows += formatResultsRow(finished.record);
  });
  return { state, rows };
}

describe('an experiment result', () => {
  test('the trainer summary becomes a measurement, its peak memory GB to one decimal', () => {
    expect(measurementOf({ val_bpb: 0.99, num_steps: 12, training_seconds: 3, total_tokens: 163_840 })).toEqual(
      { valBpb: 0.99, steps: 12, trainingSeconds: 3, tokens: 163_840 });
    expect(measurementOf({ val_bpb: 0.99, total_tokens_M: 0.2 }).tokens).toBe(200_000);
    expect(memoryGbOf({ val_bpb: 1, peak_vram_mb: 45_060 })).toBe(44);
    expect(memoryGbOf(undefined)).toBe(0);
  });

  test('is recorded under the run\'s workflow id, whatever its tag, and reads back from results.tsv with the same field names', () => {
    const { state, rows } = runThrough(config(), [resultOf(1.0, 'keep'), resultOf(0.99, 'discard', { reason: 'the trainer warned' })]);
    expect(state.recent.map((r) => r.experimentId)).toEqual(['a-workflow-id/exp-0000', 'a-workflow-id/exp-0001']);
    const [baseline, discard] = parseResults(rows);
    expect(baseline).toMatchObject({ status: 'keep', valBpb: 1.0, experimentId: 'a-workflow-id/exp-0000', extraRuns: 1, steps: 101, tokens: 1010, reason: 'lane: keep' });
    expect(baseline.delta).toBeUndefined(); // the baseline's delta means nothing
    expect(discard).toMatchObject({ status: 'discard', extraRuns: 1, reason: 'the trainer warned' });
    for (const field of Object.keys(discard)) expect(state.recent[1]).toHaveProperty(field);
  });

  test('a result recorded before `reason` had its name keeps its reason (it carried it as `error`)', () => {
    const legacy = { ...resultOf(1.0, 'keep'), error: 'from an old history' } as ExperimentResult;
    const { state } = runThrough(config(), [legacy]);
    expect(state.recent[0].reason).toBe('from an old history');
    expect(state.recent[0]).not.toHaveProperty('error');
  });
});

describe('the best', () => {
  test('is the latest keep, the run\'s and the rows\' alike, even where a change with fewer lines was kept at a higher val_bpb', () => {
    const { state, rows } = runThrough(config(), [resultOf(1.0, 'keep'), resultOf(0.98, 'keep'), resultOf(0.97, 'discard'), resultOf(0.985, 'keep')]);
    expect(state.best).toMatchObject({ experiment: 3, valBpb: 0.985 });
    const best = bestOf(parseResults(rows));
    expect(best?.experimentId).toBe('a-workflow-id/exp-0003');
    expect(best?.commit).toBe(state.best?.commit);
    expect(bestOf([])).toBeUndefined();
  });
});
