/**
 * Builds the worker-owned Python environment for this project's trainer (trainer/pyproject.toml and
 * uv.lock), the one every sandboxed `uv run train.py` and the harness's evaluator use, and prints its
 * path. Set-up and the worker image run it, so the first experiment does not wait for it; the worker
 * builds any other lock's environment itself on first use.
 *
 *   npm run trainer-env [-- TRAINER_DIR]
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../src/activities/runPaths.js';
import { lockFilesIn, trainerPython } from '../src/activities/trainerPython.js';

const trainerDir = path.resolve(process.argv[2] ?? path.join(PROJECT_ROOT, 'trainer'));
const started = Date.now();
const env = await trainerPython(await lockFilesIn(trainerDir));
console.log(`trainer environment: ${env.dir} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
