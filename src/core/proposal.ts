import { z } from 'zod';
import type { Usage } from './usage.js';

/**
 * Text with no control character outside `allowed`. A NUL cannot pass to git (the commit message),
 * and no control character belongs in a one-line description or a file path. Refinements, not
 * patterns: the tool's JSON schema (toolSchema.ts) stays as it was.
 */
function withoutControls(allowed: string, what: string) {
  const names = allowed ? ` other than ${[...allowed].map((c) => JSON.stringify(c)).join(', ')}` : '';
  return (schema: z.ZodString) =>
    schema.refine((text) => firstControl(text, allowed) === undefined, {
      error: (issue) => `${what} must not contain control characters${names} (found ${describeControl(firstControl(String(issue.input), allowed))})`,
    });
}

/** The first C0 control character or DEL in `text` that is not in `allowed`. */
function firstControl(text: string, allowed: string): { char: string; index: number } | undefined {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 || code === 0x7f) && !allowed.includes(text[i])) return { char: text[i], index: i };
  }
  return undefined;
}

function describeControl(found: { char: string; index: number } | undefined): string {
  if (!found) return 'one';
  return `U+${found.char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at index ${found.index}`;
}

/** Source code: tab, newline, carriage return and form feed (valid Python whitespace) only. */
const sourceText = withoutControls('\t\n\r\f', 'source text');
const filePath = withoutControls('', 'a path');

/** One change to one editable file: an exact search/replace, or the whole new file. */
const EditSchema = z.union([
  z
    .object({
      path: filePath(z.string().min(1)).describe('file path relative to the trainer directory, e.g. "train.py"'),
      search: sourceText(z.string().min(1)).describe('exact text to find; must occur exactly once in the file'),
      replace: sourceText(z.string()).describe('text that replaces it'),
    })
    .strict(),
  z
    .object({
      path: filePath(z.string().min(1)).describe('file path relative to the trainer directory'),
      content: sourceText(z.string().min(1)).describe('the complete new content of the file (small files only)'),
    })
    .strict(),
]);
export type Edit = z.infer<typeof EditSchema>;

/** What a proposer returns for one experiment (the LLM tool input, validated). */
export const ProposalSchema = z
  .object({
    hypothesis: withoutControls('\n\t', 'the hypothesis')(z.string().min(1).max(2000)).describe('why this change should lower val_bpb'),
    description: withoutControls('', 'the description')(z.string().min(1).max(200))
      .describe('one short line for results.tsv and the commit message'),
    edits: z.array(EditSchema).max(50).describe('the changes; empty only for the unmodified baseline'),
  })
  .strict();
export type Proposal = z.infer<typeof ProposalSchema>;

/** A proposal and what it cost: what every proposer returns, and the hypothesize activity too. */
export interface ProposeResult {
  proposal: Proposal;
  usage: Usage;
  /** Prompt size sent, for estimateMaxCallCostUsd of the next call. */
  promptChars?: number;
}

/**
 * The proposer tool's input schema, generated from ProposalSchema so the two cannot drift. Both APIs take
 * a plain JSON-schema object with `type: "object"` at the top; the `$schema` key is dropped.
 */
export const PROPOSAL_JSON_SCHEMA: { type: 'object'; [key: string]: unknown } = (() => {
  const { $schema: _dialect, ...schema } = z.toJSONSchema(ProposalSchema) as Record<string, unknown>;
  if (schema.type !== 'object') throw new Error('ProposalSchema must generate an object schema');
  return schema as { type: 'object'; [key: string]: unknown };
})();
