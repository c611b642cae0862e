import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { RunSummary } from '../../src/definitions.js';
import { experimentName, type ExperimentRecord } from '../../src/definitions.js';
import { trainerProcesses } from './workerProcess.js';
import { runDir } from './run.js';

/**
 * What must hold after any finished run, however it was disturbed: no experiment lost or
 * duplicated (one record, one results.tsv row and one commit per experiment id), the branch at the
 * best kept commit, and no trainer left running.
 */
export async function expectConsistentRun(opts: { repo: string; tag: string; experiments: number; summary: RunSummary; records: ExperimentRecord[] }) {
  const { repo, tag, records, summary } = opts;
  expect(summary.experiments).toBe(opts.experiments);
  expect(records.map((r) => r.experimentId)).toEqual(Array.from({ length: opts.experiments }, (_, i) => `${tag}/${experimentName(i)}`));

  const tsv = (await readFile(path.join(runDir(repo, tag), 'results.tsv'), 'utf8')).trimEnd().split('\n').slice(1);
  const rows = tsv.map((l) => l.split('\t'));
  expect(rows.map((c) => [c[0], c[3], c[6]])).toEqual(records.map((r) => [r.commit, r.status, r.experimentId]));

  const git = (...a: string[]) => execa('git', a, { cwd: repo }).then((r) => r.stdout);
  for (const r of records) {
    // --all: the branch and the refs that keep discarded commits reachable.
    const commits = (await git('log', '--all', '--format=%H', '--fixed-strings', `--grep=Experiment-Id: ${r.experimentId}`)).split('\n').filter(Boolean);
    expect(commits).toEqual([r.commitFull]);
  }

  const best = records.filter((r) => r.status === 'keep').sort((a, b) => a.valBpb - b.valBpb)[0];
  expect(best).toBeDefined();
  expect(summary.best?.commit).toBe(best.commit);
  expect(await git('rev-parse', `autoresearch/${tag}`)).toBe(best.commitFull);

  expect(await trainerProcesses(tag)).toEqual([]);
}
