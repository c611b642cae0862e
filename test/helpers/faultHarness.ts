/**
 * The fault harness: real research runs with the fixture trainer on real worker processes (one
 * host per lane, each with its own clone, HOME and worker, sharing a bare remote) and a real dev
 * server, while it kills and restarts workers, restarts the server and lets the fixture trainer
 * crash, hang, print NaN, blow its memory limit or flood its log; after each run it checks the
 * invariants (runInvariants.ts: checkRunFacts). `npm run test:faults`, and a short seeded version in CI.
 */
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { resultsRef, TASK_QUEUE } from '../../src/core/names.js';
import type { RunSummary } from '../../src/api/messages.js';
import { makeFixtureRepo } from './fixtureRepo.js';
import { collectRunFacts, runDirOf } from './faultHarnessFacts.js';
import { injectedTrainerFault, planFaults, TRAINER_FAULTS, type FaultEvent, type TrainerFault } from './faultHarnessPlan.js';
import { checkRunFacts, parseTsvRows, type RunCheck } from './runInvariants.js';
import { startTestTemporal, type TestTemporal } from './temporalEnv.js';
import { sleep, startWorkerProcess, trainerProcesses, type WorkerProcess } from './workerProcess.js';

export interface FaultHarnessOptions {
  seed: number;
  runs: number;
  experiments: number;
  /** Hosts, one worker process and one lane each; the runs use them all. */
  lanes: number;
  kills: number;
  restarts: number;
  /** Probability that an experiment's trainer gets one of `faults`. */
  faultRate: number;
  faults: TrainerFault[];
  /** FIXTURE_SLEEP: how long each trainer "trains", the window for mid-train faults. */
  trainSeconds: number;
  /** trainer.timeoutSeconds: a hanging trainer costs this much. */
  timeoutSeconds: number;
  heartbeatTimeoutSeconds: number;
  /** The trainer's address-space limit (prlimit --as): the memory fault's bound. */
  memoryLimitBytes: number;
  /** The longest one run may take before it counts as stuck. */
  runTimeoutMs: number;
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS: FaultHarnessOptions = {
  seed: 1,
  runs: 3,
  experiments: 10,
  lanes: 2,
  kills: 6,
  restarts: 1,
  faultRate: 0.3,
  faults: [...TRAINER_FAULTS],
  trainSeconds: 2,
  timeoutSeconds: 10,
  heartbeatTimeoutSeconds: 5,
  memoryLimitBytes: 1 << 30,
  runTimeoutMs: 15 * 60_000,
  log: (line) => console.log(line),
};

export interface RunOutcome extends RunCheck {
  tag: string;
  experiments: number;
  kills: { SIGKILL: number; SIGTERM: number; midTrain: number };
  restarts: number;
  /** Trainer faults injected, by kind. */
  trainerFaults: Partial<Record<TrainerFault, number>>;
  statuses: Record<string, number>;
  /** Worker processes that exited without being killed. */
  workerExits: number;
  seconds: number;
}

export interface FaultReport {
  options: Omit<FaultHarnessOptions, 'log'>;
  dir: string;
  runs: RunOutcome[];
  seconds: number;
}

/** Runs added for events that found no live run in theirs. */
const MAX_EXTRA_RUNS = 3;

interface Host {
  name: string;
  clone: string;
  home: string;
  logFile: string;
  worker: WorkerProcess;
}

/** Runs the harness; ends every process it started, whatever happens. */
export async function runFaultHarness(partial: Partial<FaultHarnessOptions> = {}): Promise<FaultReport> {
  const opts = { ...DEFAULT_OPTIONS, ...partial };
  const started = Date.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-faults-'));
  opts.log(`fault harness: seed ${opts.seed}, ${opts.runs} runs x ${opts.experiments} experiments, ${opts.lanes} lanes, ` +
    `${opts.kills} kills, ${opts.restarts} server restarts, trainer faults ${opts.faults.join(',')} at rate ${opts.faultRate}; files in ${dir}`);
  const t = await startTestTemporal();
  const hosts: Host[] = [];
  try {
    const remote = path.join(dir, 'remote.git');
    await execa('git', ['clone', '-q', '--bare', await makeFixtureRepo(), remote]);
    const baseCommit = (await execa('git', ['rev-parse', 'HEAD'], { cwd: remote })).stdout;
    for (let i = 0; i < opts.lanes; i++) hosts.push(await makeHost(t, dir, remote, `host${i}`));
    await Promise.all(hosts.map((h) => h.worker.waitUntilPolling(t.connection, 120_000)));

    const plans = planFaults(opts);
    const runs: RunOutcome[] = [];
    // An event whose run ended before its moment goes to the next run (one more run when none is left),
    // so every kill and restart lands in a live run.
    let carried: FaultEvent[] = [];
    for (let run = 0; run < plans.length || (carried.length > 0 && run < opts.runs + MAX_EXTRA_RUNS); run++) {
      const events = [...carried, ...(plans[run]?.events ?? [])].sort((a, b) => a.afterRows - b.afterRows);
      const { outcome, unfired } = await oneRun(t, hosts, { opts, remote, baseCommit, run, events });
      runs.push(outcome);
      // Its moment came too late in its run: earlier in the next one.
      carried = unfired.map((e) => ({ ...e, afterRows: Math.floor(e.afterRows / 2) }));
    }
    if (carried.length) opts.log(`${carried.length} events never found a live run`);
    return { options: withoutLog(opts), dir, runs, seconds: (Date.now() - started) / 1000 };
  } finally {
    await Promise.all(hosts.map((h) => h.worker.stop().catch(() => undefined)));
    await t.close();
  }
}

async function makeHost(t: TestTemporal, dir: string, remote: string, name: string): Promise<Host> {
  const home = path.join(dir, name, 'home');
  const clone = path.join(dir, name, 'research');
  await mkdir(home, { recursive: true });
  await execa('git', ['clone', '-q', remote, clone]);
  const host = { name, clone, home, logFile: path.join(dir, name, 'worker.log') } as Host;
  host.worker = startHostWorker(t, host);
  return host;
}

function startHostWorker(t: TestTemporal, host: Omit<Host, 'worker'>): WorkerProcess {
  return startWorkerProcess({
    address: t.server.address,
    logFile: host.logFile,
    env: { HOME: host.home, AUTORESEARCH_HOST: host.name, AUTORESEARCH_REPO: host.clone, AUTORESEARCH_LANES: '1' },
  });
}

interface RunContext {
  opts: FaultHarnessOptions;
  remote: string;
  baseCommit: string;
  run: number;
  events: FaultEvent[];
}

/** One research run with its planned events, then its invariants. */
async function oneRun(t: TestTemporal, hosts: Host[], ctx: RunContext): Promise<{ outcome: RunOutcome; unfired: FaultEvent[] }> {
  const { opts } = ctx;
  const started = Date.now();
  // Deterministic, so a seed gives the same trainer faults and proposals again.
  const tag = `faults-${opts.seed}-${ctx.run}`;
  const faultSeed = { seed: opts.seed, rate: opts.faultRate, faults: opts.faults };
  const handle = await t.client.workflow.start('researchRun', {
    taskQueue: TASK_QUEUE,
    workflowId: tag,
    args: [runInput(tag, ctx)],
    workflowExecutionTimeout: `${Math.ceil(opts.runTimeoutMs / 1000) + 60} seconds`,
  });
  const outcome: RunOutcome = {
    tag, experiments: opts.experiments, kills: { SIGKILL: 0, SIGTERM: 0, midTrain: 0 }, restarts: 0, trainerFaults: {}, statuses: {},
    workerExits: 0, seconds: 0, lost: 0, duplicated: 0, orphans: 0, failures: [],
  };
  opts.log(`${tag}: started (${ctx.events.length} events planned)`);

  let done = false;
  const result = bounded(handle.result() as Promise<RunSummary>, opts.runTimeoutMs).finally(() => {
    done = true;
  });
  const injector = (async () => {
    for (const [i, event] of ctx.events.entries()) {
      await waitForTrigger(event, { tag, remote: ctx.remote, hosts, isDone: () => done });
      if (done) return ctx.events.slice(i);
      await inject(t, hosts, event, { tag, outcome, log: opts.log, isDone: () => done });
    }
    return [];
  })();
  const summary = await result.catch((err: unknown) => {
    outcome.failures.push(`${tag}: run did not finish: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  });
  const unfired = await injector;
  if (!summary) await handle.terminate('fault harness: run did not finish').catch(() => undefined);
  outcome.workerExits += await reviveDeadWorkers(t, hosts, opts.log);

  const injected = Object.fromEntries(Array.from({ length: opts.experiments }, (_, i) => {
    const id = `${tag}/exp-${String(i).padStart(4, '0')}`;
    return [id, i === 0 ? undefined : injectedTrainerFault(faultSeed, id)]; // the baseline is spared
  }));
  for (const fault of Object.values(injected)) if (fault) outcome.trainerFaults[fault] = (outcome.trainerFaults[fault] ?? 0) + 1;
  const facts = await collectRunFacts({ tag, experiments: opts.experiments, remote: ctx.remote, baseCommit: ctx.baseCommit, hosts, handle, summary, injected });
  Object.assign(outcome, checkRunFacts(facts));
  if (!summary && outcome.lost === 0) outcome.lost = Math.max(0, opts.experiments - facts.rows.length);
  for (const row of facts.rows) outcome.statuses[row.status] = (outcome.statuses[row.status] ?? 0) + 1;
  await endOrphans(tag);
  outcome.seconds = (Date.now() - started) / 1000;
  opts.log(`${tag}: finished in ${outcome.seconds.toFixed(0)} s: ${JSON.stringify(outcome.statuses)}, lost ${outcome.lost}, duplicated ${outcome.duplicated}, ` +
    `orphans ${outcome.orphans}, ${outcome.failures.length} failures`);
  for (const f of outcome.failures) opts.log(`  FAIL ${f}`);
  return { outcome, unfired };
}

function runInput(tag: string, ctx: RunContext) {
  const { opts } = ctx;
  return {
    tag,
    remote: ctx.remote,
    lanes: opts.lanes,
    maxExperiments: opts.experiments,
    trainer: {
      // Shell-free: prlimit bounds the memory fault, as a ulimit would.
      command: `prlimit --as=${opts.memoryLimitBytes} python3 train.py`,
      timeBudgetSeconds: 1,
      timeoutSeconds: opts.timeoutSeconds,
      heartbeatTimeoutSeconds: opts.heartbeatTimeoutSeconds,
      evaluation: 'trainer', // the fixture scores itself
      env: {
        FIXTURE_SLEEP: String(opts.trainSeconds),
        FIXTURE_FAULT_RATE: String(opts.faultRate),
        FIXTURE_FAULTS: opts.faults.join(','),
        FIXTURE_FAULT_SEED: String(opts.seed),
        FIXTURE_SPARE_BASELINE: '1', // a crashed baseline would end the run
      },
    },
    proposer: { kind: 'offline', seed: opts.seed * 1000 + ctx.run },
  };
}

interface TriggerContext {
  tag: string;
  remote: string;
  hosts: Host[];
  isDone: () => boolean;
}

/** Waits until the event's moment: `afterRows` rows on the remote, then its phase (a live trainer, or a delay), then its jitter. */
async function waitForTrigger(event: FaultEvent, c: TriggerContext): Promise<void> {
  while (!c.isDone() && (await rowsOnRemote(c.remote, c.tag)) < event.afterRows) await sleep(200);
  if (event.phase === 'train') {
    const deadline = Date.now() + 30_000;
    while (!c.isDone() && Date.now() < deadline && (await trainerProcesses(c.tag)).length === 0) await sleep(100);
  } else if (event.phase === 'delay') await sleep(event.jitterMs * 3);
  if (!c.isDone()) await sleep(event.jitterMs);
}

async function rowsOnRemote(remote: string, tag: string): Promise<number> {
  const r = await execa('git', ['show', `${resultsRef(tag)}:results.tsv`], { cwd: remote, reject: false });
  return r.exitCode === 0 ? parseTsvRows(r.stdout).length : 0;
}

interface InjectContext {
  tag: string;
  outcome: RunOutcome;
  log: (line: string) => void;
  isDone: () => boolean;
}

async function inject(t: TestTemporal, hosts: Host[], event: FaultEvent, c: InjectContext): Promise<void> {
  const training = await hostsTraining(hosts, c.tag);
  const phase = c.isDone() ? 'after the run' : training.length ? 'mid-train' : 'between trainings';
  if (event.kind === 'restart') {
    const stoppedAt = Date.now();
    await t.restart();
    c.outcome.restarts++;
    c.log(`${c.tag}: server restarted ${phase} (down ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s)`);
    return;
  }
  // Mid-train, kill a host that trains; otherwise any (hosts are picked in turn by the plan's jitter).
  const pool = training.length ? training : hosts;
  const host = pool[event.jitterMs % pool.length];
  const killedAt = Date.now();
  if (event.signal === 'SIGKILL') await host.worker.kill();
  else await host.worker.stop(30_000);
  c.outcome.kills[event.signal]++;
  if (phase === 'mid-train' && training.includes(host)) c.outcome.kills.midTrain++;
  const exitMs = Date.now() - killedAt;
  await sleep(event.restartDelayMs);
  host.worker = startHostWorker(t, host);
  await host.worker.waitUntilPolling(t.connection, 120_000);
  c.log(`${c.tag}: ${event.signal} ${host.name} ${phase} (exited in ${(exitMs / 1000).toFixed(1)} s, back after ${((Date.now() - killedAt) / 1000).toFixed(1)} s)`);
}

/** Hosts whose lane trains an experiment of the run now: the train step keeps a .pgid file beside the log while its trainer lives. */
async function hostsTraining(hosts: Host[], tag: string): Promise<Host[]> {
  const training: Host[] = [];
  for (const h of hosts) {
    const files = await readdir(path.join(runDirOf(h.clone, tag), 'logs')).catch(() => [] as string[]);
    if (files.some((f) => f.endsWith('.pgid'))) training.push(h);
  }
  return training;
}

/** A worker that exited by itself (not killed by the harness) is a finding; it is started again so the next run has its lanes. */
async function reviveDeadWorkers(t: TestTemporal, hosts: Host[], log: (line: string) => void): Promise<number> {
  let revived = 0;
  for (const h of hosts) {
    if (isAlive(h.worker.pid)) continue;
    log(`${h.name}: its worker ${h.worker.pid} exited by itself; see ${h.logFile}`);
    h.worker = startHostWorker(t, h);
    await h.worker.waitUntilPolling(t.connection, 120_000);
    revived++;
  }
  return revived;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The harness ends what a run left, so an orphan (already counted) does not disturb the next run. */
async function endOrphans(tag: string): Promise<void> {
  for (const p of await trainerProcesses(tag)) {
    try {
      process.kill(-p.pgid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not finished within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function withoutLog(opts: FaultHarnessOptions): Omit<FaultHarnessOptions, 'log'> {
  const { log: _log, ...rest } = opts;
  return rest;
}
