import { findConstants, formatLiteral } from '../../src/proposers/constants.js';
import { candidates, neighbours, proposeMutation, scoreCandidate, triedSettings } from '../../src/proposers/offline.js';
import { applyEdits } from '../../src/activities/applyEdits.js';
import type { ProposerContext } from '../../src/proposers/context.js';
import type { ExperimentRecord } from '../../src/core/results.js';
import { makeRecord } from '../helpers/run.js';

const SOURCE = `"""doc"""
import math
DEPTH = 8  # layers
MATRIX_LR = 0.04  # Muon lr
USE_BIAS = False
WINDOW_PATTERN = "SSSL"  # S short, L long
OPTIM = "muon"  # one of: "muon", "adamw"
NAME = "plain words"
def f():
    INNER = 3
`;

function ctx(recent: ExperimentRecord[] = [], experiment = 1): ProposerContext {
  return { experiment, program: '', files: [{ path: 'train.py', content: SOURCE }], recent, experimentsDone: recent.length, steeringNotes: [] };
}
function rec(n: number, description: string, status: ExperimentRecord['status']): ExperimentRecord {
  return makeRecord(n, { description, status });
}

describe('findConstants', () => {
  test('finds top-level UPPER_CASE literals with their kinds and options', () => {
    const found = Object.fromEntries(findConstants('train.py', SOURCE).map((c) => [c.name, c.value]));
    expect(found.DEPTH).toEqual({ kind: 'int', value: 8 });
    expect(found.MATRIX_LR).toEqual({ kind: 'float', value: 0.04 });
    expect(found.USE_BIAS).toEqual({ kind: 'bool', value: false });
    expect(found.OPTIM).toMatchObject({ kind: 'str', value: 'muon', options: ['muon', 'adamw'] });
    expect(found.INNER).toBeUndefined();
  });
  test('formats floats so Python still reads them as floats', () => {
    expect(formatLiteral({ kind: 'float', value: 2 })).toBe('2.0');
    expect(formatLiteral({ kind: 'float', value: 0.04 * 1.25 })).toBe('0.05');
  });
});

describe('neighbours', () => {
  test('keeps a value in (0, 1) inside (0, 1), scaling its distance to 1 near 1', () => {
    const beta = neighbours({ kind: 'float', value: 0.95 }).map((n) => n.next.value as number);
    expect(beta.every((b) => b > 0 && b < 1)).toBe(true);
    expect(beta).toContain(1 - 0.05 / 1.25);
    const ratio = neighbours({ kind: 'float', value: 0.4 }).map((n) => n.next.value as number);
    expect(ratio.every((r) => r > 0 && r < 1)).toBe(true);
    expect(neighbours({ kind: 'float', value: 3 }).map((n) => n.next.value)).toContain(6);
  });
});

describe('offline proposer', () => {
  test('proposes one edit that applies and changes one constant', () => {
    const p = proposeMutation(ctx(), 1);
    expect(p.edits).toHaveLength(1);
    const out = applyEdits({ 'train.py': SOURCE }, p.edits, ['train.py'])['train.py'];
    expect(out).not.toBe(SOURCE);
    expect(p.description).toMatch(/^[A-Z_]+: .+ -> .+$/);
  });
  test('never repeats a tried setting', () => {
    const results: ExperimentRecord[] = [];
    const seen = new Set<string>();
    for (let i = 1; i <= 20; i++) {
      const p = proposeMutation(ctx(results, i), 7);
      const setting = p.description.split(' -> ')[0].split(':')[0] + '=' + p.description.split(' -> ')[1];
      expect(seen.has(setting)).toBe(false);
      seen.add(setting);
      results.push(rec(i, p.description, 'discard'));
    }
  });
  test('says so clearly when every neighbouring setting has been tried', () => {
    const results = candidates(ctx()).map((c, i) => rec(i + 1, `${c.constant.name}: ${c.constant.literal} -> ${formatLiteral(c.next)}`, 'discard'));
    expect(() => proposeMutation(ctx(results, results.length + 1), 1)).toThrow(/every neighbouring setting/);
  });
  test('leaves out settings already tried', () => {
    const all = candidates(ctx()).length;
    expect(candidates(ctx([rec(1, 'MATRIX_LR: 0.04 -> 0.05', 'discard')])).length).toBe(all - 1);
  });
  test('favours a direction that helped and disfavours one that lost', () => {
    const tried = triedSettings([rec(1, 'MATRIX_LR: 0.04 -> 0.05', 'keep'), rec(2, 'DEPTH: 8 -> 10', 'discard')]);
    const cs = candidates(ctx());
    const lrUp = cs.find((c) => c.constant.name === 'MATRIX_LR' && c.direction === 'up')!;
    const lrDown = cs.find((c) => c.constant.name === 'MATRIX_LR' && c.direction === 'down')!;
    const depthUp = cs.find((c) => c.constant.name === 'DEPTH' && c.direction === 'up')!;
    const other = cs.find((c) => c.constant.name === 'USE_BIAS')!;
    expect(scoreCandidate(lrUp, tried)).toBeGreaterThan(scoreCandidate(lrDown, tried));
    expect(scoreCandidate(lrUp, tried)).toBeGreaterThan(scoreCandidate(other, tried));
    expect(scoreCandidate(depthUp, tried)).toBeLessThan(scoreCandidate(other, tried));
  });
  test('after a kept raise, most proposals follow it', () => {
    const kept = [rec(1, 'MATRIX_LR: 0.04 -> 0.05', 'keep')];
    const picks = Array.from({ length: 50 }, (_, i) => proposeMutation(ctx(kept, i + 2), 3).description);
    expect(picks.filter((d) => d.startsWith('MATRIX_LR')).length).toBeGreaterThan(10);
  });
});
