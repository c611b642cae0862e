/**
 * rows → one self-contained HTML page: summary figures, the chart (#chart) and the results table.
 * Pure: no assets, no scripts, no network; links to diffs are handed in.
 */
import { renderChart, STATUS_COLOUR } from './chart.js';
import { escapeHtml, formatBpb, formatDelta } from './html.js';
import type { ResultRow } from './parseResults.js';
import { annotateRows, progressLine, summarize, type ReportRow, type ReportSummary } from './summarize.js';

export interface RenderOptions {
  /** The run's tag (or the file's name), shown in the title. */
  tag: string;
  /** commit → relative link to its diff; commits without one are shown as plain text. */
  diffLinks?: Record<string, string>;
  /** The person's steering notes (steering.tsv beside results.tsv), when the run had any. */
  steeringNotes?: { fromExperiment: number; note: string }[];
}

export function renderReport(results: ResultRow[], options: RenderOptions): string {
  const rows = annotateRows(results);
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
${steering(options.steeringNotes ?? [])}
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
  const body = rows
    .map((row) => {
      const href = diffLinks[row.commit];
      const commit = href
        ? `<a href="${escapeHtml(href)}">${escapeHtml(row.commit)}</a>`
        : escapeHtml(row.commit);
      const delta = row.delta === undefined ? '' : formatDelta(row.delta);
      const deltaClass = row.delta === undefined ? '' : row.delta < 0 ? 'better' : 'worse';
      return `<tr class="${row.status}" data-index="${row.index}"><td class="num">${row.index}</td><td class="commit">${commit}</td><td class="num">${row.measured ? formatBpb(row.valBpb) : '—'}</td><td class="num ${deltaClass}">${delta}</td><td class="num">${row.measured ? row.memoryGb.toFixed(1) : '—'}</td><td><span class="status">${row.status}</span></td><td>${escapeHtml(row.description)}</td></tr>`;
    })
    .join('\n');
  return `<table id="results">
<thead><tr><th>#</th><th>commit</th><th>val_bpb</th><th title="val_bpb minus the best kept val_bpb before it">Δ vs best before</th><th>memory GB</th><th>status</th><th>description</th></tr></thead>
<tbody>
${body}
</tbody>
</table>`;
}

const PAGE_CSS = `
body { margin: 0; background: #f6f7f9; color: #222; font: 14px/1.45 "DejaVu Sans", system-ui, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 22px; margin: 0 0 16px; }
#steering .from { color: #666; margin-right: 6px; }
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
.status { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; color: #fff; }
tr.keep .status { background: ${STATUS_COLOUR.keep}; }
tr.discard .status { background: ${STATUS_COLOUR.discard}; }
tr.crash .status, tr.invalid .status { background: ${STATUS_COLOUR.crash}; }
tr.discard td, tr.crash td, tr.invalid td { color: #666; }
`;
