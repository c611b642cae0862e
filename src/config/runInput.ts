import { z } from 'zod';

/** Per-million-token prices in USD; overridable in the run input (issue 4). */
export const PriceSchema = z
  .object({
    inputPerMTok: z.number().nonnegative(),
    outputPerMTok: z.number().nonnegative(),
    cacheReadPerMTok: z.number().nonnegative(),
    cacheWritePerMTok: z.number().nonnegative(),
  })
  .strict();
export type Price = z.infer<typeof PriceSchema>;

export const TrainerConfigSchema = z
  .object({
    /** Trainer directory inside the repo. */
    dir: z.string().min(1).default('trainer'),
    /** Shell-free command line, run in `dir`. */
    command: z.string().min(1).default('uv run train.py'),
    /** Files the agent may change, relative to `dir`. */
    editable: z.array(z.string().min(1)).min(1).default(['train.py']),
    /** Training budget handed to the trainer (AUTORESEARCH_TIME_BUDGET). */
    timeBudgetSeconds: z.number().positive().max(86_400).default(300),
    /** Hard limit of the train activity (start-to-close). */
    timeoutSeconds: z.number().positive().max(86_400).default(600),
    /** Train activity heartbeat timeout: how soon a dead worker is noticed. */
    heartbeatTimeoutSeconds: z.number().positive().max(3600).default(60),
    /** Extra environment for the trainer (the API key never goes here). */
    env: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export const ProposerConfigSchema = z
  .object({
    kind: z.enum(['offline', 'claude', 'openai']).default('offline'),
    /** Model name for claude/openai. */
    model: z.string().min(1).optional(),
    /** OpenAI-compatible base URL (kind openai), e.g. http://localhost:8000/v1. */
    baseUrl: z.string().url().optional(),
    /** Hard cap on proposer spend for the run, USD. */
    maxCostUsd: z.number().nonnegative().optional(),
    /** How many times a failing edit goes back to the proposer. */
    maxRepairs: z.number().int().min(0).max(10).default(2),
    /** Price table override for `model`. */
    price: PriceSchema.optional(),
    /** Offline proposer's random seed. */
    seed: z.number().int().default(1),
  })
  .strict();

export const RunInputSchema = z
  .object({
    /** Run name: branch `autoresearch/<tag>`. */
    tag: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_", "-" (max 64), starting with a letter or digit'),
    /** Git repository holding the trainer (absolute path on the worker; default: this project). */
    repo: z.string().min(1).optional(),
    /** Where the run keeps its worktree, results.tsv and logs (default `<repo>/.autoresearch/runs/<tag>`). */
    workDir: z.string().min(1).optional(),
    trainer: TrainerConfigSchema.default(TrainerConfigSchema.parse({})),
    proposer: ProposerConfigSchema.default(ProposerConfigSchema.parse({})),
    /** Stop after this many experiments (baseline included); default: until stopped. */
    maxExperiments: z.number().int().positive().optional(),
    /** Research direction file, relative to the repo. */
    program: z.string().min(1).default('program.md'),
    /** Base commit or branch the run starts from (default: the repo's HEAD). */
    base: z.string().min(1).optional(),
    /** Experiments at once, one per free lane (a GPU, or a CPU slot). */
    lanes: z.number().int().min(1).max(256).default(1),
    /** Git remote every lane shares commits through: a bare repository path or URL (default: the repo itself, one host). */
    remote: z.string().min(1).optional(),
    /** Prepare the next proposal while a lane trains (default: on for LLM proposers, off for offline). */
    pipeline: z.boolean().optional(),
  })
  .strict();

export type RunInput = z.input<typeof RunInputSchema>;
export type RunConfig = z.output<typeof RunInputSchema>;
export type TrainerConfig = RunConfig['trainer'];
export type ProposerConfig = RunConfig['proposer'];

/** One line per problem, each naming the field path, e.g. `trainer.timeBudgetSeconds: expected number`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.length ? i.path.join('.') : '(input)';
      if (i.code === 'unrecognized_keys') return `${path === '(input)' ? '' : path + '.'}${i.keys.join(', ')}: unknown field`;
      return `${path}: ${i.message}`;
    })
    .join('; ');
}

export type ParseResult = { ok: true; config: RunConfig } | { ok: false; error: string };

/** Validates a run input; pure so the workflow, the CLI and tests share it. */
export function parseRunInput(input: unknown): ParseResult {
  const r = RunInputSchema.safeParse(input);
  return r.success ? { ok: true, config: r.data } : { ok: false, error: `invalid run input: ${describeIssues(r.error)}` };
}

/** Whether the next proposal is prepared while a lane trains. */
export function pipelineOf(config: RunConfig): boolean {
  return config.pipeline ?? config.proposer.kind !== 'offline';
}
