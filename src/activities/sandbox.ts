/**
 * The trainer's sandbox: bubblewrap (`bwrap`), when the worker's host has it.
 *
 * The trainer is code an LLM edits. Inside the sandbox it has its own PID namespace and /proc (no
 * other process's environment, so not the worker's API keys), the whole filesystem read-only except
 * what it must write (its directory, a private /tmp, the uv cache, the data cache until data is
 * prepared), the harness and every other tracked file that is not editable read-only, the
 * repository's git files read-only, no network unless the run sets `AUTORESEARCH_NETWORK=1` in
 * `trainer.env`, and the GPU devices passed through. Under harness evaluation the validation split
 * is covered (an empty file over each prepared val.bin, the raw files it came from hidden too), and the
 * directory the model is exported to is writable. The harness's evaluator runs in a sandbox of its own
 * (`sandboxedEvaluator`): everything read-only, no network, its copy of the harness and the model.
 *
 * The process group is kept: the worker starts bwrap as the leader of a new group, and every process
 * of the sandbox stays in it (no `--new-session`; the group has no controlling terminal anyway, as
 * the worker starts it with setsid), so killing the group ends the whole trainer. No
 * `--die-with-parent` either: a trainer whose worker was killed outlives it exactly as it does
 * without the sandbox, and the retry ends it by its recorded group (trainerProcess.ts).
 */
import { execa } from 'execa';
import { constants, existsSync } from 'node:fs';
import { access, chmod, lstat, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Set to `0` in the worker's environment to run trainers without the sandbox even where bwrap works. */
export const SANDBOX_SWITCH = 'AUTORESEARCH_SANDBOX';
/** `trainer.env.AUTORESEARCH_NETWORK = "1"` keeps the network inside the sandbox (e.g. a trainer that downloads). */
export const NETWORK_SWITCH = 'AUTORESEARCH_NETWORK';

export type SandboxStatus = { available: true; bwrap: string } | { available: false; reason: string };

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
  if (process.env[SANDBOX_SWITCH] === '0') return { available: false, reason: `${SANDBOX_SWITCH}=0 in the worker's environment` };
  if (process.platform !== 'linux') return { available: false, reason: `bubblewrap runs on Linux only (this is ${process.platform})` };
  const bwrap = await findExecutable('bwrap', process.env.PATH ?? '', process.cwd());
  if (!bwrap) return { available: false, reason: 'bwrap (Debian package bubblewrap) is not on PATH' };
  const tried = await execa(bwrap, ['--ro-bind', '/', '/', '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--unshare-pid', '--unshare-net', 'true'], {
    reject: false,
    timeout: 10_000,
    stdin: 'ignore',
  });
  if (tried.exitCode !== 0) {
    const why = String(tried.stderr || tried.shortMessage).trim().split('\n')[0];
    return { available: false, reason: `${bwrap} is installed but cannot make a sandbox here: ${why}` };
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
    "read the worker's API keys from /proc, write the repository's .git and the harness, and use the network. " +
    'Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) and restart the worker.'
  );
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
  /** The trainer's environment (trainerEnv); read for HOME, the caches and the network switch. */
  env: Record<string, string>;
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

/** The data cache prepare.py writes (AUTORESEARCH_CACHE, default ~/.cache/autoresearch/data). */
function dataCacheOf(env: Record<string, string>): string {
  return env.AUTORESEARCH_CACHE || path.join(env.HOME || os.homedir(), '.cache', 'autoresearch', 'data');
}

/** True once the data cache holds a prepared data set (v<N>/<source>/vocab<V>/meta.json). */
async function holdsPreparedData(cache: string): Promise<boolean> {
  const dirs = async (dir: string) => (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  for (const version of (await dirs(cache)).filter((d) => /^v\d+$/.test(path.basename(d)))) {
    for (const source of await dirs(version)) {
      for (const vocab of await dirs(source)) if (existsSync(path.join(vocab, 'meta.json'))) return true;
    }
  }
  return false;
}

/** The original climbmix's pinned validation shard, kept in the cache root under its own name (prepare.py). */
const CLIMBMIX_VAL_SHARD = 'shard_06542.parquet';

/**
 * What holds the validation split in a prepared data cache: every v<N>/<source>/vocab<V>/val.bin, the
 * climbmix val shard, and the raw downloads (TinyStories' file holds its validation documents).
 */
export async function validationPathsOf(cache: string): Promise<{ files: string[]; dirs: string[] }> {
  const dirs = async (dir: string) => (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
  const files: string[] = [];
  for (const version of (await dirs(cache)).filter((d) => /^v\d+$/.test(path.basename(d)))) {
    for (const source of await dirs(version)) {
      for (const vocab of await dirs(source)) if (existsSync(path.join(vocab, 'val.bin'))) files.push(path.join(vocab, 'val.bin'));
    }
  }
  if (existsSync(path.join(cache, CLIMBMIX_VAL_SHARD))) files.push(path.join(cache, CLIMBMIX_VAL_SHARD));
  return { files, dirs: existsSync(path.join(cache, 'downloads')) ? [path.join(cache, 'downloads')] : [] };
}

/** An empty read-only file to bind over what the trainer must not read (one per worker process). */
let emptyFile: Promise<string> | undefined;
function anEmptyFile(): Promise<string> {
  emptyFile ??= (async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'ar-hidden-')), 'empty');
    await writeFile(file, '');
    await chmod(file, 0o444);
    return file;
  })();
  return emptyFile;
}

/** The worktree's `.git` file, its git dir and the common git dir, where the trainer dir is in a git worktree. */
async function gitPathsOf(trainerDir: string): Promise<{ paths: string[]; tracked: string[] | undefined }> {
  const rev = await execa('git', ['rev-parse', '--path-format=absolute', '--show-toplevel', '--git-dir', '--git-common-dir'], { cwd: trainerDir, reject: false });
  if (rev.exitCode !== 0) return { paths: [], tracked: undefined };
  const [top, gitDir, commonDir] = rev.stdout.split('\n').map((l) => l.trim());
  const files = await execa('git', ['ls-files', '-z', '--full-name', '--', '.'], { cwd: trainerDir, reject: false });
  const tracked = files.exitCode === 0 ? files.stdout.split('\0').filter(Boolean).map((f) => path.join(top, f)) : undefined;
  return { paths: [path.join(top, '.git'), gitDir, commonDir].filter(Boolean), tracked };
}

/** Every file of the trainer dir the trainer must not change: tracked and not editable (the top level when it is not in git). */
async function protectedFiles(trainerDir: string, editable: string[], tracked: string[] | undefined): Promise<string[]> {
  const mine = new Set(editable.map((e) => path.resolve(trainerDir, e)));
  const candidates = tracked ?? (await readdir(trainerDir)).map((name) => path.join(trainerDir, name));
  const out: string[] = [];
  for (const file of candidates) {
    if (mine.has(file)) continue;
    // Only real files: a bind onto a symlink would follow it out of the trainer dir.
    const stat = await lstat(file).catch(() => undefined);
    if (stat?.isFile()) out.push(file);
  }
  return out;
}

/** The device nodes of NVIDIA GPUs (and their capability dir), passed through so CUDA works inside. */
async function gpuDevices(): Promise<string[]> {
  return (await readdir('/dev').catch(() => [] as string[])).filter((name) => name.startsWith('nvidia')).map((name) => path.join('/dev', name));
}

/**
 * What both sandboxes start from, in mount order (later mounts cover earlier ones): the whole
 * filesystem read-only, their own PID namespace and /proc, no network unless allowed, the GPUs, a
 * private /tmp, and the uv cache writable (uv locks it, and links environments from it).
 */
async function baseArgs(env: Record<string, string>, { network }: { network: boolean }): Promise<string[]> {
  const args = ['--ro-bind', '/', '/', '--unshare-pid', '--proc', '/proc', '--dev', '/dev'];
  if (!network) args.push('--unshare-net');
  for (const device of await gpuDevices()) args.push('--dev-bind', device, device);
  args.push('--tmpfs', '/tmp');
  if (env.UV_CACHE_DIR) {
    await mkdir(env.UV_CACHE_DIR, { recursive: true });
    args.push('--bind', env.UV_CACHE_DIR, env.UV_CACHE_DIR);
  }
  return args;
}

/**
 * The bwrap command line that runs `file args` in the sandbox, and the environment to give it.
 * Mount order matters: later mounts cover earlier ones, so the read-only files come last.
 */
export async function sandboxed(bwrap: string, input: SandboxInput): Promise<SandboxedCommand> {
  const env = { ...input.env };
  const network = env[NETWORK_SWITCH] === '1';
  const trainerDir = path.resolve(input.trainerDir);
  const args = await baseArgs(env, { network });
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
  for (const dir of input.writable ?? []) {
    await mkdir(dir, { recursive: true });
    args.push('--bind', dir, dir);
  }

  args.push('--bind', trainerDir, trainerDir);
  const git = await gitPathsOf(trainerDir);
  for (const file of await protectedFiles(trainerDir, input.editable, git.tracked)) args.push('--ro-bind', file, file);
  for (const p of git.paths) if (existsSync(p)) args.push('--ro-bind', p, p);

  args.push(...commandEnvironmentBind(input.file, trainerDir));
  args.push('--chdir', trainerDir, '--', input.file, ...input.args);
  // Home is read-only: Triton's kernel cache (default ~/.triton) goes to the private /tmp.
  env.TRITON_CACHE_DIR ??= '/tmp/.triton-cache';
  // The cache and the trainer dir are separate mounts, so uv cannot hardlink between them: it copies
  // (once per lane worktree), and the lane's environment shares no file with the cache.
  env.UV_LINK_MODE ??= 'copy';
  // Without network uv should not try to reach an index: it fails at once, naming what is missing.
  if (!network) env.UV_OFFLINE ??= '1';
  return { file: bwrap, args, env, validation };
}

export interface EvaluatorSandboxInput {
  file: string;
  args: string[];
  /** Where it runs (the trainer dir: `uv run` finds the trainer's environment there); read-only. */
  cwd: string;
  env: Record<string, string>;
  /** Paths it reads besides its cwd and the data cache (the harness copy, the model), bound read-only. */
  readable: string[];
}

/**
 * The evaluator's sandbox: the whole filesystem read-only (the data cache included, validation split
 * visible), its own PID namespace and /tmp, no network, GPUs passed through. Only the uv cache stays
 * writable, because `uv run` locks it.
 */
export async function sandboxedEvaluator(bwrap: string, input: EvaluatorSandboxInput): Promise<SandboxedCommand> {
  const env = { ...input.env };
  const args = await baseArgs(env, { network: false });
  // Bound again after the private /tmp, for paths under it (tests keep everything there).
  const cwd = path.resolve(input.cwd);
  for (const p of [cwd, dataCacheOf(env), ...input.readable]) if (existsSync(p)) args.push('--ro-bind', p, p);
  args.push(...commandEnvironmentBind(input.file, cwd));
  args.push('--chdir', cwd, '--', input.file, ...input.args);
  env.TRITON_CACHE_DIR ??= '/tmp/.triton-cache';
  env.UV_OFFLINE ??= '1';
  return { file: bwrap, args, env };
}

/**
 * A command named by an absolute path under /tmp (an environment's `bin/python`, say) would vanish
 * under the private /tmp: its environment is bound again, read-only (unless it is inside `dir`).
 */
function commandEnvironmentBind(file: string, dir: string): string[] {
  if (!path.isAbsolute(file) || !file.startsWith('/tmp/')) return [];
  const prefix = path.dirname(path.dirname(file));
  return existsSync(prefix) && !dir.startsWith(`${prefix}/`) ? ['--ro-bind', prefix, prefix] : [];
}
