/**
 * What `research wait` and `research watch` say about a run while it trains: the experiment, which
 * of its training runs (baseline run 2/3, a confirmation's candidate run), and how far the trainer
 * is, from the `train` activity's heartbeat. Pure functions of what runProgress.ts fetches, so the
 * wording is unit-tested without a server.
 */
import { describeBest } from '../core/describe.js';
import { experimentName } from '../core/names.js';
import type { RunStatus } from '../api/messages.js';
import { PROGRESS_EVERY_MS, seconds, trainProgress } from '../core/trainProgress.js';

/** What the run's settings say about its training runs (from the experiment's input; absent fields: unknown). */
export interface MeasureSettings {
  baseline?: boolean;
  /** Runs of the baseline (1 under the greedy rule). */
  repeats?: number;
  /** Most confirmation and re-measurement pairs a candidate gets. */
  followUps?: number;
  tokenBudget?: number;
  timeBudgetSeconds?: number;
}

/** One running experiment's pending activity, as the server describes it. */
export interface ActivityState {
  experiment: number;
  /** Activity type: train, evaluate, hypothesize, … */
  type: string;
  /** The activity's summary as the workflow wrote it, e.g. "train exp-0000 (candidate run 1) on cpu0: seed 2 (163840 tokens)". */
  summary?: string;
  /** Which train activity of the experiment this is (or the last one, for an evaluate), 1-based. */
  trainIndex?: number;
  attempt?: number;
  /** Scheduled and not picked up (yet, or again after a failed attempt): no worker polls its lane's queue. */
  waiting?: boolean;
  startedAtMs?: number;
  heartbeatAtMs?: number;
  /** The train activity's heartbeat details (activities/training.ts TrainProgress), unchecked. */
  details?: unknown;
  settings: MeasureSettings;
}

/**
 * "run 2/3" (the baseline), "confirmation 1 of at most 3, the incumbent's run", "fresh run 1/3 of the
 * new best"; undefined for a candidate's first run. Read from the activity's summary, falling back to
 * how many train activities the experiment has scheduled when its wording is not recognised.
 */
export function runLabel(a: Pick<ActivityState, 'summary' | 'trainIndex' | 'settings'>): string | undefined {
  const { summary, trainIndex, settings } = a;
  const which = summary ? /\((candidate|incumbent) run (\d+)\)/.exec(summary) : null;
  const k = which ? Number(which[2]) : undefined;
  const first = !which && summary !== undefined && /^(train|evaluate) exp-\d+(?: on [^(:]*)?(?::|$)/.test(summary);
  if (settings.baseline) {
    const i = k !== undefined ? k + 1 : first ? 1 : trainIndex;
    return i === undefined ? undefined : `run ${i}${settings.repeats ? `/${settings.repeats}` : ''}`;
  }
  if (which && k! > 100) return `fresh run ${k! - 100}${settings.repeats ? `/${settings.repeats}` : ''} of the new best`;
  if (which) return `confirmation ${k}${settings.followUps ? ` of at most ${settings.followUps}` : ''}, the ${which[1]}'s run`;
  if (first) return undefined;
  return trainIndex === undefined || trainIndex === 1 ? undefined : `run ${trainIndex}`;
}

const VERB: Record<string, string> = {
  train: 'training', evaluate: 'scoring', hypothesize: 'proposing', edit: 'editing', commit: 'committing', checkoutCommit: 'checking out for',
  diffLines: 'counting the lines of', prepareLane: 'preparing the lane for',
};

/** Which experiment, what it does, which run: "exp-0000 run 2/3" or "exp-0001 proposing"; stable while nothing changes. */
export function activityKey(a: ActivityState): string {
  const label = a.type === 'train' || a.type === 'evaluate' ? runLabel(a) : undefined;
  const retry = a.attempt && a.attempt > 1 ? ` (attempt ${a.attempt})` : '';
  const waiting = a.waiting ? ', waiting for a worker to pick it up' : '';
  return `${VERB[a.type] ?? a.type} ${experimentName(a.experiment)}${label ? ` ${label}` : ''}${retry}${waiting}`;
}

/** The key, then how far it is: "training exp-0000 run 2/3, 45% (36 of 80 steps), about 20 s left". */
export function describeActivity(a: ActivityState, nowMs: number): string {
  if (a.waiting) return activityKey(a);
  if (a.type === 'train') return `${activityKey(a)}, ${trainProgress(a, nowMs)}`;
  return a.startedAtMs === undefined ? activityKey(a) : `${activityKey(a)} (${seconds((nowMs - a.startedAtMs) / 1000)})`;
}

const clock = (now: Date) => `[${now.toLocaleTimeString('en-GB', { hour12: false })}]`;

/** What changes print a line for: the experiment, phase, best, hypothesis and each running experiment's step and run. */
export function progressKey(s: RunStatus | undefined, activities: ActivityState[]): string {
  if (!s) return 'no status';
  return [s.experiment, s.phase, s.paused, s.best?.commit, s.currentHypothesis, ...activities.map(activityKey)].join('\u0000');
}

/** The line printed on a change: "[12:42:33] experiment 0/3 train · training exp-0000 run 2/3, 12% (…) · best …". */
export function progressLine(s: RunStatus, activities: ActivityState[], now: Date): string {
  const doing = activities.map((a) => describeActivity(a, now.getTime()));
  return `${clock(now)} experiment ${s.experiment}${s.maxExperiments ? `/${s.maxExperiments}` : ''} ${s.phase}` +
    (doing.length ? ` · ${doing.join('; ')}` : '') +
    (s.best ? ` · ${describeBest(s.best)}` : '') + (s.currentHypothesis ? ` · ${s.currentHypothesis}` : '');
}

/** The line printed when nothing changed for PROGRESS_EVERY_MS: "[12:42:48] still training exp-0000 run 2/3, 45% (…), about 20 s left". */
export function stillLine(s: RunStatus | undefined, activities: ActivityState[], now: Date, sinceMs: number): string {
  if (!s) return `${clock(now)} still no answer from the run's status query (is a worker running?)`;
  const doing = activities.map((a) => describeActivity(a, now.getTime()));
  if (doing.length) return `${clock(now)} still ${doing.join('; ')}`;
  const why = s.paused ? ' (paused)' : s.lanesWaitingFor ? ` (${s.lanesWaitingFor} lane(s) asked for: is a worker with a free lane up?)` : '';
  return `${clock(now)} still ${s.phase}${why}, experiment ${s.experiment}, for ${seconds((now.getTime() - sinceMs) / 1000)}`;
}

export interface Ticker {
  key: string;
  /** When the state last changed, and when a line was last printed. */
  changedAtMs: number;
  printedAtMs: number;
}

/** Whether to print now: on a change, or when nothing was printed for `everyMs`. */
export function tick(prev: Ticker | undefined, key: string, nowMs: number, everyMs = PROGRESS_EVERY_MS): { print?: 'change' | 'repeat'; next: Ticker } {
  if (!prev || prev.key !== key) return { print: 'change', next: { key, changedAtMs: nowMs, printedAtMs: nowMs } };
  if (nowMs - prev.printedAtMs >= everyMs) return { print: 'repeat', next: { ...prev, printedAtMs: nowMs } };
  return { next: prev };
}
