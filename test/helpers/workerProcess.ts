import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Connection } from '@temporalio/client';
import { TASK_QUEUE } from '../../src/core/names.js';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// temporal.api.enums.v1.TaskQueueType (numbers: @temporalio/proto is CommonJS without named ESM exports).
const TASK_QUEUE_TYPES = { workflow: 1, activity: 2 } as const;

/** The real worker (`src/worker.ts`) as a child process, the way `npm run worker` runs it. */
export interface WorkerProcess {
  pid: number;
  logFile: string;
  /** Resolves when the worker polls both the workflow and the activity task queue (bounded). */
  waitUntilPolling(connection: Connection, timeoutMs?: number): Promise<void>;
  /** SIGKILL to the worker's process group: a crash. Trainers live in groups of their own and are orphaned. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown cancels running activities), SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  log(): string;
}

const running = new Set<WorkerProcess>();

export function startWorkerProcess(opts: { address: string; logFile: string; env?: Record<string, string> }): WorkerProcess {
  const fd = openSync(opts.logFile, 'a');
  const { NODE_OPTIONS: _jestFlags, ...env } = process.env;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...env, TEMPORAL_ADDRESS: opts.address, TEMPORAL_NAMESPACE: 'default', ...opts.env },
    detached: true, // its own process group, so kill() takes tsx's esbuild helper along
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  const log = () => readFileSync(opts.logFile, 'utf8');

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  const waitExit = async (timeoutMs: number) => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    });
    const late = await Promise.race([exited.then(() => false), timedOut]);
    clearTimeout(timer);
    return !late;
  };

  const worker: WorkerProcess = {
    pid,
    logFile: opts.logFile,
    log,
    async waitUntilPolling(connection, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let startedAt: number | undefined;
      while (Date.now() < deadline) {
        if (!isRunning()) throw new Error(`worker ${pid} exited before polling; its log:\n${log()}`);
        startedAt ??= /^worker: task queue/m.test(log()) ? Date.now() : undefined;
        // The task queue lists the pollers of its root partition only: with several workers one may
        // poll other partitions and never be listed. Once the worker says it runs, a few seconds suffice.
        if (startedAt && ((await pollsAll(connection, pid)) || Date.now() - startedAt > 3_000)) return;
        await sleep(250);
      }
      throw new Error(`worker ${pid} did not poll "${TASK_QUEUE}" within ${timeoutMs} ms; its log:\n${log()}`);
    },
    async kill() {
      signalGroup('SIGKILL');
      if (!(await waitExit(10_000))) throw new Error(`worker ${pid} survived SIGKILL`);
      running.delete(worker);
    },
    async stop(timeoutMs = 30_000) {
      signalGroup('SIGTERM');
      if (!(await waitExit(timeoutMs))) {
        signalGroup('SIGKILL');
        await waitExit(10_000);
      }
      signalGroup('SIGKILL'); // anything the worker left in its group
      running.delete(worker);
    },
  };
  running.add(worker);
  return worker;
}

/** For afterAll: ends every worker process this file started and did not end itself. */
export async function killAllWorkerProcesses(): Promise<void> {
  await Promise.all([...running].map((w) => w.kill().catch(() => undefined)));
}

async function pollsAll(connection: Connection, pid: number): Promise<boolean> {
  for (const taskQueueType of Object.values(TASK_QUEUE_TYPES)) {
    const res = await connection.workflowService
      .describeTaskQueue({ namespace: 'default', taskQueue: { name: TASK_QUEUE }, taskQueueType })
      .catch(() => undefined);
    if (!res?.pollers?.some((p) => p.identity?.startsWith(`${pid}@`))) return false;
  }
  return true;
}

/**
 * Live trainer processes of a run, recognised by the experiment id the train activity puts in the
 * trainer's environment (`AUTORESEARCH_EXPERIMENT_ID=<runId>/exp-NNNN`), with their process group.
 * Zombies have an empty environ and do not count.
 */
export async function trainerProcesses(runId: string): Promise<{ pid: number; pgid: number; experimentId: string }[]> {
  const found: { pid: number; pgid: number; experimentId: string }[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    const id = environ.split('\0').find((v) => v.startsWith(`AUTORESEARCH_EXPERIMENT_ID=${runId}/`));
    const pgid = id && (await processGroupOf(Number(entry)));
    if (id && pgid) found.push({ pid: Number(entry), pgid, experimentId: id.slice(id.indexOf('=') + 1) });
  }
  return found;
}

/** The process group of a live (non-zombie) process, from /proc/<pid>/stat. */
async function processGroupOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing parenthesis.
  const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return state && state !== 'Z' ? Number(pgrp) : undefined;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
