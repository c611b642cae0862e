/**
 * The trainer's sandbox: bubblewrap (`bwrap`), when the worker's host has it.
 *
 * The trainer is code an LLM edits. Inside the sandbox it sees an allow-listed file system: the
 * system's directories read-only (/usr, /lib, /etc's harmless files, ...), an empty private home and
 * /tmp, its own directory (writable, but for the tracked files that are not editable), the worker's
 * Python environment for it read-only, and the data cache (read-only once prepared). Nothing else of
 * the host: not the worker's home (config files, keys, sockets), not /run, not the rest of the
 * repository. It has its own PID namespace and /proc (no other process's environment), no network
 * unless the run sets `AUTORESEARCH_NETWORK=1` in `trainer.env`, and only its lane's GPU. Under harness
 * evaluation the validation split is covered (an empty file over each prepared val.bin, the raw files
 * it came from hidden too), and the directory the model is exported to is writable. The harness's
 * evaluator runs in a sandbox of its own (`sandboxedEvaluator`): the same base, everything read-only.
 *
 * The process group is kept: the worker starts bwrap as the leader of a new group, and every process
 * of the sandbox stays in it (no `--new-session`; the group has no controlling terminal anyway, as
 * the worker starts it with setsid), so killing the group ends the whole trainer. No
 * `--die-with-parent` either: a trainer whose worker was killed outlives it exactly as it does
 * without the sandbox, and the retry ends it by its recorded group (trainerProcess.ts).
 */
import { execa } from 'execa';
import { constants, existsSync } from 'node:fs';
import { access, lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { dataCacheOf } from './trainerEnv.js';
import type { TrainerPython } from '../api/activities.js';
import { baseArgs, programBinds, pythonBinds } from './sandboxBinds.js';
import { anEmptyFile, gitPathsOf, holdsPreparedData, protectedFiles, validationPathsOf } from './sandboxHidden.js';

/**
 * `0` in the worker's environment runs trainers without the sandbox even where bwrap works;
 * `required` makes a worker that cannot sandbox refuse to train (the worker image sets it).
 */
export const SANDBOX_SWITCH = 'AUTORESEARCH_SANDBOX';
/** `trainer.env.AUTORESEARCH_NETWORK = "1"` keeps the network inside the sandbox (e.g. a trainer that downloads). */
export const NETWORK_SWITCH = 'AUTORESEARCH_NETWORK';

export type SandboxStatus = { available: true; bwrap: string } | { available: false; reason: string; required: boolean };

let probed: Promise<SandboxStatus> | undefined;

/**
 * Whether trainers run sandboxed on this worker: bwrap is on PATH and can make the namespaces this
 * sandbox needs (a container without user namespaces, or without CAP_SYS_ADMIN as root, cannot).
 * Probed once per process.
 */
export function sandboxStatus(): Promise<SandboxStatus> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<SandboxStatus> {
  const required = process.env[SANDBOX_SWITCH] === 'required';
  const no = (reason: string): SandboxStatus => ({ available: false, reason, required });
  if (process.env[SANDBOX_SWITCH] === '0') return { available: false, reason: `${SANDBOX_SWITCH}=0 in the worker's environment`, required: false };
  if (process.platform !== 'linux') return no(`bubblewrap runs on Linux only (this is ${process.platform})`);
  const bwrap = await findExecutable('bwrap', process.env.PATH ?? '', process.cwd());
  if (!bwrap) return no('bwrap (Debian package bubblewrap) is not on PATH');
  const tried = await execa(bwrap, ['--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--unshare-pid', '--unshare-net', 'true'], {
    reject: false,
    timeout: 10_000,
    stdin: 'ignore',
  });
  if (tried.exitCode !== 0) {
    const why = String(tried.stderr || tried.shortMessage).trim().split('\n')[0];
    return no(`${bwrap} is installed but cannot make a sandbox here: ${why}`);
  }
  return { available: true, bwrap };
}

/** Without the sandbox, said once per worker process (the first train call asks). */
let warned = false;
export function unsandboxedWarning(status: SandboxStatus): string | undefined {
  if (status.available || warned) return undefined;
  warned = true;
  return (
    `trainers run WITHOUT a sandbox: ${status.reason}. The trainer (code the proposer edits) runs as the worker's user and can ` +
    "read the worker's files and other processes' environments from /proc, write the repository's .git and the harness, and use the network. " +
    'Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and restart the worker.'
  );
}

/** Why a worker that must sandbox cannot train, or undefined when it may. */
export function sandboxRefusal(status: SandboxStatus): string | undefined {
  if (status.available || !status.required) return undefined;
  return `${SANDBOX_SWITCH}=required, and trainers cannot be sandboxed on this worker: ${status.reason}`;
}

/** An absolute path to `file` as execvp would find it (relative to `cwd` when it has a slash), or undefined. */
export async function findExecutable(file: string, searchPath: string, cwd: string): Promise<string | undefined> {
  const candidates = file.includes('/') ? [path.resolve(cwd, file)] : searchPath.split(path.delimiter).filter(Boolean).map((dir) => path.resolve(cwd, dir, file));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      if (!(await lstat(candidate).then((s) => s.isDirectory()))) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface SandboxInput {
  /** The command, as split from trainer.command. */
  file: string;
  args: string[];
  trainerDir: string;
  /** trainer.editable: paths relative to trainerDir; they stay writable. */
  editable: string[];
  /** The trainer's environment (trainerEnv); read for HOME, PATH, the data cache and the network switch. */
  env: Record<string, string>;
  /** The worker's Python environment for this trainer (a `uv run` command), bound read-only. */
  python?: TrainerPython;
  /** The lane's GPU (an index, as in `--gpus`): only that device is passed through. */
  gpu?: string;
  /** Cover the validation split (harness evaluation): the trainer must not see what it is scored on. */
  hideValidation?: boolean;
  /** Directories outside the trainer dir it may write (the model's export directory). */
  writable?: string[];
}

export interface SandboxedCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
  /** Whether the validation split was hidden, and why not when asked for and it was not. */
  validation?: { hidden: true } | { hidden: false; reason: string };
}

/**
 * The bwrap command line that runs `file args` in the sandbox, and the environment to give it.
 * Mount order matters: later mounts cover earlier ones, so the read-only files come last.
 */
export async function sandboxed(bwrap: string, input: SandboxInput): Promise<SandboxedCommand> {
  const env = { ...input.env };
  const network = env[NETWORK_SWITCH] === '1';
  const trainerDir = path.resolve(input.trainerDir);
  const { args, visibleGpu } = baseArgs(env, { network, gpu: input.gpu });
  if (visibleGpu !== undefined) env.CUDA_VISIBLE_DEVICES = visibleGpu;
  const found = await findExecutable(input.file, env.PATH ?? '', trainerDir);
  if (found) args.push(...programBinds(found, [trainerDir]));
  args.push(...pythonBinds(input.python));
  // The data cache: writable only until a data set is prepared (the offline demo is prepared on
  // first use, by the baseline); from then on the trainer reads it and cannot change it.
  const dataCache = dataCacheOf(env);
  let validation: SandboxedCommand['validation'];
  if (await holdsPreparedData(dataCache)) {
    args.push('--ro-bind', dataCache, dataCache);
    if (input.hideValidation) {
      const hidden = await validationPathsOf(dataCache);
      const empty = await anEmptyFile();
      for (const file of hidden.files) args.push('--ro-bind', empty, file);
      for (const dir of hidden.dirs) args.push('--tmpfs', dir, '--remount-ro', dir);
      validation = { hidden: true };
    }
  } else {
    await mkdir(dataCache, { recursive: true });
    args.push('--bind', dataCache, dataCache);
    if (input.hideValidation) validation = { hidden: false, reason: `the data cache ${dataCache} is prepared by this very trainer (prepare the data first)` };
  }
  // A local corpus the run names (AUTORESEARCH_DATA=/path) is the user's input: readable.
  const corpus = env.AUTORESEARCH_DATA;
  if (corpus && path.isAbsolute(corpus) && existsSync(corpus)) args.push('--ro-bind', corpus, corpus);
  for (const dir of input.writable ?? []) {
    await mkdir(dir, { recursive: true });
    args.push('--bind', dir, dir);
  }

  args.push('--bind', trainerDir, trainerDir);
  const git = await gitPathsOf(trainerDir);
  for (const file of await protectedFiles(trainerDir, input.editable, git.tracked)) args.push('--ro-bind', file, file);
  // Only the git files inside the trainer dir are visible (trainer.dir "."): read-only.
  for (const p of git.paths) if (existsSync(p) && (p === trainerDir || p.startsWith(`${trainerDir}/`))) args.push('--ro-bind', p, p);

  // The root bwrap builds (a tmpfs holding the mount points) is read-only too: only the binds above are writable.
  args.push('--remount-ro', '/', '--chdir', trainerDir, '--', input.file, ...input.args);
  // The home is private and empty: Triton's kernel cache (default ~/.triton) goes to the private /tmp.
  env.TRITON_CACHE_DIR ??= '/tmp/.triton-cache';
  // Without network uv should not try to reach an index: it fails at once, naming what is missing.
  if (!network) env.UV_OFFLINE ??= '1';
  return { file: bwrap, args, env, validation };
}

export interface EvaluatorSandboxInput {
  file: string;
  args: string[];
  /** Where it runs: the harness's copy (never the trainer dir). */
  cwd: string;
  env: Record<string, string>;
  /** The interpreter's environment (the worker's), read-only. */
  python?: TrainerPython;
  gpu?: string;
  /** Paths it reads besides its cwd and the data cache (the model), bound read-only. */
  readable: string[];
}

/**
 * The evaluator's sandbox: the same base as the trainer's, everything read-only (the data cache
 * included, validation split visible), no network.
 */
export async function sandboxedEvaluator(bwrap: string, input: EvaluatorSandboxInput): Promise<SandboxedCommand> {
  const env = { ...input.env };
  const { args, visibleGpu } = baseArgs(env, { network: false, gpu: input.gpu });
  if (visibleGpu !== undefined) env.CUDA_VISIBLE_DEVICES = visibleGpu;
  const cwd = path.resolve(input.cwd);
  const found = await findExecutable(input.file, env.PATH ?? '', cwd);
  if (found) args.push(...programBinds(found));
  args.push(...pythonBinds(input.python));
  for (const p of [cwd, dataCacheOf(env), ...input.readable]) if (existsSync(p)) args.push('--ro-bind', p, p);
  args.push('--remount-ro', '/', '--chdir', cwd, '--', input.file, ...input.args);
  env.TRITON_CACHE_DIR ??= '/tmp/.triton-cache';
  return { file: bwrap, args, env };
}
