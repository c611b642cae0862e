/** Tree search in the run's state: where each experiment starts, its parent, and greedy search unchanged. */
import type { Measured } from '../../src/core/keepDecision.js';
import { decideKeep } from '../../src/core/keepRule.js';
import type { ExperimentResult } from '../../src/core/experimentResult.js';
import { parseRunInput, type RunConfig } from '../../src/core/runInput.js';
import { finishExperiment, initialRunState, moveExperiment, startExperiment, type RunState } from '../../src/core/runState.js';
import { BASELINE } from '../../src/workflows/proposalState.js';

const greedyConfig = (): RunConfig => {
  const r = parseRunInput({ tag: 't', decision: 'greedy' });
  if (!r.ok) throw new Error(r.error);
  return r.config;
};
const treeConfig = (): RunConfig => ({ ...greedyConfig(), search: { kind: 'tree', stallAfter: 2, branchLength: 1 } });

const commitOf = (n: number) => `c0ffee${n}`.padEnd(40, '0');
/** A trained result of experiment `n` with `valBpb`, measured against the best of `s` under the greedy rule. */
function trained(c: RunConfig, s: RunState, n: number, valBpb: number): ExperimentResult {
  const decision = decideKeep({ incumbent: s.best ? [{ valBpb: s.best.valBpb }] : [], candidate: [{ valBpb }], budget: 'time', noise: { sigma: 0, df: 0, pooled: 0 } }, c.decision);
  const measured: Measured = { candidate: [{ valBpb }], incumbentReruns: [], fresh: [], remeasured: 0, decision };
  return { outcome: { kind: 'trained', valBpb }, measured, commit: commitOf(n).slice(0, 7), commitFull: commitOf(n), memoryGb: 1, description: `d${n}`, hypothesis: `h${n}`, costUsd: 0 };
}

/** Runs one experiment to its end, one lane: what it started from and its record. */
function step(c: RunConfig, s: RunState, valBpb: number) {
  const { state, started } = startExperiment(s, c.search);
  const done = finishExperiment(c, state, 'run', started.experiment, { result: trained(c, state, started.experiment, valBpb) });
  return { started, ...done };
}

const start = (): RunState => ({ ...initialRunState(), baseCommit: 'b'.repeat(40) });

describe('tree search in the run', () => {
  test('greedy: every experiment starts from the best, its parent; the state holds no search', () => {
    const c = greedyConfig();
    let s = start();
    const parents: (number | undefined)[] = [];
    for (const v of [1.0, 1.1, 0.9, 1.2, 1.3, 1.4]) {
      const r = step(c, s, v);
      expect(r.started.start).toBeUndefined();
      parents.push(r.record.parent);
      s = r.state;
    }
    expect(parents).toEqual([undefined, 0, 0, 2, 2, 2]);
    expect(s.search).toBeUndefined();
  });

  test('tree: after the stall the next experiment starts from the nearest miss, and a keep there is recorded with that parent', () => {
    const c = treeConfig();
    let s = start();
    for (const v of [1.0, 1.05, 1.1]) s = step(c, s, v).state; // baseline kept, then two misses: the run stalls
    expect(s.search?.branch?.root.experiment).toBe(1);
    const prepared = { proposal: BASELINE, costUsd: 0.3 };
    const { state, started } = startExperiment({ ...s, prepared }, c.search);
    expect(started).toMatchObject({ experiment: 3, start: { experiment: 1, commitFull: commitOf(1) }, preparedUsd: 0 });
    expect(started.prepared).toBeUndefined();
    expect(state.prepared).toEqual(prepared); // made from the best: left for the next experiment that starts there

    // Its lane dies: it starts again from the same node.
    const again = startExperiment(moveExperiment(state, 3), c.search).started;
    expect(again.start?.experiment).toBe(1);

    const done = finishExperiment(c, state, 'run', 3, { result: trained(c, state, 3, 0.9) });
    expect(done.record).toMatchObject({ status: 'keep', parent: 1 });
    expect(done.expectedBest).toBe(commitOf(0)); // the branch moves from the old best, by compare-and-set
    expect(done.state.best?.experiment).toBe(3);
    expect(done.state.search?.branch).toBeUndefined();
    // Back to the best.
    expect(startExperiment(done.state, c.search).started.start).toBeUndefined();
  });

  test('tree: a branch child worse than the global best is not kept, however much it beats its start', () => {
    const c = treeConfig();
    let s = start();
    for (const v of [1.0, 1.2, 1.3]) s = step(c, s, v).state;
    const r = step(c, s, 1.05); // from exp 1 (1.2): better there, worse than the best
    expect(r.record).toMatchObject({ status: 'discard', parent: 1 });
    expect(r.state.best?.experiment).toBe(0);
  });
});
