import { readFile } from 'node:fs/promises';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client, type Connection, type QueryDefinition } from '@temporalio/client';
import { parseRunInput, type RunConfig } from '../core/runInput.js';
import { TypedSearchAttributes } from '@temporalio/common';
import { webUiUrl } from '../temporal/connection.js';
import { ensureSearchAttributes } from '../temporal/searchAttributes.js';
import { describeBest, describeBudget, describeLanes } from '../core/describe.js';
import { ExperimentCount, pauseSignal, ResearchPhaseKey, ResearchTag, resultsQuery, resumeSignal, setProgramUpdate, statusQuery, steerUpdate, stopSignal, type RunStatus, type RunSummary } from '../api/messages.js';
import { TASK_QUEUE } from '../core/names.js';
import type { researchRun } from '../workflows/researchRun.js';
import { renderSummary } from './watchView.js';
import { progressKey, progressLine, stillLine, tick, type Ticker } from './progress.js';
import { RunProgressReader } from './runProgress.js';
import { PROGRESS_EVERY_MS } from '../core/trainProgress.js';

/** A user error: printed as one red line by the CLI's edge, exit 1. */
export class CliError extends Error {}

/**
 * Reads and validates a run input file (the same zod schema the workflow uses). Returns the input
 * as written (what the workflow receives) and the config it parses to.
 */
export async function loadRunInput(file: string, overrides: Record<string, unknown> = {}): Promise<{ input: object; config: RunConfig }> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read run input ${file}: ${(err as Error).message}`);
  }
  const input = { ...(raw as object), ...overrides };
  const parsed = parseRunInput(input);
  if (!parsed.ok) throw new CliError(`${file}: ${parsed.error}`);
  return { input, config: parsed.config };
}

export function describeConfig(c: RunConfig): string {
  return [
    `**Research run \`${c.tag}\`** on branch \`autoresearch/${c.tag}\``,
    '',
    '| setting | value |', '|---|---|',
    `| repo | ${c.repo ?? '(worker default)'} |`,
    `| trainer | \`${c.trainer.command}\` in \`${c.trainer.dir}\` |`,
    `| editable | ${c.trainer.editable.join(', ')} |`,
    `| ${c.trainer.tokenBudget ? 'token' : 'time'} budget | ${describeBudget(c.trainer)} (timeout ${c.trainer.timeoutSeconds} s) |`,
    `| proposer | ${c.proposer.kind}${c.proposer.model ? ` (${c.proposer.model})` : ''} |`,
    `| cost cap | ${c.proposer.maxCostUsd === undefined ? 'none' : `$${c.proposer.maxCostUsd}`} |`,
    `| max experiments | ${c.maxExperiments ?? 'until stopped'} |`,
    `| program | ${c.program} |`,
  ].join('\n');
}

/**
 * Starts the run under its tag as workflow id. A tag's earlier run on this server refuses a plain
 * start (its branch would be refused by the run anyway); `resume: true` may start it again once
 * that run is closed, and the run then continues the tag's branch (see docs/resume.md).
 */
export async function startRun(client: Client, config: RunConfig, input: unknown) {
  await ensureSearchAttributes(client.connection as Connection, client.options.namespace);
  const handle = await client.workflow.start<typeof researchRun>('researchRun', {
    taskQueue: TASK_QUEUE,
    workflowId: config.tag,
    args: [input as never],
    workflowIdReusePolicy: config.resume ? WorkflowIdReusePolicy.ALLOW_DUPLICATE : WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: `${config.tag}: ${config.proposer.kind} proposer, ${describeBudget(config.trainer)} budget, ${config.maxExperiments ?? '∞'} experiments`,
    staticDetails: describeConfig(config),
    typedSearchAttributes: new TypedSearchAttributes([
      { key: ResearchTag, value: config.tag },
      { key: ExperimentCount, value: 0 },
      { key: ResearchPhaseKey, value: 'preparing' },
    ]),
  }).catch((err: unknown) => {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    throw new CliError(config.resume
      ? `run "${config.tag}" is still running on this server: stop it first (npm run research -- stop ${config.tag}), then resume it`
      : `run "${config.tag}" already ran on this server: --resume continues its branch autoresearch/${config.tag}, or choose another --tag`);
  });
  return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId, url: webUiUrl(handle.workflowId) };
}

export const signals = { pause: pauseSignal, resume: resumeSignal, stop: stopSignal } as const;

export async function sendSignal(client: Client, tag: string, name: keyof typeof signals): Promise<void> {
  await client.workflow.getHandle(tag).signal(signals[name]);
}

export async function steer(client: Client, tag: string, note: string) {
  return client.workflow.getHandle(tag).executeUpdate(steerUpdate, { args: [{ note }] });
}

export async function setProgram(client: Client, tag: string, program: string) {
  return client.workflow.getHandle(tag).executeUpdate(setProgramUpdate, { args: [{ program }] });
}

const QUERY_DEADLINE_MS = 10_000;

/** A query is answered by a worker: bounded, so a run with no worker up is a clear error, not a hang. */
async function queryRun<T>(client: Client, tag: string, query: QueryDefinition<T>): Promise<T> {
  const handle = client.workflow.getHandle(tag);
  try {
    return await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(query));
  } catch (err) {
    const state = await handle.describe().then((d) => d.status.name.toLowerCase(), () => undefined);
    if (!state) throw new CliError(`no run "${tag}" on this server`);
    throw new CliError(`no worker answered the ${query.name} query of run ${tag} (${state}) within ${QUERY_DEADLINE_MS / 1000} s: is \`npm run worker\` running? (${(err as Error).message})`);
  }
}

/** The live status; for a completed run, its summary instead (answered by the server, no worker needed). */
export async function getStatus(client: Client, tag: string): Promise<RunStatus | RunSummary> {
  const handle = client.workflow.getHandle<typeof researchRun>(tag);
  const described = await handle.describe().catch((err: Error) => {
    throw new CliError(`no run "${tag}" on this server (${err.message})`);
  });
  if (described.status.name === 'COMPLETED') return handle.result();
  return queryRun(client, tag, statusQuery);
}

export async function getResults(client: Client, tag: string) {
  return queryRun(client, tag, resultsQuery);
}

export function isSummary(s: RunStatus | RunSummary): s is RunSummary {
  return 'endReason' in s && 'kept' in s;
}

export function formatStatus(s: RunStatus): string {
  const lines = [
    `run ${s.tag}: experiment ${s.experiment}${s.maxExperiments ? `/${s.maxExperiments}` : ''}, phase ${s.phase}${s.paused ? ` (paused${s.pausedReason ? `: ${s.pausedReason}` : ''})` : ''}${s.stopRequested ? ' (stopping)' : ''}`,
    describeBest(s.best),
    `cost $${s.costUsd.toFixed(4)}`,
  ];
  const lanes = describeLanes(s);
  if (lanes) lines.push(`lanes: ${lanes}`);
  if (s.currentHypothesis) lines.push(`hypothesis: ${s.currentHypothesis}`);
  if (s.branch) lines.push(`branch ${s.branch}, results ${s.resultsFile}`);
  if (s.endReason) lines.push(`ended: ${s.endReason}`);
  return lines.join('\n');
}

export interface WaitOptions {
  pollMs?: number;
  /** The longest silence: a line at least this often, even when nothing changed. */
  everyMs?: number;
  print?: (line: string) => void;
}

/**
 * Prints a line on each change (experiment, phase, best, which run of an experiment trains) and at
 * least every 15 s while nothing changes, with the trainer's progress; returns the run's summary
 * once it completes. Every server call is bounded, so a missing worker shows as a line, not a hang.
 */
export async function waitForRun(client: Client, tag: string, opts: WaitOptions = {}) {
  const { pollMs = 2000, everyMs = PROGRESS_EVERY_MS, print = (line: string) => console.log(line) } = opts;
  const handle = client.workflow.getHandle<typeof researchRun>(tag);
  const reader = new RunProgressReader(client, tag);
  let ticker: Ticker | undefined;
  for (;;) {
    const desc = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.describe());
    if (desc.status.name !== 'RUNNING') break;
    const s = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => handle.query(statusQuery)).catch(() => undefined);
    const activities = s ? await reader.read(s).catch(() => []) : [];
    const now = new Date();
    const { print: what, next } = tick(ticker, progressKey(s, activities), now.getTime(), everyMs);
    if (what === 'change' && s) print(progressLine(s, activities, now));
    else if (what) print(stillLine(s, activities, now, next.changedAtMs));
    ticker = next;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  const summary = await handle.result();
  console.log(renderSummary(summary));
  return summary;
}
