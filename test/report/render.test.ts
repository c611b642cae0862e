import { readFileSync } from 'node:fs';
import { parseResults, type ResultRow } from '../../src/report/parseResults.js';
import { renderReport } from '../../src/report/render.js';
import { annotateRows, bestSoFarSteps, summarize } from '../../src/report/summarize.js';

const sample = parseResults(readFileSync(new URL('./fixtures/sample.tsv', import.meta.url), 'utf8'));
const count = (html: string, pattern: RegExp) => html.match(new RegExp(pattern, 'g'))?.length ?? 0;

function row(status: ResultRow['status'], valBpb: number, description = status): ResultRow {
  return { commit: 'abc1234', valBpb, memoryGb: valBpb > 0 ? 44 : 0, status, description };
}

describe('renderReport', () => {
  const html = renderReport(sample, { tag: 'night-1', diffLinks: { '8b71d0e': 'diffs/8b71d0e.diff' } });

  test('lists the steering notes with the experiment each took effect from, when there are any', () => {
    const withNotes = renderReport(sample, { tag: 't', steeringNotes: [{ fromExperiment: 3, note: 'try <deeper> models' }] });
    expect(withNotes).toContain('<section id="steering">');
    expect(withNotes).toContain('from experiment 3</span> try &#60;deeper&#62; models');
    expect(html).not.toContain('id="steering"');
  });

  test('draws one point per row, classed by status', () => {
    expect(count(html, /class="point /)).toBe(12);
    expect(count(html, /class="point keep"/)).toBe(5);
    expect(count(html, /class="point discard"/)).toBe(4);
    expect(count(html, /class="point crash"/)).toBe(2);
    expect(count(html, /class="point invalid"/)).toBe(1);
  });

  test('draws the best-so-far line as one step per improvement, out to the last experiment', () => {
    const path = html.match(/<path class="best-so-far" d="([^"]+)"/)?.[1] ?? '';
    expect(path).toMatch(/^M/);
    expect(count(path, /V/)).toBe(4); // five kept improvements: baseline + four steps down
    expect(path).toMatch(/H[\d.]+$/);
  });

  test('marks a diverged experiment as off scale instead of stretching the axis', () => {
    expect(html).toMatch(/data-index="8" data-status="discard" data-off-scale="true"/);
  });

  test('shows the tag and the summary figures in the title area', () => {
    expect(html).toContain('<title>autoresearch · night-1</title>');
    expect(html).toContain('0.997900 → 0.983800 (−0.014100, −1.41%)');
    expect(html).toContain('12 experiments · 5 kept · 4 discarded · 2 crashed · 1 invalid');
  });

  test('lists every row in the table with its delta against the best before it', () => {
    expect(count(html, /<tr class="(keep|discard|crash|invalid)" data-index=/)).toBe(12);
    expect(html).toMatch(/<tr class="discard" data-index="2">.*<td class="num worse">\+0\.011800<\/td>/);
    expect(html).toMatch(/<tr class="keep" data-index="1">.*<td class="num better">−0\.004700<\/td>/);
  });

  test('links a commit to its diff only when a link is given', () => {
    expect(html).toContain('<a href="diffs/8b71d0e.diff">8b71d0e</a>');
    expect(html).not.toContain('diffs/3f2a9c1.diff');
  });

  test('escapes descriptions', () => {
    expect(html).toContain('edit did not apply: &#60;rope&#62; &#38; &#34;base&#34; 20000');
    expect(html).not.toContain('<rope>');
  });

  test('is self-contained: no scripts and no external resources', () => {
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  test('renders a run with no kept experiment and an empty run without NaN', () => {
    for (const rows of [[], [row('crash', 0)], [row('discard', 1.01), row('invalid', 0)]]) {
      const page = renderReport(rows, { tag: 't' });
      expect(page).not.toMatch(/NaN|undefined|Infinity/);
      expect(count(page, /class="point /)).toBe(rows.length);
    }
  });
});

describe('summarize', () => {
  test('takes the first measured row as the baseline and the lowest kept row as the best', () => {
    const rows = annotateRows([row('crash', 0), row('keep', 1.0), row('discard', 0.95), row('keep', 0.98), row('keep', 0.99)]);
    const summary = summarize(rows);
    expect(summary.baseline?.index).toBe(1);
    expect(summary.best?.index).toBe(3);
    expect(summary.improvement).toBeCloseTo(0.02);
    expect(rows.map((r) => r.delta)).toEqual([undefined, undefined, expect.closeTo(-0.05), expect.closeTo(-0.02), expect.closeTo(0.01)]);
    expect(bestSoFarSteps(rows).map((step) => step.index)).toEqual([1, 3]);
  });
});
