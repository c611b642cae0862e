/**
 * The trainer's sandbox (bubblewrap), through the real `train` activity in a mocked activity context:
 * a hostile trainer finds no key, changes no protected file and reaches no socket; a hanging one is
 * still killed at its timeout with everything it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { MockActivityEnvironment } from '@temporalio/testing';
import { TrainerConfigSchema } from '../../src/core/runInput.js';
import { evaluate, train } from '../../src/activities/training.js';
import type { TrainInput, TrainResult } from '../../src/api/activities.js';
import { sandboxStatus } from '../../src/activities/sandbox.js';
import { makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { trainerProcesses, waitFor } from '../helpers/workerProcess.js';

const CANARY = `canary-${process.pid}-${Date.now()}`;

/** A trainer that tries what an edited train.py must not do, reports each attempt, then ends normally. */
const HOSTILE_TRAINER = String.raw`
import glob, json, os, socket, subprocess
CANARY = "${CANARY}"  # in its source, not its environment, so its own environ does not match
report = {}
found = []
for f in glob.glob("/proc/*/environ"):
    try:
        if CANARY.encode() in open(f, "rb").read():
            found.append(f)
    except OSError:
        pass
report["canary"] = found
report["pids_seen"] = len(glob.glob("/proc/[0-9]*"))
def attempt(name, fn):
    try:
        fn()
        report[name] = "done"
    except OSError as e:
        report[name] = type(e).__name__ + ": " + (e.strerror or str(e))
def write(p, mode="a"):
    with open(p, mode) as f:
        f.write("# tampered\n")
attempt("prepare.py", lambda: write("prepare.py"))
attempt("replace prepare.py", lambda: os.replace("train.py", "prepare.py"))
attempt("git hook", lambda: write(os.path.join(os.environ["GIT_COMMON"], "hooks", "pre-commit"), "w"))
attempt("git config", lambda: write(os.path.join(os.environ["GIT_COMMON"], "config")))
attempt("worktree .git", lambda: write(os.path.join(os.environ["WORKTREE"], ".git")))
attempt("data cache", lambda: write(os.path.join(os.environ["AUTORESEARCH_CACHE"], "v2", "x", "vocab1", "val.bin")))
attempt("own output", lambda: write("checkpoint.txt"))
def connect():
    s = socket.create_connection(("127.0.0.1", int(os.environ["PORT"])), timeout=3)
    s.sendall(b"hello")
    s.close()
attempt("socket", connect)
print("report:", json.dumps(report), flush=True)
print("---")
print("val_bpb:          1.000000")
print("training_seconds: 1.0")
print("total_seconds:    1.0")
print("peak_vram_mb:     0.0")
print("mfu_percent:      0.00")
print("total_tokens_M:   0.0")
print("num_steps:        1")
print("num_params_M:     0.0")
print("depth:            1")
`;

/** A trainer that starts a grandchild and then hangs, ignoring SIGTERM. */
const HANGING_TRAINER = String.raw`
import signal, subprocess, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
subprocess.Popen(["sleep", "600"])
print("hanging", flush=True)
while True:
    time.sleep(1)
`;

async function laneWorktree(trainerSource: string) {
  const repo = await makeFixtureRepo();
  const git = (...args: string[]) => execa('git', args, { cwd: repo });
  await writeFile(path.join(repo, 'trainer', 'prepare.py'), '# the harness\n');
  await git('add', '-A');
  await git('-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '-q', '-m', 'harness');
  const worktree = path.join(repo, '.autoresearch', 'runs', 'sbx', 'lanes', 'cpu0');
  await git('worktree', 'add', '-q', '--detach', worktree, 'HEAD');
  await writeFile(path.join(worktree, 'trainer', 'train.py'), trainerSource);
  return { repo, worktree, trainerDir: path.join(worktree, 'trainer'), logs: path.join(repo, '.autoresearch', 'runs', 'sbx', 'logs') };
}

let bwrapReason: string | undefined;
beforeAll(async () => {
  const status = await sandboxStatus();
  if (!status.available) {
    bwrapReason = status.reason;
    console.log(`sandbox tests skipped: ${status.reason}`);
  }
});

describe('the trainer sandbox', () => {
  let standIn: ChildProcess | undefined;
  let server: net.Server | undefined;
  const savedKey = process.env.ANTHROPIC_API_KEY;
  afterEach(() => {
    standIn?.kill('SIGKILL');
    server?.close();
    if (savedKey === undefined) delete process.env.ANTHROPIC_API_KEY;
    else process.env.ANTHROPIC_API_KEY = savedKey;
  });

  test('a hostile trainer finds no key, changes no protected file and reaches no socket', async () => {
    if (bwrapReason) return;
    // The key is in this (worker) process's environment, and in the start-up environment of a
    // process of the same user: /proc/<pid>/environ shows only the latter, as it would a worker's.
    process.env.ANTHROPIC_API_KEY = CANARY;
    standIn = spawn('sleep', ['120'], { env: { ...process.env, ANTHROPIC_API_KEY: CANARY }, stdio: 'ignore' });
    const visible = await waitFor('the stand-in worker', async () => ((await readFile(`/proc/${standIn!.pid}/environ`, 'utf8').catch(() => '')).includes(CANARY) ? true : undefined), 5_000, 20);
    expect(visible).toBe(true); // outside the sandbox the key is readable

    let connections = 0;
    server = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;

    const { repo, worktree, trainerDir, logs } = await laneWorktree(HOSTILE_TRAINER);
    const dataCache = await mkdtemp(path.join(os.tmpdir(), 'ar-data-'));
    const prepared = path.join(dataCache, 'v2', 'x', 'vocab1');
    await mkdir(prepared, { recursive: true });
    await writeFile(path.join(prepared, 'meta.json'), '{}\n');
    await writeFile(path.join(prepared, 'val.bin'), 'validation\n');
    const gitCommon = path.join(repo, '.git');
    const before = {
      prepare: await readFile(path.join(trainerDir, 'prepare.py'), 'utf8'),
      config: await readFile(path.join(gitCommon, 'config'), 'utf8'),
      hooks: await readdir(path.join(gitCommon, 'hooks')),
      dotGit: await readFile(path.join(worktree, '.git'), 'utf8'),
      val: await readFile(path.join(prepared, 'val.bin'), 'utf8'),
    };

    const input: TrainInput = {
      experimentId: 'sbx/exp-0001',
      trainerDir,
      logFile: path.join(logs, 'exp-0001.log'),
      trainer: TrainerConfigSchema.parse({
        command: 'python3 train.py',
        evaluation: 'trainer', // a fixture: it prints its summary and exports no model
        timeBudgetSeconds: 1,
        timeoutSeconds: 60,
        env: { PORT: String(port), GIT_COMMON: gitCommon, WORKTREE: worktree, AUTORESEARCH_CACHE: dataCache },
      }),
    };
    const result = (await new MockActivityEnvironment({ attempt: 1 }).run(train, input)) as TrainResult;
    const log = await readFile(input.logFile, 'utf8');
    expect(log.split('\n')[0]).toMatch(/, sandboxed\)$/);
    const report = JSON.parse(/^report: (.*)$/m.exec(log)![1]) as Record<string, unknown>;
    console.log('inside the sandbox:', report);

    expect(result.exitCode).toBe(0);
    expect(await evaluate(result)).toMatchObject({ ok: true });
    // Finds nothing: its own PID namespace shows only the sandbox's processes.
    expect(report.canary).toEqual([]);
    expect(report.pids_seen).toBeLessThanOrEqual(3);
    // Changes nothing.
    // The repository outside the trainer dir is not even visible (a write to the worktree's .git lands in
    // the sandbox's private /tmp, where this test keeps its repos): the host's files are checked below.
    for (const name of ['prepare.py', 'replace prepare.py', 'git hook', 'git config', 'data cache']) {
      expect([name, report[name]]).toEqual([name, expect.stringMatching(/^(OSError|PermissionError|FileNotFoundError): (Read-only file system|Device or resource busy|Permission denied|No such file or directory)/)]);
    }
    expect(await readFile(path.join(trainerDir, 'prepare.py'), 'utf8')).toBe(before.prepare);
    expect(await readFile(path.join(gitCommon, 'config'), 'utf8')).toBe(before.config);
    expect(await readdir(path.join(gitCommon, 'hooks'))).toEqual(before.hooks);
    expect(await readFile(path.join(worktree, '.git'), 'utf8')).toBe(before.dotGit);
    expect(await readFile(path.join(prepared, 'val.bin'), 'utf8')).toBe(before.val);
    // Reaches nothing.
    expect(report.socket).toMatch(/^(ConnectionRefusedError|OSError|TimeoutError)/);
    expect(connections).toBe(0);
    // And may still write its own outputs.
    expect(report['own output']).toBe('done');
    expect(await readFile(path.join(trainerDir, 'checkpoint.txt'), 'utf8')).toBe('# tampered\n');
  }, 60_000);

  test('a sandboxed trainer that hangs (and ignores SIGTERM) is killed at its timeout, with the process it started', async () => {
    if (bwrapReason) return;
    const { trainerDir, logs } = await laneWorktree(HANGING_TRAINER);
    const runId = `sbxhang${process.pid}`;
    const input: TrainInput = {
      experimentId: `${runId}/exp-0001`,
      trainerDir,
      logFile: path.join(logs, 'exp-0001.log'),
      trainer: TrainerConfigSchema.parse({ command: 'python3 train.py', timeBudgetSeconds: 1, timeoutSeconds: 3, evaluation: 'trainer' }),
    };
    const started = Date.now();
    const running = new MockActivityEnvironment({ attempt: 1 }).run(train, input) as Promise<TrainResult>;
    const inside = await waitFor('the trainer and its grandchild', async () => {
      const found = await trainerProcesses(runId);
      return found.length >= 3 ? found : undefined; // bwrap, python and sleep (and bwrap's init)
    }, 10_000, 100);
    expect(new Set(inside.map((p) => p.pgid)).size).toBe(1); // one process group, as without the sandbox
    const result = await running;
    const seconds = (Date.now() - started) / 1000;
    console.log(`hanging sandboxed trainer: killed after ${seconds.toFixed(1)} s; ${inside.length} processes in its group`);
    expect(result.timedOut).toBe(true);
    expect(await evaluate(result)).toMatchObject({ ok: false, reason: expect.stringMatching(/^timed out after/) });
    expect(await waitFor('no process left', async () => ((await trainerProcesses(runId)).length === 0 ? true : undefined), 5_000, 100)).toBe(true);
  }, 60_000);
});
