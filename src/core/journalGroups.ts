/**
 * The journal's records as lines of the proposer's prompt: one experiment, a kept change in full,
 * a group of experiments with the same code, or a condensed group of those that changed the same
 * constant or function. Pure.
 */
import { contentKey, type JournalRecord } from './journal.js';

/** A line (or two) of the prompt and the records it stands for. */
export interface Item {
  text: string;
  records: JournalRecord[];
}

const hasMetric = (r: JournalRecord) => r.status === 'keep' || r.status === 'discard';
const clip = (s: string, max: number) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};
const signed = (d: number) => `${d >= 0 ? '+' : ''}${d.toFixed(6)}`;

/** `#12 discard 1.012345 Δ -0.001200 · LR: 0.04 -> 0.05`: one experiment of this run. */
export function experimentLine(r: JournalRecord): Item {
  const metric = hasMetric(r) ? ` ${r.valBpb.toFixed(6)}${r.delta !== undefined ? ` Δ ${signed(r.delta)}` : ''}` : '';
  const reason = r.status === 'crash' || r.status === 'invalid' ? ` (${clip(r.reason || 'no reason recorded', 100)})` : '';
  return { text: `#${r.experiment} ${r.status}${metric} · ${clip(r.description, 160)}${reason}`, records: [r] };
}

/** A kept change with what it measured and why it was tried; `hypothesisChars` 0 leaves the hypothesis out. */
export function keptItem(r: JournalRecord, hypothesisChars: number): Item {
  const extras = [r.delta !== undefined ? `Δ ${signed(r.delta)}` : '', r.sigma ? `σ ${r.sigma.toFixed(6)}` : '',
    r.confirmations ? `${r.confirmations} confirmation${r.confirmations === 1 ? '' : 's'}` : ''].filter(Boolean).join(', ');
  const head = `- ${r.tag} #${r.experiment}${r.baseline ? ' (baseline)' : ''}: val_bpb ${r.valBpb.toFixed(6)}${extras ? ` (${extras})` : ''}: ${clip(r.description, 300)}`;
  const why = hypothesisChars > 0 && !r.baseline && r.hypothesis.trim() ? `\n  hypothesis: ${clip(r.hypothesis, hypothesisChars)}` : '';
  return { text: head + why, records: [r] };
}

/** The key records share when they trained the same code (an invalid or uncommitted record shares none). */
function sameCodeKey(r: JournalRecord): string {
  if (!r.contentHash) return r.status === 'invalid' ? 'invalid' : 'no-commit';
  return r.settings ? contentKey(r.contentHash, r.settings) : `imported:${r.contentHash}`;
}

/** Records with the same code as one line each, with the count of each outcome; first seen first. */
export function groupBySameCode(records: readonly JournalRecord[], members: MemberStyle): Item[] {
  return [...groupBy(records, sameCodeKey).entries()].map(([key, group]) => {
    const subject = key === 'invalid' ? 'proposals that never applied' : key === 'no-commit' ? 'lost before their commit'
      : clip(group[0].description, 160);
    return { text: `- ${outcomes(group)}: ${memberList(group, members)} · ${subject}`, records: group };
  });
}

/** What a condensed group is named by: the constants and functions its diffs touched. */
export function targetOf(r: JournalRecord): string {
  if (r.touched.length) return [...r.touched].sort().join(' + ');
  const named = /^([A-Z][A-Z0-9_]*)\s*[:=]/.exec(r.description)?.[1]; // the offline proposer's `NAME: a -> b`
  if (named) return named;
  return r.status === 'invalid' ? '(never applied)' : '(other changes)';
}

/** Records condensed by what they changed: one line per constant or function, largest first. */
export function groupByTarget(records: readonly JournalRecord[], members: MemberStyle): Item[] {
  return [...groupBy(records, targetOf).entries()]
    .sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1))
    .map(([target, group]) => ({ text: `- ${target}: ${outcomes(group)}: ${memberList(group, members)}`, records: group }));
}

/** `discard ×2, crash ×1, best val_bpb 1.012000` (or `discard` alone). */
function outcomes(group: JournalRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of group) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const text = [...counts].map(([status, n]) => (group.length === 1 ? status : `${status} ×${n}`)).join(', ');
  const measured = group.filter(hasMetric);
  const best = measured.length ? Math.min(...measured.map((r) => r.valBpb)) : undefined;
  return best === undefined ? text : `${text}, ${measured.length === 1 ? '' : 'best '}val_bpb ${best.toFixed(6)}`;
}

/** How a group names its members: every experiment number, or only how many per run. */
export type MemberStyle = 'numbers' | 'counts';

/** `nov23 #4 #7-9, nov24 #2` or `nov23: 4, nov24: 1`. */
export function memberList(group: JournalRecord[], style: MemberStyle): string {
  return [...groupBy(group, (r) => r.tag)].map(([tag, rs]) =>
    style === 'counts' ? `${tag}: ${rs.length}` : `${tag} ${ranges(rs.map((r) => r.experiment))}`).join(', ');
}

/** `#4 #7-9`: numbers ascending, consecutive ones as a range. */
export function ranges(numbers: number[]): string {
  const sorted = [...new Set(numbers)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(j > i ? `#${sorted[i]}-${sorted[j]}` : `#${sorted[i]}`);
    i = j + 1;
  }
  return out.join(' ');
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
