import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';

/**
 * The trainer runs in its own process group so the whole tree (uv, python, dataloader workers) can
 * be ended together. Its group id is recorded beside the log: a worker killed with SIGKILL cannot
 * end its children, so the retry ends the stray group before it starts a new trainer.
 */
export function pgidFileOf(logFile: string): string {
  return logFile.replace(/\.log$/, '.pgid');
}

export function killGroup(pgid: number, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** True when the process still runs and carries our experiment marker (guards against pid reuse). */
export async function groupBelongsTo(pgid: number, experimentId: string): Promise<boolean> {
  try {
    const environ = await readFile(`/proc/${pgid}/environ`, 'utf8');
    return environ.split('\0').includes(`AUTORESEARCH_EXPERIMENT_ID=${experimentId}`);
  } catch {
    return false;
  }
}

export async function killStrayTrainer(logFile: string, experimentId: string): Promise<number | undefined> {
  const file = pgidFileOf(logFile);
  if (!existsSync(file)) return undefined;
  const pgid = Number((await readFile(file, 'utf8')).trim());
  let killed: number | undefined;
  if (pgid > 1 && (await groupBelongsTo(pgid, experimentId))) {
    killGroup(pgid);
    killed = pgid;
  }
  await rm(file, { force: true });
  return killed;
}

export async function recordGroup(logFile: string, pgid: number): Promise<void> {
  await writeFile(pgidFileOf(logFile), `${pgid}\n`);
}

/** The last `maxBytes` of a file ('' when it does not exist): a log is never read whole, however large it grew. */
export async function readTail(file: string, maxBytes: number): Promise<string> {
  if (!existsSync(file)) return '';
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}
