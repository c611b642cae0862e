import { parseRunInput } from '../../src/config/runInput.js';

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
});
