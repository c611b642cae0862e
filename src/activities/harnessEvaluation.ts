/**
 * Harness evaluation: the score of an experiment comes from the fixed harness, never from the code the
 * agent edits. The trainer exports its model (prepare.export_model); `evaluate.py`, copied from the
 * run's base commit into a directory of its own, loads it in a separate (sandboxed) process, computes
 * bits per byte on the validation split and checks causality. docs/evaluation.md has the guarantees.
 */
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, parseCommandString } from 'execa';
import { z } from 'zod';
import { harnessFileAt } from './harnessFiles.js';
import { killGroup, killStrayTrainer, recordGroup, pgidFileOf } from './trainerProcess.js';
import { findExecutable, sandboxedEvaluator, sandboxStatus } from './sandbox.js';
import type { TrainerPython } from '../api/activities.js';
import type { TrainerSummary } from '../core/trainerSummary.js';

/** The harness files the evaluator runs from: copied from the base commit, so nothing the trainer wrote is imported. */
export const HARNESS_FILES = ['evaluate.py', 'prepare.py'] as const;

/**
 * How far the trainer's own printed val_bpb may lie from the harness's: |trainer - harness| <=
 * ABSOLUTE + RELATIVE * harness. On a CPU both compute the same float32 sums (they agree to about
 * 1e-6); on a GPU the trainer scores its compiled bf16 model, the harness the exported graph.
 */
export const AGREEMENT = { absolute: 0.001, relative: 0.005 } as const;

/** The evaluator must finish inside the evaluate activity's two minutes. */
const EVALUATOR_TIMEOUT_MS = 100_000;

/** The evaluator's last line: `evaluation-json: {...}`. */
export const EvaluatorOutputSchema = z.union([
  z.object({ error: z.string() }),
  z.object({
    val_bpb: z.number().finite().positive().nullable(),
    causal: z.boolean(),
    causality_problem: z.string().nullable(),
    causality_max_change: z.number().nullable(),
    causality_tolerance: z.number(),
    tokens_evaluated: z.number().int().nonnegative(),
    eval_seconds: z.number(),
    device: z.string(),
  }),
]);
export type EvaluatorOutput = z.infer<typeof EvaluatorOutputSchema>;

/** The model file of an experiment, in a directory of its own beside its log (the trainer's sandbox may write only that). */
export function modelFileOf(logFile: string): string {
  return path.join(logFile.replace(/\.log$/, '.model'), 'model.pt2');
}

/** The evaluator's recorded answer beside the log: a retried evaluate reads it instead of scoring twice. */
export function evaluatorRecordOf(logFile: string): string {
  return logFile.replace(/\.log$/, '.evaluation.json');
}

/**
 * The evaluator's command line: an interpreter the experiment cannot have written, running the
 * harness's copy of `script` with Python's environment variables and user site ignored (`-E -s`) and
 * no bytecode written (`-B`). The interpreter is the worker's environment's for a `uv run` trainer;
 * else the trainer command's own (`python3 train.py` gives `python3`; without a `.py` argument,
 * `python3`), which must not lie in the trainer dir.
 */
export function harnessCommand(trainerCommand: string, script: string, args: string[], python?: TrainerPython): { file: string; args: string[] } {
  const flags = ['-E', '-s', '-B', script, ...args];
  if (python) return { file: python.python, args: flags };
  const words = parseCommandString(trainerCommand);
  const at = words.findIndex((w, i) => i > 0 && w.endsWith('.py'));
  return { file: at < 0 ? 'python3' : words[0], args: flags };
}

/** The last `evaluation-json:` line of the evaluator's output, validated. */
export function parseEvaluatorOutput(output: string): EvaluatorOutput | undefined {
  const line = output.split('\n').reverse().find((l) => l.startsWith('evaluation-json: '));
  if (!line) return undefined;
  try {
    const parsed = EvaluatorOutputSchema.safeParse(JSON.parse(line.slice('evaluation-json: '.length)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export interface EvaluatorRun {
  experimentId: string;
  trainerDir: string;
  baseCommit: string;
  trainerCommand: string;
  /** trainer.dir: where the trainer dir lies in its worktree (the worktree is found by path, never by git). */
  trainerRel?: string;
  modelFile: string;
  /** The worker's Python environment of a `uv run` trainer. */
  python?: TrainerPython;
  gpu?: string;
  /** The trainer's environment (same data, device and caches). */
  env: Record<string, string>;
  /** Where its output goes (beside the trainer's log). */
  logFile: string;
}

export interface EvaluateOnceInput extends EvaluatorRun {
  /** Where its answer is recorded (evaluatorRecordOf). */
  record: string;
}

export type EvaluatorResult = { ok: true; output: Exclude<EvaluatorOutput, { error: string }> } | { ok: false; reason: string };

/** Runs the evaluator once, sandboxed where bwrap works; its output goes to `logFile`. */
export async function runEvaluator(input: EvaluatorRun): Promise<EvaluatorResult> {
  const harnessDir = await mkdtemp(path.join(os.tmpdir(), 'ar-harness-'));
  try {
    for (const file of HARNESS_FILES) {
      const text = await harnessFileAt(input.trainerDir, input.baseCommit, file, input.trainerRel);
      if (text === undefined) {
        return { ok: false, reason: `harness evaluation needs ${file} in the trainer dir at the base commit; set trainer.evaluation to "trainer" to trust the trainer's own summary` };
      }
      await writeFile(path.join(harnessDir, file), text);
    }
    const plain = harnessCommand(input.trainerCommand, path.join(harnessDir, 'evaluate.py'), [input.modelFile], input.python);
    const { AUTORESEARCH_MODEL_OUT: _unused, ...inherited } = input.env;
    const env: Record<string, string> = { ...inherited, PYTHONDONTWRITEBYTECODE: '1' };
    const interpreter = await findExecutable(plain.file, env.PATH ?? '', harnessDir);
    const trainerDir = path.resolve(input.trainerDir);
    if (interpreter && (interpreter.startsWith(`${trainerDir}/`) || (await realpath(interpreter)).startsWith(`${trainerDir}/`))) {
      return { ok: false, reason: `the harness's evaluator never runs an interpreter from the trainer dir (${plain.file}): run the trainer with uv run, or an interpreter outside it` };
    }
    const sandbox = await sandboxStatus();
    const command = sandbox.available
      ? await sandboxedEvaluator(sandbox.bwrap, { ...plain, cwd: harnessDir, env, python: input.python, gpu: input.gpu, readable: [path.dirname(input.modelFile)] })
      : { ...plain, env };
    // Its own process group, recorded: a retry (or a new worker, by its lane marker) ends an evaluator whose worker died.
    await killStrayTrainer(input.logFile, input.experimentId);
    const child = execa(command.file, command.args, {
      cwd: harnessDir, env: command.env, extendEnv: false, detached: true, stdin: 'ignore', all: true, reject: false,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (child.pid) await recordGroup(input.logFile, child.pid);
    let timedOut = false;
    const started = Date.now();
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid);
    }, EVALUATOR_TIMEOUT_MS);
    const done = await child.finally(() => clearTimeout(timer));
    if (child.pid) killGroup(child.pid);
    await rm(pgidFileOf(input.logFile), { force: true });
    const all = String(done.all ?? '');
    await writeFile(input.logFile, `# ${[command.file, ...command.args].join(' ')}\n${all}\n# exit ${done.exitCode ?? done.signal} after ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    if (timedOut) return { ok: false, reason: `the harness's evaluator took longer than ${EVALUATOR_TIMEOUT_MS / 1000}s` };
    const output = parseEvaluatorOutput(all);
    if (output && 'error' in output) return { ok: false, reason: `the exported model could not be evaluated: ${output.error}` };
    if (!output) {
      const last = all.trim().split('\n').slice(-1)[0]?.slice(0, 300) ?? '';
      return { ok: false, reason: `the harness's evaluator failed (exit ${done.exitCode ?? done.signal}): ${last}` };
    }
    return { ok: true, output };
  } finally {
    await rm(harnessDir, { recursive: true, force: true });
  }
}

/** The evaluator's answer for this attempt's model: recorded once, so a retried evaluate does not score twice. */
export async function evaluateOnce(input: EvaluateOnceInput): Promise<EvaluatorResult> {
  const { record } = input;
  if (existsSync(record)) return JSON.parse(await readFile(record, 'utf8')) as EvaluatorResult;
  if (!existsSync(input.modelFile)) {
    return { ok: false, reason: `no exported model at ${input.modelFile}: the trainer must call prepare.export_model (harness evaluation)` };
  }
  const result = await runEvaluator(input);
  await writeFile(record, JSON.stringify(result));
  // The model is large on a GPU (hundreds of MB) and its score is recorded: it is not kept.
  await rm(path.dirname(input.modelFile), { recursive: true, force: true });
  return result;
}

export type HarnessScore = { ok: true; summary: TrainerSummary } | { ok: false; reason: string };

/** The harness's score replaces the trainer's; a failed causality check or a disagreeing trainer score fails the experiment. */
export function harnessScore(trainer: Partial<TrainerSummary>, harness: EvaluatorResult): HarnessScore {
  if (!harness.ok) return harness;
  const out = harness.output;
  if (!out.causal) return { ok: false, reason: `causality check failed: ${out.causality_problem ?? 'the model sees the future'}` };
  if (out.val_bpb === null) return { ok: false, reason: 'the harness could not score the model (non-finite val_bpb)' };
  const printed = trainer.val_bpb;
  if (printed !== undefined && Math.abs(printed - out.val_bpb) > AGREEMENT.absolute + AGREEMENT.relative * out.val_bpb) {
    return { ok: false, reason: `the trainer printed val_bpb ${printed} but the harness measured ${out.val_bpb.toFixed(6)} (allowed difference ${AGREEMENT.absolute} + ${AGREEMENT.relative * 100}%)` };
  }
  return { ok: true, summary: { ...trainer, val_bpb: out.val_bpb } as TrainerSummary };
}
