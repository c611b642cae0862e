/**
 * The journal of a repository: one record per experiment of every run on its git remote, and the
 * key that says when two experiments trained the same code. Pure: the activities read and write it.
 */
import { z } from 'zod';
import { EXPERIMENT_STATUSES } from './results.js';
import { experimentName } from './names.js';

/**
 * Where the journal lives on the remote: a commit chain whose tree holds one file per record. A tag
 * starts with a letter or digit, so no run's refs (`refs/autoresearch/<tag>/…`) can collide with it.
 */
export const JOURNAL_REF = 'refs/autoresearch/_journal';

/** What makes a result mean something beyond the code: two runs with different settings measure different things. */
export const TrainerSettingsSchema = z.object({
  budgetKind: z.enum(['seconds', 'tokens']),
  budget: z.number().positive(),
  command: z.string(),
  /** Who computed the score: the harness, or the trainer itself. */
  evaluation: z.enum(['harness', 'trainer']),
  /** The data the trainer reads: trainer.env's AUTORESEARCH_DATA, else the worker's default cache. */
  data: z.string(),
  /** The rest of trainer.env, `K=V` sorted: an input of the trainer like the data. */
  env: z.array(z.string()),
}).strict();
export type TrainerSettings = z.infer<typeof TrainerSettingsSchema>;

export const JournalRecordSchema = z.object({
  tag: z.string().min(1),
  /** `<workflow id>/exp-NNNN`. */
  experimentId: z.string().min(1),
  experiment: z.number().int().nonnegative(),
  /** The commit the experiment started from ('' when unknown). */
  parentCommit: z.string(),
  /** The experiment's commit ('' for an invalid proposal that was never committed). */
  commit: z.string(),
  /** sha256 of the editable files after the edit ('' when there was no commit to read). */
  contentHash: z.string(),
  description: z.string(),
  hypothesis: z.string(),
  status: z.enum(EXPERIMENT_STATUSES),
  /** 0 for crash and invalid records. */
  valBpb: z.number(),
  delta: z.number().optional(),
  sigma: z.number().optional(),
  confirmations: z.number().int().nonnegative(),
  reason: z.string(),
  lane: z.string(),
  /** When it was recorded, ISO 8601. */
  time: z.string(),
  /** Absent for a record imported from a results.tsv written before the journal: its settings are unknown. */
  settings: TrainerSettingsSchema.optional(),
  /** The constants and functions its diff changed, for condensing the prompt. */
  touched: z.array(z.string()),
  /** Proposals refused before this one because their code had been measured already. */
  refusals: z.number().int().nonnegative(),
  /** The run's first experiment: the code it started from, measured again on purpose (never refused). */
  baseline: z.boolean(),
  /** Imported from results.tsv, as far as its columns allow. */
  imported: z.boolean().optional(),
});
export type JournalRecord = z.infer<typeof JournalRecordSchema>;

/** The trainer settings of a run's config. */
export function settingsOf(trainer: { timeBudgetSeconds: number; tokenBudget?: number; command: string; evaluation: 'harness' | 'trainer';
  env: Record<string, string> }): TrainerSettings {
  const { AUTORESEARCH_DATA: data, ...rest } = trainer.env;
  return {
    budgetKind: trainer.tokenBudget ? 'tokens' : 'seconds',
    budget: trainer.tokenBudget ?? trainer.timeBudgetSeconds,
    command: trainer.command.trim().replace(/\s+/g, ' '),
    evaluation: trainer.evaluation,
    data: data ?? '(default data cache)',
    env: Object.entries(rest).map(([k, v]) => `${k}=${v}`).sort(),
  };
}

/** "Same code": the editable files' content hash with the settings. */
export function contentKey(contentHash: string, settings: TrainerSettings): string {
  const s = settings;
  return JSON.stringify([contentHash, s.budgetKind, s.budget, s.command, s.evaluation, s.data, s.env]);
}

/** Statuses of code that was trained: it is not trained again. */
export const TRAINED: readonly JournalRecord['status'][] = ['keep', 'discard', 'crash'];

/**
 * The first trained record of each content key. A crash counts: the trainer ran that code and it
 * failed (an experiment lost past its retries has no commit, and is not in it). Imported records
 * have no settings and are not in it either.
 */
export function measuredIndex(records: readonly JournalRecord[]): Map<string, JournalRecord> {
  const index = new Map<string, JournalRecord>();
  for (const r of records) {
    if (!r.settings || !r.contentHash || !TRAINED.includes(r.status)) continue;
    const key = contentKey(r.contentHash, r.settings);
    if (!index.has(key)) index.set(key, r);
  }
  return index;
}

/** `exp-0042 of run nov23: val_bpb 0.991200, discard`. */
export function describeRecord(r: Pick<JournalRecord, 'experiment' | 'tag' | 'valBpb' | 'status'>): string {
  const value = r.status === 'keep' || r.status === 'discard' ? `val_bpb ${r.valBpb.toFixed(6)}, ` : '';
  return `${experimentName(r.experiment)} of run ${r.tag}: ${value}${r.status}`;
}

/** The mark a refused repeat's failure carries (its details' second item), so the run can count it. */
export const ALREADY_MEASURED = 'AlreadyMeasured';

/** What the proposer is told when its proposal's code has been measured already. */
export function alreadyMeasuredMessage(earlier: JournalRecord): string {
  return `already measured as ${describeRecord(earlier)} (${earlier.description}); this exact code is not trained again. ` +
    'Propose a change that has not been measured yet.';
}

/**
 * The records a run's memory holds: its own always; an earlier run's when `memory` is on and
 * `memoryFrom` (absent: every tag) names it. Ordered by time, then tag and experiment.
 */
export function recordsInMemory(records: readonly JournalRecord[], run: { tag: string; memory?: boolean; memoryFrom?: string[] }): JournalRecord[] {
  const from = run.memoryFrom ? new Set(run.memoryFrom) : undefined;
  return records
    .filter((r) => r.tag === run.tag || (run.memory !== false && (!from || from.has(r.tag))))
    .sort(byTime);
}

export function byTime(a: JournalRecord, b: JournalRecord): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : a.experiment - b.experiment;
}

/** A record's file in the journal's tree: `<tag>/<bucket of 100>/exp-NNNN-<id hash>.json`, unique per tag and experiment id. */
export function recordPath(r: Pick<JournalRecord, 'tag' | 'experiment' | 'experimentId'>): string {
  const bucket = Math.floor(r.experiment / 100);
  return `${r.tag}/${String(bucket).padStart(4, '0')}/${experimentName(r.experiment)}-${fnv1a(r.experimentId)}.json`;
}

/** One record as its file: JSON with every non-ASCII character escaped, so its byte size is its length. */
export function formatRecord(r: JournalRecord): string {
  return JSON.stringify(JournalRecordSchema.parse(r)).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) + '\n';
}

export function parseRecord(text: string): JournalRecord {
  return JournalRecordSchema.parse(JSON.parse(text));
}

/** A short stable hash (FNV-1a, 32 bits, hex): names, never security. */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** The constants (`NAME = …`) and functions (`def name`) a unified diff with `-U0` touched, at most `max`. */
export function touchedNames(diff: string, max = 4): string[] {
  const names: string[] = [];
  const add = (n: string | undefined) => {
    if (n && !names.includes(n) && names.length < max) names.push(n);
  };
  for (const line of diff.split('\n')) {
    if (line.startsWith('@@')) add(/@@.*@@\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)/.exec(line)?.[1]);
    else if (/^[+-](?![+-]{2} )/.test(line)) {
      add(/^[+-]\s*([A-Z][A-Z0-9_]*)\s*(?::[^=]*)?=(?!=)/.exec(line)?.[1] ?? /^[+-]\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)/.exec(line)?.[1]);
    }
  }
  return names;
}

/** One run of the repository as the journal knows it: for the CLI and the report. */
export interface JournalRun {
  tag: string;
  experiments: number;
  counts: Record<JournalRecord['status'], number>;
  best?: JournalRecord;
  /** Proposals refused because their code was measured already. */
  refusals: number;
  imported: boolean;
}

/** The runs in the order they first appear in `records`. */
export function summarizeRuns(records: readonly JournalRecord[]): JournalRun[] {
  const runs = new Map<string, JournalRun>();
  for (const r of records) {
    let run = runs.get(r.tag);
    if (!run) runs.set(r.tag, run = { tag: r.tag, experiments: 0, counts: { keep: 0, discard: 0, crash: 0, invalid: 0 }, refusals: 0, imported: false });
    run.experiments++;
    run.counts[r.status]++;
    run.refusals += r.refusals;
    run.imported ||= r.imported === true;
    if (r.status === 'keep' && r.valBpb > 0 && (!run.best || r.valBpb < run.best.valBpb)) run.best = r;
  }
  return [...runs.values()];
}
