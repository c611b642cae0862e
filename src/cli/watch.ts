/** `npm run research -- watch <tag>`: polls the run's queries about once a second and redraws the screen. */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { resultsQuery, statusQuery, type RunStatus } from '../api/messages.js';
import type { ExperimentRecord } from '../core/results.js';
import type { researchRun } from '../workflows/researchRun.js';
import { CliError } from './commands.js';
import { renderSummary, renderWatch } from './watchView.js';
import { describeActivity, progressKey, tick, type ActivityState, type Ticker } from './progress.js';
import { RunProgressReader } from './runProgress.js';
import { PROGRESS_EVERY_MS } from '../core/trainProgress.js';

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
/** Home, then each line clears its own rest; the tail of a longer previous frame is cleared last. */
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';
/** A query needs a worker to answer; without one it would wait, so each poll is bounded. */
const QUERY_DEADLINE_MS = 5000;
const INTERRUPTED = Symbol('interrupted');

export interface WatchOptions {
  intervalMs?: number;
  out?: NodeJS.WriteStream;
}

/** Returns when the run has completed (its summary printed) or on Ctrl-C; throws when it failed or was terminated. */
export async function watch(client: Client, tag: string, opts: WatchOptions = {}): Promise<void> {
  const out = opts.out ?? process.stdout;
  const tty = Boolean(out.isTTY);
  const handle = client.workflow.getHandle<typeof researchRun>(tag); // no run id: follows continue-as-new
  let last: { status: RunStatus; results: ExperimentRecord[]; activities: ActivityState[] } | undefined;
  const reader = new RunProgressReader(client, tag);
  let ticker: Ticker | undefined;
  // Ctrl-C ends the watch at once, even in the middle of a poll; the run itself is not touched.
  let onSigint = () => undefined as void;
  const interrupted = new Promise<typeof INTERRUPTED>((resolve) => (onSigint = () => resolve(INTERRUPTED)));
  const orInterrupt = <T>(p: Promise<T>) => Promise.race([p, interrupted]);
  const draw = (warning?: string) => {
    if (!last) return;
    const now = new Date();
    const lines = renderWatch(last.status, last.results, now, { color: tty, columns: out.columns, warning }).split('\n');
    // Under the experiment/phase line: what each running experiment does, and how far its trainer is.
    const doing = last.activities.map((a) => cut(`now: ${describeActivity(a, now.getTime())}`, out.columns));
    const frame = [...lines.slice(0, 2), ...doing, ...lines.slice(2)].join('\n');
    if (tty) {
      out.write(HOME + frame.split('\n').map((l) => l + CLEAR_LINE_END).join('\n') + '\n' + CLEAR_BELOW);
      return;
    }
    // A pipe gets a frame when something changes, and at least every 15 s while nothing does.
    const changed = tick(ticker, `${lines.join('\n')}\u0000${progressKey(last.status, last.activities)}`, now.getTime(), PROGRESS_EVERY_MS);
    ticker = changed.next;
    if (changed.print) out.write(`${frame}\n\n`);
  };

  process.on('SIGINT', onSigint);
  if (tty) out.write(HIDE_CURSOR + '\x1b[2J');
  try {
    for (;;) {
      const description = await orInterrupt(handle.describe().catch((err: unknown) => {
        throw new CliError(`no run "${tag}": ${(err as Error).message}`);
      }));
      if (description === INTERRUPTED) return;
      if (description.status.name !== 'RUNNING') {
        last = await poll(client, handle, reader).catch(() => last); // a closed run still answers while a worker is up
        draw();
        if (description.status.name !== 'COMPLETED') throw new CliError(`run ${tag} ended: ${description.status.name.toLowerCase()}`);
        out.write(`\n${renderSummary(await handle.result())}\n`);
        return;
      }
      let warning: string | undefined;
      try {
        const polled = await orInterrupt(poll(client, handle, reader));
        if (polled === INTERRUPTED) return;
        last = polled;
      } catch (err) {
        warning = `status query unanswered (is a worker running?): ${(err as Error).message}`;
        if (!last) out.write(`${warning}\n`);
      }
      draw(warning);
      if ((await orInterrupt(sleep(opts.intervalMs ?? 1000))) === INTERRUPTED) return;
    }
  } finally {
    process.off('SIGINT', onSigint);
    if (tty) out.write(SHOW_CURSOR);
  }
}

async function poll(client: Client, handle: WorkflowHandle<typeof researchRun>, reader: RunProgressReader) {
  const { status, results } = await client.withDeadline(Date.now() + QUERY_DEADLINE_MS, async () => {
    const [status, results] = await Promise.all([handle.query(statusQuery), handle.query(resultsQuery)]);
    return { status, results };
  });
  // Progress is a garnish: when it cannot be read, the screen goes on without it.
  const activities = status.phase === 'done' ? [] : await reader.read(status).catch(() => []);
  return { status, results, activities };
}

function cut(line: string, columns?: number): string {
  return columns && line.length > columns ? `${line.slice(0, columns - 1)}…` : line;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
