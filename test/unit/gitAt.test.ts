/**
 * gitAt runs git through simple-git: a command that prints nothing ends when git does (no fixed
 * wait), a failure carries git's stderr, `ok` exit codes pass, simple-git's own checks still refuse
 * what gitAt does not need, input reaches stdin as bytes (no shell), and git gets gitAt's
 * environment, not the worker's.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { jest } from '@jest/globals';
import { gitAt } from '../../src/activities/gitOps.js';
import { makeFixtureRepo } from '../helpers/fixtureRepo.js';

const [realSetTimeout, realClearTimeout] = [globalThis.setTimeout, globalThis.clearTimeout];
/** `p`, or 'timed out' after `ms` of real time (setTimeout may be faked). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([p, new Promise<string>((done) => (timer = realSetTimeout(() => done('timed out'), ms)))]);
  } finally {
    realClearTimeout(timer);
  }
}

describe('gitAt', () => {
  afterEach(() => jest.useRealTimers());

  test('a command that prints nothing ends without waiting on a timer', async () => {
    const repo = await makeFixtureRepo();
    const git = gitAt(repo);
    // With timers frozen, any fixed wait after a silent command (simple-git's is a setTimeout) never ends.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    expect(await within(git.raw(['cat-file', '-e', 'HEAD^{commit}']), 10_000)).toBe('');
    expect(await within(git.raw(['reset', '-q', '--hard', 'HEAD']), 10_000)).toBe('');
    expect(await within(git.raw(['rev-parse', '--is-inside-work-tree']), 10_000)).toBe('true\n');
  });

  test("a failure carries git's stderr; an exit code in ok is none; a silent failure names its exit code", async () => {
    const repo = await makeFixtureRepo();
    const git = gitAt(repo);
    await expect(git.raw(['cat-file', '-e', `${'0'.repeat(40)}^{commit}`])).rejects.toThrow(/^git cat-file: fatal: Not a valid object name 0{40}\^\{commit\}$/);
    await writeFile(path.join(repo, 'trainer', 'train.py'), '# changed\n');
    await expect(git.raw(['diff', '--quiet'])).rejects.toThrow(/^git diff: exit 1$/);
    expect(await git.raw(['diff', '--quiet'], undefined, [1])).toBe('');
  });

  test("simple-git's checks still refuse what gitAt does not need, at once: a command-running option, an unlisted config key", async () => {
    const repo = await makeFixtureRepo();
    const git = gitAt(repo);
    const marker = path.join(repo, 'ran');
    for (const args of [['ls-remote', `--upload-pack=touch ${marker}`, repo], ['-c', `core.sshCommand=touch ${marker}`, 'ls-remote', 'ssh://h/r']]) {
      await expect(git.raw(args)).rejects.toMatchObject({ nonRetryable: true, type: 'GitArgument' });
    }
    expect(existsSync(marker)).toBe(false);
  });

  test('input reaches stdin as it is, through no shell; empty input ends stdin', async () => {
    const repo = await makeFixtureRepo();
    const git = gitAt(repo);
    const marker = path.join(repo, 'ran');
    const text = `$(touch ${marker})\n`;
    const sha = (await git.raw(['hash-object', '-w', '--stdin'], text)).trim();
    expect(await git.raw(['cat-file', 'blob', sha])).toBe(text);
    expect(await within(git.raw(['hash-object', '--stdin'], ''), 10_000)).toBe('e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n');
    await git.raw(['commit', '--allow-empty', '-q', '-m', `; touch ${marker} \`touch ${marker}\``]);
    expect(existsSync(marker)).toBe(false);
  });

  test("git runs with gitAt's environment: the worker's GIT_ variables do not reach it", async () => {
    const repo = await makeFixtureRepo();
    const saved = { ...process.env };
    Object.assign(process.env, { GIT_DIR: '/nonexistent', GIT_INDEX_FILE: '/nonexistent/index', GIT_AUTHOR_NAME: 'worker-set' });
    try {
      const git = gitAt(repo);
      await git.raw(['commit', '--allow-empty', '-q', '-m', 'env']);
      expect((await git.raw(['log', '-1', '--format=%an %cn'])).trim()).toBe('worker-set autoresearch');
    } finally {
      for (const key of ['GIT_DIR', 'GIT_INDEX_FILE', 'GIT_AUTHOR_NAME']) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
