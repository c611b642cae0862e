/**
 * The workflow and the research benchmark's rule agree. Two short seeded nights of the real
 * workflow (a dev server, a worker, the offline proposer) on the fixture trainer, whose val_bpb is
 * a function of its constants plus noise seeded by the run's seed (FIXTURE_SEED_SALT names the
 * night): one at the default decision settings, one paired by seed. The trainer prints every run
 * in its log; the same runs are fed to the benchmark's noiseRule (bench/researchRules.ts), and each
 * experiment's verdict must be the workflow's, with exactly the runs the workflow made.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { noiseRule, type Lab } from '../../bench/researchRules.js';
import type { Measurement } from '../../src/core/noiseEstimate.js';
import { parseRunInput } from '../../src/core/runInput.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults, runDir, withWorker } from '../helpers/run.js';
import { uniqueId, useTestTemporal } from '../helpers/temporalEnv.js';

const dev = useTestTemporal({ bundle: true });
const EXPERIMENTS = 7; // the baseline and 6 experiments

interface LoggedRun {
  experiment: string;
  seed?: number;
  code: string;
  valBpb: number;
}

/** A code as the trainer logs it: its three constants, each as the shortest decimal of its value. */
const codeKey = (values: string[]) => values.map((v) => String(Number(v))).join(' ');

function codeOf(source: string): string {
  const get = (name: string) => new RegExp(`^${name} = ([^ #\\n]+)`, 'm').exec(source)![1];
  return codeKey(['LEARNING_RATE', 'DEPTH', 'WARMUP_RATIO'].map(get));
}

async function night(salt: string, decision: unknown) {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('agree');
  const input = fixtureRunInput(repo, tag, {
    maxExperiments: EXPERIMENTS, memory: false, ...(decision ? { decision } : {}),
    trainer: { timeBudgetSeconds: 1, env: { FIXTURE_NOISE: '0.1', FIXTURE_OWN_NOISE: '0.03', FIXTURE_SEED_SALT: salt, FIXTURE_PRINT_RUN: '1' } },
  });
  const parsed = parseRunInput(input);
  if (!parsed.ok) throw new Error(parsed.error);
  await withWorker(dev.t, (taskQueue) => dev.t.client.workflow.execute(researchRun, { taskQueue, workflowId: tag, args: [input], workflowExecutionTimeout: '2 minutes' }));
  const rows = await readResults(repo, tag);
  const codes = await Promise.all(rows.map(async (r) => codeOf((await execa('git', ['show', `${r.commit}:trainer/train.py`], { cwd: repo })).stdout)));
  return { config: parsed.config, rows, codes, runs: await loggedRuns(path.join(runDir(repo, tag), 'logs')) };
}

/** Every training run the fixture trainer printed in the run's logs, in the order they started (each log's header names when). */
async function loggedRuns(logs: string): Promise<LoggedRun[]> {
  const texts = await Promise.all((await readdir(logs)).filter((f) => f.endsWith('.log')).map((f) => readFile(path.join(logs, f), 'utf8')));
  const started = (text: string) => / at (\S+): /.exec(text)?.[1] ?? '';
  return texts.sort((a, b) => started(a).localeCompare(started(b))).flatMap((text) => [...text.matchAll(/^fixture run:\t(.*)$/gm)].map((m) => {
    const [id, seed, code, valBpb] = m[1].split('\t');
    return { experiment: id.split('/').pop()!, ...(seed ? { seed: Number(seed) } : {}), code: codeKey(code.split(' ')), valBpb: Number(valBpb) };
  }));
}

/**
 * The benchmark's rule on the workflow's runs: each training run it asks for is the workflow's run
 * of that experiment, that code (and seed, when runs are paired), taken in the order they were made.
 */
function replay(n: Awaited<ReturnType<typeof night>>): { verdicts: string[]; unused: LoggedRun[] } {
  const pending = [...n.runs];
  let current = '';
  const lab: Lab<string> = {
    machine: () => 0,
    train(code, _machine, seed): Measurement {
      const i = pending.findIndex((r) => r.experiment === current && r.code === code && (seed === undefined || r.seed === seed));
      if (i < 0) throw new Error(`${current}: the workflow made no run of ${code}${seed !== undefined ? ` with seed ${seed}` : ''}`);
      const [run] = pending.splice(i, 1);
      return { valBpb: run.valBpb, steps: 10, tokens: 1_000_000, trainingSeconds: 1, ...(seed !== undefined ? { seed } : {}) };
    },
    // The workflow's guard: a change of depth explains a change of speed (the fixture's speed never changes).
    explained: (a, b) => a.split(' ')[1] !== b.split(' ')[1],
  };
  const rule = noiseRule(n.config.decision)(lab);
  const verdicts: string[] = [];
  n.rows.forEach((row, i) => {
    current = row.experimentId!.split('/').pop()!;
    if (i === 0) {
      rule.start(n.codes[0]);
      verdicts.push('keep');
    } else if (row.status === 'keep' || row.status === 'discard') {
      verdicts.push(rule.judge(n.codes[i]).kept ? 'keep' : 'discard');
    } else verdicts.push(row.status);
  });
  return { verdicts, unused: pending };
}

describe('the workflow and the benchmark rule agree on the same runs', () => {
  test.each([
    ['default settings', 'night-1', undefined],
    ['paired by seed', 'night-2', { paired: true }],
  ])('%s', async (_name, salt, decision) => {
    const n = await night(salt, decision);
    expect(n.rows).toHaveLength(EXPERIMENTS);
    const { verdicts, unused } = replay(n);
    const ids = n.rows.map((r) => r.experimentId!.split('/').pop()!);
    const workflow = n.rows.map((r, i) => `${ids[i]} ${r.status}`);
    // A disagreement names what the workflow compared.
    expect(verdicts.map((v, i) => (v === n.rows[i].status ? workflow[i] : `${ids[i]} ${v} (the workflow: ${n.rows[i].status}, ${n.rows[i].reason})`))).toEqual(workflow);
    // The rule asked for every run the workflow made, no more (a missing one throws above).
    expect(unused).toEqual([]);
  }, 60_000);
});
