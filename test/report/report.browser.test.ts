/** The written report, opened in headless Chromium (Debian's chromium via playwright-core), and the CLI. */
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import type { Browser } from 'playwright-core';
import { BROWSER_TIMEOUT_MS, launchChromium } from '../../src/report/browser.js';
import { parseResults } from '../../src/core/resultsTsv.js';
import { writeReport } from '../../src/report/writeReport.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SAMPLE = fileURLToPath(new URL('./fixtures/sample.tsv', import.meta.url));
const GREEDY = fileURLToPath(new URL('./fixtures/greedy.tsv', import.meta.url));

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

function runCli(args: string[], env: Record<string, string> = {}) {
  return execa(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'src/report/cli.ts'), ...args], {
    cwd: ROOT,
    env: { NO_COLOR: '1', ...env },
    reject: false,
    timeout: 60_000,
  });
}

let browser: Browser;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-test-'));
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the report in Chromium', () => {
  test('shows the chart with one rendered point per row, and its screenshot is a real image', async () => {
    const rowCount = parseResults(await readFile(SAMPLE, 'utf8')).length;
    const written = await writeReport({ resultsPath: SAMPLE, outDir: join(dir, 'sample'), tag: 'sample' });
    expect(written.warnings).toEqual([]);

    const page = await browser.newPage();
    try {
      await page.goto(pathToFileURL(written.html).href, { timeout: BROWSER_TIMEOUT_MS });
      const chart = page.locator('#chart svg');
      await chart.waitFor({ state: 'visible', timeout: BROWSER_TIMEOUT_MS });
      const box = await chart.boundingBox({ timeout: BROWSER_TIMEOUT_MS });
      expect(box?.width).toBeGreaterThan(400);
      expect(box?.height).toBeGreaterThan(200);

      expect(rowCount).toBe(12);
      await expect(chart.locator('.point').count()).resolves.toBe(rowCount);
      // Rendered means laid out with a size, not just present in the markup.
      const sized = await chart.locator('.point').evaluateAll((points) =>
        points.filter((point) => {
          const { width, height } = point.getBoundingClientRect();
          return width > 0 && height > 0;
        }).length,
      );
      expect(sized).toBe(rowCount);
      await expect(page.locator('#results tbody tr').count()).resolves.toBe(rowCount);

      const shot = await chart.screenshot({ path: join(dir, 'shot.png'), timeout: BROWSER_TIMEOUT_MS });
      expect(pngSize(shot).width).toBeGreaterThan(400);
    } finally {
      await page.close();
    }

    // Twice the SVG's 960 × 480 CSS pixels (a pixel more where the box starts mid-pixel).
    const { width, height } = pngSize(await readFile(written.png!));
    expect(width).toBe(1920);
    expect(Math.abs(height - 960)).toBeLessThanOrEqual(4);
  });

  test('shows the noise band along the best and rings the keep within it', async () => {
    const written = await writeReport({ resultsPath: GREEDY, outDir: join(dir, 'greedy'), tag: 'greedy', sigma: 0.001 });
    const page = await browser.newPage();
    try {
      await page.goto(pathToFileURL(written.html).href, { timeout: BROWSER_TIMEOUT_MS });
      const chart = page.locator('#chart svg');
      await chart.waitFor({ state: 'visible', timeout: BROWSER_TIMEOUT_MS });
      // Laid out with a size: three stretches (baseline, #1, #3), each a band 2·2σ = 0.004 bpb tall.
      const bands = await chart.locator('.band-segment').evaluateAll((rects) => rects.map((rect) => rect.getBoundingClientRect()));
      expect(bands).toHaveLength(3);
      for (const band of bands) expect(band.width * band.height).toBeGreaterThan(1000);
      // The kept point within the noise lies inside the band of the best before it.
      const point = await chart.locator('[data-within-noise="true"]').evaluateAll((points) => points.map((p) => p.getBoundingClientRect()));
      expect(point).toHaveLength(1);
      const centre = point[0].y + point[0].height / 2;
      expect(centre).toBeGreaterThan(bands[0].top);
      expect(centre).toBeLessThan(bands[0].bottom);
      await expect(page.locator('#results tr.within-noise span.within-noise').isVisible({ timeout: BROWSER_TIMEOUT_MS })).resolves.toBe(true);
      await expect(page.locator('#results tbody tr').nth(1).locator('td.reason').innerText({ timeout: BROWSER_TIMEOUT_MS })).resolves.toBe(
        'greedy: 0.997400 < best 0.997900',
      );
    } finally {
      await page.close();
    }
  });

  test('links each commit the repository knows to its diff, and leaves the others plain', async () => {
    const repo = join(dir, 'repo');
    const git = (...args: string[]) => execa('git', ['-C', repo, ...args], { timeout: 30_000 });
    await execa('git', ['init', '-q', repo]);
    await git('config', 'user.email', 'test@example.com');
    await git('config', 'user.name', 'test');
    await writeFile(join(repo, 'train.py'), 'LR = 0.04\n');
    await git('add', 'train.py');
    await git('commit', '-qm', 'baseline');
    await writeFile(join(repo, 'train.py'), 'LR = 0.05\n');
    await git('commit', '-qam', 'raise LR to 0.05');
    const [baseline, raised] = (await git('log', '--format=%h', '--abbrev=7', '-2')).stdout.split('\n').reverse();
    const results = join(dir, 'results.tsv');
    await writeFile(
      results,
      `commit\tval_bpb\tmemory_gb\tstatus\tdescription\n${baseline}\t0.997900\t44.0\tkeep\tbaseline\n${raised}\t0.993200\t44.0\tkeep\traise LR to 0.05\nd4e5f6g\t0.000000\t0.0\tcrash\tnot a commit here\n`,
    );

    const written = await writeReport({ resultsPath: results, outDir: join(dir, 'linked'), repo, tag: 'linked' });
    expect(written.diffs).toHaveLength(2);
    await expect(readFile(join(dir, 'linked', 'diffs', `${raised}.diff`), 'utf8')).resolves.toContain('+LR = 0.05');

    const page = await browser.newPage();
    try {
      await page.goto(pathToFileURL(written.html).href, { timeout: BROWSER_TIMEOUT_MS });
      const links = await page.locator('#results td.commit a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
      expect(links).toEqual([`diffs/${baseline}.diff`, `diffs/${raised}.diff`]);
      // Relative to the page, each link is a diff file that was written.
      const targets = links.map((link) => fileURLToPath(new URL(link!, page.url())));
      expect([...targets].sort()).toEqual([...written.diffs].sort()); // the order of diffs written is not the order of rows
    } finally {
      await page.close();
    }
  });
});

describe('npm run report', () => {
  test('writes report.html and chart.png beside results.tsv and prints their paths', async () => {
    const runDir = join(dir, '.autoresearch', 'runs', 'night-1');
    await execa('mkdir', ['-p', runDir]);
    await copyFile(SAMPLE, join(runDir, 'results.tsv'));
    const result = await runCli(['night-1', '--repo', dir]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`wrote ${join(runDir, 'report', 'report.html')}`);
    expect(result.stdout).toContain(`wrote ${join(runDir, 'report', 'chart.png')}`);
  });

  test('still writes the HTML when Chromium is missing, and says how to install it', async () => {
    const out = join(dir, 'no-chromium');
    const result = await runCli([SAMPLE, '--out', out], { CHROMIUM_PATH: join(dir, 'no-such-chromium') });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/^warning: chart\.png skipped: Chromium not found at .*no-such-chromium; install it with `bash scripts\/install-debian-package\.sh chromium chromium`/);
    expect(result.stdout).toContain(`wrote ${join(out, 'report.html')}`);
    expect(result.stdout).not.toContain('chart.png');
  });

  test('takes --sigma for a file with no σ, and refuses one that is not a positive number', async () => {
    const out = join(dir, 'sigma');
    const result = await runCli([GREEDY, '--out', out, '--sigma', '0.001'], { CHROMIUM_PATH: join(dir, 'no-such-chromium') });
    expect(result.exitCode).toBe(0);
    await expect(readFile(join(out, 'report.html'), 'utf8')).resolves.toContain('data-within-noise="true"');
    const refused = await runCli([GREEDY, '--out', out, '--sigma', 'lots']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim()).toBe('report: --sigma must be a positive number of bpb (got "lots")');
  });

  test('fails with one line naming the path it looked for when the tag is unknown', async () => {
    const result = await runCli(['no-such-tag', '--repo', dir]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `report: no results for tag "no-such-tag": looked for ${join(dir, '.autoresearch', 'runs', 'no-such-tag', 'results.tsv')}`,
    ]);
  });

  test('fails with one line naming the malformed line of a results.tsv', async () => {
    const bad = join(dir, 'bad.tsv');
    await writeFile(bad, 'commit\tval_bpb\tmemory_gb\tstatus\tdescription\nabc1234\t0.99\t44.0\tmaybe\tx\n');
    const result = await runCli([bad, '--out', join(dir, 'bad')]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toMatch(new RegExp(`^report: ${bad} line 2: status: `));
  });
});
