/** The `watch` screen as a pure function of what the run reports: unit-tested without a terminal. */
import path from 'node:path';
import { BASELINE_CRASHED, describeBest, describeBudget, describeLanes } from '../core/describe.js';
import { EXPERIMENT_STATUSES, type ExperimentRecord, type ExperimentStatus } from '../core/results.js';
import type { RunStatus, RunSummary } from '../api/messages.js';

export interface ViewOptions {
  /** Terminal width; longer lines are cut. */
  columns?: number;
  /** ANSI colours (off for pipes and tests). */
  color?: boolean;
  /** How many of the latest results to list. */
  lastResults?: number;
  /** A line under the header when the last poll failed (e.g. no worker answers queries). */
  warning?: string;
}

const BAR_WIDTH = 30;
const STATUS_COLOR: Record<ExperimentStatus, string> = { keep: '32', discard: '33', crash: '31', invalid: '2' };

export function renderWatch(status: RunStatus, results: ExperimentRecord[], now: Date, opts: ViewOptions = {}): string {
  const paint = (code: string, text: string) => (opts.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const lanes = describeLanes(status);
  const flags = [status.paused && paint('33', 'paused'), status.stopRequested && paint('33', 'stopping after this experiment'),
    lanes && (status.lanesWaitingFor ? paint('33', lanes) : lanes)].filter(Boolean);
  const lines = [
    paint('1', `autoresearch ${status.tag}`) + (status.branch ? `  (${status.branch})` : ''),
    `experiment ${status.experiment}${status.maxExperiments ? `/${status.maxExperiments}` : ''} · phase ${paint('1', status.phase)}${flags.length ? ` · ${flags.join(' · ')}` : ''}`,
  ];
  if (opts.warning) lines.push(paint('31', opts.warning));
  if (status.pausedReason) lines.push(paint('33', `the run ${status.pausedReason}`));
  if (status.currentHypothesis && status.phase !== 'done') lines.push(`hypothesis: ${status.currentHypothesis}`);
  lines.push(budgetLine(status, now));
  lines.push(status.best ? paint('32', describeBest(status.best)) : 'best: no result yet');
  lines.push(`${tally(status)} · cost $${status.costUsd.toFixed(4)}${status.steeringNotes.length ? ` · ${status.steeringNotes.length} steering note(s)` : ''}`);
  const last = results.slice(-(opts.lastResults ?? 5));
  if (last.length) {
    lines.push('', paint('2', '   # commit   val_bpb   status   description'));
    for (const r of last) {
      const bpb = r.status === 'keep' || r.status === 'discard' ? r.valBpb.toFixed(6) : '-'.padEnd(8);
      lines.push(`${String(r.experiment).padStart(4)} ${(r.commit || '-').padEnd(8)} ${bpb}  ${paint(STATUS_COLOR[r.status], r.status.padEnd(8))} ${r.description}`);
    }
  }
  if (status.endReason) lines.push('', `run ended: ${status.endReason}`);
  return lines.map((l) => cut(l, opts.columns)).join('\n');
}

/** The training budget as a bar; the budget counts training only, so start-up and evaluation overrun it. */
export function budgetLine(status: RunStatus, now: Date): string {
  const budget = status.timeBudgetSeconds;
  const empty = `training  [${' '.repeat(BAR_WIDTH)}]`;
  if (status.phase !== 'train' || !status.trainingStartedAt) return `${empty}  not training (budget ${describeBudget(status)})`;
  const elapsed = Math.max(0, (now.getTime() - Date.parse(status.trainingStartedAt)) / 1000);
  // A token budget's progress is the trainer's step count, which the run does not see: no bar.
  if (status.tokenBudget) return `${empty}  ${Math.round(elapsed)} s so far · budget ${describeBudget(status)}`;
  const fraction = Math.min(1, elapsed / budget);
  const filled = Math.round(fraction * BAR_WIDTH);
  const note = elapsed > budget ? ' · past the budget: start-up or final evaluation' : '';
  return `training  [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${Math.round(elapsed)} s / ${budget} s${note}`;
}

function tally(status: RunStatus): string {
  const parts = EXPERIMENT_STATUSES.filter((s) => status.counts[s]).map((s) => `${status.counts[s]} ${s}`);
  return `${status.experimentsDone} done${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

/** Cuts a line to the terminal width, counting visible characters only (ANSI codes are free). */
function cut(line: string, columns?: number): string {
  const ansi = /(\x1b\[[0-9;]*m)/;
  if (!columns || line.split(ansi).filter((p) => !ansi.test(p)).join('').length <= columns) return line;
  let room = columns - 1;
  let out = '';
  for (const part of line.split(ansi)) {
    if (ansi.test(part)) {
      out += part;
      continue;
    }
    out += part.slice(0, room);
    room = Math.max(0, room - part.length);
  }
  return `${out}…${ansi.test(line) ? '\x1b[0m' : ''}`;
}

/** What `watch` prints when the run has ended. */
export function renderSummary(summary: RunSummary): string {
  const best = summary.best ? describeBest(summary.best) : 'no successful experiment';
  const gain = summary.best && summary.baselineValBpb !== undefined ? `, ${(summary.best.valBpb - summary.baselineValBpb).toFixed(6)} vs baseline` : '';
  return [
    `run ${summary.tag} completed: ${summary.endReason}`,
    `${summary.experiments} experiments, ${summary.kept} kept; ${best}${gain}`,
    `cost $${summary.costUsd.toFixed(4)} · branch ${summary.branch} · results ${summary.resultsFile}`,
  ].join('\n');
}

/**
 * Why a finished run is a failure, or undefined when it scored something: a run none of whose
 * experiments was scored (the baseline included) has nothing to show, whatever its end reason says.
 * `rows` are its results (results.tsv), for the first crash's reason and log.
 */
export function runFailure(summary: RunSummary, rows: { status: string; reason?: string; experimentId?: string }[] = []): string | undefined {
  if (summary.best) return undefined;
  // Its end reason names the crash and the log already, with or without results.tsv at hand.
  if (summary.endReason.startsWith(BASELINE_CRASHED)) return `run ${summary.tag} failed: ${summary.endReason}`;
  const crash = rows.find((r) => r.status === 'crash' || r.status === 'invalid');
  const logs = path.join(path.dirname(summary.resultsFile), 'logs');
  const first = crash?.experimentId ? path.join(logs, `${crash.experimentId.split('/').pop()}.log`) : logs;
  const why = crash?.reason ? `: ${crash.reason}` : '';
  return summary.experiments === 0
    ? `run ${summary.tag} ran no experiment (${summary.endReason})`
    : `run ${summary.tag} failed: none of its ${summary.experiments} experiments was scored; the first crashed${why} (log ${first})`;
}
