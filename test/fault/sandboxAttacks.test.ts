/**
 * What a trainer can reach from inside its sandbox, driven the way an experiment would: a train.py
 * that tries, through the real `train` and `evaluate` activities (mocked activity context) in a lane
 * worktree whose trainer runs with `uv run`, in the worker's own Python environment. It finds no file
 * of the worker's home, no secret variable, no socket, cannot change its Python environment or the uv
 * cache, and what it prints of a secret never leaves it.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MockActivityEnvironment } from '@temporalio/testing';
import { TrainerConfigSchema } from '../../src/core/runInput.js';
import { evaluate, train } from '../../src/activities/training.js';
import type { TrainInput, TrainResult } from '../../src/api/activities.js';
import { gpuPassThrough } from '../../src/activities/sandboxBinds.js';
import { sandboxRefusal, sandboxStatus } from '../../src/activities/sandbox.js';
import { redactSecrets } from '../../src/activities/secrets.js';
import { passedThrough } from '../../src/activities/trainerEnv.js';
import { lockFilesIn, trainerPython } from '../../src/activities/trainerPython.js';
import { makeFixtureRepo, uvLaneWorktree } from '../helpers/fixtureRepo.js';

const PROJECT_TRAINER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../trainer');
const CANARY = `canary-${process.pid}-${Date.now()}`;

/** Tries each thing, reports what happened, then prints what it found of the canary and crashes. */
const PROBING_TRAINER = String.raw`
import json, os, socket, sys, site
FOUND = "${CANARY}"  # what it found somewhere else (its own source holds it, not its environment)
report = {}
def attempt(name, fn):
    try:
        report[name] = "done: " + str(fn())[:80]
    except Exception as e:
        report[name] = type(e).__name__ + ": " + (getattr(e, "strerror", None) or str(e))
home = os.environ["HOME"]
attempt("home config", lambda: open(os.path.join(os.environ["WORKER_HOME"], ".config", "temporalio", "temporal.toml")).read())
attempt("home listing", lambda: os.listdir(home))
def unix():
    s = socket.socket(socket.AF_UNIX)
    s.connect(os.environ["SOCKET"])
    return "connected"
attempt("unix socket", unix)
def pth():
    with open(os.path.join(site.getsitepackages()[0], "evil.pth"), "w") as f:
        f.write("import os\n")
attempt("environment .pth", pth)
def cache():
    with open(os.path.join(os.environ["UV_CACHE"], "poison.py"), "w") as f:
        f.write("import os\n")
attempt("uv cache", cache)
attempt("torch", lambda: __import__("torch").__version__)
attempt("shadow", lambda: open("/etc/shadow").read())
report["env"] = {k: v for k, v in os.environ.items() if FOUND in v}
report["prefix"] = sys.prefix
print("report: " + json.dumps(report), flush=True)
print("found: the key is " + FOUND, flush=True)
sys.exit(1)
`;

let bwrapReason: string | undefined;
beforeAll(async () => {
  const status = await sandboxStatus();
  bwrapReason = status.available ? undefined : status.reason;
  if (bwrapReason) console.warn(`sandbox attacks skipped: ${bwrapReason}`);
});

describe('a trainer probing its sandbox', () => {
  const saved = { ...process.env };
  let server: net.Server | undefined;
  afterEach(() => {
    server?.close();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });

  test('finds no home file, secret variable or socket, changes neither its environment nor the uv cache, and leaks no secret it prints', async () => {
    if (bwrapReason) return;
    // A worker home with a Temporal profile holding a key, and a socket in it.
    const workerHome = await mkdtemp(path.join(os.tmpdir(), 'ar-home-'));
    await mkdir(path.join(workerHome, '.config', 'temporalio'), { recursive: true });
    await writeFile(path.join(workerHome, '.config', 'temporalio', 'temporal.toml'), `api_key = "${CANARY}"\n`);
    const socketPath = path.join(workerHome, 'agent.sock');
    let connections = 0;
    server = net.createServer((s) => { connections++; s.destroy(); });
    await new Promise<void>((resolve) => server!.listen(socketPath, resolve));
    // The worker's secrets, allow-listed or not by name.
    Object.assign(process.env, { HOME: workerHome, ANTHROPIC_API_KEY: CANARY, DATABASE_URL: `postgres://u:${CANARY}@db/x`, AWS_ACCESS_KEY_ID: CANARY, SOME_SETTING: CANARY });

    // A lane worktree of a repository whose trainer runs with uv, on the project's own lock files.
    const repo = await makeFixtureRepo();
    const { baseCommit, trainerDir } = await uvLaneWorktree(repo, 'probe', PROBING_TRAINER);
    const python = await trainerPython(await lockFilesIn(PROJECT_TRAINER));
    const uvCache = process.env.UV_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'uv');

    const input: TrainInput = {
      experimentId: 'probe/exp-0001',
      trainerDir,
      logFile: path.join(repo, '.autoresearch', 'runs', 'probe', 'logs', 'exp-0001.log'),
      baseCommit,
      trainer: TrainerConfigSchema.parse({
        command: 'uv run train.py', evaluation: 'trainer', timeBudgetSeconds: 1, timeoutSeconds: 120,
        env: { WORKER_HOME: saved.HOME ?? os.homedir(), SOCKET: socketPath, UV_CACHE: uvCache },
      }),
    };
    // The home the test made is what the worker's HOME is now; the profile under it must be invisible.
    input.trainer.env.WORKER_HOME = workerHome;
    const result = (await new MockActivityEnvironment({ attempt: 1 }).run(train, input)) as TrainResult;
    const log = await readFile(input.logFile, 'utf8');
    const report = JSON.parse(/^report: (.*)$/m.exec(log)![1]) as Record<string, unknown>;
    console.log('the probing trainer saw:', report);

    expect(report.torch).toMatch(/^done: /); // it runs, in the worker's environment
    expect(report.prefix).toBe(python.dir);
    expect(report['home config']).toMatch(/^FileNotFoundError/);
    // The home is empty but for the data cache's mount point (~/.cache/autoresearch/data).
    expect(report['home listing']).toMatch(/^done: \[('\.cache')?\]$/);
    expect(report['unix socket']).toMatch(/^(FileNotFoundError|ConnectionRefusedError)/);
    expect(connections).toBe(0);
    expect(report['environment .pth']).toMatch(/^OSError: Read-only file system/);
    expect(existsSync(path.join(python.dir, 'lib'))).toBe(true);
    expect(report['uv cache']).toMatch(/^(FileNotFoundError|OSError)/);
    expect(existsSync(path.join(uvCache, 'poison.py'))).toBe(false);
    expect(report.shadow).toMatch(/^FileNotFoundError/);
    expect(report.env).toEqual({}); // neither the key, the database URL, the AWS key nor an unlisted variable
    // No venv was made in the lane's worktree.
    expect(existsSync(path.join(trainerDir, '.venv'))).toBe(false);

    const evaluation = await evaluate(result);
    expect(evaluation.ok).toBe(false);
    const tail = evaluation.ok ? '' : evaluation.logTail;
    expect(tail).toContain('found: the key is [redacted ANTHROPIC_API_KEY]');
    expect(tail).not.toContain(CANARY);
  }, 180_000);
});

describe('the rules, on their own', () => {
  test('the trainer sees an allow-list of the worker environment, never a secret by name', () => {
    expect(passedThrough({ PATH: '/bin', LANG: 'C', OMP_NUM_THREADS: '2', CUDA_HOME: '/cuda', DATABASE_URL: 'x', AWS_ACCESS_KEY_ID: 'x', SOME_SETTING: 'x', AUTORESEARCH_API_TOKEN: 'x', AUTORESEARCH_DEVICE: 'cpu' }))
      .toEqual({ PATH: '/bin', LANG: 'C', OMP_NUM_THREADS: '2', CUDA_HOME: '/cuda', AUTORESEARCH_DEVICE: 'cpu' });
  });

  test("secrets the trainer printed are redacted by the variable's name, longest first", () => {
    const env = { ANTHROPIC_API_KEY: 'sk-ant-0123456789', TEMPORAL_API_KEY: 'sk-ant-0123456789-longer', SHORT_TOKEN: 'abc', PATH: '/usr/bin:/bin' };
    expect(redactSecrets('a sk-ant-0123456789-longer b sk-ant-0123456789 c abc /usr/bin:/bin', env))
      .toBe('a [redacted TEMPORAL_API_KEY] b [redacted ANTHROPIC_API_KEY] c abc /usr/bin:/bin');
  });

  test("a lane with a GPU gets only that GPU's device node and the driver's control nodes, named by UUID", () => {
    const devices = ['nvidia0', 'nvidia1', 'nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools', 'nvidia-modeset'];
    const gpus = [{ minor: '0', uuid: 'GPU-aaa' }, { minor: '1', uuid: 'GPU-bbb' }];
    const lane1 = gpuPassThrough('1', devices, gpus);
    expect(lane1.visible).toBe('GPU-bbb');
    expect(lane1.args).toContain('/dev/nvidia1');
    expect(lane1.args).not.toContain('/dev/nvidia0');
    expect(lane1.args).toContain('/dev/nvidiactl');
    // A lane without a GPU (one default lane on a GPU machine) sees them all, as before.
    expect(gpuPassThrough(undefined, devices, gpus).args).toContain('/dev/nvidia0');
  });

  test('a worker that must sandbox refuses to train without one', () => {
    expect(sandboxRefusal({ available: false, reason: 'no bwrap', required: true })).toMatch(/AUTORESEARCH_SANDBOX=required, and trainers cannot be sandboxed on this worker: no bwrap/);
    expect(sandboxRefusal({ available: false, reason: 'no bwrap', required: false })).toBeUndefined();
    expect(sandboxRefusal({ available: true, bwrap: '/usr/bin/bwrap' })).toBeUndefined();
  });
});
