/**
 * results.tsv → rows. Pure; the one place the file's text is read back.
 * Reads our files and the original autoresearch's: the five original columns, found by header name,
 * and our experiment_id where present; other columns are ignored.
 */
import { z } from 'zod';
import { EXPERIMENT_STATUSES, ORIGINAL_COLUMNS, type RESULTS_COLUMNS } from '../definitions.js';

/** Row field → results.tsv column name. */
const COLUMN_OF = {
  commit: 'commit',
  valBpb: 'val_bpb',
  memoryGb: 'memory_gb',
  status: 'status',
  description: 'description',
} as const satisfies Record<string, (typeof ORIGINAL_COLUMNS)[number]>;
const EXPERIMENT_ID: (typeof RESULTS_COLUMNS)[number] = 'experiment_id';

const decimal = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'expected a non-negative decimal number')
  .transform(Number);

export const ResultRowSchema = z.object({
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
});
export type ResultRow = z.infer<typeof ResultRowSchema>;
export type ResultStatus = ResultRow['status'];

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
  const idColumn = header.indexOf(EXPERIMENT_ID);
  const fields = Object.entries(COLUMN_OF).map(([field, column]) => [field, header.indexOf(column)] as const);
  const needed = Math.max(...fields.map(([, index]) => index)) + 1;

  const rows: ResultRow[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const lineNumber = i + 2;
    const cells = line.split('\t');
    if (cells.length < needed) {
      throw new ResultsParseError(lineNumber, `${cells.length} tab-separated field(s), expected at least ${needed}`);
    }
    const raw: Record<string, string | undefined> = Object.fromEntries(fields.map(([field, index]) => [field, cells[index].trim()]));
    if (idColumn >= 0) raw.experimentId = cells[idColumn]?.trim();
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
