/**
 * The optimizer's trials, read back from the journal: each trained record is a trial whose values
 * are the searched constants of the code it trained. A record holds what changed (`NAME: old -> new`
 * in its description, or the full list on the `constants:` line of its hypothesis) and the commit it
 * started from, so the values of every record follow from the code at the best commit: back along
 * the kept commits to the start, then forward through every record. Pure.
 */
import { byTime, type JournalRecord } from '../core/journal.js';
import type { Trial } from './optimizerProtocol.js';

export interface Change {
  name: string;
  from: string;
  to: string;
}

/** The hypothesis line that lists every constant a proposal changed (the optimizer writes it, the hybrid adds it to an LLM's). */
export const CONSTANTS_LINE = 'constants: ';

const NUMBER = '[+-]?(?:\\d[\\d_]*\\.?[\\d_]*|\\.\\d[\\d_]*)(?:[eE][+-]?\\d+)?';
const CHANGE = new RegExp(`\\b([A-Z][A-Z0-9_]*): (${NUMBER}) -> (${NUMBER})(?![\\w.])`, 'g');

export function formatChanges(changes: readonly Change[]): string {
  return changes.map((c) => `${c.name}: ${c.from} -> ${c.to}`).join(', ');
}

/** The numeric constant changes a record states: its hypothesis's `constants:` line when it has one, else its description's. */
export function changesOf(r: Pick<JournalRecord, 'description' | 'hypothesis'>): Change[] {
  const line = r.hypothesis.split('\n').find((l) => l.startsWith(CONSTANTS_LINE));
  const text = line ?? r.description;
  return [...text.matchAll(CHANGE)].map((m) => ({ name: m[1], from: m[2], to: m[3] }));
}

type Values = Record<string, number | undefined>;

const num = (literal: string) => Number(literal.replace(/_/g, ''));

type Stated = Pick<JournalRecord, 'description' | 'hypothesis' | 'touched'>;

/**
 * One record's stated changes applied to a commit's values: `to` gives the child's from the
 * parent's, `from` the parent's from the child's. A searched constant its diff touched without
 * saying to what is unknown either way.
 */
function across(values: Values, r: Stated, side: 'to' | 'from'): Values {
  const out = { ...values };
  const changes = changesOf(r);
  for (const name of r.touched) if (name in out && !changes.some((c) => c.name === name)) out[name] = undefined;
  for (const c of changes) if (c.name in out) out[c.name] = num(c[side]);
  return out;
}
const forward = (parent: Values, r: Stated) => across(parent, r, 'to');
const backward = (child: Values, r: Stated) => across(child, r, 'from');

export interface History {
  /** The trials, in the journal's order (time, tag, experiment). */
  trials: Trial[];
  /** The values at this run's start (its baseline), when known. */
  start?: Record<string, number>;
}

function complete(v: Values, names: readonly string[]): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const n of names) {
    const x = v[n];
    if (x === undefined || !Number.isFinite(x)) return undefined;
    out[n] = x;
  }
  return out;
}

/**
 * The trials of the records in `records` that count: this run's, and earlier runs' trained under
 * the same settings. `current` holds the searched constants' values at `bestCommit`.
 */
export function trialsOf(input: {
  records: readonly JournalRecord[];
  tag: string;
  names: readonly string[];
  current: Record<string, number>;
  bestCommit?: string;
}): History {
  const own = input.records.find((r) => r.tag === input.tag && r.settings);
  const sameSettings = (r: JournalRecord) =>
    r.tag === input.tag || (!!own?.settings && !!r.settings && JSON.stringify(r.settings) === JSON.stringify(own.settings));
  // In the journal's order whatever order they came in: the same journal makes the same study.
  const records = input.records.filter((r) => r.commit !== '' && sameSettings(r)).sort(byTime);
  // The record that made a commit (a baseline re-measures its start: the record that made that commit comes first).
  const madeBy = new Map<string, JournalRecord>();
  for (const r of records) if (!r.baseline && !madeBy.has(r.commit)) madeBy.set(r.commit, r);

  const start: Values = Object.fromEntries(input.names.map((n) => [n, input.current[n]]));
  const known = new Map<string, Values>();
  if (input.bestCommit) known.set(input.bestCommit, start);
  // Back from every commit whose values are known, along the records that made them.
  const queue = [...known.keys()];
  while (queue.length) {
    const commit = queue.shift()!;
    const r = madeBy.get(commit);
    if (!r || !r.parentCommit || known.has(r.parentCommit)) continue;
    known.set(r.parentCommit, backward(known.get(commit)!, r));
    queue.push(r.parentCommit);
  }
  // Forward through every record, oldest first, until nothing more resolves.
  const values = new Map<JournalRecord, Values>();
  for (let progress = true; progress;) {
    progress = false;
    for (const r of records) {
      if (values.has(r)) continue;
      const v = known.get(r.commit) ?? (known.has(r.parentCommit) ? forward(known.get(r.parentCommit)!, r) : undefined);
      if (!v) continue;
      values.set(r, v);
      if (!known.has(r.commit)) known.set(r.commit, v);
      progress = true;
    }
  }

  const trials: Trial[] = [];
  for (const r of records) {
    const v = values.get(r);
    const params = v && complete(v, input.names);
    if (!params || r.status === 'invalid') continue;
    const ok = r.status === 'keep' || r.status === 'discard';
    trials.push({ params, value: ok ? r.valBpb : null, state: ok ? 'complete' : 'fail' });
  }
  const baseline = records.find((r) => r.tag === input.tag && r.baseline) ?? records.find((r) => r.tag === input.tag);
  const startValues = baseline && values.get(baseline);
  return { trials, start: startValues && complete(startValues, input.names) };
}

/** Experiments running now on other lanes: running trials, from the best's values and their stated changes. */
export function runningTrials(running: readonly { description?: string; hypothesis?: string }[], names: readonly string[],
  current: Record<string, number>): Trial[] {
  return running.flatMap((e) => {
    const v = forward(Object.fromEntries(names.map((n) => [n, current[n]])), { description: e.description ?? '', hypothesis: e.hypothesis ?? '', touched: [] });
    const params = complete(v, names);
    return params && e.description ? [{ params, value: null, state: 'running' as const }] : [];
  });
}
