import { readFileSync } from 'node:fs';
import { parseResults, type ResultRow } from '../../src/core/resultsTsv.js';
import { renderReport } from '../../src/report/render.js';
import { annotateRows, bestSoFarSteps, summarize } from '../../src/report/summarize.js';
import { noiseBand } from '../../src/report/band.js';

const fixture = (name: string) => parseResults(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const sample = fixture('sample.tsv');
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
  test('takes the first measured row as the baseline and the latest keep, the branch tip, as the best', () => {
    // The last keep is a change with fewer lines, kept although its val_bpb is a little higher: the run's best is its commit.
    const rows = annotateRows([row('crash', 0), row('keep', 1.0), row('discard', 0.95), row('keep', 0.98), row('keep', 0.99)]);
    const summary = summarize(rows);
    expect(summary.baseline?.index).toBe(1);
    expect(summary.best?.index).toBe(4);
    expect(summary.improvement).toBeCloseTo(0.01);
    expect(rows.map((r) => r.bestBefore)).toEqual([undefined, undefined, 1.0, 1.0, 0.98]);
    expect(rows.map((r) => r.vsBest)).toEqual([undefined, undefined, expect.closeTo(-0.05), expect.closeTo(-0.02), expect.closeTo(0.01)]);
    expect(bestSoFarSteps(rows).map((step) => step.index)).toEqual([1, 3, 4]);
  });
});

describe('the noise band and the keeps within it', () => {
  /** The band's rectangles: [first experiment, y, height] in SVG pixels. */
  const segments = (html: string) =>
    [...html.matchAll(/<rect class="band-segment" data-from="(\d+)" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g)].map((m) => m.slice(1).map(Number));
  const withinNoise = (html: string) => [...html.matchAll(/data-index="(\d+)" data-status="keep" data-within-noise="true"/g)].map((m) => Number(m[1]));

  test('shades best ± 2σ along the best-so-far line, each stretch with its kept row\'s σ', () => {
    const rows = annotateRows(fixture('decisions.tsv'));
    expect(noiseBand(rows)).toEqual([
      { fromIndex: 0, toIndex: 1, best: 0.9979, halfWidth: expect.closeTo(0.00162, 9) },
      { fromIndex: 1, toIndex: 5, best: 0.9932, halfWidth: expect.closeTo(0.00162, 9) },
      { fromIndex: 5, toIndex: 8, best: 0.9897, halfWidth: expect.closeTo(0.00148, 9) },
      { fromIndex: 8, toIndex: undefined, best: 0.9854, halfWidth: expect.closeTo(0.00154, 9) },
    ]);
    const html = renderReport(fixture('decisions.tsv'), { tag: 'night-2' });
    expect(segments(html).map(([from]) => from)).toEqual([0, 1, 5, 8]);
    for (const [, , height] of segments(html)) expect(height).toBeGreaterThan(5);
    expect(html).toContain('best ± 2σ (noise band)');
    expect(html).toContain('<title>best 0.989700 ± 0.001480 (2σ, σ = 0.000740)</title>');
  });

  test('keeps the band inside the plot: its edges widen the value axis', () => {
    const html = renderReport(fixture('decisions.tsv'), { tag: 'night-2' });
    for (const [, y, height] of segments(html)) {
      expect(y).toBeGreaterThanOrEqual(72);
      expect(y + height).toBeLessThanOrEqual(374.05);
    }
  });

  test('draws no band and no σ columns where no σ is known', () => {
    for (const rows of [sample, fixture('original.tsv'), fixture('greedy.tsv')]) {
      const html = renderReport(rows, { tag: 't' });
      expect(html).not.toContain('class="band-segment"');
      expect(html).not.toContain('noise band');
      expect(html).not.toContain('data-within-noise');
    }
    expect(renderReport(sample, { tag: 't' })).not.toMatch(/<th[^>]*>(σ|delta|conf\.|reason)<\/th>/);
  });

  test('marks a greedy keep whose gain is under 2σ as within noise, given the σ the file lacks', () => {
    const html = renderReport(fixture('greedy.tsv'), { tag: 'greedy-1', sigma: 0.001 });
    expect(withinNoise(html)).toEqual([1]); // gained 0.0005 < 0.002; #3 gained 0.0043
    expect(count(html, /class="noise-ring"/)).toBe(2); // the point's and the legend's
    expect(html).toMatch(/<tr class="keep within-noise" data-index="1">.*<span class="within-noise"/);
    expect(count(html, /<span class="within-noise"/)).toBe(1);
    expect(html).toContain('kept within noise</text>');
    expect(html).toMatch(/<dt>kept within noise<\/dt><dd>1<\/dd>/);
    expect(segments(html).map(([from]) => from)).toEqual([0, 1, 3]);
  });

  test('judges the original\'s files by val_bpb against the best before, with an assumed σ', () => {
    const rows = annotateRows(fixture('original.tsv'), 0.003); // #1 gained 0.0047 < 0.006
    expect(rows.map((row) => row.withinNoise)).toEqual([false, true, false, false]);
    expect(annotateRows(fixture('original.tsv'), 0.002).map((row) => row.withinNoise)).toEqual([false, false, false, false]);
  });

  test('a greedy row (σ 0) inherits the latest σ measured before it', () => {
    const greedy = fixture('greedy.tsv');
    const rows = annotateRows([{ ...greedy[0], sigma: 0.0004 }, ...greedy.slice(1)]);
    expect(rows.map((row) => row.noiseSigma)).toEqual([0.0004, 0.0004, 0.0004, 0.0004]);
    expect(rows.map((row) => row.withinNoise)).toEqual([false, true, false, false]); // 0.0005 < 0.0008
  });

  test('does not mark a keep confirmed over several runs, nor the reference run', () => {
    const [base, , , crash, , kept] = fixture('decisions.tsv');
    const rows = annotateRows([base, { ...kept, delta: 0.001, extraRuns: 2 }, { ...kept, delta: 0.001, extraRuns: 0 }]);
    expect(rows.map((row) => row.withinNoise)).toEqual([false, false, true]);
    // After a crashed baseline the first keep is the reference, written with a delta of 0.
    const afterCrash = annotateRows([crash, { ...base, delta: 0 }, { ...kept, delta: 0.001, extraRuns: 0 }]);
    expect(afterCrash.map((row) => row.withinNoise)).toEqual([false, false, true]);
  });

  test('shows σ, delta, confirmations and the reason per row in the table', () => {
    const html = renderReport(fixture('decisions.tsv'), { tag: 'night-2' });
    expect(html).toMatch(/<th[^>]*>σ<\/th><th[^>]*>delta<\/th><th[^>]*>conf\.<\/th>/);
    expect(html).toMatch(/<th[^>]*>reason<\/th>/);
    expect(html).toMatch(
      /<tr class="discard" data-index="4">.*<td class="num sigma">0\.000760<\/td><td class="num better">\+0\.001150<\/td><td class="num">2<\/td>.*<td class="reason">gain 0\.001150 &#60;= 0\.001730 \(k·SE\) over 3 run\(s\) vs 5<\/td>/,
    );
    expect(html).toMatch(/<tr class="discard" data-index="2">.*<td class="num worse">−0\.000650<\/td>/);
    expect(html).toMatch(/<tr class="crash" data-index="3">.*<td class="num sigma inherited"><\/td><td class="num"><\/td><td class="num">0<\/td>/);
    expect(html).toMatch(/<dt>noise σ of one run<\/dt><dd>0\.000770 bpb<\/dd>/);
    expect(html).not.toMatch(/NaN|undefined|Infinity/);
  });
});
