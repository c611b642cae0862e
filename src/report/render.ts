/**
 * rows → one self-contained HTML page: summary figures, the chart (#chart), the results table and the tree of experiments (#tree).
 * Pure: no assets, no scripts, no network; links to diffs are handed in.
 */
import { NOISE_COLOUR, renderChart, STATUS_COLOUR } from './chart.js';
import { escapeHtml, formatBpb, formatDelta } from './html.js';
import type { ResultRow } from '../core/resultsTsv.js';
import { BAND_K } from './noise.js';
import { annotateRows, progressLine, summarize, type ReportRow, type ReportSummary } from './summarize.js';
import type { JournalRecord } from '../core/journal.js';
import { journalSection } from './journal.js';
import { treeSection } from './tree.js';

export interface RenderOptions {
  /** The run's tag (or the file's name), shown in the title. */
  tag: string;
  /** commit → relative link to its diff; commits without one are shown as plain text. */
  diffLinks?: Record<string, string>;
  /** The person's steering notes (steering.tsv beside results.tsv), when the run had any. */
  steeringNotes?: { fromExperiment: number; note: string }[];
  /** σ of one run, bpb, to assume where results.tsv has none (greedy runs, the original's files). */
  sigma?: number;
  /** The repository's journal, when the report could read it: a section on every run and the repeats refused. */
  journal?: JournalRecord[];
}

export function renderReport(results: ResultRow[], options: RenderOptions): string {
  const rows = annotateRows(results, options.sigma);
  const summary = summarize(rows);
  const tag = escapeHtml(options.tag);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>autoresearch · ${tag}</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<main>
<h1>autoresearch · <span class="tag">${tag}</span></h1>
${figures(summary)}
<figure id="chart">
${renderChart(rows, summary, options.tag)}
</figure>
${table(rows, options.diffLinks ?? {})}
${treeSection(results)}
${steering(options.steeringNotes ?? [])}
${journalSection(options.journal ?? [], options.tag)}
</main>
</body>
</html>
`;
}

function figures(summary: ReportSummary): string {
  const items: [string, string][] = [
    ['experiments', String(summary.experiments)],
    ['kept', String(summary.kept)],
    ['discarded', String(summary.discarded)],
    ['crashed', String(summary.crashed)],
  ];
  if (summary.invalid > 0) items.push(['invalid', String(summary.invalid)]);
  const progress = progressLine(summary);
  if (progress && summary.best) {
    items.push(['baseline → best val_bpb', progress], ['best', `#${summary.best.index} ${escapeHtml(summary.best.commit)}`]);
  }
  if (summary.latestSigma !== undefined) items.push(['noise σ of one run', `${formatBpb(summary.latestSigma)} bpb`]);
  if (summary.withinNoise > 0) items.push(['kept within noise', String(summary.withinNoise)]);
  const cells = items.map(([label, value]) => `<div><dt>${label}</dt><dd>${value}</dd></div>`).join('\n');
  return `<dl class="figures">\n${cells}\n</dl>`;
}

function steering(notes: { fromExperiment: number; note: string }[]): string {
  if (notes.length === 0) return '';
  const items = notes.map((n) => `<li><span class="from">from experiment ${n.fromExperiment}</span> ${escapeHtml(n.note)}</li>`).join('\n');
  return `<section id="steering">\n<h2>Steering notes</h2>\n<ol>\n${items}\n</ol>\n</section>`;
}

function table(rows: ReportRow[], diffLinks: Record<string, string>): string {
  if (rows.length === 0) return '<p class="empty">No experiments yet.</p>';
  // Files without the keep decision's columns (the original's, older runs) get no empty columns.
  const noise = rows.some((row) => row.noiseSigma !== undefined || row.delta !== undefined || row.extraRuns !== undefined);
  const reasons = rows.some((row) => row.reason !== undefined);
  const body = rows
    .map((row) => {
      const href = diffLinks[row.commit];
      const commit = href
        ? `<a href="${escapeHtml(href)}">${escapeHtml(row.commit)}</a>`
        : escapeHtml(row.commit);
      const cells = [
        `<td class="num">${row.index}</td>`,
        `<td class="commit">${commit}</td>`,
        `<td class="num">${row.measured ? formatBpb(row.valBpb) : '—'}</td>`,
        signedCell(row.vsBest, -1),
        ...(noise ? noiseCells(row) : []),
        `<td class="num">${row.measured ? row.memoryGb.toFixed(1) : '—'}</td>`,
        `<td><span class="status">${row.status}</span>${row.withinNoise ? WITHIN_NOISE_BADGE : ''}</td>`,
        `<td>${escapeHtml(row.description)}</td>`,
        ...(reasons ? [`<td class="reason">${escapeHtml(row.reason ?? '')}</td>`] : []),
      ];
      return `<tr class="${row.status}${row.withinNoise ? ' within-noise' : ''}" data-index="${row.index}">${cells.join('')}</tr>`;
    })
    .join('\n');
  const headers = [
    '<th>#</th>',
    '<th>commit</th>',
    '<th>val_bpb</th>',
    '<th title="val_bpb minus the best kept val_bpb before it">Δ vs best before</th>',
    ...(noise
      ? [
          '<th title="σ of one training run as the keep decision saw it, bpb; grey: the latest known σ (or --sigma) where the row has none">σ</th>',
          '<th title="results.tsv delta: the incumbent\'s mean minus this experiment\'s mean val_bpb over the runs compared, bpb; positive is better">delta</th>',
          '<th title="extra runs of this experiment the keep rule asked for">conf.</th>',
        ]
      : []),
    '<th>memory GB</th>',
    '<th>status</th>',
    '<th>description</th>',
    ...(reasons ? ['<th title="why the keep rule kept or discarded it, or why it crashed">reason</th>'] : []),
  ];
  return `<table id="results">
<thead><tr>${headers.join('')}</tr></thead>
<tbody>
${body}
</tbody>
</table>`;
}

const WITHIN_NOISE_BADGE = ` <span class="within-noise" title="kept for a gain under ${BAND_K}σ of one run: as likely the seed as the change">within noise</span>`;

/** σ, delta and confirmations; σ inherited from an earlier row (or assumed) is shown grey. */
function noiseCells(row: ReportRow): string[] {
  const own = row.sigma !== undefined && row.sigma > 0;
  const sigma = row.noiseSigma === undefined ? '' : formatBpb(row.noiseSigma);
  return [
    `<td class="num sigma${own ? '' : ' inherited'}">${row.measured || own ? sigma : ''}</td>`,
    signedCell(row.delta, 1),
    `<td class="num">${row.extraRuns ?? ''}</td>`,
  ];
}

/** A signed bpb difference, coloured: `better` is the sign (1 or −1) that means an improvement. */
function signedCell(value: number | undefined, better: 1 | -1): string {
  if (value === undefined) return '<td class="num"></td>';
  const verdict = value * better > 0 ? 'better' : 'worse';
  return `<td class="num ${verdict}">${formatDelta(value)}</td>`;
}

const PAGE_CSS = `
body { margin: 0; background: #f6f7f9; color: #222; font: 14px/1.45 "DejaVu Sans", system-ui, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 22px; margin: 0 0 16px; }
#steering .from { color: #666; margin-right: 6px; }
#tree pre { background: #fff; border: 1px solid #e2e4e8; border-radius: 6px; padding: 8px 12px; overflow-x: auto; font: 12px/1.4 "DejaVu Sans Mono", ui-monospace, monospace; }
h1 .tag { font-family: "DejaVu Sans Mono", ui-monospace, monospace; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 0 0 18px; }
.figures div { background: #fff; border: 1px solid #e2e4e8; border-radius: 6px; padding: 8px 12px; }
.figures dt { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: #666; }
.figures dd { margin: 2px 0 0; font-size: 16px; font-weight: 600; font-variant-numeric: tabular-nums; }
#chart { margin: 0 0 20px; background: #fff; border: 1px solid #e2e4e8; border-radius: 6px; padding: 8px; width: fit-content; }
#chart svg { display: block; max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid #e2e4e8; }
th, td { padding: 5px 10px; border-bottom: 1px solid #eceef1; text-align: left; vertical-align: top; }
th { background: #fafbfc; font-size: 12px; color: #555; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.commit { font-family: "DejaVu Sans Mono", ui-monospace, monospace; }
td.better { color: ${STATUS_COLOUR.keep}; }
td.worse { color: #b35806; }
td.sigma.inherited { color: #999; font-style: italic; }
td.reason { font-size: 12px; color: #555; }
tr.within-noise td { background: #fff7ec; }
span.within-noise { display: inline-block; margin-left: 4px; padding: 0 6px; border: 1px dashed ${NOISE_COLOUR}; border-radius: 9px; font-size: 11px; color: ${NOISE_COLOUR}; white-space: nowrap; }
.status { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; color: #fff; }
tr.keep .status { background: ${STATUS_COLOUR.keep}; }
tr.discard .status { background: ${STATUS_COLOUR.discard}; }
tr.crash .status, tr.invalid .status { background: ${STATUS_COLOUR.crash}; }
tr.discard td, tr.crash td, tr.invalid td { color: #666; }
`;
