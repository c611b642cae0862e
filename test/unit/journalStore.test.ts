/**
 * The journal on a real git remote: records written once whatever retries or a second host do,
 * read back whole, and an old run's results.tsv imported the first time.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parseRunInput, type RunConfig } from '../../src/core/runInput.js';
import { JOURNAL_REF, settingsOf } from '../../src/core/journal.js';
import { gitAt } from '../../src/activities/gitOps.js';
import { readJournal, writeRecords } from '../../src/activities/journalStore.js';
import { appendJournal, contentHashOf, importOldResults } from '../../src/activities/journal.js';
import { memoryOf, refuseRepeat, AlreadyMeasuredError } from '../../src/activities/journalMemory.js';
import { makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { makeRecord } from '../helpers/run.js';
import { journalRecord } from '../helpers/journalRecords.js';

const git = (cwd: string, ...args: string[]) => execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@localhost', ...args], { cwd }).then((r) => r.stdout);

/** A bare remote and two clones of it, as two hosts would have. */
async function remoteAndTwoHosts(): Promise<{ remote: string; hosts: string[] }> {
  const origin = await makeFixtureRepo();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-journal-'));
  const remote = path.join(dir, 'remote.git');
  await execa('git', ['clone', '-q', '--bare', origin, remote]);
  const hosts = [path.join(dir, 'a'), path.join(dir, 'b')];
  for (const h of hosts) await execa('git', ['clone', '-q', remote, h]);
  return { remote, hosts };
}

function config(repo: string, remote: string, tag = 'now', extra: Record<string, unknown> = {}): RunConfig {
  const parsed = parseRunInput({ tag, repo, remote, trainer: { command: 'python3 train.py', evaluation: 'trainer' }, ...extra });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.config;
}

test('a record is written once: a retry and a second host writing it add nothing; concurrent writers lose nothing', async () => {
  const { remote, hosts } = await remoteAndTwoHosts();
  const [a, b] = hosts.map((h) => gitAt(h));
  expect(await writeRecords(a, remote, [journalRecord(1)], 'one')).toBe(1);
  expect(await writeRecords(a, remote, [journalRecord(1)], 'retry')).toBe(0);
  expect(await writeRecords(b, remote, [journalRecord(1), journalRecord(2)], 'other host')).toBe(1);
  // Two hosts at once, ten records each, some the same: each written once, none lost.
  const batch = (from: number) => Array.from({ length: 10 }, (_, i) => journalRecord(from + i));
  await Promise.all([
    (async () => { for (const r of batch(3)) await writeRecords(a, remote, [r], 'a'); })(),
    (async () => { for (const r of batch(8)) await writeRecords(b, remote, [r], 'b'); })(),
  ]);
  const { records, tags } = await readJournal(b, remote);
  expect(records.map((r) => r.experiment).sort((x, y) => x - y)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
  expect([...tags]).toEqual(['nov23']);
  expect(records.find((r) => r.experiment === 1)).toEqual(journalRecord(1));
}, 60_000);

test('an experiment\'s record holds its commit\'s content hash, parent and what its diff touched; the proposer\'s memory refuses that code', async () => {
  const repo = await makeFixtureRepo();
  const base = (await git(repo, 'rev-parse', 'HEAD')).trim();
  const source = (await git(repo, 'show', 'HEAD:trainer/train.py')).replace('DEPTH = 4', 'DEPTH = 5');
  await writeFile(path.join(repo, 'trainer/train.py'), source);
  await git(repo, 'commit', '-qam', 'DEPTH: 4 -> 5');
  const commitFull = (await git(repo, 'rev-parse', 'HEAD')).trim();
  await git(repo, 'update-ref', 'refs/autoresearch/now/exp-0001', commitFull);
  const c = config(repo, repo);
  await appendJournal({ config: c, record: makeRecord(1, { experimentId: 'now/exp-0001', commitFull, commit: commitFull.slice(0, 7), status: 'discard' }) });
  await appendJournal({ config: c, record: makeRecord(1, { experimentId: 'now/exp-0001', commitFull, commit: commitFull.slice(0, 7), status: 'discard' }) });
  const { records } = await readJournal(gitAt(repo), repo);
  expect(records).toHaveLength(1);
  expect(records[0]).toMatchObject({ parentCommit: base, commit: commitFull, contentHash: contentHashOf([{ path: 'train.py', content: source }]),
    touched: ['DEPTH'], baseline: false, settings: settingsOf(c.trainer), status: 'discard' });

  const memory = await memoryOf(c, []);
  expect(memory.section).toContain('#1 discard');
  const files = [{ path: 'train.py', content: source.replace('DEPTH = 5', 'DEPTH = 4') }];
  const again = { hypothesis: 'h', description: 'DEPTH again', edits: [{ path: 'train.py', search: 'DEPTH = 4', replace: 'DEPTH = 5' }] };
  expect(() => refuseRepeat(memory, files, again, ['train.py'])).toThrow(AlreadyMeasuredError);
  expect(() => refuseRepeat(memory, files, again, ['train.py'])).toThrow(/^already measured as exp-0001 of run now: val_bpb 0\.999000, discard/);
  // Other settings measure other things: the same code under a token budget is new.
  const tokens = await memoryOf(config(repo, repo, 'now', { trainer: { command: 'python3 train.py', evaluation: 'trainer', tokenBudget: 1000 } }), []);
  expect(() => refuseRepeat(tokens, files, again, ['train.py'])).not.toThrow();
  // Another run sees this run's records, unless it starts blind or its memoryFrom leaves this tag out.
  const other = (extra: Record<string, unknown>) => memoryOf(config(repo, repo, 'later', extra), []);
  const [all, named, unnamed, blind] = await Promise.all([other({}), other({ memoryFrom: ['now'] }), other({ memoryFrom: ['elsewhere'] }), other({ memory: false })]);
  expect(() => refuseRepeat(all, files, again, ['train.py'])).toThrow(/of run now/);
  expect(() => refuseRepeat(named, files, again, ['train.py'])).toThrow(/of run now/);
  expect(() => refuseRepeat(unnamed, files, again, ['train.py'])).not.toThrow();
  expect(() => refuseRepeat(blind, files, again, ['train.py'])).not.toThrow();
  expect(blind.section).toMatch(/Nothing measured yet/);
}, 60_000);

test('an old run\'s results.tsv is imported the first time, as far as its columns allow, and never twice', async () => {
  const repo = await makeFixtureRepo();
  const head = (await git(repo, 'rev-parse', 'HEAD')).trim();
  const tsv = 'commit\tval_bpb\tmemory_gb\tstatus\tdescription\n' +
    `${head.slice(0, 7)}\t1.100000\t44.0\tkeep\tbaseline\n-\t0.000000\t0.0\tcrash\tDEPTH: 4 -> 9\n`;
  const blob = (await execa('git', ['hash-object', '-w', '--stdin'], { cwd: repo, input: tsv })).stdout.trim();
  const tree = (await execa('git', ['mktree'], { cwd: repo, input: `100644 blob ${blob}\tresults.tsv\n` })).stdout.trim();
  const commit = (await git(repo, 'commit-tree', tree, '-m', 'results of old')).trim();
  await git(repo, 'update-ref', 'refs/autoresearch/old/results', commit);

  const c = config(repo, repo);
  expect(await importOldResults({ config: c })).toEqual(['old']);
  expect(await importOldResults({ config: c })).toEqual([]);
  const { records } = await readJournal(gitAt(repo), repo);
  expect(records.map((r) => [r.tag, r.experiment, r.status, r.imported, r.settings, r.baseline])).toEqual([
    ['old', 0, 'keep', true, undefined, true], ['old', 1, 'crash', true, undefined, false]]);
  expect(records[0].commit).toBe(head);
  expect(await git(repo, 'rev-parse', JOURNAL_REF)).toMatch(/^[0-9a-f]{40}$/);
}, 60_000);
