import { readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { MockActivityEnvironment } from '@temporalio/testing';
import { parseRunInput, type RunConfig } from '../../src/core/runInput.js';
import { keepOrRevert, prepareRun, recordResult, recordSteering, RUNS_FILE } from '../../src/activities/remote.js';
import { commit, edit } from '../../src/activities/workspace.js';
import type { LaneInput } from '../../src/api/activities.js';
import { experimentId, experimentRef, resultsRef } from '../../src/core/names.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { makeRecord, runDir } from '../helpers/run.js';

function config(input: Record<string, unknown>): RunConfig {
  const r = parseRunInput(input);
  if (!r.ok) throw new Error(r.error);
  return r.config;
}

const failureOf = (p: Promise<unknown>) => p.then(() => undefined, (e: Error & { type?: string; nonRetryable?: boolean }) => e);

describe('prepareRun (the real activity, on a temporary repository)', () => {
  test('refuses an editable file that is a symlink (its edits would be written outside the worktree), naming trainer.editable', async () => {
    const repo = await makeFixtureRepo();
    await symlink('/etc/hostname', path.join(repo, 'trainer', 'outside.py'));
    await execa('git', ['add', 'trainer/outside.py'], { cwd: repo });
    await execa('git', ['-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '-q', '-m', 'a symlink out of the trainer dir'], { cwd: repo });
    const err = await failureOf(prepareRun({ config: config(fixtureRunInput(repo, 'symlinked', { trainer: { editable: ['train.py', 'outside.py'] } })), runKey: 'a' }));
    expect(err).toMatchObject({ type: 'InvalidRunInput', nonRetryable: true, message: expect.stringMatching(/^trainer\.editable: outside\.py is a symlink/) });
  });

  test('accepts the plain editable files', async () => {
    const repo = await makeFixtureRepo();
    const { baseCommit, resumed } = await prepareRun({ config: config(fixtureRunInput(repo, 'plain')), runKey: 'a' });
    expect(baseCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(resumed).toBeUndefined();
  });

  test('called with the run input alone, as an activity, the run is the calling workflow execution', async () => {
    const repo = await makeFixtureRepo();
    const c = config(fixtureRunInput(repo, 'bare'));
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: 'bare', runId: 'r1' } });
    const prepared = await env.run(prepareRun, c);
    expect(await env.run(prepareRun, c)).toEqual(prepared); // a retry: the same run
    await expect(prepareRun(c)).rejects.toThrow(/runKey/);
    const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const other = new MockActivityEnvironment({ workflowExecution: { workflowId: 'bare', runId: 'r2' } }, { logger: quiet });
    expect(await failureOf(other.run(prepareRun, c))).toMatchObject({ type: 'InvalidRunInput', message: expect.stringMatching(/^tag: .*resume: true/) });
  });
});

/** A tag with a first run on it: a kept baseline, a kept and a discarded experiment, a steering note. */
async function firstRun(tag: string, runWorkflowId = tag) {
  const repo = await makeFixtureRepo();
  const c = config(fixtureRunInput(repo, tag));
  const git = (...a: string[]) => execa('git', a, { cwd: repo }).then((r) => r.stdout);
  const { baseCommit } = await prepareRun({ config: c, runKey: `${runWorkflowId}/first` });
  let best = { commitFull: baseCommit, ref: `refs/heads/autoresearch/${tag}` };
  const experimentAt = async (n: number, lr: [string, string] | undefined, status: 'keep' | 'discard', valBpb: number) => {
    const lane: LaneInput = { config: c, laneId: 'lane0', bestCommit: best.commitFull, bestRef: best.ref };
    const proposal = { hypothesis: `lr ${lr?.[1]}`, description: lr ? `lr ${lr[1]}` : 'baseline',
      edits: lr ? [{ path: 'train.py', search: `LEARNING_RATE = ${lr[0]}`, replace: `LEARNING_RATE = ${lr[1]}` }] : [] };
    if (lr) await edit({ lane, editable: ['train.py'], proposal });
    const made = await commit({ lane, experimentId: experimentId(runWorkflowId, n), experimentRef: experimentRef(tag, n), description: proposal.description,
      hypothesis: proposal.hypothesis, edited: lr !== undefined });
    if (status === 'keep') {
      await keepOrRevert({ config: c, experimentRef: experimentRef(tag, n), commitFull: made.commitFull, expectedBest: best.commitFull });
      best = { commitFull: made.commitFull, ref: experimentRef(tag, n) };
    }
    await recordResult({ config: c, record: makeRecord(n, { experimentId: experimentId(runWorkflowId, n), commit: made.commit, commitFull: made.commitFull,
      status, valBpb, description: proposal.description }) });
    return made.commitFull;
  };
  const kept = [await experimentAt(0, undefined, 'keep', 1.25), await experimentAt(1, ['0.04', '0.06'], 'keep', 1.1)];
  await experimentAt(2, ['0.06', '0.02'], 'discard', 1.5);
  await recordSteering({ config: c, notes: [{ fromExperiment: 2, note: 'try a lower rate' }] });
  /** Every ref of the tag on the remote (the repo itself), with its commit. */
  const refs = () => git('for-each-ref', '--format=%(refname) %(objectname)', `refs/heads/autoresearch/${tag}`, `refs/autoresearch/${tag}/`);
  return { repo, config: c, git, baseCommit, kept, tip: kept[1], refs, lane: { config: c, laneId: 'lane0', bestCommit: kept[1], bestRef: experimentRef(tag, 1) } };
}

describe('running a tag again', () => {
  test('without resume it is refused before anything changes, naming the tag, its results and the option', async () => {
    const first = await firstRun('again');
    const before = await first.refs();
    const err = await failureOf(prepareRun({ config: first.config, runKey: 'again/second' }));
    expect(err).toMatchObject({
      type: 'InvalidRunInput', nonRetryable: true,
      message: 'tag: autoresearch/again already exists (3 experiments, best val_bpb 1.100000 at ' +
        `${first.kept[1].slice(0, 7)} (exp 1)); start it with resume: true to continue it, or choose another tag`,
    });
    expect(await first.refs()).toBe(before);
  });

  test('the same run again (a retry, or after continue-as-new) gets the same answer and changes nothing', async () => {
    const first = await firstRun('retry');
    const before = await first.refs();
    const again = await prepareRun({ config: first.config, runKey: 'retry/first' });
    expect([again.baseCommit, again.resumed]).toEqual([first.baseCommit, undefined]);
    expect(await first.refs()).toBe(before);
  });

  test('with resume: true the run takes the tag over: numbering after the last row, from the branch tip, nothing lost', async () => {
    const first = await firstRun('resumed');
    const before = await first.refs();
    const c = { ...first.config, resume: true };
    const prepared = await prepareRun({ config: c, runKey: 'resumed/second' });
    expect(prepared).toMatchObject({ baseCommit: first.tip, resumed: { nextExperiment: 3 } });
    expect(await prepareRun({ config: c, runKey: 'resumed/second' })).toEqual(prepared); // its retry
    // Only the results ref moved (the new owner); the branch and every experiment ref are where they were.
    const moved = (await first.refs()).split('\n').filter((l) => !before.split('\n').includes(l));
    expect(moved.map((l) => l.split(' ')[0])).toEqual([resultsRef('resumed')]);
    const runs = await first.git('show', `${resultsRef('resumed')}:${RUNS_FILE}`);
    expect(runs.split('\n').slice(1).map((l) => l.split('\t').slice(0, 3).join(' '))).toEqual(['resumed/first new 0', 'resumed/second resumed 3']);

    // The new run's rows are appended; its steering notes follow the earlier run's.
    await recordResult({ config: c, record: makeRecord(3, { experimentId: experimentId('resumed', 3), description: 'baseline again' }) });
    await recordSteering({ config: c, notes: [{ fromExperiment: 4, note: 'deeper' }] });
    const results = await first.git('show', `${resultsRef('resumed')}:results.tsv`);
    expect(results.split('\n').slice(1).map((l) => l.split('\t')[6])).toEqual([0, 1, 2, 3].map((n) => `resumed/exp-000${n}`));
    expect(await first.git('show', `${resultsRef('resumed')}:steering.tsv`)).toBe('from_experiment\tnote\n2\ttry a lower rate\n4\tdeeper');
    expect(await readFile(path.join(runDir(first.repo, 'resumed'), 'steering.tsv'), 'utf8')).toBe('from_experiment\tnote\n2\ttry a lower rate\n4\tdeeper\n');
  });

  test('a resumed run numbers after every experiment the tag had, also one with a commit and no row yet', async () => {
    const first = await firstRun('inflight');
    await commit({ lane: first.lane, experimentId: 'inflight/exp-0004', experimentRef: experimentRef('inflight', 4), description: 'killed', hypothesis: '', edited: false });
    const prepared = await prepareRun({ config: { ...first.config, resume: true }, runKey: 'inflight/second' });
    expect(prepared.resumed).toEqual({ nextExperiment: 5 });
  });

  test('a tag whose branch was deleted but whose results remain is refused, with or without resume', async () => {
    const first = await firstRun('nobranch');
    await first.git('update-ref', '-d', 'refs/heads/autoresearch/nobranch');
    for (const resume of [false, true]) {
      const err = await failureOf(prepareRun({ config: { ...first.config, resume }, runKey: 'nobranch/second' }));
      expect(err).toMatchObject({ type: 'InvalidRunInput', message: expect.stringMatching(/^tag: autoresearch\/nobranch has results .* but no branch/) });
    }
  });

  test('resume: true on a new tag simply starts it', async () => {
    const repo = await makeFixtureRepo();
    const prepared = await prepareRun({ config: config(fixtureRunInput(repo, 'fresh', { resume: true })), runKey: 'fresh/first' });
    expect(prepared.resumed).toBeUndefined();
  });
});

describe('the commit step in a lane worktree an earlier run of the tag left', () => {
  test('an earlier run\'s commit with the same Experiment-Id (same workflow id) is never taken for this run\'s', async () => {
    const first = await firstRun('collide');
    // The first run was killed after committing exp 3 and before pushing it: the commit is only in the lane's worktree.
    const worktree = path.join(runDir(first.repo, 'collide'), 'lanes', 'lane0');
    const lanegit = (...a: string[]) => execa('git', a, { cwd: worktree }).then((r) => r.stdout);
    await edit({ lane: first.lane, editable: ['train.py'], proposal: { hypothesis: 'h', description: 'd', edits: [{ path: 'train.py', search: 'DEPTH = 4', replace: 'DEPTH = 9' }] } });
    await lanegit('-c', 'user.name=t', '-c', 'user.email=t@l', 'commit', '-q', '-am', `depth 9\n\nExperiment-Id: ${experimentId('collide', 3)}`);
    const old = await lanegit('rev-parse', 'HEAD');

    // The same workflow id again, resumed: its first experiment (3) is a baseline of the tip.
    const prepared = await prepareRun({ config: { ...first.config, resume: true }, runKey: 'collide/second' });
    expect(prepared.resumed?.nextExperiment).toBe(3);
    const made = await commit({ lane: first.lane, experimentId: experimentId('collide', 3), experimentRef: experimentRef('collide', 3),
      description: 'baseline', hypothesis: '', edited: false });
    expect(made.commitFull).not.toBe(old);
    expect(await lanegit('rev-parse', `${made.commitFull}^`)).toBe(first.tip);
    expect(await lanegit('diff', '--stat', first.tip, made.commitFull)).toBe('');
  });

  test('a dirty worktree (modified and untracked files) is reset and cleaned before the baseline commit', async () => {
    const first = await firstRun('dirty');
    const worktree = path.join(runDir(first.repo, 'dirty'), 'lanes', 'lane0');
    await writeFile(path.join(worktree, 'trainer', 'train.py'), 'raise SystemExit("a half-written edit")\n');
    await writeFile(path.join(worktree, 'trainer', 'shadow.py'), 'print("left by a killed run")\n');
    const made = await commit({ lane: first.lane, experimentId: 'dirty/exp-0003', experimentRef: experimentRef('dirty', 3),
      description: 'baseline', hypothesis: '', edited: false });
    const lanegit = (...a: string[]) => execa('git', a, { cwd: worktree }).then((r) => r.stdout);
    expect(await lanegit('diff', '--stat', first.tip, made.commitFull)).toBe('');
    expect(await lanegit('status', '--porcelain')).toBe('');
    expect(existsSync(path.join(worktree, 'trainer', 'shadow.py'))).toBe(false);
  });

  test('a retried commit finds its own commit (at HEAD before the push, or on the remote after it)', async () => {
    const first = await firstRun('own');
    const input = { lane: first.lane, experimentId: 'own/exp-0003', experimentRef: experimentRef('own', 3), description: 'baseline', hypothesis: '', edited: false };
    const made = await commit(input);
    expect((await commit(input)).commitFull).toBe(made.commitFull);
    await edit({ lane: first.lane, editable: ['train.py'], proposal: { hypothesis: 'h', description: 'd', edits: [{ path: 'train.py', search: 'DEPTH = 4', replace: 'DEPTH = 5' }] } });
    const edited = { ...input, experimentId: 'own/exp-0004', experimentRef: experimentRef('own', 4), edited: true };
    const worktree = path.join(runDir(first.repo, 'own'), 'lanes', 'lane0');
    await execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@l', 'commit', '-q', '-am', `d\n\nh\n\nExperiment-Id: own/exp-0004`], { cwd: worktree });
    const local = (await execa('git', ['rev-parse', 'HEAD'], { cwd: worktree })).stdout;
    expect((await commit(edited)).commitFull).toBe(local); // killed before the push: taken from HEAD
  });
});
