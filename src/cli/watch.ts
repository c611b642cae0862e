/** `npm run research -- watch <tag>`: polls the run's queries about once a second and redraws the screen. */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { resultsQuery, statusQuery, type ExperimentRecord, type RunStatus } from '../definitions.js';
import type { researchRun } from '../workflows/researchRun.js';
import { CliError } from './commands.js';
import { renderSummary, renderWatch } from './watchView.js';

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
  let last: { status: RunStatus; results: ExperimentRecord[] } | undefined;
  let previousFrame = '';
  // Ctrl-C ends the watch at once, even in the middle of a poll; the run itself is not touched.
  let onSigint = () => undefined as void;
  const interrupted = new Promise<typeof INTERRUPTED>((resolve) => (onSigint = () => resolve(INTERRUPTED)));
  const orInterrupt = <T>(p: Promise<T>) => Promise.race([p, interrupted]);
  const draw = (warning?: string) => {
    if (!last) return;
    const frame = renderWatch(last.status, last.results, new Date(), { color: tty, columns: out.columns, warning });
    if (tty) out.write(HOME + frame.split('\n').map((l) => l + CLEAR_LINE_END).join('\n') + '\n' + CLEAR_BELOW);
    else if (frame !== previousFrame) out.write(`${frame}\n\n`);
    previousFrame = frame;
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
        last = await poll(client, handle).catch(() => last); // a closed run still answers while a worker is up
        draw();
        if (description.status.name !== 'COMPLETED') throw new CliError(`run ${tag} ended: ${description.status.name.toLowerCase()}`);
        out.write(`\n${renderSummary(await handle.result())}\n`);
        return;
      }
      let warning: string | undefined;
      try {
        const polled = await orInterrupt(poll(client, handle));
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

async function poll(client: Client, handle: WorkflowHandle<typeof researchRun>) {
  return client.withDeadline(Date.now() + QUERY_DEADLINE_MS, async () => {
    const [status, results] = await Promise.all([handle.query(statusQuery), handle.query(resultsQuery)]);
    return { status, results };
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
