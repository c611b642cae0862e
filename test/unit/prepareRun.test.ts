import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { parseRunInput, type RunConfig } from '../../src/config/runInput.js';
import { prepareRun } from '../../src/activities/remote.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';

function config(input: Record<string, unknown>): RunConfig {
  const r = parseRunInput(input);
  if (!r.ok) throw new Error(r.error);
  return r.config;
}

describe('prepareRun (the real activity, on a temporary repository)', () => {
  test('refuses an editable file that is a symlink (its edits would be written outside the worktree), naming trainer.editable', async () => {
    const repo = await makeFixtureRepo();
    await symlink('/etc/hostname', path.join(repo, 'trainer', 'outside.py'));
    await execa('git', ['add', 'trainer/outside.py'], { cwd: repo });
    await execa('git', ['-c', 'user.name=test', '-c', 'user.email=test@localhost', 'commit', '-q', '-m', 'a symlink out of the trainer dir'], { cwd: repo });
    const err = await prepareRun(config(fixtureRunInput(repo, 'symlinked', { trainer: { editable: ['train.py', 'outside.py'] } }))).then(
      () => undefined, (e: Error & { type?: string; nonRetryable?: boolean }) => e);
    expect(err).toMatchObject({ type: 'InvalidRunInput', nonRetryable: true, message: expect.stringMatching(/^trainer\.editable: outside\.py is a symlink/) });
  });

  test('accepts the plain editable files', async () => {
    const repo = await makeFixtureRepo();
    const { baseCommit } = await prepareRun(config(fixtureRunInput(repo, 'plain')));
    expect(baseCommit).toMatch(/^[0-9a-f]{40}$/);
  });
});
