/**
 * Attacks on the worker's git and on the Python it runs, made the way an experiment would: the
 * proposal's train.py (test/fixtures/attacks/hostile_trainer.py), trained sandboxed by the real
 * `train` activity, plants something in its own directory; then the worker's own activities run
 * (evaluate, the harness check, laneWorktree, edit, commit, checkoutCommit, diffLines). None of them
 * may run what it planted (each payload writes a marker file), trust it, or keep it.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { MockActivityEnvironment } from '@temporalio/testing';
import { parseRunInput, type RunConfig } from '../../src/core/runInput.js';
import { prepareRun } from '../../src/activities/remote.js';
import { commit, edit, laneWorktree, pythonSyntaxError } from '../../src/activities/workspace.js';
import type { LaneInput, TrainInput, TrainResult } from '../../src/api/activities.js';
import { checkoutCommit, diffLines } from '../../src/activities/measure.js';
import { evaluate, train } from '../../src/activities/training.js';
import { harnessChanges, harnessFileAt } from '../../src/activities/harnessFiles.js';
import { sandboxed, sandboxStatus } from '../../src/activities/sandbox.js';
import type { LanePaths } from '../../src/core/names.js';
import { FIXTURES, fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';

const HOSTILE = path.join(FIXTURES, 'attacks', 'hostile_trainer.py');
const REAL_PREPARE = '# the real harness: prepare\n';
const REAL_EVALUATE = '# the real harness: evaluate\n';
const git = (cwd: string, ...args: string[]) => execa('git', ['-c', 'user.name=test', '-c', 'user.email=test@localhost', ...args], { cwd });
const failureOf = (p: Promise<unknown>) => p.then(() => undefined, (e: Error & { type?: string; nonRetryable?: boolean }) => e);

interface Setup {
  tag: string;
  repo: string;
  config: RunConfig;
  lane: LaneInput;
  paths: LanePaths;
  baseCommit: string;
  /** Where a payload the worker ran would leave its marker. */
  markers: string;
}

/** A run on a repository with a harness (ignoring bytecode, as this project does), and its lane's worktree. */
async function setUp(tag: string): Promise<Setup> {
  const repo = await makeFixtureRepo();
  await writeFile(path.join(repo, 'trainer', 'prepare.py'), REAL_PREPARE);
  await writeFile(path.join(repo, 'trainer', 'evaluate.py'), REAL_EVALUATE);
  await writeFile(path.join(repo, '.gitignore'), '__pycache__/\n*.pyc\n.venv/\n');
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', 'harness');
  const parsed = parseRunInput(fixtureRunInput(repo, tag));
  if (!parsed.ok) throw new Error(parsed.error);
  const config = parsed.config;
  const { baseCommit } = await prepareRun({ config, runKey: `${tag}/test` });
  const lane: LaneInput = { config, laneId: 'lane0', bestCommit: baseCommit, bestRef: `refs/heads/autoresearch/${tag}` };
  const paths = await laneWorktree(lane);
  const markers = await mkdtemp(path.join(os.tmpdir(), 'ar-markers-'));
  return { tag, repo, config, lane, paths, baseCommit, markers };
}

const markersOf = (s: Setup) => readdir(s.markers);
const idOf = (s: Setup, n: number) => ({ experimentId: `${s.tag}/exp-${String(n).padStart(4, '0')}`, experimentRef: `refs/autoresearch/${s.tag}/exp-${String(n).padStart(4, '0')}` });

/** Trains the lane's train.py (the hostile trainer) sandboxed, planting `attack`. */
async function trainAttack(s: Setup, n: number, attack: string): Promise<TrainResult> {
  const { experimentId } = idOf(s, n);
  const input: TrainInput = {
    experimentId,
    trainerDir: s.paths.trainerDir,
    logFile: path.join(s.paths.logsDir, `exp-${n}-${Date.now()}.log`),
    trainer: {
      ...s.config.trainer,
      env: { ATTACK: attack, ATTACK_MARKERS: s.markers, BASE_COMMIT: s.baseCommit, REAL_OBJECTS: path.join(s.repo, '.git', 'objects') },
    },
    baseCommit: s.baseCommit,
  };
  const result = (await new MockActivityEnvironment({ attempt: 1 }).run(train, input)) as TrainResult;
  const log = await readFile(input.logFile, 'utf8');
  expect([result.exitCode, log]).toEqual([0, expect.stringContaining(`planted: ${attack}`)]);
  expect(log.split('\n')[0]).toMatch(/, sandboxed\)$/);
  return result;
}

/** One experiment as the loop runs it: the proposal's train.py is the hostile trainer; edit, commit, train. */
async function attackExperiment(s: Setup, n: number, attack: string) {
  const content = await readFile(HOSTILE, 'utf8');
  await edit({ lane: s.lane, editable: s.config.trainer.editable, proposal: { hypothesis: `plants ${attack}`, description: attack, edits: [{ path: 'train.py', content }] } });
  const made = await commit({ lane: s.lane, ...idOf(s, n), description: attack, hypothesis: `plants ${attack}`, edited: true });
  const result = await trainAttack(s, n, attack);
  return { made, result };
}

/** The next, innocent experiment's edit: a broken one is rejected, then a good one goes through. */
async function innocentEdits(s: Setup) {
  const broken = { hypothesis: 'h', description: 'broken', edits: [{ path: 'train.py', search: 'DEPTH = 4', replace: 'DEPTH = = 4' }] };
  const rejected = await failureOf(edit({ lane: s.lane, editable: s.config.trainer.editable, proposal: broken }));
  expect(rejected).toMatchObject({ type: 'EditRejected', nonRetryable: true, message: expect.stringContaining('does not parse') });
  const good = { hypothesis: 'h', description: 'deeper', edits: [{ path: 'train.py', search: 'DEPTH = 4', replace: 'DEPTH = 5' }] };
  await edit({ lane: s.lane, editable: s.config.trainer.editable, proposal: good });
  expect(await readFile(path.join(s.paths.trainerDir, 'train.py'), 'utf8')).toContain('DEPTH = 5');
}

let bwrapReason: string | undefined;
beforeAll(async () => {
  const status = await sandboxStatus();
  if (!status.available) {
    bwrapReason = status.reason;
    console.log(`git attack tests skipped (they train sandboxed): ${status.reason}`);
  }
});

describe('a trainer attacking the worker through git', () => {
  test('trainer/.git (alternates, a replace ref making the harness gitlinks, an fsmonitor command): named by the check, never used, removed by the next reset', async () => {
    if (bwrapReason) return;
    const s = await setUp('nestedgit');
    const { trainerDir } = s.paths;
    const editable = s.config.trainer.editable;
    const { made, result } = await attackExperiment(s, 1, 'nested_git');
    expect(existsSync(path.join(trainerDir, '.git', 'refs', 'replace', s.baseCommit))).toBe(true);

    // Scored: a crash row that names it.
    const evaluation = await evaluate(result);
    expect(evaluation).toMatchObject({ ok: false, reason: expect.stringContaining('trainer/.git is a git repository inside the trainer dir') });
    for (const untracked of [true, false]) {
      expect(await harnessChanges({ trainerDir, baseCommit: s.baseCommit, editable, untracked })).toContain('trainer/.git is a git repository inside the trainer dir (not allowed)');
    }
    // The harness served is the real base commit's, not the replacement's.
    expect(await harnessFileAt(trainerDir, s.baseCommit, 'evaluate.py')).toBe(REAL_EVALUATE);
    expect(await harnessFileAt(trainerDir, s.baseCommit, 'prepare.py')).toBe(REAL_PREPARE);
    // The next sandbox still protects the real harness (the tracked files of the real repository), and not the planted .git.
    const bwrap = (await sandboxStatus()) as { bwrap: string };
    const sandbox = await sandboxed(bwrap.bwrap, { file: 'python3', args: ['train.py'], trainerDir, editable, env: { PATH: process.env.PATH ?? '' } });
    const readOnly = sandbox.args.flatMap((a, i) => (sandbox.args[i - 1] === '--ro-bind' ? [a] : []));
    expect(readOnly).toEqual(expect.arrayContaining([path.join(trainerDir, 'prepare.py'), path.join(trainerDir, 'evaluate.py')]));
    expect(readOnly.filter((p) => p.startsWith(path.join(trainerDir, '.git')))).toEqual([]);
    await diffLines({ lane: s.lane, commitFull: made.commitFull });
    await laneWorktree(s.lane);
    expect(await markersOf(s)).toEqual([]);

    // Trained again with another seed: checkoutCommit's reset removes it.
    await checkoutCommit({ lane: s.lane, commitFull: made.commitFull, ref: idOf(s, 1).experimentRef });
    expect(existsSync(path.join(trainerDir, '.git'))).toBe(false);
    await trainAttack(s, 1, 'nested_git');
    expect(existsSync(path.join(trainerDir, '.git', 'config'))).toBe(true);

    // The attack is live: git run from the trainer dir, as the worker once did, runs the planted command.
    await execa('git', ['ls-files'], { cwd: trainerDir, env: { PATH: process.env.PATH ?? '', HOME: s.markers, MARKED: 'yes' }, extendEnv: false });
    expect(await readFile(path.join(s.markers, 'fsmonitor.env'), 'utf8')).toContain('MARKED=yes');
    await rm(path.join(s.markers, 'fsmonitor.env'));

    // A retry of its commit (found on the remote) resets the worktree: removed, not run.
    await commit({ lane: s.lane, ...idOf(s, 1), description: 'nested_git', hypothesis: 'plants nested_git', edited: true });
    expect(existsSync(path.join(trainerDir, '.git'))).toBe(false);
    expect(await markersOf(s)).toEqual([]);

    // The next (innocent) experiment: its edit removes it, and neither edit nor commit runs it.
    await trainAttack(s, 1, 'nested_git');
    await innocentEdits(s);
    expect(existsSync(path.join(trainerDir, '.git'))).toBe(false);
    await commit({ lane: s.lane, ...idOf(s, 2), description: 'deeper', hypothesis: 'h', edited: true });
    expect(await harnessChanges({ trainerDir, baseCommit: s.baseCommit, editable, untracked: true })).toEqual([]);
    expect(await markersOf(s)).toEqual([]);
  }, 120_000);

  test('a `.git` file (gitdir: /elsewhere) in a subdirectory is named by the check and removed by the next reset', async () => {
    if (bwrapReason) return;
    const s = await setUp('gitdirfile');
    const { result } = await attackExperiment(s, 1, 'gitdir_file');
    expect(await evaluate(result)).toMatchObject({ ok: false, reason: expect.stringContaining('trainer/sub/.git is a git repository inside the trainer dir') });
    await innocentEdits(s);
    expect(existsSync(path.join(s.paths.trainerDir, 'sub'))).toBe(false);
  }, 60_000);

  test('a .gitignore that ignores itself hides no module from the check for new files, and the next reset removes them all', async () => {
    if (bwrapReason) return;
    const s = await setUp('ignoring');
    await attackExperiment(s, 1, 'ignored_modules');
    const changes = await harnessChanges({ trainerDir: s.paths.trainerDir, baseCommit: s.baseCommit, editable: s.config.trainer.editable, untracked: true });
    expect(changes).toContain(`trainer/.gitignore is a new file, not in trainer.editable (base ${s.baseCommit.slice(0, 12)})`);
    // The next experiment's edit: the syntax check imports none of them (ast.py, sitecustomize.py, encodings/).
    await innocentEdits(s);
    for (const planted of ['.gitignore', 'ast.py', 'sitecustomize.py', 'encodings']) expect([planted, existsSync(path.join(s.paths.trainerDir, planted))]).toEqual([planted, false]);
    expect(await markersOf(s)).toEqual([]);
  }, 60_000);

  test('a planted ast.pyc (bytecode is git-ignored) is neither imported by the syntax check nor kept', async () => {
    if (bwrapReason) return;
    const s = await setUp('pyc');
    await attackExperiment(s, 1, 'pyc');
    expect(existsSync(path.join(s.paths.trainerDir, 'ast.pyc'))).toBe(true);
    await innocentEdits(s);
    expect(existsSync(path.join(s.paths.trainerDir, 'ast.pyc'))).toBe(false);
    expect(await markersOf(s)).toEqual([]);
  }, 60_000);

  test('a .gitattributes marking Python binary does not hide the lines a candidate adds', async () => {
    if (bwrapReason) return;
    const s = await setUp('attributes');
    const { made } = await attackExperiment(s, 1, 'hides_lines');
    expect(existsSync(path.join(s.paths.trainerDir, '.gitattributes'))).toBe(true);
    const numstat = (await git(s.repo, 'diff', '--numstat', s.baseCommit, made.commitFull, '--', 'trainer/train.py')).stdout.split('\t');
    const net = Number(numstat[0]) - Number(numstat[1]);
    expect(net).not.toBe(0);
    expect(await diffLines({ lane: s.lane, commitFull: made.commitFull })).toBe(net);
  }, 60_000);
});

describe('a base commit the harness check cannot vouch for', () => {
  test('a harness file that is a gitlink (submodule) at the base is refused, named, and never served', async () => {
    if (bwrapReason) return;
    const repo = await makeFixtureRepo();
    const head = (await git(repo, 'rev-parse', 'HEAD')).stdout.trim();
    await git(repo, 'update-index', '--add', '--cacheinfo', `160000,${head},trainer/evaluate.py`);
    await git(repo, 'commit', '-q', '-m', 'the harness as a submodule');
    const baseCommit = (await git(repo, 'rev-parse', 'HEAD')).stdout.trim();
    const trainerDir = path.join(repo, 'trainer');
    const parsed = parseRunInput(fixtureRunInput(repo, 'gitlink'));
    if (!parsed.ok) throw new Error(parsed.error);
    const input: TrainInput = { experimentId: 'gitlink/exp-0001', trainerDir, logFile: path.join(repo, '..', `${path.basename(repo)}-gitlink.log`), trainer: parsed.config.trainer, baseCommit };
    const result = (await new MockActivityEnvironment({ attempt: 1 }).run(train, input)) as TrainResult;
    expect(result.refused).toContain(`trainer/evaluate.py is a submodule at the base commit ${baseCommit.slice(0, 12)}`);
    expect(await evaluate(result)).toMatchObject({ ok: false, reason: expect.stringContaining('trainer/evaluate.py is a submodule') });
    expect(await harnessFileAt(trainerDir, baseCommit, 'evaluate.py')).toBeUndefined();
  }, 60_000);
});

describe("the worker's syntax check", () => {
  test('runs isolated: modules planted in the cwd or named by PYTHON* variables are never imported', async () => {
    const planted = await mkdtemp(path.join(os.tmpdir(), 'ar-planted-'));
    const markers = await mkdtemp(path.join(os.tmpdir(), 'ar-markers-'));
    const payload = (name: string) => `import os\nopen(os.path.join(${JSON.stringify(markers)}, ${JSON.stringify(name)}), 'w').write('ran')\n`;
    for (const name of ['ast', 'sitecustomize', 'usercustomize', 'contextlib']) await writeFile(path.join(planted, `${name}.py`), payload(name));
    await writeFile(path.join(planted, 'startup.py'), payload('startup'));
    const saved = { cwd: process.cwd(), PYTHONPATH: process.env.PYTHONPATH, PYTHONSTARTUP: process.env.PYTHONSTARTUP, PYTHONINSPECT: process.env.PYTHONINSPECT };
    try {
      process.chdir(planted);
      process.env.PYTHONPATH = planted;
      process.env.PYTHONSTARTUP = path.join(planted, 'startup.py');
      expect(await pythonSyntaxError('train.py', 'x = 1\n')).toBeUndefined();
      expect(await pythonSyntaxError('train.py', 'x = = 1\n')).toMatch(/train\.py.*\n(.*\n)*SyntaxError/);
    } finally {
      process.chdir(saved.cwd);
      for (const key of ['PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONINSPECT'] as const) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
    expect(await readdir(markers)).toEqual([]);
  });
});
