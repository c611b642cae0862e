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
import { constants, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { access, chmod, lstat, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gitAt, worktreeTopOf } from './gitOps.js';
import { dataCacheOf } from './trainerEnv.js';
import type { TrainerPython } from '../api/activities.js';

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

/**
 * The worktree's `.git` file, its git dir and the common git dir, where the trainer dir is in a git
 * worktree, and its tracked files. The worktree is found by path (worktreeTopOf), not by git
 * discovery from the trainer dir, which would take a `.git` the trainer planted there.
 */
async function gitPathsOf(trainerDir: string): Promise<{ paths: string[]; tracked: string[] | undefined }> {
  let top: string;
  try {
    top = worktreeTopOf(trainerDir);
  } catch {
    return { paths: [], tracked: undefined };
  }
  const git = gitAt(top);
  const rev = await git.raw(['rev-parse', '--path-format=absolute', '--git-dir', '--git-common-dir']).catch(() => undefined);
  if (rev === undefined) return { paths: [], tracked: undefined };
  const [gitDir, commonDir] = rev.split('\n').map((l) => l.trim());
  const files = await git.raw(['ls-files', '-z', '--full-name', '--', path.relative(top, trainerDir) || '.']).catch(() => undefined);
  const tracked = files?.split('\0').filter(Boolean).map((f) => path.join(top, f));
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

/** The system's directories, read-only in every sandbox: programs, libraries, and /sys (CPU and PCI topology for torch and CUDA). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/opt', '/sys'];

/**
 * What of /etc a trainer reads: the dynamic linker's cache (Triton runs `ldconfig -p`), users and
 * groups, name resolution, time zone, certificates, Python's and the alternatives' links. Not the
 * rest (/etc/shadow, SSH host keys, service credentials).
 */
const ETC_FILES = [
  'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'passwd', 'group', 'nsswitch.conf', 'hosts', 'host.conf', 'resolv.conf', 'gai.conf',
  'localtime', 'timezone', 'alternatives', 'os-release', 'debian_version', 'lsb-release', 'mime.types', 'protocols', 'services',
  'ssl/certs', 'ca-certificates', 'ca-certificates.conf', 'pki/tls/certs', 'nvidia', 'OpenCL', 'vulkan',
];

function isSystemPath(p: string): boolean {
  return p === '/' || SYSTEM_DIRS.some((d) => p === d || p.startsWith(`${d}/`));
}

/** `--ro-bind` for a path, or `--symlink` where it is a link (merged /usr: /lib -> usr/lib), so the sandbox has the same layout. */
function roBindSystem(p: string): string[] {
  const stat = lstatSync(p, { throwIfNoEntry: false });
  if (!stat) return [];
  return stat.isSymbolicLink() ? ['--symlink', readlinkSync(p), p] : ['--ro-bind', p, p];
}

/** The host's NVIDIA GPUs in PCI bus order (CUDA's order on a machine of one kind of GPU): their device minor and UUID. */
function nvidiaGpus(): { minor: string; uuid: string }[] {
  const root = '/proc/driver/nvidia/gpus';
  const gpus: { bus: string; minor: string; uuid: string }[] = [];
  for (const bus of (existsSync(root) ? readdirSync(root) : []).sort()) {
    const info = readFileSync(path.join(root, bus, 'information'), 'utf8');
    const minor = /^Device Minor:\s*(\d+)/m.exec(info)?.[1];
    const uuid = /^GPU UUID:\s*(\S+)/m.exec(info)?.[1];
    if (minor !== undefined && uuid !== undefined) gpus.push({ bus, minor, uuid });
  }
  return gpus;
}

/**
 * The GPU device nodes to pass through, and the CUDA_VISIBLE_DEVICES the trainer gets. A lane with a
 * GPU gets only that GPU's node (plus the driver's control nodes), named by its UUID, so a trainer
 * that drops the variable still cannot reach another lane's GPU. A lane without one (the default
 * single-lane worker) gets every GPU, as a process outside the sandbox would.
 */
export function gpuPassThrough(gpu: string | undefined, devices = nvidiaDeviceNames(), gpus = safeNvidiaGpus()): { args: string[]; visible?: string } {
  const all = devices.map((d) => path.join('/dev', d));
  const bind = (list: string[]) => list.flatMap((d) => ['--dev-bind', d, d]);
  if (gpu === undefined) return { args: bind(all) };
  const index = Number(gpu);
  const chosen = Number.isInteger(index) ? gpus[index] : gpus.find((g) => g.uuid === gpu);
  if (!chosen) return { args: bind(all), visible: gpu }; // no driver information: the variable alone, as before
  const control = all.filter((d) => !/^\/dev\/nvidia\d+$/.test(d));
  return { args: bind([...control, `/dev/nvidia${chosen.minor}`].filter((d) => all.includes(d))), visible: chosen.uuid };
}

function nvidiaDeviceNames(): string[] {
  try {
    return readdirSync('/dev').filter((name) => name.startsWith('nvidia'));
  } catch {
    return [];
  }
}

function safeNvidiaGpus(): { minor: string; uuid: string }[] {
  try {
    return nvidiaGpus();
  } catch {
    return [];
  }
}

/**
 * Read-only binds for a program and what it runs from: the directory it was found in and the
 * installation it really lives in (a venv's `bin/python` links to an interpreter elsewhere; a
 * pyenv shim or uv's link to its own venv), where these are not system directories already.
 */
export function programBinds(found: string, except: string[] = []): string[] {
  const out = new Set<string>();
  const add = (p: string) => {
    if (!isSystemPath(p) && existsSync(p) && !except.some((e) => p === e || p.startsWith(`${e}/`))) out.add(p);
  };
  add(path.dirname(found));
  // A virtual environment's interpreter needs the environment's own site-packages.
  if (existsSync(path.join(path.dirname(path.dirname(found)), 'pyvenv.cfg'))) add(path.dirname(path.dirname(found)));
  // Every link on the way (set-up's bin/uv links to uv's venv; a link may point at another link).
  let hop = found;
  for (let i = 0; i < 40; i++) {
    let target: string;
    try {
      target = readlinkSync(hop);
    } catch {
      break; // not a link (or gone): the end of the chain
    }
    hop = path.resolve(path.dirname(hop), target);
    add(path.dirname(hop));
  }
  let real = found;
  try {
    real = realpathSync(found);
  } catch {
    // a dangling link: nothing more to bind
  }
  add(path.dirname(path.dirname(real)));
  return [...out].flatMap((p) => ['--ro-bind', p, p]);
}

/** Read-only binds for a worker's Python environment and the interpreter it was made from. */
function pythonBinds(python: TrainerPython | undefined): string[] {
  if (!python) return [];
  return ['--ro-bind', python.dir, python.dir, ...programBinds(python.python, [python.dir])];
}

/**
 * What both sandboxes start from, in mount order (later mounts cover earlier ones): the system's
 * directories read-only, their own PID namespace and /proc, a minimal /dev and the lane's GPU, no
 * network unless allowed, a private /tmp and an empty private home.
 */
function baseArgs(env: Record<string, string>, { network, gpu }: { network: boolean; gpu?: string }): { args: string[]; visibleGpu?: string } {
  const args: string[] = [];
  for (const dir of SYSTEM_DIRS) args.push(...roBindSystem(dir));
  for (const file of ETC_FILES) if (existsSync(path.join('/etc', file))) args.push('--ro-bind', path.join('/etc', file), path.join('/etc', file));
  // A root worker's trainer would keep root's capabilities inside (and could remount the read-only
  // binds writable): it gets none.
  args.push('--cap-drop', 'ALL', '--unshare-pid', '--proc', '/proc', '--dev', '/dev');
  if (!network) args.push('--unshare-net');
  const gpus = gpuPassThrough(gpu);
  args.push(...gpus.args);
  args.push('--tmpfs', '/tmp');
  const home = env.HOME;
  if (home && !isSystemPath(home) && home !== '/tmp') args.push('--tmpfs', home);
  return { args, visibleGpu: gpus.visible };
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
