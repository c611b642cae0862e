/**
 * The report's tree of experiments, by parent (results.tsv's `parent` column): every experiment
 * under the one its code started from. The line of descent of the best (the latest keep, the
 * branch's tip) is the spine, printed flat and bold; each other child hangs under its parent,
 * indented. Under greedy search the spine is the keeps and the rest are leaves; a tree search's
 * branches show as indented subtrees. Pure.
 */
import { bestOf, type ExperimentStatus } from '../core/results.js';
import type { ResultRow } from '../core/resultsTsv.js';
import { escapeHtml, formatBpb, truncate } from './html.js';

export interface TreeNode {
  experiment: number;
  row: ResultRow;
  children: TreeNode[];
}

export interface ExperimentTree {
  /** Experiments without a known parent (a baseline, a row from before the column), in file order. */
  roots: TreeNode[];
  /** The best's line of descent, root first; empty when nothing is kept. */
  bestPath: number[];
}

const numberOf = (row: ResultRow) => {
  const m = /exp-(\d+)$/.exec(row.experimentId ?? '');
  return m ? Number(m[1]) : undefined;
};

/** The tree of `rows`, or undefined when they do not say their parents (the original's files, older runs). */
export function buildTree(rows: readonly ResultRow[]): ExperimentTree | undefined {
  if (!rows.some((r) => r.parent !== undefined)) return undefined;
  const nodes = new Map<number, TreeNode>();
  for (const row of rows) {
    const n = numberOf(row);
    if (n !== undefined && !nodes.has(n)) nodes.set(n, { experiment: n, row, children: [] });
  }
  const roots: TreeNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.row.parent === undefined ? undefined : nodes.get(node.row.parent);
    (parent && parent !== node ? parent.children : roots).push(node);
  }
  const bestPath: number[] = [];
  const best = bestOf(rows);
  const seen = new Set<number>();
  for (let n = best && numberOf(best); n !== undefined && nodes.has(n) && !seen.has(n); n = nodes.get(n)!.row.parent) {
    seen.add(n);
    bestPath.unshift(n);
  }
  return { roots, bestPath };
}

const STATUS_WIDTH = 7;

function label(node: TreeNode, best: boolean): string {
  const { row } = node;
  const value = row.status === 'keep' || row.status === 'discard' ? formatBpb(row.valBpb) : '—'.padEnd(8);
  const name = `exp-${String(node.experiment).padStart(4, '0')}`;
  return `${name}  ${(row.status as ExperimentStatus).padEnd(STATUS_WIDTH)}  ${value}  ${escapeHtml(truncate(row.description, 70))}${best ? '  ★ best' : ''}`;
}

/** The tree as lines of text (HTML-escaped; the spine's lines in <strong>). */
export function treeLines(tree: ExperimentTree): string[] {
  const spine = new Set(tree.bestPath);
  const bestNode = tree.bestPath.at(-1);
  const lines: string[] = [];
  const subtree = (node: TreeNode, prefix: string, last: boolean) => {
    lines.push(`${prefix}${last ? '└─ ' : '├─ '}${label(node, false)}`);
    node.children.forEach((c, i) => subtree(c, `${prefix}${last ? '   ' : '│  '}`, i === node.children.length - 1));
  };
  const hang = (nodes: TreeNode[]) => nodes.forEach((c, i) => subtree(c, '  ', i === nodes.length - 1));
  for (const root of tree.roots) {
    if (!spine.has(root.experiment)) {
      lines.push(label(root, false));
      hang(root.children);
      continue;
    }
    // Down the spine: each bold line is the child of the bold line above it.
    for (let node: TreeNode | undefined = root; node;) {
      lines.push(`<strong>${label(node, node.experiment === bestNode)}</strong>`);
      const next: TreeNode | undefined = node.children.find((c) => spine.has(c.experiment));
      hang(node.children.filter((c) => c !== next));
      node = next;
    }
  }
  return lines;
}

/** The report's section, or '' when the rows say no parents. */
export function treeSection(rows: readonly ResultRow[]): string {
  const tree = buildTree(rows);
  if (!tree) return '';
  return `<section id="tree">
<h2>Tree of experiments</h2>
<p>Each experiment under the one its code started from. Bold: the line of descent of the best, each from the bold line above it; indented: the other children of the line above, and theirs.</p>
<pre>${treeLines(tree).join('\n')}</pre>
</section>`;
}
