import { execa } from 'execa';
import { normalizePosixPath, parseRunInput, refComponentProblem } from '../../src/core/runInput.js';

describe('parseRunInput', () => {
  test('fills the documented defaults', () => {
    const r = parseRunInput({ tag: 'nov23' });
    expect(r.ok && r.config).toMatchObject({
      tag: 'nov23', program: 'program.md',
      trainer: { dir: 'trainer', command: 'uv run train.py', editable: ['train.py'], timeBudgetSeconds: 300, timeoutSeconds: 600 },
      proposer: { kind: 'offline' },
    });
  });
  test('names an unknown field', () => {
    const r = parseRunInput({ tag: 'x', maxExperiment: 3 });
    expect(r).toEqual({ ok: false, error: expect.stringContaining('maxExperiment: unknown field') });
  });
  test('names a nested invalid field', () => {
    const r = parseRunInput({ tag: 'x', trainer: { timeBudgetSeconds: -1 } });
    expect(!r.ok && r.error).toMatch(/trainer\.timeBudgetSeconds/);
  });
  test('rejects a tag that cannot be a branch name', () => {
    const r = parseRunInput({ tag: 'a b/../c' });
    expect(!r.ok && r.error).toMatch(/^invalid run input: tag:/);
  });
  test('requires a tag', () => {
    expect(!parseRunInput({}).ok).toBe(true);
  });

  describe('validation across fields: refused before the run starts, naming the field', () => {
    const error = (input: Record<string, unknown>) => {
      const r = parseRunInput({ tag: 'x', ...input });
      return r.ok ? 'accepted' : r.error;
    };
    test('the training budget must be below the timeout', () => {
      expect(error({ trainer: { timeBudgetSeconds: 600, timeoutSeconds: 600 } })).toMatch(/trainer\.timeBudgetSeconds: must be below trainer\.timeoutSeconds/);
      expect(error({ trainer: { timeBudgetSeconds: 700 } })).toMatch(/trainer\.timeBudgetSeconds/);
      expect(error({ trainer: { timeBudgetSeconds: 599 } })).toBe('accepted');
    });
    test('editable paths are normalised and must stay inside the trainer directory', () => {
      const r = parseRunInput({ tag: 'x', trainer: { editable: ['./train.py', 'lib//model.py', 'train.py'] } });
      expect(r.ok && r.config.trainer.editable).toEqual(['train.py', 'lib/model.py']);
      expect(error({ trainer: { editable: ['../prepare.py'] } })).toMatch(/trainer\.editable\.0: must stay inside/);
      expect(error({ trainer: { editable: ['train.py', 'a/../../x.py'] } })).toMatch(/trainer\.editable\.1: must stay inside/);
      expect(error({ trainer: { editable: ['/etc/passwd'] } })).toMatch(/trainer\.editable\.0: must be a relative path/);
      expect(error({ trainer: { editable: ['./'] } })).toMatch(/trainer\.editable\.0: must name a file/);
      expect(error({ trainer: { editable: ['../.git/hooks/pre-commit'] } })).toMatch(/trainer\.editable\.0/);
    });
    test('trainer.dir is relative and stays inside the repository', () => {
      expect(error({ trainer: { dir: '/trainer' } })).toMatch(/trainer\.dir: must be a relative path/);
      expect(error({ trainer: { dir: '../elsewhere' } })).toMatch(/trainer\.dir: must stay inside/);
      expect(error({ trainer: { dir: '.git' } })).toMatch(/trainer\.dir: must not be inside \.git/);
      const r = parseRunInput({ tag: 'x', trainer: { dir: './trainer/' } });
      expect(r.ok && r.config.trainer.dir).toBe('trainer');
    });
    test('the trainer command is not blank', () => {
      expect(error({ trainer: { command: '   ' } })).toMatch(/trainer\.command: must not be blank/);
    });
    test('program stays inside the repository', () => {
      expect(error({ program: '/etc/passwd' })).toMatch(/program: must be a relative path/);
      expect(error({ program: '../../secret.md' })).toMatch(/program: must stay inside/);
      const r = parseRunInput({ tag: 'x', program: './docs/program.md' });
      expect(r.ok && r.config.program).toBe('docs/program.md');
    });
    test.each(['a..b', 'x.lock', 'run.', 'a@{b', 'a\u0001b', '@', '.hidden', 'a b', 'a~1', 'a:b', 'a/b'])('the tag %j is refused: not a valid git ref name', (tag) => {
      expect(error({ tag })).toMatch(/^invalid run input: tag:/);
    });
    test.each(['nov23', 'run-1.2_b', 'A'])('the tag %j is accepted', (tag) => {
      expect(error({ tag })).toBe('accepted');
    });
  });

  // Two differences on purpose: a lone "@" and a "/" are refused (git allows both inside a longer ref name).
  test('refComponentProblem agrees with git check-ref-format on one component', async () => {
    const names = ['ok', 'a..b', 'x.lock', 'x.lock.y', 'run.', '.a', 'a@b', 'a@{b', 'a\u0001b', 'a\u007fb', 'a b', 'a~b', 'a^b', 'a:b',
      'a?b', 'a*b', 'a[b', 'a\\b', 'é-ü', 'a-', '-a'];
    for (const name of names) {
      const git = await execa('git', ['check-ref-format', `refs/heads/${name}`], { reject: false });
      expect([name, refComponentProblem(name) === undefined]).toEqual([name, git.exitCode === 0]);
    }
  });
  test('normalizePosixPath matches path.posix.normalize, without a trailing slash', async () => {
    const { posix } = await import('node:path');
    for (const p of ['./train.py', 'a//b/./c', 'a/../b', '../x', 'a/../../x', '/a/../..', '.', './', 'a/b/', '..', '/']) {
      expect([p, normalizePosixPath(p)]).toEqual([p, posix.normalize(p).replace(/(.)\/$/, '$1')]);
    }
  });
});
