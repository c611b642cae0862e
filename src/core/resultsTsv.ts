/**
 * results.tsv: the original's five columns first; ours follow and never replace them. The one
 * place a row is written (formatResultsRow) and read back (parseResults). The reader takes our
 * files and the original autoresearch's: the five original columns, found by header name, and,
 * where present, ours: experiment_id, the keep decision's inputs (delta, sigma, confirmations,
 * steps, tokens, reason) and the parent experiment. Older files without them still parse; other columns are ignored.
 */
import { z } from 'zod';
import { EXPERIMENT_STATUSES, oneLine, wasTrained, type ExperimentRecord } from './results.js';

const RESULTS_COLUMNS = [
  'commit', 'val_bpb', 'memory_gb', 'status', 'description', 'cost_usd', 'experiment_id', 'lane', 'delta', 'sigma', 'confirmations', 'steps',
  'tokens', 'reason', 'parent',
] as const;
/** The columns every results.tsv has, ours and the original's. */
const ORIGINAL_COLUMNS = RESULTS_COLUMNS.slice(0, 5);
export const RESULTS_HEADER = `${RESULTS_COLUMNS.join('\t')}\n`;

export function formatResultsRow(r: ExperimentRecord): string {
  const trained = wasTrained(r);
  return [
    r.commit || '-',
    (trained ? r.valBpb : 0).toFixed(6),
    (trained ? r.memoryGb : 0).toFixed(1),
    r.status,
    oneLine(r.description),
    r.costUsd.toFixed(4),
    r.experimentId,
    r.lane ?? '-',
    r.delta === undefined ? '-' : r.delta.toFixed(6),
    r.sigma === undefined ? '-' : r.sigma.toFixed(6),
    String(r.extraRuns ?? 0),
    r.steps === undefined ? '-' : String(r.steps),
    r.tokens === undefined ? '-' : String(r.tokens),
    oneLine(r.reason ?? '').slice(0, 300),
    r.parent === undefined ? '-' : String(r.parent),
  ].join('\t') + '\n';
}

type Column = (typeof RESULTS_COLUMNS)[number];

/** Row field → results.tsv column name: the original's five, every file has them. */
const REQUIRED_COLUMN_OF = {
  commit: 'commit',
  valBpb: 'val_bpb',
  memoryGb: 'memory_gb',
  status: 'status',
  description: 'description',
} as const satisfies Record<string, (typeof ORIGINAL_COLUMNS)[number]>;

/** Row field → our column name: read when the header has it. */
const OPTIONAL_COLUMN_OF = {
  experimentId: 'experiment_id',
  delta: 'delta',
  sigma: 'sigma',
  extraRuns: 'confirmations',
  steps: 'steps',
  tokens: 'tokens',
  reason: 'reason',
  parent: 'parent',
} as const satisfies Record<string, Column>;

const COLUMN_OF = { ...REQUIRED_COLUMN_OF, ...OPTIONAL_COLUMN_OF };

const decimal = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'expected a non-negative decimal number')
  .transform(Number);

/** Our numeric columns write '-' (or nothing) when the value is unknown. */
const unknownAsUndefined = (cell: unknown) => (cell === '-' || cell === '' ? undefined : cell);
const optional = <T extends z.ZodTypeAny>(schema: T) => z.preprocess(unknownAsUndefined, schema.optional());
const signedDecimal = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, 'expected a decimal number')
  .transform(Number);
const count = z
  .string()
  .regex(/^\d+$/, 'expected a whole number')
  .transform(Number);

const ResultRowSchema = z.object({
  /** Short hash; '' for an invalid proposal that was never committed. */
  commit: z.string().regex(/^\S*$/, 'must not contain spaces'),
  /** 0 for crash and invalid rows. */
  valBpb: decimal,
  /** Peak memory in GB; 0 for crash and invalid rows. */
  memoryGb: decimal,
  status: z.enum(EXPERIMENT_STATUSES),
  description: z.string(),
  /** Ours only: `<run>/exp-NNNN`. */
  experimentId: z.string().optional(),
  /** Ours only: the incumbent's mean − this experiment's mean val_bpb, bpb (positive = better). */
  delta: optional(signedDecimal),
  /** Ours only: σ of one training run as the keep decision saw it, bpb; 0 under the greedy rule (no estimate). */
  sigma: optional(decimal),
  /** Ours only: runs of this experiment beyond its first that the keep rule asked for (the `confirmations` column). */
  extraRuns: optional(count),
  /** Ours only: the latest run's training steps and tokens. */
  steps: optional(count),
  tokens: optional(count),
  /** Ours only: why it was kept, discarded or crashed, in words. */
  reason: z.preprocess(unknownAsUndefined, z.string().optional()),
  /** Ours only: the experiment number its code started from ('-' for a baseline). */
  parent: optional(count),
});
export type ResultRow = z.infer<typeof ResultRowSchema>;

/** A results.tsv that cannot be read; `line` is 1-based. */
export class ResultsParseError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`results.tsv line ${line}: ${reason}`);
    this.name = 'ResultsParseError';
  }
}

export function parseResults(text: string): ResultRow[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const header = lines[0].split('\t').map((name) => name.trim());
  const missing = ORIGINAL_COLUMNS.filter((name) => !header.includes(name));
  if (missing.length > 0) {
    throw new ResultsParseError(1, `header lacks column(s) ${missing.join(', ')} (a results.tsv starts with: ${ORIGINAL_COLUMNS.join(', ')})`);
  }
  const required = Object.entries(REQUIRED_COLUMN_OF).map(([field, column]) => [field, header.indexOf(column)] as const);
  const present = Object.entries(OPTIONAL_COLUMN_OF)
    .map(([field, column]) => [field, header.indexOf(column)] as const)
    .filter(([, index]) => index >= 0);
  const needed = Math.max(...required.map(([, index]) => index)) + 1;

  const rows: ResultRow[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const lineNumber = i + 2;
    const cells = line.split('\t');
    if (cells.length < needed) {
      throw new ResultsParseError(lineNumber, `${cells.length} tab-separated field(s), expected at least ${needed}`);
    }
    // A row may stop short of our trailing columns (an editor that trims trailing tabs): those are unknown.
    const raw: Record<string, string | undefined> = Object.fromEntries(
      [...required, ...present].map(([field, index]) => [field, cells[index]?.trim()]),
    );
    const parsed = ResultRowSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = String(issue.path[0]) as keyof typeof COLUMN_OF;
      throw new ResultsParseError(lineNumber, `${COLUMN_OF[field]}: ${issue.message} (got ${JSON.stringify(raw[field])})`);
    }
    rows.push(parsed.data);
  });
  return rows;
}

