/**
 * The end of a run in words, for the person who started it: what was kept and by how much, what
 * was discarded and why (worse, or a gain the noise could have made), what crashed and where its
 * log is, and where to look next. Pure: a function of the run's summary and its results rows.
 */
import path from 'node:path';
import type { RunSummary } from '../api/messages.js';
import type { ResultRow } from '../core/resultsTsv.js';

const bpb = (x: number) => x.toFixed(4);

/** A paired decision's seeds and σ of a pair, read back from its reason (core/pairedKeep.ts writes it). */
function pairedOf(row: ResultRow): { seeds: string; sigma?: string } | undefined {
  const m = /^paired gain \S+ over \d+ seed\(s\) \(([^)]*)\)(?:, σ of a pair ([0-9.]+))?/.exec(row.reason ?? '');
  return m ? { seeds: m[1], sigma: m[2] } : undefined;
}

/**
 * How many σ of one run a gain is, when the decision measured σ (the greedy rule does not); for
 * runs paired by seed, the seeds and σ of a pair, which is what the gain was judged against.
 */
function inSigma(row: ResultRow): string {
  const paired = pairedOf(row);
  if (paired) return ` on the same seed${paired.seeds.includes(',') ? 's' : ''} (${paired.seeds}${paired.sigma ? `; σ of a pair = ${bpb(Number(paired.sigma))}` : ''})`;
  return row.sigma && row.delta !== undefined ? ` (${(row.delta / row.sigma).toFixed(1)}σ, σ = ${bpb(row.sigma)} per run)` : '';
}

function numberOf(row: ResultRow, index: number): string {
  const id = row.experimentId?.split('/').pop();
  return id ?? `row ${index + 1}`;
}

/** Why a discarded row lost, in words: worse, or better by less than the bar. */
export function whyDiscarded(row: ResultRow): string {
  if (row.delta === undefined) return row.reason ?? 'not better than the best';
  if (row.delta <= 0) return `worse by ${bpb(-row.delta)} bpb${inSigma(row)}`;
  if (pairedOf(row)) return `better by ${bpb(row.delta)} bpb${inSigma(row)}, but not by more than its seeds disagree`;
  return `better by ${bpb(row.delta)} bpb, within the noise${inSigma(row)}: a new seed alone moves a run that much`;
}

export function renderOutcome(summary: RunSummary, rows: ResultRow[]): string {
  const lines: string[] = ['What happened:'];
  const baseline = rows[0];
  if (baseline && baseline.status === 'keep') {
    lines.push(`  baseline   val_bpb ${baseline.valBpb.toFixed(6)}${baseline.sigma ? `, noise σ = ${bpb(baseline.sigma)} bpb per run` : ''}`);
  }
  const changes = rows.slice(1).map((row, i) => ({ row, name: numberOf(row, i + 1) }));
  const kept = changes.filter((c) => c.row.status === 'keep');
  const discarded = changes.filter((c) => c.row.status === 'discard');
  const failed = changes.filter((c) => c.row.status === 'crash' || c.row.status === 'invalid');
  for (const { row, name } of kept) {
    const gain = row.delta !== undefined ? `better by ${bpb(row.delta)} bpb${inSigma(row)}` : 'kept';
    lines.push(`  kept       ${name} ${row.description}: ${gain}`);
  }
  for (const { row, name } of discarded) lines.push(`  discarded  ${name} ${row.description}: ${whyDiscarded(row)}`);
  const logs = path.join(path.dirname(summary.resultsFile), 'logs');
  for (const { row, name } of failed) {
    lines.push(`  ${row.status.padEnd(10)} ${name} ${row.description}: ${row.reason ?? 'no reason recorded'} (log ${path.join(logs, `${name}.log`)})`);
  }
  if (!changes.length) lines.push('  no change was tried after the baseline');
  lines.push('', 'Next:', ...nextSteps(summary, kept.length, discarded.length, failed.length));
  return lines.join('\n');
}

function nextSteps(summary: RunSummary, kept: number, discarded: number, failed: number): string[] {
  const steps = [`  npm run report -- ${summary.tag}    a chart and a table of every experiment`];
  if (kept) steps.push(`  git log -p ${summary.branch}    the kept changes, one commit each`);
  if (failed) steps.push('  the crash logs above: a crash is the trainer\'s own error (or the sandbox\'s)');
  if (!kept && discarded) {
    steps.push('  nothing beat the noise: a longer run (more experiments), a larger budget per run (less noise per run),',
      '  or an LLM proposer (ANTHROPIC_API_KEY set, proposer.kind "claude") that proposes larger changes');
  }
  return steps;
}
