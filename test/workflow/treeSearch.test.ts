/**
 * Tree search in the workflow, on a deceptive landscape: the step into the better basin looks worse
 * first. A greedy run stays in the first basin; a tree run branches from the nearest miss and gets
 * there, and the run's branch moves only on the keep rule's keeps.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { createActivities } from '../../src/activities/index.js';
import { ZERO_USAGE } from '../../src/core/usage.js';
import type { Proposer } from '../../src/proposers/context.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults, withWorker } from '../helpers/run.js';
import { uniqueId, useTestTemporal } from '../helpers/temporalEnv.js';

const dev = useTestTemporal();

/**
 * B = 1 looks worse than anything near the start, B ≥ 2 is the better basin; A = 1 is the first
 * basin, A ≥ 2 its far wall. TRIAL makes every experiment's code its own.
 */
const DECEPTIVE = `A = 0
B = 0
TRIAL = 0
if B >= 2:
    val_bpb = 0.80 + 0.01 * A
elif B == 1:
    val_bpb = 1.05 + 0.01 * A
else:
    val_bpb = {0: 1.0, 1: 0.95}.get(A, 1.10 + 0.01 * A)
print("---")
print(f"val_bpb:          {val_bpb:.6f}")
print("training_seconds: 1.0")
print("total_seconds:    1.5")
print("peak_vram_mb:     1024.0")
print("num_steps:        10")
print("total_tokens_M:   1.0")
`;

/** Odd experiments raise A by one, even ones B, from the code the experiment starts from: it never steps back. */
const stepper = (): Proposer => ({
  propose: async (ctx) => {
    const source = ctx.files.find((f) => f.path === 'train.py')!.content;
    const name = ctx.experiment % 2 ? 'A' : 'B';
    const line = new RegExp(`^${name} = (\\d+)$`, 'm').exec(source)!;
    const trial = /^TRIAL = \d+$/m.exec(source)![0];
    return {
      proposal: {
        hypothesis: `raise ${name}`, description: `${name}: ${line[1]} -> ${Number(line[1]) + 1}`,
        edits: [{ path: 'train.py', search: line[0], replace: `${name} = ${Number(line[1]) + 1}` },
          { path: 'train.py', search: trial, replace: `TRIAL = ${ctx.experiment}` }],
      },
      usage: ZERO_USAGE,
    };
  },
});

async function deceptiveRepo(): Promise<string> {
  const repo = await makeFixtureRepo();
  await writeFile(path.join(repo, 'trainer', 'train.py'), DECEPTIVE);
  await execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-q', '-am', 'deceptive trainer'], { cwd: repo });
  return repo;
}

async function runOn(search: unknown) {
  const repo = await deceptiveRepo();
  const tag = uniqueId('tree');
  const input = fixtureRunInput(repo, tag, { maxExperiments: 5, decision: 'greedy', memory: false, search });
  const summary = await withWorker(dev.t, (taskQueue) => dev.t.client.workflow.execute(researchRun, {
    taskQueue, workflowId: tag, args: [input], workflowExecutionTimeout: '2 minutes',
  }), createActivities({ createProposer: stepper }));
  const git = (...a: string[]) => execa('git', a, { cwd: repo }).then((r) => r.stdout.trim());
  return { repo, tag, summary, rows: await readResults(repo, tag), git };
}

describe('tree search on a deceptive landscape', () => {
  test('greedy stays in the first basin', async () => {
    const { summary, rows } = await runOn('greedy');
    expect(summary.best?.valBpb).toBeCloseTo(0.95, 6);
    expect(rows.map((r) => r.parent)).toEqual([undefined, 0, 1, 1, 1]);
  }, 60_000);

  test('tree branches from the nearest miss into the better basin; the branch moves only on keeps', async () => {
    const { summary, rows, tag, git } = await runOn({ kind: 'tree', stallAfter: 2, branchLength: 2 });
    expect(summary.best?.valBpb).toBeCloseTo(0.81, 6);
    expect(rows.map((r) => [r.status, r.parent])).toEqual([['keep', undefined], ['keep', 0], ['discard', 1], ['discard', 1], ['keep', 2]]);

    const branch = `autoresearch/${tag}`;
    const kept = rows.filter((r) => r.status === 'keep').map((r) => r.commit);
    expect(await git('rev-parse', '--short=7', branch)).toBe(kept.at(-1));
    // Every move of the branch (its reflog, newest first) after its creation is a keep, in order.
    const moves = (await git('reflog', 'show', '--format=%h', '--abbrev=7', branch)).split('\n').reverse();
    expect(moves.slice(1)).toEqual(kept);
    // The last keep's code grew from a discarded node, not from the tip it replaced.
    expect(await git('rev-parse', '--short=7', `${kept[2]}^`)).toBe(rows[2].commit);
  }, 60_000);
});
