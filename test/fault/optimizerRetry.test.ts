import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parseRunInput } from '../../src/core/runInput.js';
import type { HypothesizeInput } from '../../src/api/activities.js';
import type { ExperimentRecord } from '../../src/core/results.js';
import { prepareRun } from '../../src/activities/remote.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';

/**
 * The optimizer proposer retried after its worker died: hypothesize runs in a process of its own
 * (the activity as the worker registers it), that process is killed while the sampler works, and
 * two later processes (the retries on a new worker) make the same proposal from the same journal.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const HELPER = path.join(ROOT, 'test/helpers/hypothesizeProcess.ts');
const { NODE_OPTIONS: _jestFlags, ...ENV } = process.env;

const hypothesizeIn = (inputFile: string, attempt: number) =>
  execa(process.execPath, ['--import', 'tsx', HELPER, inputFile, String(attempt)], { cwd: ROOT, env: ENV, extendEnv: false, timeout: 90_000, detached: true, reject: false });

test('a retried hypothesize call of the optimizer makes the same proposal after its first worker process was killed', async () => {
  const repo = await makeFixtureRepo();
  const parsed = parseRunInput(fixtureRunInput(repo, 'optretry', { proposer: { kind: 'optimizer' } }));
  if (!parsed.ok) throw new Error(parsed.error);
  const config = parsed.config;
  const { baseCommit } = await prepareRun({ config, runKey: 'optretry/test' });
  const baseline: ExperimentRecord = {
    experiment: 0, experimentId: 'optretry/exp-0000', commit: baseCommit.slice(0, 7), commitFull: baseCommit, valBpb: 1.5, memoryGb: 0,
    status: 'keep', description: 'baseline', hypothesis: 'baseline', costUsd: 0,
  };
  const input: HypothesizeInput = {
    experiment: 3, config, bestCommit: baseCommit, bestRef: 'refs/heads/autoresearch/optretry', recent: [baseline], experimentsDone: 1,
    steeringNotes: [], inFlight: [],
  };
  const inputFile = path.join(repo, '..', `optretry-${path.basename(repo)}.json`);
  await writeFile(inputFile, JSON.stringify(input));

  // The first worker: killed (its whole process group) while the call is under way.
  const first = hypothesizeIn(inputFile, 1);
  await new Promise((r) => setTimeout(r, 1_500));
  process.kill(-first.pid!, 'SIGKILL');
  const killed = await first;
  expect(killed.signal ?? killed.exitCode).toBe('SIGKILL');

  // The next attempts, each in a new process.
  const second = await hypothesizeIn(inputFile, 2);
  const third = await hypothesizeIn(inputFile, 3);
  expect([second.exitCode, second.stderr.slice(-2000)]).toEqual([0, expect.any(String)]);
  expect(third.exitCode).toBe(0);
  const proposal = JSON.parse(second.stdout.trim().split('\n').pop()!) as { description: string; hypothesis: string };
  expect(proposal.hypothesis).toMatch(/constants: /);
  expect(JSON.parse(third.stdout.trim().split('\n').pop()!)).toEqual(proposal);
}, 240_000);
