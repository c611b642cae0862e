import { writeFile, rename } from 'node:fs/promises';
import type { ExperimentRecord } from '../workflows/types.js';
import { formatResultsTsv } from './resultsTsv.js';
import type { RunPaths } from './runPaths.js';

export async function writeResults(input: { paths: RunPaths; records: ExperimentRecord[] }): Promise<void> {
  const tmp = `${input.paths.resultsFile}.tmp`;
  await writeFile(tmp, formatResultsTsv(input.records));
  await rename(tmp, input.paths.resultsFile); // atomic: a reader never sees half a file
}
