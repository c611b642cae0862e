import { open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

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
  return (await environOf(pgid)).includes(`AUTORESEARCH_EXPERIMENT_ID=${experimentId}`);
}

/** A process's environment as `NAME=value` entries (none when it is gone or not ours). */
async function environOf(pid: number | string): Promise<string[]> {
  return (await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')).split('\0');
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

/**
 * Ends the trainers a worker that died left running on its lanes (marked AUTORESEARCH_LANE, with
 * an AUTORESEARCH_WORKER_PID that no longer runs; another live worker's trainers are left alone): the
 * retry of an experiment ends its own stray, but an experiment that moved to another host never
 * comes back here, and a hanging trainer would hold the lane's GPU for good. Called once as the
 * worker starts, before it takes work. Returns the process groups it ended.
 */
export async function endOrphanTrainers(laneIds: readonly string[]): Promise<number[]> {
  const markers = new Set(laneIds.map((id) => `AUTORESEARCH_LANE=${id}`));
  const groups = new Set<number>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const vars = await environOf(entry);
    if (!vars.some((v) => markers.has(v))) continue;
    const worker = Number(vars.find((v) => v.startsWith('AUTORESEARCH_WORKER_PID='))?.split('=')[1]);
    if (worker > 0 && isAlive(worker)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command name (which may hold spaces): state, ppid, pgrp.
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (pgrp > 1 && pgrp !== process.pid) groups.add(pgrp);
  }
  for (const pgid of groups) killGroup(pgid);
  return [...groups];
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
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

/** A trainer's log never grows past this: past it, the middle is cut and the start and the end are kept. */
export const TRAINER_LOG_CAP_BYTES = 64 * 1024 * 1024;
/** What is kept of the start: the header line, the trainer's configuration and its first steps. */
const LOG_HEAD_BYTES = 256 * 1024;

/**
 * The trainer's log file, capped: output is appended until the file passes `capBytes`; then
 * everything between the first `headBytes` and the last half of the cap is cut out (at line
 * boundaries) and a line says how much. The summary block is at the end, so it is always kept, and
 * the file never holds more than the cap. Writes are synchronous and in the order they arrive.
 */
export class CappedLog {
  private readonly fd: number;
  private size: number;
  private cut = 0;
  private markerBytes = 0;
  private closed = false;
  private headEnd: number | undefined;
  private readonly head: number;

  constructor(readonly file: string, private readonly capBytes = TRAINER_LOG_CAP_BYTES, headBytes = LOG_HEAD_BYTES) {
    this.fd = openSync(file, 'r+');
    this.size = fstatSync(this.fd).size;
    this.head = Math.min(headBytes, Math.floor(capBytes / 4));
  }

  write(chunk: Buffer): void {
    if (this.closed) return; // output that arrives after the trainer's end is not logged
    writeSync(this.fd, chunk, 0, chunk.length, this.size);
    this.size += chunk.length;
    if (this.size > this.capBytes) this.compact();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private compact(): void {
    // The head ends at a line end, so the marker starts a line of its own; it is found once and stays.
    if (this.headEnd === undefined) {
      const headBuf = Buffer.alloc(Math.min(this.head, this.size));
      readSync(this.fd, headBuf, 0, headBuf.length, 0);
      this.headEnd = headBuf.lastIndexOf(0x0a) + 1 || headBuf.length;
    }
    const headEnd = this.headEnd;
    const keep = Math.floor(this.capBytes / 2);
    const tail = Buffer.alloc(Math.min(keep, this.size - headEnd));
    readSync(this.fd, tail, 0, tail.length, this.size - tail.length);
    const lineStart = tail.indexOf(0x0a) + 1; // the tail starts at a whole line when it has one
    const kept = lineStart > 0 && lineStart < tail.length ? tail.subarray(lineStart) : tail;
    this.cut += this.size - headEnd - this.markerBytes - kept.length;
    const marker = Buffer.from(`# ... log capped at ${this.capBytes} bytes: ${this.cut} bytes of trainer output cut here; the end follows ...\n`);
    // An earlier marker lies inside the cut region (the cut is at least a quarter of the cap) and is replaced.
    this.markerBytes = marker.length;
    writeSync(this.fd, marker, 0, marker.length, headEnd);
    writeSync(this.fd, kept, 0, kept.length, headEnd + marker.length);
    this.size = headEnd + marker.length + kept.length;
    ftruncateSync(this.fd, this.size);
  }
}
