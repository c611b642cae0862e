/**
 * The trainer's steps of an experiment: train (run the trainer command) and evaluate (score it: by the
 * harness, from the exported model, or by the trainer's own summary under `evaluation: "trainer"`).
 */
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, parseCommandString } from 'execa';
import { Context, ApplicationFailure } from '@temporalio/activity';
import type { TrainerConfig } from '../core/runInput.js';
import { FAILURE } from '../core/failures.js';
import { parseSummary } from '../core/trainerSummary.js';
import type { Evaluation, HarnessContext, TrainInput, TrainResult } from '../api/activities.js';
import { harnessChanges, harnessFileAt } from './harnessFiles.js';
import { evaluateOnce, evaluatorRecordOf, harnessScore, modelFileOf } from './harnessEvaluation.js';
import { CappedLog, killGroup, killStrayTrainer, readTail, recordGroup, pgidFileOf } from './trainerProcess.js';
import { trainerEnv } from './trainerEnv.js';
import { beatIntervalMs } from './heartbeat.js';
import { progressToWorkflow } from './progressToWorkflow.js';
import { findExecutable, sandboxed, sandboxRefusal, sandboxStatus, unsandboxedWarning } from './sandbox.js';
import { redactSecrets } from './secrets.js';
import { lockFilesIn, trainerPython, usesUv, uvRunEnv, type LockFiles } from './trainerPython.js';

export interface TrainProgress {
  elapsedSeconds: number;
  budgetSeconds: number;
  lastLine: string;
  pgid?: number;
}

const KILL_GRACE_MS = 5_000;

/**
 * Runs the trainer command once, output to the experiment's log. A crash or a hang is a result
 * (the evaluate phase turns it into a `crash` row), not an activity failure: retrying a crashing
 * script would only crash again. Only cancellation (worker shutdown, run cancelled) throws.
 */
export async function train(input: TrainInput): Promise<TrainResult> {
  const ctx = Context.current();
  await mkdir(path.dirname(input.logFile), { recursive: true });
  const stray = await killStrayTrainer(input.logFile, input.experimentId);
  if (stray) ctx.log.warn('ended a stray trainer left by an earlier attempt', { pgid: stray });

  const [file, ...args] = parseCommandString(input.trainer.command);
  const byHarness = input.trainer.evaluation === 'harness';
  const modelFile = byHarness ? modelFileOf(input.logFile) : undefined;
  const sandbox = await sandboxStatus();
  const refusal = sandboxRefusal(sandbox);
  if (refusal) throw ApplicationFailure.nonRetryable(refusal, FAILURE.TrainerConfig);
  const python = usesUv(input.trainer.command) ? await trainerPython(await lockFilesOf(input), () => ctx.heartbeat()) : undefined;
  const env = { ...trainerEnv({ ...input, modelFile }), ...(python ? uvRunEnv(python) : {}) };
  // Found here, not by execvp: inside the sandbox a missing command would be bwrap's exit 1, a crash row.
  if (!(await findExecutable(file, env.PATH ?? '', input.trainerDir))) {
    throw ApplicationFailure.nonRetryable(`trainer.command: "${file}" not found on the worker's PATH (cwd ${input.trainerDir})`, FAILURE.TrainerConfig);
  }
  const harness: HarnessContext = {
    experimentId: input.experimentId, trainerDir: input.trainerDir, trainer: input.trainer, lane: input.lane, gpu: input.gpu, seed: input.seed,
    baseCommit: input.baseCommit, modelFile, ...(python ? { python } : {}),
  };
  // Nothing of an earlier attempt may be scored: its model and its recorded evaluation go.
  if (modelFile) await rm(path.dirname(modelFile), { recursive: true, force: true });
  await rm(evaluatorRecordOf(input.logFile), { force: true });
  if (input.baseCommit) {
    const changed = await harnessChanges({ trainerDir: input.trainerDir, baseCommit: input.baseCommit, editable: input.trainer.editable, untracked: true, trainerRel: input.trainer.dir });
    if (changed.length) {
      const refused = `harness changed before training: ${changed.join('; ')}`;
      await writeFile(input.logFile, `# ${input.experimentId}: not trained: ${refused}\n`);
      return { exitCode: null, timedOut: false, seconds: 0, logFile: input.logFile, refused, harness };
    }
  }
  const warning = unsandboxedWarning(sandbox);
  if (warning) ctx.log.warn(warning);
  const command = sandbox.available
    ? await sandboxed(sandbox.bwrap, {
      file, args, trainerDir: input.trainerDir, editable: input.trainer.editable, env, python, gpu: input.gpu,
      hideValidation: byHarness, writable: modelFile ? [path.dirname(modelFile)] : [],
    })
    : { file, args, env, validation: byHarness ? { hidden: false as const, reason: 'no sandbox' } : undefined };
  if (modelFile) await mkdir(path.dirname(modelFile), { recursive: true });
  harness.validation = command.validation;
  // Each attempt rewrites the log, so evaluate reads only the attempt that finished.
  await writeFile(input.logFile, `# ${input.experimentId} attempt ${ctx.info.attempt} on ${input.lane ?? 'this host'} at ${new Date().toISOString()}: ` +
    `${input.trainer.command} (budget ${input.trainer.timeBudgetSeconds}s${sandbox.available ? ', sandboxed' : ', no sandbox'})\n`);
  const log = new CappedLog(input.logFile);
  const started = Date.now();
  // Our own deadline, a little before the activity's start-to-close, so a hang becomes a crash row.
  const deadlineMs = Math.max(1_000, input.trainer.timeoutSeconds * 1000 - Math.min(30_000, input.trainer.timeoutSeconds * 100));
  let timedOut = false;
  let lastLine = '';

  let child;
  try {
    child = execa(command.file, command.args, {
      cwd: input.trainerDir,
      env: command.env,
      extendEnv: false,
      detached: true, // its own process group
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      reject: false,
      buffer: false,
    });
  } catch (err) {
    log.close();
    throw ApplicationFailure.nonRetryable(`trainer.command could not start: ${(err as Error).message}`, FAILURE.TrainerConfig);
  }
  const pgid = child.pid;
  // stdout and stderr go to the log in the order they arrive, through the cap. Attached before any
  // await: a trainer that prints everything and exits at once must lose nothing.
  const onOutput = (chunk: Buffer) => {
    log.write(chunk);
    const lines = chunk.subarray(-4096).toString().split('\n').filter((l) => l.trim());
    if (lines.length) lastLine = redactSecrets(lines[lines.length - 1]).slice(0, 200);
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  if (pgid) await recordGroup(input.logFile, pgid);

  const stopGroup = () => {
    if (!pgid) return;
    killGroup(pgid, 'SIGTERM');
    setTimeout(() => killGroup(pgid, 'SIGKILL'), KILL_GRACE_MS).unref();
  };
  const tell = progressToWorkflow(ctx, input.trainer, started);
  const heartbeat = () => {
    const progress = { elapsedSeconds: (Date.now() - started) / 1000, budgetSeconds: input.trainer.timeBudgetSeconds, lastLine };
    ctx.heartbeat({ ...progress, pgid } satisfies TrainProgress);
    tell(progress);
  };
  heartbeat();
  // Well inside the heartbeat timeout, or a healthy trainer with a short timeout looks dead.
  const beat = setInterval(heartbeat, beatIntervalMs(ctx.info.heartbeatTimeoutMs));
  const deadline = setTimeout(() => {
    timedOut = true;
    stopGroup();
  }, deadlineMs);
  const onCancel = () => stopGroup();
  ctx.cancellationSignal.addEventListener('abort', onCancel);

  try {
    const result = await child;
    if ((result as { code?: string }).code === 'ENOENT') {
      throw ApplicationFailure.nonRetryable(`trainer.command: "${file}" not found on the worker's PATH (cwd ${input.trainerDir})`, FAILURE.TrainerConfig);
    }
    if (pgid) killGroup(pgid); // anything the trainer left running in its group
    const seconds = (Date.now() - started) / 1000;
    log.close();
    await appendFile(input.logFile, `\n# exit ${result.exitCode ?? result.signal} after ${seconds.toFixed(1)}s${timedOut ? ' (timed out: killed)' : ''}\n`);
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    return { exitCode: result.exitCode ?? null, signal: result.signal ?? undefined, timedOut, seconds, logFile: input.logFile, harness };
  } finally {
    clearInterval(beat);
    clearTimeout(deadline);
    ctx.cancellationSignal.removeEventListener('abort', onCancel);
    log.close();
    await rm(pgidFileOf(input.logFile), { force: true });
  }
}

/** The lock files the worker's environment is built from: the base commit's, never the experiment's. */
async function lockFilesOf(input: { trainerDir: string; baseCommit?: string; trainer: TrainerConfig }): Promise<LockFiles> {
  if (!input.baseCommit) return lockFilesIn(input.trainerDir);
  const read = (name: string) => harnessFileAt(input.trainerDir, input.baseCommit!, name, input.trainer.dir);
  const [pyproject, lock, version] = await Promise.all([read('pyproject.toml'), read('uv.lock'), read('.python-version')]);
  if (pyproject === undefined || lock === undefined) {
    throw ApplicationFailure.nonRetryable(`trainer.command runs through uv, but the trainer dir has no pyproject.toml and uv.lock at the base commit ${input.baseCommit.slice(0, 12)}`, FAILURE.TrainerConfig);
  }
  return { 'pyproject.toml': pyproject, 'uv.lock': lock, ...(version !== undefined ? { '.python-version': version } : {}) };
}

const CRASH_LOG_TAIL_BYTES = 6_000;

/** The summary block is at the end of the log: only that much is read, however much the trainer printed. */
const SUMMARY_TAIL_BYTES = 64 * 1024;

/**
 * No block, FAIL, NaN, a timeout, a non-zero exit or a changed harness file: each is a crash, with the
 * reason recorded. Under harness evaluation the score is the harness's (harnessEvaluation.ts): an
 * unloadable model, a failed causality check or a trainer whose printed val_bpb disagrees is a crash too.
 * Under `evaluation: "trainer"` the trainer's printed summary is trusted.
 */
export async function evaluate(result: TrainResult): Promise<Evaluation> {
  const evaluation = await evaluateTrained(result);
  // Decided: the model (hundreds of MB on a GPU) is not kept, scored or not.
  if (result.harness?.modelFile) await rm(path.dirname(result.harness.modelFile), { recursive: true, force: true });
  return evaluation;
}

async function evaluateTrained(result: TrainResult): Promise<Evaluation> {
  const tail = await readTail(result.logFile, SUMMARY_TAIL_BYTES);
  // What the trainer printed goes into the next prompt and the history: never a secret of the worker's.
  const failed = (reason: string): Evaluation => ({ ok: false, reason: redactSecrets(reason), logTail: redactSecrets(tail.slice(-CRASH_LOG_TAIL_BYTES)) });
  if (result.refused) return failed(result.refused);
  if (result.timedOut) return failed(`timed out after ${result.seconds.toFixed(0)}s`);
  if (result.exitCode !== 0) return failed(`trainer exited with ${result.exitCode ?? result.signal}`);
  const harness = result.harness;
  if (harness?.baseCommit) {
    const changed = await harnessChanges({ trainerDir: harness.trainerDir, baseCommit: harness.baseCommit, editable: harness.trainer.editable, untracked: false, trainerRel: harness.trainer.dir });
    if (changed.length) return failed(`harness changed during training: ${changed.join('; ')}`);
  }
  if (!harness?.modelFile) {
    const parsed = parseSummary(tail);
    return parsed.ok ? parsed : failed(parsed.reason);
  }
  const parsed = parseSummary(tail, { valBpb: 'optional' });
  if (!parsed.ok) return failed(parsed.reason);
  const scored = await evaluateOnce({
    experimentId: harness.experimentId,
    trainerDir: harness.trainerDir,
    baseCommit: harness.baseCommit ?? 'HEAD',
    trainerCommand: harness.trainer.command,
    trainerRel: harness.trainer.dir,
    modelFile: harness.modelFile,
    // A result trained before the worker owned the environment carries none: the same one is found by its lock files.
    python: harness.python ?? (usesUv(harness.trainer.command) ? await trainerPython(await lockFilesOf(harness)) : undefined),
    gpu: harness.gpu,
    env: trainerEnv(harness),
    logFile: result.logFile.replace(/\.log$/, '.evaluation.log'),
    record: evaluatorRecordOf(result.logFile),
  });
  const scoredSummary = harnessScore(parsed.summary, scored);
  if (!scoredSummary.ok) return failed(scoredSummary.reason);
  const judged: Evaluation = { ...scoredSummary, ...(parsed.deviceName ? { deviceName: parsed.deviceName } : {}) };
  const validation = harness.validation;
  return validation && !validation.hidden
    ? { ...judged, warning: `validation split not hidden from the trainer: ${validation.reason}` }
    : judged;
}
