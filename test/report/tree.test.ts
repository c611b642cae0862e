import { parseResults, type ResultRow } from '../../src/core/resultsTsv.js';
import { renderReport } from '../../src/report/render.js';
import { buildTree, treeLines } from '../../src/report/tree.js';

const row = (n: number, status: ResultRow['status'], valBpb: number, parent?: number): ResultRow => ({
  commit: `c${n}`, valBpb, memoryGb: 1, status, description: `change ${n}`, experimentId: `run/exp-${String(n).padStart(4, '0')}`, parent,
});

// The deceptive run of test/workflow/treeSearch.test.ts, with one more discard under the branch's keep.
const TREE = [row(0, 'keep', 1.0), row(1, 'keep', 0.95, 0), row(2, 'discard', 1.06, 1), row(3, 'discard', 1.12, 1), row(4, 'keep', 0.81, 2), row(5, 'discard', 0.9, 4)];

describe('the tree of experiments', () => {
  test('every experiment under its parent; the best\'s line of descent from the root', () => {
    const tree = buildTree(TREE)!;
    expect(tree.roots.map((r) => r.experiment)).toEqual([0]);
    const one = tree.roots[0].children[0];
    expect(one.children.map((c) => c.experiment)).toEqual([2, 3]);
    expect(one.children[0].children.map((c) => c.experiment)).toEqual([4]);
    expect(tree.bestPath).toEqual([0, 1, 2, 4]);
  });

  test('the spine printed flat and bold, through the discarded node the best grew from; the rest indented under their parents', () => {
    const plain = treeLines(buildTree(TREE)!).map((l) => l.replace(/(\S) {2,}/g, '$1 '));
    expect(plain).toEqual([
      '<strong>exp-0000 keep 1.000000 change 0</strong>',
      '<strong>exp-0001 keep 0.950000 change 1</strong>',
      '  └─ exp-0003 discard 1.120000 change 3',
      '<strong>exp-0002 discard 1.060000 change 2</strong>',
      '<strong>exp-0004 keep 0.810000 change 4 ★ best</strong>',
      '  └─ exp-0005 discard 0.900000 change 5',
    ]);
  });

  test('greedy: the keeps are the spine, each discard a leaf of the best it started from; a crash has no value', () => {
    const rows = [row(0, 'keep', 1.0), row(1, 'discard', 1.1, 0), row(2, 'crash', 0, 0), row(3, 'keep', 0.9, 0), row(4, 'discard', 0.95, 3)];
    const lines = treeLines(buildTree(rows)!);
    expect(lines.filter((l) => l.startsWith('<strong>')).map((l) => l.slice(8, 17))).toEqual(['exp-0000 ', 'exp-0003 ']);
    expect(lines[1]).toMatch(/^ {2}├─ exp-0001/);
    expect(lines[2]).toMatch(/^ {2}└─ exp-0002 {2}crash {4}— /);
    expect(lines[4]).toMatch(/^ {2}└─ exp-0004/);
  });

  test('files without the parent column have no tree, and the page no section', () => {
    const old = parseResults('commit\tval_bpb\tmemory_gb\tstatus\tdescription\texperiment_id\na\t1.0\t1\tkeep\tbaseline\tr/exp-0000\nb\t0.9\t1\tkeep\tx\tr/exp-0001\n');
    expect(buildTree(old)).toBeUndefined();
    expect(renderReport(old, { tag: 'r' })).not.toContain('id="tree"');
    expect(renderReport(TREE, { tag: 'r' })).toContain('<section id="tree">');
  });
});
