import { z } from 'zod';

/** One change to one editable file: an exact search/replace, or the whole new file. */
export const EditSchema = z.union([
  z
    .object({
      path: z.string().min(1).describe('file path relative to the trainer directory, e.g. "train.py"'),
      search: z.string().min(1).describe('exact text to find; must occur exactly once in the file'),
      replace: z.string().describe('text that replaces it'),
    })
    .strict(),
  z
    .object({
      path: z.string().min(1).describe('file path relative to the trainer directory'),
      content: z.string().min(1).describe('the complete new content of the file (small files only)'),
    })
    .strict(),
]);
export type Edit = z.infer<typeof EditSchema>;

/** What a proposer returns for one experiment (the LLM tool input, validated). */
export const ProposalSchema = z
  .object({
    hypothesis: z.string().min(1).max(2000).describe('why this change should lower val_bpb'),
    description: z
      .string()
      .min(1)
      .max(200)
      .describe('one short line for results.tsv and the commit message'),
    edits: z.array(EditSchema).max(50).describe('the changes; empty only for the unmodified baseline'),
  })
  .strict();
export type Proposal = z.infer<typeof ProposalSchema>;
