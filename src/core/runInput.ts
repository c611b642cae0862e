import { z } from 'zod';
import { DecisionSchema } from './decisionConfig.js';
import { RUN_DEFAULTS } from './defaults.js';
import { checkOptimizerSettings, OptimizerSettingsSchema } from './optimizerSettings.js';
import { SearchSchema } from './searchTree.js';

/** Per-million-token prices in USD; overridable in the run input. */
const PriceSchema = z
  .object({
    inputPerMTok: z.number().nonnegative(),
    outputPerMTok: z.number().nonnegative(),
    cacheReadPerMTok: z.number().nonnegative(),
    cacheWritePerMTok: z.number().nonnegative(),
  })
  .strict();
export type Price = z.infer<typeof PriceSchema>;

/**
 * Lexical POSIX normalisation (what `path.posix.normalize` does, without a trailing slash): this
 * module is bundled into the workflow sandbox, so it cannot use node:path.
 */
export function normalizePosixPath(p: string): string {
  const absolute = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (part === '..' && absolute) continue; // "/.." is "/"
    else out.push(part);
  }
  const joined = out.join('/');
  return absolute ? `/${joined}` : joined || '.';
}

/** Why `p` (already normalised) is not a plain relative path inside its directory, or undefined when it is. */
function relativePathProblem(p: string, { allowDot = false } = {}): string | undefined {
  if (p.startsWith('/')) return 'must be a relative path, not absolute';
  if (p === '..' || p.startsWith('../')) return 'must stay inside its directory (no "..")';
  if (p === '.' && !allowDot) return 'must name a file, not the directory itself';
  if (p.split('/').includes('.git')) return 'must not be inside .git';
  if (/[\x00-\x1f\x7f]/.test(p)) return 'must not contain control characters';
  return undefined;
}

/** A string field holding a relative path: normalised, and refused (naming the field) when it leaves its directory. */
function relativePath(options: { allowDot?: boolean } = {}) {
  return z.string().min(1).transform((raw, ctx) => {
    const p = normalizePosixPath(raw);
    const problem = relativePathProblem(p, options);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: `${problem}: "${raw}"` });
      return z.NEVER;
    }
    return p;
  });
}

/**
 * Why `name` is not a valid component of a git ref name (the rules of `git check-ref-format` for one
 * component; a lone "@", which git refuses only as a whole ref name, is refused too), or undefined when it is.
 */
export function refComponentProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name === '@') return 'must not be "@"';
  if (name.startsWith('.')) return 'must not start with "."';
  if (name.endsWith('.')) return 'must not end with "."';
  if (name.endsWith('.lock')) return 'must not end with ".lock"';
  if (name.includes('..')) return 'must not contain ".."';
  if (name.includes('@{')) return 'must not contain "@{"';
  if (/[\x00-\x20\x7f~^:?*[\\/]/.test(name)) return 'must not contain spaces, control characters or any of ~ ^ : ? * [ \\ /';
  return undefined;
}

export const TrainerConfigSchema = z
  .object({
    /** Trainer directory inside the repo. */
    dir: relativePath({ allowDot: true }).default(RUN_DEFAULTS.trainerDir),
    /** Shell-free command line, run in `dir`. */
    command: z.string().refine((c) => c.trim() !== '', 'must not be blank').default(RUN_DEFAULTS.trainerCommand),
    /** Files the agent may change, relative to `dir` (normalised: `./train.py` is `train.py`; duplicates dropped). */
    editable: z.array(relativePath()).min(1).transform((files) => [...new Set(files)]).default([...RUN_DEFAULTS.editable]),
    /** Training budget handed to the trainer (AUTORESEARCH_TIME_BUDGET). */
    timeBudgetSeconds: z.number().positive().max(86_400).default(RUN_DEFAULTS.timeBudgetSeconds),
    /** Hard limit of the train activity (start-to-close). */
    timeoutSeconds: z.number().positive().max(86_400).default(RUN_DEFAULTS.timeoutSeconds),
    /** Train activity heartbeat timeout: how soon a dead worker is noticed. */
    heartbeatTimeoutSeconds: z.number().positive().max(3600).default(RUN_DEFAULTS.heartbeatTimeoutSeconds),
    /** Extra environment for the trainer (the API key never goes here). */
    env: z.record(z.string(), z.string()).default({}),
    /**
     * Who computes the score: `harness` (the trainer exports its model; the fixed harness scores it
     * in a separate process) or `trainer` (the trainer's own printed summary is trusted).
     */
    evaluation: z.enum(['harness', 'trainer']).default(RUN_DEFAULTS.evaluation),
    /** A budget in training tokens instead of seconds (AUTORESEARCH_TOKEN_BUDGET): results independent of machine speed. */
    tokenBudget: z.number().int().positive().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.timeBudgetSeconds >= t.timeoutSeconds) {
      ctx.addIssue({
        code: 'custom', path: ['timeBudgetSeconds'],
        message: `must be below trainer.timeoutSeconds (${t.timeBudgetSeconds} >= ${t.timeoutSeconds}): every experiment would time out`,
      });
    }
  });

export const ProposerConfigSchema = z
  .object({
    kind: z.enum(['offline', 'claude', 'openai', 'optimizer']).default(RUN_DEFAULTS.proposerKind),
    /** Model name for claude/openai. */
    model: z.string().min(1).optional(),
    /** OpenAI-compatible base URL (kind openai), e.g. http://localhost:8000/v1. */
    baseUrl: z.string().url().optional(),
    /** Hard cap on proposer spend for the run, USD. */
    maxCostUsd: z.number().nonnegative().optional(),
    /** How many times a failing edit goes back to the proposer. */
    maxRepairs: z.number().int().min(0).max(10).default(RUN_DEFAULTS.maxRepairs),
    /** Price table override for `model`. */
    price: PriceSchema.optional(),
    /** Offline proposer's random seed. */
    seed: z.number().int().default(RUN_DEFAULTS.proposerSeed),
    /** The optimizer (kind "optimizer"), or the hybrid's share of optimizer trials (kind "claude"/"openai"). */
    optimizer: OptimizerSettingsSchema.optional(),
  })
  .strict()
  .superRefine(checkOptimizerSettings);

const RunInputSchema = z
  .object({
    /** Run name: branch `autoresearch/<tag>`. */
    tag: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_", "-" (max 64), starting with a letter or digit')
      .superRefine((tag, ctx) => {
        const problem = refComponentProblem(tag);
        if (problem) ctx.addIssue({ code: 'custom', message: `not a valid git ref name: ${problem}` });
      }),
    /** Git repository holding the trainer (absolute path on the worker; default: this project). */
    repo: z.string().min(1).optional(),
    /** Where the run keeps its worktree, results.tsv and logs (default `<repo>/.autoresearch/runs/<tag>`). */
    workDir: z.string().min(1).optional(),
    trainer: TrainerConfigSchema.default(TrainerConfigSchema.parse({})),
    proposer: ProposerConfigSchema.default(ProposerConfigSchema.parse({})),
    /** Stop after this many experiments (baseline included); default: until stopped. */
    maxExperiments: z.number().int().positive().optional(),
    /** Research direction file, relative to the repo. */
    program: relativePath().default(RUN_DEFAULTS.program),
    /** Base commit or branch the run starts from (default: the repo's HEAD). */
    base: z.string().min(1).optional(),
    /** Experiments at once, one per free lane (a GPU, or a CPU slot). */
    lanes: z.number().int().min(1).max(256).default(RUN_DEFAULTS.lanes),
    /** Git remote every lane shares commits through: a bare repository path or URL (default: the repo itself, one host). */
    remote: z.string().min(1).optional(),
    /** Prepare the next proposal while a lane trains (default: on for LLM proposers, off for offline and optimizer). */
    pipeline: z.boolean().optional(),
    /** Continue an existing branch `autoresearch/<tag>`: rows are appended and numbering continues. Without it such a tag is refused. */
    resume: z.boolean().default(false),
    /** The run pauses itself after this many `crash` or `invalid` rows in a row (0: never). */
    pauseAfterFailures: z.number().int().min(0).max(1000).default(RUN_DEFAULTS.pauseAfterFailures),
    /** Keep decisions: "greedy" (the original's rule), "noise" (the default), or an object of settings. */
    decision: DecisionSchema,
    /** Where experiments start: "greedy" (always the best, the default) or "tree" (branching when the run stalls), with its settings. */
    search: SearchSchema,
    /** The journal's earlier runs count (the proposer sees them, their code is not trained again); false: start blind. */
    memory: z.boolean().default(true),
    /** Which earlier runs count, by tag (default: every tag on the remote). */
    memoryFrom: z.array(z.string().min(1)).optional(),
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

/** Whether the next proposal is prepared while a lane trains (not for the searches that take a second and learn from the latest result). */
export function pipelineOf(config: RunConfig): boolean {
  return config.pipeline ?? (config.proposer.kind !== 'offline' && config.proposer.kind !== 'optimizer');
}
