import { writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { ExperimentRecord, SteeringNote } from '../workflows/types.js';
import { formatResultsTsv, formatSteeringTsv, STEERING_FILE } from './resultsTsv.js';
import type { RunPaths } from './runPaths.js';

/** Rewrites results.tsv (and steering.tsv, the person's notes) whole from workflow state. */
export async function writeResults(input: { paths: RunPaths; records: ExperimentRecord[]; notes?: SteeringNote[] }): Promise<void> {
  await writeAtomically(input.paths.resultsFile, formatResultsTsv(input.records));
  if (input.notes?.length) await writeAtomically(path.join(path.dirname(input.paths.resultsFile), STEERING_FILE), formatSteeringTsv(input.notes));
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file); // a reader never sees half a file
}
