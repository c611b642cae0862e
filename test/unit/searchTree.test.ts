import { parseRunInput } from '../../src/core/runInput.js';
import { afterResult, initialSearchState, SearchSchema, startNode, type SearchConfig, type SearchState } from '../../src/core/searchTree.js';

const tree: SearchConfig = { kind: 'tree', stallAfter: 3, branchLength: 2 };
const result = (experiment: number, valBpb: number, status: 'keep' | 'discard' | 'crash' = 'discard') =>
  ({ experiment, commitFull: status === 'crash' ? '' : `c${experiment}`, valBpb: status === 'crash' ? 0 : valBpb, status });

/** Starts experiment n and finishes it with `valBpb`, returning where it started and the state after. */
function step(config: SearchConfig, state: SearchState, n: number, valBpb: number, status: 'keep' | 'discard' | 'crash' = 'discard') {
  const s = startNode(config, state, n);
  return { from: s.node?.experiment, state: afterResult(config, s.state, result(n, valBpb, status)) };
}

describe('the search tree', () => {
  test('greedy always starts from the best and never branches', () => {
    let state = initialSearchState();
    for (let n = 1; n <= 20; n++) {
      const s = step({ ...tree, kind: 'greedy' }, state, n, 1 + n / 100);
      expect(s.from).toBeUndefined();
      state = s.state;
    }
    expect(state).toEqual(initialSearchState());
  });

  test('after stallAfter experiments without a keep it branches from the nearest miss, for branchLength experiments, then back to the best', () => {
    let state = initialSearchState();
    const froms: (number | undefined)[] = [];
    // 1..3 stall (3 is the nearest miss); 4 and 5 are the branch; 6..8 stall again; 9, 10 branch from the next nearest miss, 1.
    const values = [1.02, 1.05, 1.01, 1.03, 1.04, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7];
    values.forEach((v, i) => {
      const s = step(tree, state, i + 1, v);
      froms.push(s.from);
      state = s.state;
    });
    expect(froms).toEqual([undefined, undefined, undefined, 3, 3, undefined, undefined, undefined, 1, 1, undefined]);
    expect(state.branched).toEqual([3, 1]);
  });

  test("inside a branch the next experiment starts from the branch's best node", () => {
    const config = { ...tree, branchLength: 3 };
    let state = initialSearchState();
    for (const [n, v] of [[1, 1.1], [2, 1.2], [3, 1.3]]) state = step(config, state, n, v).state;
    expect(state.branch?.root.experiment).toBe(1);
    const a = step(config, state, 4, 1.05); // better than its root: the branch's best
    expect(a.from).toBe(1);
    const b = step(config, a.state, 5, 1.5);
    expect(b.from).toBe(4);
    expect(step(config, b.state, 6, 1.5).from).toBe(4);
  });

  test('a keep ends the branch and the stall count; a crash counts as no keep and is never a node', () => {
    let state = initialSearchState();
    for (const [n, v] of [[1, 1.1], [2, 1.2]]) state = step(tree, state, n, v).state;
    state = step(tree, state, 3, 0, 'crash').state;
    expect(state.branch?.root.experiment).toBe(1);
    expect(state.candidates.map((c) => c.experiment)).toEqual([1, 2]);
    const kept = step(tree, state, 4, 0.9, 'keep');
    expect(kept.from).toBe(1);
    expect(kept.state.branch).toBeUndefined();
    expect(kept.state.sinceKeep).toBe(0);
    expect(step(tree, kept.state, 5, 1).from).toBeUndefined();
  });

  test('with lanes, a branch ends when its experiments have all finished', () => {
    let state = initialSearchState();
    for (const [n, v] of [[1, 1.1], [2, 1.2], [3, 1.3]]) state = step(tree, state, n, v).state;
    const a = startNode(tree, state, 4);
    const b = startNode(tree, a.state, 5);
    const c = startNode(tree, b.state, 6);
    expect([a.node?.experiment, b.node?.experiment, c.node]).toEqual([1, 1, undefined]);
    let s = afterResult(tree, c.state, result(5, 1.0));
    expect(s.branch?.best.experiment).toBe(5);
    s = afterResult(tree, s, result(6, 1.4));
    expect(s.branch).toBeDefined();
    s = afterResult(tree, s, result(4, 1.0));
    expect(s.branch).toBeUndefined();
  });

  test('every node is branched from once; with none left the stall count starts again', () => {
    let state = initialSearchState();
    for (let n = 1; n <= 12; n++) state = step({ ...tree, stallAfter: 1, branchLength: 1 }, state, n, 1 + n / 100).state;
    expect(new Set(state.branched).size).toBe(state.branched.length);
  });

  test('the settings: "greedy" by default, "tree" with its defaults', () => {
    expect(SearchSchema.parse(undefined)).toEqual({ kind: 'greedy', stallAfter: 8, branchLength: 6 });
    expect(SearchSchema.parse('tree')).toEqual({ kind: 'tree', stallAfter: 8, branchLength: 6 });
    expect(SearchSchema.parse({ stallAfter: 4 })).toEqual({ kind: 'tree', stallAfter: 4, branchLength: 6 });
  });

  test('the run input: "greedy" by default, "tree" with its settings; settings checked naming the field', () => {
    const parse = (search: unknown) => parseRunInput({ tag: 't', search });
    expect(parse(undefined)).toMatchObject({ ok: true, config: { search: { kind: 'greedy' } } });
    expect(parse('tree')).toMatchObject({ ok: true, config: { search: { kind: 'tree', stallAfter: 8, branchLength: 6 } } });
    expect(parse({ kind: 'tree', stallAfter: 3, branchLength: 2 })).toMatchObject({ ok: true, config: { search: { kind: 'tree', stallAfter: 3, branchLength: 2 } } });
    expect(parse({ stallAfter: 0 })).toEqual({ ok: false, error: expect.stringContaining('search.stallAfter: must be ≥ 1') });
    expect(parse({ branchLength: 1.5 })).toEqual({ ok: false, error: expect.stringContaining('search.branchLength: must be a whole number') });
    expect(parse('beam')).toEqual({ ok: false, error: expect.stringContaining('search.kind:') });
    expect(parse({ width: 2 })).toEqual({ ok: false, error: expect.stringContaining('search.width: unknown field') });
  });
});
