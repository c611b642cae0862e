/**
 * The trainer's Python environment, built and owned by the worker. A trainer launched with `uv run`
 * would otherwise sync an environment inside its own (writable) directory, and the harness's
 * evaluator would run in it: a `.pth` file or a patched package written there by one experiment
 * would run inside the next evaluation. Instead the worker builds one environment per lock file
 * (the base commit's pyproject.toml and uv.lock, never the experiment's) outside any sandbox, in
 * uv's copy mode (no file shared with the uv cache), and every sandbox sees it read-only.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, parseCommandString } from 'execa';
import type { TrainerPython } from '../api/activities.js';
import { isSecretName } from './secrets.js';
import { cacheHome } from './trainerEnv.js';

/** The files that define the environment, read from the base commit. */
export interface LockFiles {
  'pyproject.toml': string;
  'uv.lock': string;
  '.python-version'?: string;
}

/** Whether `trainer.command` runs through uv (`uv run train.py`), and so needs the worker's environment. */
export function usesUv(command: string): boolean {
  const [file, sub] = parseCommandString(command);
  return path.basename(file ?? '') === 'uv' && sub === 'run';
}

/** One environment per distinct lock: its directory is named by the hash of the files that define it. */
export function environmentDirOf(files: LockFiles, root = path.join(cacheHome(), 'envs')): string {
  const hash = createHash('sha256');
  for (const name of ['pyproject.toml', 'uv.lock', '.python-version'] as const) hash.update(`${name}\0${files[name] ?? ''}\0`);
  return path.join(root, hash.digest('hex').slice(0, 16));
}

/** Written last: an environment without it is incomplete (a build that was killed) and is built again. */
const READY = '.autoresearch-ready';

/** The variables a trainer launched with `uv run` gets: the worker's environment, used as it is, and no cache (the uv cache is not the trainer's). */
export function uvRunEnv(env: TrainerPython): Record<string, string> {
  return { UV_PROJECT_ENVIRONMENT: env.dir, UV_NO_SYNC: '1', UV_FROZEN: '1', UV_NO_CACHE: '1' };
}

const building = new Map<string, Promise<TrainerPython>>();

/**
 * The environment for these lock files, built when missing (`uv sync --frozen`, copy mode, no dev
 * group), else as it is. Builds of the same environment in one worker share one promise; two
 * workers on one host are serialised by uv's own lock on the environment. `beat` is called while it
 * builds (a first build copies PyTorch: tens of seconds).
 */
export function trainerPython(files: LockFiles, beat: () => void = () => undefined, root?: string): Promise<TrainerPython> {
  const dir = environmentDirOf(files, root);
  const python = path.join(dir, 'bin', 'python');
  if (existsSync(path.join(dir, READY))) return Promise.resolve({ dir, python });
  let pending = building.get(dir);
  if (!pending) {
    pending = build(files, dir, beat).then(() => ({ dir, python })).finally(() => building.delete(dir));
    building.set(dir, pending);
  }
  return pending;
}

async function build(files: LockFiles, dir: string, beat: () => void): Promise<void> {
  await mkdir(path.dirname(dir), { recursive: true });
  // The lock files alone, in a directory of the worker's: nothing of the experiment's directory is read.
  const project = await mkdtemp(path.join(path.dirname(dir), '.project-'));
  const timer = setInterval(beat, 5_000);
  try {
    for (const [name, text] of Object.entries(files)) if (text !== undefined) await writeFile(path.join(project, name), text);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !isSecretName(k)) env[k] = v;
    const home = cacheHome();
    const r = await execa('uv', ['sync', '--frozen', '--no-install-project', '--no-dev', '--quiet'], {
      cwd: project,
      env: {
        ...env,
        PATH: `${path.join(home, 'bin')}${path.delimiter}${env.PATH ?? ''}`,
        UV_PROJECT_ENVIRONMENT: dir,
        UV_LINK_MODE: 'copy',
        UV_CACHE_DIR: env.UV_CACHE_DIR ?? path.join(home, 'uv-cache'),
        UV_PYTHON_DOWNLOADS: env.UV_PYTHON_DOWNLOADS ?? 'never',
      },
      extendEnv: false,
      reject: false,
      all: true,
      stdin: 'ignore',
    });
    if (r.exitCode !== 0) throw new Error(`could not build the trainer's Python environment in ${dir} (uv sync --frozen): ${String(r.all ?? r.shortMessage).trim().slice(-1500)}`);
    await writeFile(path.join(dir, READY), `${new Date().toISOString()}\n`);
  } finally {
    clearInterval(timer);
    await rm(project, { recursive: true, force: true });
  }
}

/** The lock files of `trainerDir`'s project as they are on disk (set-up and the image build; the worker reads the base commit's). */
export async function lockFilesIn(trainerDir: string): Promise<LockFiles> {
  const read = (name: string) => readFile(path.join(trainerDir, name), 'utf8');
  const version = existsSync(path.join(trainerDir, '.python-version')) ? await read('.python-version') : undefined;
  return { 'pyproject.toml': await read('pyproject.toml'), 'uv.lock': await read('uv.lock'), ...(version !== undefined ? { '.python-version': version } : {}) };
}
