/**
 * `npm run bench -- lanes`: what lanes buy, measured in one run on this machine.
 *  1. Lane scaling: throughput with k = 1, 2, 4 worker processes (one lane each) and a fixture
 *     trainer that sleeps 2 s, as a ratio to k = 1. Goal: >= 1.9 at k = 2.
 *  2. Loop efficiency: training time / wall time with a proposer whose latency is 10% of the
 *     training time (20 s, BENCH_TRAIN_SECONDS), pipelining off and on. Goal: >= 98% with pipelining on.
 *  3. Orchestration per experiment: the period between trainer starts (fixture trainer sleeping
 *     1 s, offline proposer) against a bare shell loop doing the same git steps and the same
 *     trainer. Goal: within 0.25 s of the bare loop.
 * Usage: npx tsx bench/lanes.ts [scaling|efficiency|overhead ...]
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { createActivities } from '../src/activities/index.js';
import { createWorker } from '../src/createWorker.js';
import { TASK_QUEUE } from '../src/core/names.js';
import { createOfflineProposer } from '../src/proposers/offline.js';
import { startDevServer } from '../src/temporal/devServer.js';
import { researchRun } from '../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../test/helpers/fixtureRepo.js';
import { killAllWorkerProcesses, startWorkerProcess } from '../test/helpers/workerProcess.js';

Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error },
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } } });

const parts = process.argv.slice(2).length ? process.argv.slice(2) : ['scaling', 'efficiency', 'overhead'];
const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-bench-lanes-'));
const server = await startDevServer({ dbFile: path.join(dir, 'temporal.db') });
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection });
const workerConnection = await NativeConnection.connect({ address: server.address });
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** When each experiment's trainer started and ended, from the log headers and exit lines of a run. */
async function trainerSpans(repo: string, tag: string): Promise<{ start: number; end: number; lane: string }[]> {
  const logs = path.join(repo, '.autoresearch', 'runs', tag, 'logs');
  const spans = [];
  for (const file of (await readdir(logs)).filter((f) => f.endsWith('.log')).sort()) {
    const text = await readFile(path.join(logs, file), 'utf8');
    const [, lane, at] = / on (\S+) at (\S+): /.exec(text.split('\n')[0])!;
    const seconds = Number(/# exit \S+ after ([\d.]+)s/.exec(text)![1]);
    spans.push({ start: Date.parse(at), end: Date.parse(at) + seconds * 1000, lane });
  }
  return spans.sort((a, b) => a.start - b.start);
}

async function scaling(): Promise<void> {
  const perLane = 6;
  const throughput: Record<number, number> = {};
  for (const k of [1, 2, 4]) {
    const repo = await makeFixtureRepo();
    const workers = Array.from({ length: k }, (_, i) => startWorkerProcess({
      address: server.address, logFile: path.join(dir, `scaling-${k}-${i}.log`), env: { AUTORESEARCH_HOST: `bench${i}`, AUTORESEARCH_LANES: '1' },
    }));
    await Promise.all(workers.map((w) => w.waitUntilPolling(connection)));
    const tag = `scaling-${k}`;
    const input = fixtureRunInput(repo, tag, { maxExperiments: 1 + perLane * k, lanes: k, trainer: { timeBudgetSeconds: 1, env: { FIXTURE_SLEEP: '2' } } });
    await client.workflow.execute(researchRun, { taskQueue: TASK_QUEUE, workflowId: tag, args: [input] });
    // After the baseline (which runs alone): experiments per second until the last trainer ends.
    const spans = (await trainerSpans(repo, tag)).slice(1);
    const wall = (Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start))) / 1000;
    throughput[k] = spans.length / wall;
    const lanesUsed = new Map<string, number>();
    for (const span of spans) lanesUsed.set(span.lane, (lanesUsed.get(span.lane) ?? 0) + 1);
    const perLaneCount = [...lanesUsed].map(([lane, n]) => `${lane}: ${n}`).join(', ');
    console.log(`  k=${k}: ${spans.length} experiments in ${wall.toFixed(1)} s (${perLaneCount})`);
    await Promise.all(workers.map((w) => w.stop()));
  }
  for (const k of [1, 2, 4]) {
    console.log(`lane scaling: k=${k}: ${throughput[k].toFixed(3)} experiments/s, ${(throughput[k] / throughput[1]).toFixed(2)}x k=1 (goal at k=2: >= 1.9x)`);
  }
}

async function efficiency(): Promise<void> {
  const trainSeconds = Number(process.env.BENCH_TRAIN_SECONDS ?? 20);
  for (const pipeline of [false, true]) {
    const repo = await makeFixtureRepo();
    const activities = createActivities({
      createProposer: (config) => {
        const offline = createOfflineProposer(config);
        return { propose: async (ctx, signal) => (await new Promise((r) => setTimeout(r, trainSeconds * 100)), offline.propose(ctx, signal)) };
      },
    });
    const worker = await createWorker({ connection: workerConnection, namespace: 'default', taskQueue: `eff-${pipeline}`, activities });
    const tag = `efficiency-${pipeline}`;
    const input = fixtureRunInput(repo, tag, { maxExperiments: 4, pipeline, trainer: { timeBudgetSeconds: 1, env: { FIXTURE_SLEEP: String(trainSeconds) } } });
    await worker.runUntil(client.workflow.execute(researchRun, { taskQueue: `eff-${pipeline}`, workflowId: tag, args: [input] }));
    const spans = await trainerSpans(repo, tag);
    const training = spans.reduce((s, x) => s + x.end - x.start, 0);
    const wall = spans.at(-1)!.end - spans[0].start;
    console.log(`loop efficiency: proposer ${trainSeconds * 0.1} s per call (10% of ${trainSeconds} s training), pipelining ${pipeline ? 'on ' : 'off'}: ` +
      `training ${pct(training / wall)} of the wall time${pipeline ? ' (goal >= 98%)' : ''}`);
  }
}

async function overhead(): Promise<void> {
  const experiments = 8;
  const repo = await makeFixtureRepo();
  const worker = await createWorker({ connection: workerConnection, namespace: 'default', taskQueue: 'overhead' });
  const tag = 'overhead';
  // Pipelining on: the proposal is made while the trainer runs, so the period holds no proposing.
  const input = fixtureRunInput(repo, tag, { maxExperiments: experiments, pipeline: true, trainer: { timeBudgetSeconds: 1, env: { FIXTURE_SLEEP: '1' } } });
  await worker.runUntil(client.workflow.execute(researchRun, { taskQueue: 'overhead', workflowId: tag, args: [input] }));
  const spans = await trainerSpans(repo, tag);
  const ours = (spans.at(-1)!.start - spans[0].start) / 1000 / (spans.length - 1);
  const bare = await bareLoop(experiments);
  console.log(`  where one experiment's time goes (${tag}/exp-0003): ${await breakdown(`${tag}/exp-0003`, spans)}`);
  console.log(`  the run between exp-0003 and exp-0004: ${await runTurn(tag, `${tag}/exp-0003`, `${tag}/exp-0004`)}`);
  console.log(`orchestration: a trainer start every ${ours.toFixed(2)} s against ${bare.toFixed(2)} s for a bare shell loop ` +
    `(same git steps, same trainer sleeping 1 s): ${(ours - bare).toFixed(2)} s more per experiment (goal <= 0.25 s)`);
}

type HistoryEvent = NonNullable<Awaited<ReturnType<ReturnType<typeof client.workflow.getHandle>['fetchHistory']>>['events']>[number];
const eventMs = (e: HistoryEvent) => Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
const historyOf = async (workflowId: string) => (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];

/**
 * Each activity's time, scheduled to completed, and what the workflow spent between them; a train
 * step split at its trainer's start and end (from the log), the part that a bare loop also pays.
 */
async function breakdown(workflowId: string, spans: { start: number; end: number }[]): Promise<string> {
  const events = await historyOf(workflowId);
  const scheduled = new Map<number, { name: string; at: number }>();
  const parts: string[] = [];
  let last = eventMs(events[0]);
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes) {
      scheduled.set(Number(e.eventId), { name: e.activityTaskScheduledEventAttributes.activityType!.name!, at: eventMs(e) });
      parts.push(`+${eventMs(e) - last} ms`);
      last = eventMs(e);
    }
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const step = scheduled.get(Number(done.scheduledEventId))!;
      const span = step.name === 'train' ? spans.find((x) => x.start >= step.at && x.start <= eventMs(e)) : undefined;
      const split = span ? ` (${span.start - step.at} ms to the trainer's start, ${span.end - span.start} ms in it, ${eventMs(e) - span.end} ms after)` : '';
      parts.push(`${step.name} ${eventMs(e) - last} ms${split}`);
      last = eventMs(e);
    }
  }
  parts.push(`+${eventMs(events.at(-1)!) - last} ms to complete`);
  const taskStarts = events.filter((e) => e.workflowTaskStartedEventAttributes).map(eventMs);
  const taskEnds = events.filter((e) => e.workflowTaskCompletedEventAttributes).map(eventMs);
  return `${parts.join(', ')}; its workflow tasks took ${taskEnds.map((end, i) => end - taskStarts[i]).join(', ')} ms`;
}

/** The run's turn between two experiments: from the first one's end to the second one's first workflow task done, and what the run scheduled meanwhile. */
async function runTurn(runId: string, endedId: string, nextId: string): Promise<string> {
  const run = await historyOf(runId);
  const ended = run.find((e) => e.childWorkflowExecutionCompletedEventAttributes?.workflowExecution?.workflowId === endedId);
  const initiated = run.find((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId === nextId);
  const next = await historyOf(nextId);
  const firstTask = next.find((e) => e.workflowTaskStartedEventAttributes);
  const firstDone = next.find((e) => e.workflowTaskCompletedEventAttributes);
  if (!ended || !initiated || !firstTask || !firstDone) return 'not found';
  const meanwhile = run.filter((e) => e.activityTaskScheduledEventAttributes && eventMs(e) >= eventMs(ended) && eventMs(e) <= eventMs(initiated))
    .map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name!);
  return `${eventMs(initiated) - eventMs(ended)} ms to start the next child${meanwhile.length ? ` (scheduling ${meanwhile.join(', ')} on the way)` : ''}, ` +
    `${eventMs(next[0]) - eventMs(initiated)} ms until it started, ${eventMs(firstTask) - eventMs(next[0])} ms to its first workflow task, ` +
    `${eventMs(firstDone) - eventMs(firstTask)} ms in it`;
}

/** The same steps as one experiment, as a plain shell loop: edit, parse check, commit, push the ref, train, read the score, keep or reset, a row. */
async function bareLoop(experiments: number): Promise<number> {
  const repo = await makeFixtureRepo();
  const script = path.join(dir, 'bare.sh');
  await writeFile(script, `set -e
cd "$1/trainer"; git checkout -q --detach; best=$(git rev-parse HEAD); starts=()
for i in $(seq 1 "$2"); do
  git reset -q --hard "$best"
  sed -i "s/^WARMUP_RATIO = .*/WARMUP_RATIO = 0.1$i/" train.py
  python3 -c 'import ast,sys; ast.parse(open(sys.argv[1]).read())' train.py
  git add train.py; git -c user.name=b -c user.email=b@b commit -q -m "exp $i"
  git push -q "$1" HEAD:refs/bare/exp-$i
  starts+=("$(date +%s.%N)")
  FIXTURE_SLEEP=1 python3 train.py > "/tmp/bare-$i.log" 2>&1
  v=$(grep '^val_bpb:' "/tmp/bare-$i.log" | awk '{print $2}')
  if awk "BEGIN{exit !($v < 9)}"; then best=$(git rev-parse HEAD); fi
  printf '%s\\t%s\\n' "$(git rev-parse --short HEAD)" "$v" >> "$1/results.tsv"
done
echo "\${starts[@]}"`);
  const { stdout } = await execa('bash', [script, repo, String(experiments)]);
  const starts = stdout.trim().split(' ').map(Number);
  return (starts.at(-1)! - starts[0]) / (starts.length - 1);
}

try {
  for (const part of parts) {
    if (part === 'scaling') await scaling();
    else if (part === 'efficiency') await efficiency();
    else if (part === 'overhead') await overhead();
    else throw new Error(`unknown part "${part}" (scaling, efficiency, overhead)`);
  }
} finally {
  await killAllWorkerProcesses();
  await workerConnection.close();
  await connection.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
