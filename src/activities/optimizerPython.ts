/**
 * The optimizer's sampler, run by the worker: python/suggest.py from the worker's own checkout (no
 * experiment can edit it), in the Python environment of the worker's trainer project (Optuna is
 * locked there; `npm run trainer-env` builds it, else the first call does). Isolated (`-I -E -s
 * -B`: no user site, no PYTHON* variables, no bytecode written), with an environment of its own (no
 * proxies, no keys), a bounded time, and its answer validated before it is used.
 */
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { ProposerFatalError } from '../core/failures.js';
import { checkedAnswer, type SuggestAnswer, type SuggestRequest } from '../proposers/optimizerProtocol.js';
import { PROJECT_ROOT } from './runPaths.js';
import { lockFilesIn, trainerPython } from './trainerPython.js';

export const SUGGEST_SCRIPT = path.join(PROJECT_ROOT, 'python', 'suggest.py');
/** A study of thousands of trials takes seconds; a minute is a hung process. */
export const SUGGEST_TIMEOUT_MS = 60_000;
export const ISOLATED = ['-I', '-E', '-s', '-B'];

/** The worker's Python with Optuna: the environment of this project's trainer lock, built when missing. */
export async function optimizerPython(beat: () => void = () => undefined): Promise<string> {
  return (await trainerPython(await lockFilesIn(path.join(PROJECT_ROOT, 'trainer')), beat)).python;
}

/** What the sampler's process sees: enough to run Python, one thread, nothing of the worker's secrets or proxies. */
export function samplerEnv(): Record<string, string> {
  return { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: os.tmpdir(), LANG: 'C.UTF-8', OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
}

/** One ask of the sampler. A failing script (no Optuna, a bug) is fatal; a timeout is not (the activity retries). */
export async function suggestInPython(request: SuggestRequest, signal?: AbortSignal, python?: string): Promise<SuggestAnswer> {
  const exe = python ?? await optimizerPython();
  const r = await execa(exe, [...ISOLATED, SUGGEST_SCRIPT], {
    input: JSON.stringify(request), env: samplerEnv(), extendEnv: false, cwd: os.tmpdir(), reject: false, timeout: SUGGEST_TIMEOUT_MS,
    forceKillAfterDelay: 2_000, ...(signal ? { cancelSignal: signal } : {}), maxBuffer: 1 << 20,
  });
  if (r.timedOut) throw new Error(`the optimizer's sampler gave no answer within ${SUGGEST_TIMEOUT_MS / 1000}s`);
  if (r.isCanceled) throw signal?.reason ?? new Error('cancelled');
  if (r.exitCode !== 0) {
    throw new ProposerFatalError(`the optimizer's sampler (${SUGGEST_SCRIPT}) failed with exit ${r.exitCode ?? r.signal}: ${String(r.stderr).trim().slice(-1500)}`);
  }
  try {
    return checkedAnswer(JSON.parse(String(r.stdout)), request.space);
  } catch (err) {
    throw new ProposerFatalError(`the optimizer's sampler answered something unusable: ${(err as Error).message}`);
  }
}

/**
 * A sampler kept running for many asks (`--lines`: one request, one answer per line), for the
 * benchmark and the tests, where Python's start-up would cost more than the asks. Each answer is
 * the same as a one-shot run's. close() ends the process.
 */
export async function startSampler(python?: string): Promise<{ suggest: (r: SuggestRequest) => Promise<SuggestAnswer>; close: () => Promise<void> }> {
  const child = execa(python ?? await optimizerPython(), [...ISOLATED, SUGGEST_SCRIPT, '--lines'], {
    env: samplerEnv(), extendEnv: false, cwd: os.tmpdir(), stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, buffer: false,
  });
  const waiting: ((line: string) => void)[] = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      waiting.shift()?.(line);
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000); });
  let queue = Promise.resolve();
  const ask = (request: SuggestRequest) => new Promise<SuggestAnswer>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the sampler gave no answer within ${SUGGEST_TIMEOUT_MS / 1000}s: ${stderr}`)), SUGGEST_TIMEOUT_MS);
    waiting.push((line) => {
      clearTimeout(timer);
      try {
        resolve(checkedAnswer(JSON.parse(line), request.space));
      } catch (err) {
        reject(err);
      }
    });
    child.stdin!.write(`${JSON.stringify(request)}\n`);
  });
  return {
    // One ask at a time, in order: answers come back in the order asked.
    suggest: (request) => {
      const next = queue.then(() => ask(request));
      queue = next.then(() => undefined, () => undefined);
      return next;
    },
    async close() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await child;
      clearTimeout(timer);
    },
  };
}
