/**
 * How far a training run is, from the train activity's heartbeat: its trainer's last line read as
 * progress ("45% (36 of 80 steps), about 20 s left"). Pure, so the terminal (`research wait`,
 * `watch`) and the experiment's page in the web UI (its Current Details) say the same thing.
 */

/**
 * How often progress is told when nothing changes: a quiet screen looks like a hang. 12 s, so that
 * with the terminal's poll every 2 s (and a slow answer) no two lines are more than 15 s apart.
 */
export const PROGRESS_EVERY_MS = 12_000;

/** What a trainer's progress line says, as far as it can be read. */
export interface TrainerLine {
  step?: number;
  /** Total steps, when the line says so (`step 36/80`, tqdm's `36/80`). */
  steps?: number;
  /** Share of the budget done, 0 to 100. */
  percent?: number;
  tokens?: number;
  /** The trainer's own training time (train.py's `elapsed`: the timed steps only). */
  trainingSeconds?: number;
  /** The trainer's own estimate of the time left (`remaining: 15s`, tqdm's `<00:15`). */
  remainingSeconds?: number;
}

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const number = (s: string) => Number(s.replace(/,/g, ''));
const SCALE: Record<string, number> = { k: 1e3, K: 1e3, M: 1e6, G: 1e9, B: 1e9 };

/**
 * Reads a trainer's last line: this project's train.py (`step 00036 | … | elapsed 3.2s | progress 45.0%`),
 * the original autoresearch's (`step 00953 (95.3%) | … | mfu: 39.8% | remaining: 15s`), tqdm bars and
 * plain `step 36/80` lines. Undefined when nothing in it is progress.
 */
export function parseTrainerLine(raw: string | undefined): TrainerLine | undefined {
  if (!raw) return undefined;
  // A trainer that redraws its line with \r sends many updates in one: the last is the current one.
  const line = raw.split('\r').map((l) => l.replace(ANSI, '').trim()).filter(Boolean).pop() ?? '';
  const out: TrainerLine = {};
  const step = /\bstep\b[\s:#=]*(\d[\d,]*)(?:\s*(?:\/|of)\s*(\d[\d,]*))?/i.exec(line);
  const bar = /(\d[\d,]*)\s*\/\s*(\d[\d,]*)\s*\[/.exec(line); // tqdm: " 45%|████▌ | 36/80 [00:12<00:15, 2.9it/s]"
  if (step) {
    out.step = number(step[1]);
    if (step[2]) out.steps = number(step[2]);
  } else if (bar) {
    out.step = number(bar[1]);
    out.steps = number(bar[2]);
  }
  // The first percentage that is not a utilisation (mfu, memory, GPU load) is the progress.
  for (const segment of line.split('|')) {
    if (/mfu|util|mem|gpu|cpu|acc|vram|load/i.test(segment)) continue;
    const pct = /(\d+(?:\.\d+)?)\s*%/.exec(segment);
    if (pct) {
      out.percent = Number(pct[1]);
      break;
    }
  }
  // train.py's line after its last step: "train: 80 steps | 20,000 tok/s over the timed steps".
  const trained = /^train:\s*(\d+) steps\b/.exec(line);
  if (trained) Object.assign(out, { step: number(trained[1]), percent: 100 });
  if (out.percent === undefined && out.step !== undefined && out.steps) out.percent = (100 * out.step) / out.steps;
  const tokens = /\btokens?\b\s*[:=]?\s*(\d[\d,.]*)\s*([kKMGB])?\b(?!\s*\/)/.exec(line) ?? /(\d[\d,.]*)\s*([kKMGB])?\s+tokens\b(?!\s*\/)/.exec(line);
  const moving = out.step !== undefined || out.percent !== undefined; // a config line's "budget 163,840 tokens" is no progress
  if (tokens && moving && !/budget|tok\/s|tokens?\/s/i.test(line.slice(Math.max(0, tokens.index - 12), tokens.index + tokens[0].length + 3))) {
    out.tokens = Math.round(number(tokens[1]) * (SCALE[tokens[2] ?? ''] ?? 1));
  }
  const elapsed = /\belapsed\b[:=\s]+(\d+(?:\.\d+)?)\s*s\b/i.exec(line);
  if (elapsed) out.trainingSeconds = Number(elapsed[1]);
  const remaining = /\b(?:remaining|eta|left)\b[:=\s]+(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds|m|min|mins|minutes)?\b/i.exec(line);
  const clock = /<\s*((?:\d+:)?\d+:\d\d)\b/.exec(line);
  if (remaining) out.remainingSeconds = Number(remaining[1]) * (/^m/i.test(remaining[2] ?? '') ? 60 : 1);
  else if (clock) out.remainingSeconds = clock[1].split(':').reduce((s, part) => s * 60 + Number(part), 0);
  if (out.percent !== undefined && !(out.percent >= 0 && out.percent <= 1000)) delete out.percent;
  return Object.keys(out).length ? out : undefined;
}

/** What trainProgress needs of a train activity: its heartbeat, when it started and beat, and the budget. */
export interface TrainActivityState {
  details?: unknown;
  startedAtMs?: number;
  heartbeatAtMs?: number;
  settings: { tokenBudget?: number; timeBudgetSeconds?: number };
}

/** The train activity's heartbeat details (activities/training.ts TrainProgress), as far as they can be read. */
interface TrainProgressLike {
  elapsedSeconds?: number;
  budgetSeconds?: number;
  lastLine?: string;
}

/** "45 s", "2 min 05 s". */
export const seconds = (s: number) => (s < 90 ? `${Math.max(0, Math.round(s))} s` : `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`);

/** How far a train activity is: "45% (36 of 80 steps), about 20 s left"; elapsed against the budget when its line says nothing. */
export function trainProgress(a: TrainActivityState, nowMs: number): string {
  const d = (a.details && typeof a.details === 'object' ? a.details : {}) as TrainProgressLike;
  const beatAt = a.heartbeatAtMs;
  if (typeof d.elapsedSeconds !== 'number' || beatAt === undefined) {
    const since = a.startedAtMs === undefined ? '' : `, ${seconds((nowMs - a.startedAtMs) / 1000)} in`;
    return `starting (no progress reported yet${since})`;
  }
  // The details are as old as the last heartbeat that reached the server: age them to now.
  const stale = Math.max(0, (nowMs - beatAt) / 1000);
  const elapsed = d.elapsedSeconds + stale;
  const { tokenBudget } = a.settings;
  const budget = a.settings.timeBudgetSeconds ?? d.budgetSeconds;
  const line = parseTrainerLine(d.lastLine);
  if (line?.percent !== undefined && line.percent >= 100) return `training done, finishing (final evaluation, export; ${seconds(elapsed)} in)`;
  if (line?.percent !== undefined || line?.step !== undefined) {
    const p = line.percent;
    const parts: string[] = [];
    if (p !== undefined) parts.push(`${Math.floor(p)}%`);
    // Under a token budget the share is of tokens, so it gives the total steps; not from the first
    // step's, whose printed share is too coarse (1.2% for 1.25%).
    const telling = tokenBudget !== undefined && p !== undefined && p >= 5;
    const total = line.steps ?? (telling && line.step !== undefined ? Math.round((100 * line.step) / p) : undefined);
    const detail = line.step === undefined ? undefined
      : total ? `${line.step} of ${total} steps` : `step ${line.step}`;
    const tokens = line.tokens ?? (telling ? Math.round((tokenBudget * p) / 100) : undefined);
    const tokenText = tokens !== undefined && !total ? `${tokens.toLocaleString('en-US')}${tokenBudget ? ` of ${tokenBudget.toLocaleString('en-US')}` : ''} tokens` : undefined;
    const inner = [detail, tokenText].filter(Boolean).join(', ');
    if (inner) parts.push(p !== undefined ? `(${inner})` : inner);
    // The trainer's own clock first (train.py's excludes start-up, and reads 0 s on its first,
    // untimed step); the activity's includes start-up, so it is used only once the share is telling.
    const pace = line.trainingSeconds ? line.trainingSeconds : p !== undefined && p >= 10 ? d.elapsedSeconds : undefined;
    const left = line.remainingSeconds ?? (p && pace !== undefined ? (pace * (100 - p)) / p : undefined);
    const text = parts.join(' ');
    return left === undefined ? text : `${text}, ${left - stale > 0.5 ? `about ${seconds(left - stale)} left` : 'nearly done'}`;
  }
  if (tokenBudget) return `${seconds(elapsed)} in (budget ${tokenBudget.toLocaleString('en-US')} tokens)`;
  if (budget) {
    return elapsed > budget ? `${seconds(elapsed)} of a ${seconds(budget)} budget: past it (start-up or final evaluation)` : `${seconds(elapsed)} of a ${seconds(budget)} budget, about ${seconds(budget - elapsed)} left`;
  }
  return `${seconds(elapsed)} in`;
}

