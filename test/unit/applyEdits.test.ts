import { applyEdits, checkEditablePath, EditRejectedError } from '../../src/activities/applyEdits.js';

const files = { 'train.py': 'A = 1\nB = 2\nB = 2\n' };

describe('applyEdits', () => {
  test('replaces an exact search block that occurs once', () => {
    expect(applyEdits(files, [{ path: 'train.py', search: 'A = 1', replace: 'A = 5' }], ['train.py'])['train.py']).toBe('A = 5\nB = 2\nB = 2\n');
  });
  test('applies edits in order, each on the result of the last', () => {
    const out = applyEdits(files, [
      { path: 'train.py', search: 'A = 1', replace: 'A = 5' },
      { path: 'train.py', search: 'A = 5', replace: 'A = 6' },
    ], ['train.py']);
    expect(out['train.py'].startsWith('A = 6')).toBe(true);
  });
  test('rejects a search block that is missing or ambiguous, saying which', () => {
    expect(() => applyEdits(files, [{ path: 'train.py', search: 'C = 3', replace: '' }], ['train.py'])).toThrow(/edit 1 \(train.py\): search text not found/);
    expect(() => applyEdits(files, [{ path: 'train.py', search: 'B = 2', replace: '' }], ['train.py'])).toThrow(/more than once/);
  });
  test('accepts a whole-file replacement', () => {
    expect(applyEdits(files, [{ path: 'train.py', content: 'X = 1\n' }], ['train.py'])).toEqual({ 'train.py': 'X = 1\n' });
  });
});

describe('checkEditablePath', () => {
  test('allows only allow-listed files inside the trainer directory', () => {
    expect(checkEditablePath('./train.py', ['train.py'])).toBe('train.py');
    expect(() => checkEditablePath('prepare.py', ['train.py'])).toThrow(/not an editable file/);
    expect(() => checkEditablePath('../src/worker.ts', ['train.py'])).toThrow(/escapes/);
    expect(() => checkEditablePath('/etc/passwd', ['train.py'])).toThrow(EditRejectedError);
  });
});
