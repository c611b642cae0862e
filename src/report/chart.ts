/**
 * The main chart as inline SVG: val_bpb per experiment, coloured by status, with the best-so-far
 * step line and, where σ is known, the noise band around it. Pure. Every point is
 * `.point.<status>` with `data-index`, so tests can count them.
 */
import { escapeHtml, formatBpb, formatDelta, truncate } from './html.js';
import { keptLabels } from './labels.js';
import { BAND_K } from './noise.js';
import { noiseBand, type BandSegment } from './band.js';
import { bestSoFarSteps, countsLine, progressLine, type ReportRow, type ReportSummary } from './summarize.js';

const WIDTH = 960;
const HEIGHT = 480;
/** Value area; crashes have no val_bpb and sit in a lane of their own below it. */
const PLOT = { left: 84, right: WIDTH - 28, top: 72, bottom: 374 };
const CRASH_LANE_Y = 398;
const AXIS_Y = 414;

export const STATUS_COLOUR = { keep: '#1a9850', discard: '#9e9e9e', crash: '#d73027', invalid: '#d73027' } as const;
/** The "within noise" marker's colour, on the chart and in the table. */
export const NOISE_COLOUR = '#e08214';

export function renderChart(rows: ReportRow[], summary: ReportSummary, tag: string): string {
  const band = noiseBand(rows);
  const x = xScale(rows.length);
  const y = yScale(rows, summary, band);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="val_bpb per experiment">`,
    `<style>${CHART_CSS}</style>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${PLOT.left}" y="30" class="title">val_bpb per experiment · ${escapeHtml(truncate(tag, 40))}</text>`,
    `<text x="${PLOT.left}" y="52" class="subtitle">${escapeHtml(subtitle(summary))}</text>`,
    legend(),
    yAxis(y),
    xAxis(x, rows.length),
    noiseLegend(band.length > 0, summary.withinNoise > 0),
    bandSegments(band, x, y),
    bestSoFarLine(rows, x, y),
    rows.map((row) => point(row, x, y)).join(''),
    keptLabels(rows, x, y, { left: PLOT.left, right: WIDTH, top: PLOT.top }),
    '</svg>',
  ].join('\n');
}

// ---------------------------------------------------------------- scales

interface YScale {
  (value: number): number;
  ticks: number[];
  decimals: number;
  /** Values above this are drawn at the top edge as "off scale". */
  cap: number;
}

function xScale(count: number): (index: number) => number {
  const lo = -0.5;
  const hi = Math.max(count, 1) - 0.5;
  return (index) => PLOT.left + ((index - lo) / (hi - lo)) * (PLOT.right - PLOT.left);
}

function yScale(rows: ReportRow[], summary: ReportSummary, band: BandSegment[]): YScale {
  // The band's edges count as values, so that it shows whole.
  const edges = band.flatMap((segment) => [segment.best - segment.halfWidth, segment.best + segment.halfWidth]);
  const values = [...rows.filter((row) => row.measured).map((row) => row.valBpb), ...edges];
  const lo = values.length > 0 ? Math.min(...values) : 0.9;
  let hi = values.length > 0 ? Math.max(...values) : 1.1;
  // A diverged experiment (val_bpb 3.2 next to 0.99) would flatten everything else: past twice the
  // baseline-to-best gain above the baseline, points are drawn at the top edge instead.
  const baseline = summary.baseline?.valBpb ?? hi;
  const cap = baseline + 2 * Math.max(baseline - lo, 0.005);
  hi = Math.min(hi, cap);
  const pad = Math.max((hi - lo) * 0.08, 0.0005);
  const [domainLo, domainHi] = [lo - pad, hi + pad];
  const step = niceStep(domainHi - domainLo, 6);
  const ticks: number[] = [];
  for (let k = Math.ceil(domainLo / step); k * step <= domainHi; k++) ticks.push(k * step);
  const scale = ((value: number) =>
    PLOT.bottom - ((Math.min(value, domainHi) - domainLo) / (domainHi - domainLo)) * (PLOT.bottom - PLOT.top)) as YScale;
  scale.ticks = ticks;
  scale.decimals = Math.max(0, -Math.floor(Math.log10(step)));
  scale.cap = cap;
  return scale;
}

/** 1, 2 or 5 times a power of ten, giving about `target` intervals over `span`. */
function niceStep(span: number, target: number): number {
  const raw = span / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const f = raw / magnitude;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * magnitude;
}

// ---------------------------------------------------------------- parts

function subtitle(summary: ReportSummary): string {
  const progress = progressLine(summary);
  return progress ? `${countsLine(summary)} · ${progress}` : countsLine(summary);
}

function legend(): string {
  const items = [
    ['keep', `<circle cx="0" cy="-4" r="5" fill="${STATUS_COLOUR.keep}"/>`],
    ['discard', `<circle cx="0" cy="-4" r="5" fill="${STATUS_COLOUR.discard}"/>`],
    ['crash / invalid', `<path d="${cross(0, -4)}" stroke="${STATUS_COLOUR.crash}" stroke-width="2.5"/>`],
    ['best so far', `<line x1="-8" y1="-4" x2="8" y2="-4" stroke="${STATUS_COLOUR.keep}" stroke-width="2.5"/>`],
  ];
  const widths = [64, 78, 118, 100];
  let left = PLOT.right - widths.reduce((a, b) => a + b, 0);
  return `<g class="legend">${items
    .map(([label, mark], i) => {
      const item = `<g transform="translate(${left + 8},34)">${mark}<text x="14" y="0">${label}</text></g>`;
      left += widths[i];
      return item;
    })
    .join('')}</g>`;
}

function yAxis(y: YScale): string {
  const ticks = y.ticks
    .map((value) => {
      const at = y(value).toFixed(1);
      return `<line class="grid" x1="${PLOT.left}" x2="${PLOT.right}" y1="${at}" y2="${at}"/><text class="tick" x="${PLOT.left - 8}" y="${at}" dy="4" text-anchor="end">${value.toFixed(y.decimals)}</text>`;
    })
    .join('');
  const midY = (PLOT.top + PLOT.bottom) / 2;
  return [
    `<g class="y-axis">${ticks}`,
    `<line class="axis" x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${AXIS_Y}"/>`,
    `<line class="lane" x1="${PLOT.left}" x2="${PLOT.right}" y1="${CRASH_LANE_Y - 12}" y2="${CRASH_LANE_Y - 12}"/>`,
    `<text class="tick crash-label" x="${PLOT.left - 8}" y="${CRASH_LANE_Y}" dy="4" text-anchor="end">crash</text>`,
    `<text class="axis-label" transform="translate(22,${midY}) rotate(-90)" text-anchor="middle">val_bpb (lower is better)</text>`,
    '</g>',
  ].join('');
}

function xAxis(x: (index: number) => number, count: number): string {
  const step = Math.max(1, niceStep(Math.max(count, 1), 12));
  const ticks: string[] = [];
  for (let index = 0; index < count; index += step) {
    const at = x(index).toFixed(1);
    ticks.push(
      `<line class="axis" x1="${at}" x2="${at}" y1="${AXIS_Y}" y2="${AXIS_Y + 5}"/><text class="tick" x="${at}" y="${AXIS_Y + 20}" text-anchor="middle">${index}</text>`,
    );
  }
  return [
    `<g class="x-axis"><line class="axis" x1="${PLOT.left}" x2="${PLOT.right}" y1="${AXIS_Y}" y2="${AXIS_Y}"/>`,
    ticks.join(''),
    `<text class="axis-label" x="${(PLOT.left + PLOT.right) / 2}" y="${AXIS_Y + 48}" text-anchor="middle">experiment</text></g>`,
  ].join('');
}

/** One shaded rectangle per stretch of the best-so-far line: best ± k·σ. */
function bandSegments(band: BandSegment[], x: (index: number) => number, y: YScale): string {
  if (band.length === 0) return '';
  const clamp = (at: number) => Math.max(PLOT.top, Math.min(PLOT.bottom, at));
  const rects = band.map((segment) => {
    const [x0, x1] = [x(segment.fromIndex), segment.toIndex === undefined ? PLOT.right : x(segment.toIndex)];
    const [top, bottom] = [clamp(y(segment.best + segment.halfWidth)), clamp(y(segment.best - segment.halfWidth))];
    const title = `<title>best ${formatBpb(segment.best)} ± ${formatBpb(segment.halfWidth)} (${BAND_K}σ, σ = ${formatBpb(segment.halfWidth / BAND_K)})${segment.machineClass ? ` on ${escapeHtml(segment.machineClass)}` : ''}</title>`;
    return `<rect class="band-segment" data-from="${segment.fromIndex}" x="${x0.toFixed(1)}" y="${top.toFixed(1)}" width="${(x1 - x0).toFixed(1)}" height="${(bottom - top).toFixed(1)}">${title}</rect>`;
  });
  return `<g class="noise-band" fill="${STATUS_COLOUR.keep}" fill-opacity="0.13">${rects.join('')}</g>`;
}

/** Below the axis, left of its label: the band and the marker, only when drawn. */
function noiseLegend(band: boolean, withinNoise: boolean): string {
  const items: string[] = [];
  if (band) {
    items.push(`<rect x="0" y="-10" width="16" height="12" fill="${STATUS_COLOUR.keep}" fill-opacity="0.13"/><text x="22" y="0">best ± ${BAND_K}σ (noise band)</text>`);
  }
  if (withinNoise) items.push(`${noiseRing(8, -4)}<text x="22" y="0">kept within noise</text>`);
  const widths = [190, 150];
  let left = PLOT.left;
  return `<g class="noise-legend">${items
    .map((item, i) => {
      const placed = `<g transform="translate(${left},${AXIS_Y + 48})">${item}</g>`;
      left += widths[i];
      return placed;
    })
    .join('')}</g>`;
}

function noiseRing(cx: number, cy: number): string {
  return `<circle class="noise-ring" cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="9" fill="none" stroke="${NOISE_COLOUR}" stroke-width="2" stroke-dasharray="3 2"/>`;
}

function bestSoFarLine(rows: ReportRow[], x: (index: number) => number, y: YScale): string {
  const steps = bestSoFarSteps(rows);
  if (steps.length === 0) return '';
  let d = `M${x(steps[0].index).toFixed(1)},${y(steps[0].valBpb).toFixed(1)}`;
  for (const step of steps.slice(1)) d += ` H${x(step.index).toFixed(1)} V${y(step.valBpb).toFixed(1)}`;
  d += ` H${x(rows.length - 1).toFixed(1)}`;
  return `<path class="best-so-far" d="${d}" fill="none" stroke="${STATUS_COLOUR.keep}" stroke-width="2" stroke-opacity="0.8"/>`;
}

function point(row: ReportRow, x: (index: number) => number, y: YScale): string {
  const cx = x(row.index);
  const title = `<title>${escapeHtml(pointTitle(row))}</title>`;
  const attrs = `class="point ${row.status}" data-index="${row.index}" data-status="${row.status}"${row.withinNoise ? ' data-within-noise="true"' : ''}`;
  const colour = STATUS_COLOUR[row.status];
  if (!row.measured) {
    return `<g ${attrs}>${title}<path d="${cross(cx, CRASH_LANE_Y)}" stroke="${colour}" stroke-width="2.5"/></g>`;
  }
  if (row.valBpb > y.cap) {
    const top = PLOT.top;
    const label = `<text class="off-scale" x="${(cx + 9).toFixed(1)}" y="${top + 8}">${formatBpb(row.valBpb)} ↑</text>`;
    return `<g ${attrs} data-off-scale="true">${title}<path d="M${cx.toFixed(1)},${top - 2} l-6,10 h12 z" fill="${colour}"/>${label}</g>`;
  }
  const opacity = row.status === 'keep' ? 1 : 0.75;
  const ring = row.withinNoise ? noiseRing(cx, y(row.valBpb)) : '';
  return `${ring}<circle ${attrs} cx="${cx.toFixed(1)}" cy="${y(row.valBpb).toFixed(1)}" r="5" fill="${colour}" fill-opacity="${opacity}" stroke="#fff" stroke-width="1">${title}</circle>`;
}

/** "#7 e21b6a9 0.986400 · use 4 KV heads · σ 0.000800 · delta +0.003700 · 1 confirmation(s) · <reason>" */
function pointTitle(row: ReportRow): string {
  const parts = [`#${row.index} ${row.commit} ${row.measured ? formatBpb(row.valBpb) : row.status}`, row.description];
  if (row.noiseSigma !== undefined) parts.push(`σ ${formatBpb(row.noiseSigma)}`);
  if (row.delta !== undefined) parts.push(`delta ${formatDelta(row.delta)}`);
  if (row.extraRuns) parts.push(`${row.extraRuns} confirmation(s)`);
  if (row.withinNoise) parts.push(`within noise (gain under ${BAND_K}σ)`);
  if (row.reason) parts.push(row.reason);
  return parts.join(' · ');
}

function cross(cx: number, cy: number): string {
  return `M${cx - 5},${cy - 5} l10,10 m0,-10 l-10,10`;
}

/** Inside the SVG, so the chart also stands alone. */
const CHART_CSS = `
.chart text { font-family: "DejaVu Sans", system-ui, sans-serif; font-size: 12px; fill: #333; }
.chart .title { font-size: 18px; font-weight: 700; fill: #111; }
.chart .subtitle { font-size: 13px; fill: #555; }
.chart .legend text { font-size: 12px; }
.chart .tick { font-size: 11px; fill: #555; }
.chart .crash-label { fill: ${STATUS_COLOUR.crash}; }
.chart .axis-label { font-size: 13px; fill: #333; }
.chart .axis { stroke: #444; stroke-width: 1; }
.chart .grid { stroke: #e6e6e6; stroke-width: 1; }
.chart .lane { stroke: #f0c8c4; stroke-dasharray: 3 3; }
.chart .kept-label { font-size: 10px; fill: #146c3a; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.chart .off-scale { font-size: 10px; fill: #777; }
`;
