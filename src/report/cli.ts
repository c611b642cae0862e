/**
 * npm run report -- <tag-or-path> [--out DIR] [--repo DIR] [--sigma BPB]
 *
 * Writes report.html (self-contained), chart.png and diffs/ for one run's results.tsv.
 * <tag> means <repo>/.autoresearch/runs/<tag>/results.tsv; a path to a results.tsv (or to the folder
 * holding one) also works, including the original autoresearch's. Output goes to a `report/` folder
 * beside results.tsv unless --out says otherwise. --sigma is σ of one run to assume where results.tsv
 * has none (a greedy run's, the original's), so that its noise band can be drawn.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ReportError, writeReport } from './writeReport.js';

const USAGE = 'usage: npm run report -- <tag-or-path> [--out DIR] [--repo DIR] [--sigma BPB]';

const SigmaSchema = z.coerce.number().positive().finite().optional();

/** Which results.tsv the user means, and the name to show for it. */
function resolveResults(target: string, repo: string): { resultsPath: string; tag: string } {
  if (existsSync(target)) {
    const resultsPath = resolve(statSync(target).isDirectory() ? join(target, 'results.tsv') : target);
    if (!existsSync(resultsPath)) throw new ReportError(`no results.tsv in ${resolve(target)}`);
    const tag = basename(resultsPath) === 'results.tsv' ? basename(dirname(resultsPath)) : basename(resultsPath, extname(resultsPath));
    return { resultsPath, tag };
  }
  if (target.includes('/') || target.endsWith('.tsv')) throw new ReportError(`no such file: ${resolve(target)}`);
  const resultsPath = join(repo, '.autoresearch', 'runs', target, 'results.tsv');
  if (!existsSync(resultsPath)) throw new ReportError(`no results for tag "${target}": looked for ${resultsPath}`);
  return { resultsPath, tag: target };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, repo: { type: 'string' }, sigma: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return console.log(USAGE);
  if (positionals.length !== 1) throw new ReportError(USAGE);
  const sigma = SigmaSchema.safeParse(values.sigma);
  if (!sigma.success) throw new ReportError(`--sigma must be a positive number of bpb (got ${JSON.stringify(values.sigma)})`);

  const repo = resolve(values.repo ?? process.cwd());
  const { resultsPath, tag } = resolveResults(positionals[0], repo);
  const outDir = resolve(values.out ?? join(dirname(resultsPath), 'report'));
  const written = await writeReport({ resultsPath, outDir, repo, tag, sigma: sigma.data });

  for (const warning of written.warnings) console.error(colour(33, `warning: ${warning}`));
  console.log(`wrote ${written.html}`);
  if (written.png) console.log(`wrote ${written.png}`);
  if (written.diffs.length > 0) console.log(`wrote ${written.diffs.length} diff(s) to ${join(outDir, 'diffs')}`);
}

function colour(code: number, text: string): string {
  return process.stderr.isTTY && !process.env.NO_COLOR ? `\x1b[${code}m${text}\x1b[0m` : text;
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  console.error(colour(31, `report: ${message.split('\n')[0]}`));
  process.exit(1);
});
