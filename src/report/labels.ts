/** Labels for the chart's kept experiments, placed so they do not crowd each other. Pure. */
import { escapeHtml, truncate } from './html.js';
import { bestSoFarSteps, type ReportRow } from './summarize.js';

/** Where labels may go, in SVG pixels. */
export interface Area {
  left: number;
  right: number;
  top: number;
}

/**
 * Short descriptions beside the experiments that lowered the best (not the baseline), biggest gains
 * first, skipping any that would crowd one already placed. A label slants up and to the right; where
 * that would leave the chart it lies level, left of its point, under the previous best-so-far step
 * (empty by construction).
 */
export function keptLabels(rows: ReportRow[], x: (index: number) => number, y: (value: number) => number, area: Area): string {
  const gains = bestSoFarSteps(rows)
    .map((step, i, steps) => ({ ...step, gain: i === 0 ? 0 : steps[i - 1].valBpb - step.valBpb }))
    .slice(1)
    .sort((a, b) => b.gain - a.gain);
  const placed: Label[] = [];
  for (const { index, valBpb } of gains) {
    if (placed.length === MAX_LABELS) break;
    const label = placeLabel(rows[index].description, x(index), y(valBpb), area);
    if (label && placed.every((other) => segmentDistance(label, other) >= LABEL_GAP)) placed.push(label);
  }
  return placed.map((label) => label.svg).join('');
}

const MAX_LABELS = 12;
const LABEL_CHARS = 36;
/** Average advance of a 10px DejaVu Sans character, for fitting labels. */
const LABEL_CHAR_WIDTH = 6;
/** Closest two labels' baselines may come: a line of 10px text and some air. */
const LABEL_GAP = 12;

/** A label's baseline as a segment (for spacing) and its markup. */
interface Label {
  from: [number, number];
  to: [number, number];
  svg: string;
}

function placeLabel(description: string, px: number, py: number, area: Area): Label | undefined {
  const [cos, sin] = [Math.cos(Math.PI / 6), Math.sin(Math.PI / 6)];
  const [sx, sy] = [px + 7, py - 7];
  // As many characters as fit before the slanted label leaves the plot at the top or the right.
  const room = Math.min((area.right - sx) / cos, (sy - area.top + 10) / sin) / LABEL_CHAR_WIDTH;
  const slanted = Math.min(LABEL_CHARS, Math.floor(room));
  if (slanted >= Math.min(description.length, 16)) {
    const text = escapeHtml(truncate(description, slanted));
    const length = Math.min(description.length, slanted) * LABEL_CHAR_WIDTH;
    return {
      from: [sx, sy],
      to: [sx + length * cos, sy - length * sin],
      svg: `<text class="kept-label" transform="translate(${sx.toFixed(1)},${sy.toFixed(1)}) rotate(-30)">${text}</text>`,
    };
  }
  const chars = Math.min(LABEL_CHARS, Math.floor((px - 9 - area.left) / LABEL_CHAR_WIDTH));
  if (chars < 8) return undefined;
  const length = Math.min(description.length, chars) * LABEL_CHAR_WIDTH;
  return {
    from: [px - 9 - length, py + 4],
    to: [px - 9, py + 4],
    svg: `<text class="kept-label" x="${(px - 9).toFixed(1)}" y="${(py + 4).toFixed(1)}" text-anchor="end">${escapeHtml(truncate(description, chars))}</text>`,
  };
}

/** Shortest distance between two segments (0 where they cross). */
function segmentDistance(a: Label, b: Label): number {
  const cross = (o: [number, number], p: [number, number], q: [number, number]) =>
    (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0]);
  const crosses =
    cross(a.from, a.to, b.from) * cross(a.from, a.to, b.to) < 0 && cross(b.from, b.to, a.from) * cross(b.from, b.to, a.to) < 0;
  if (crosses) return 0;
  return Math.min(
    pointToSegment(a.from, b),
    pointToSegment(a.to, b),
    pointToSegment(b.from, a),
    pointToSegment(b.to, a),
  );
}

function pointToSegment([px, py]: [number, number], { from: [ax, ay], to: [bx, by] }: Label): number {
  const [dx, dy] = [bx - ax, by - ay];
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy || 1)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}
