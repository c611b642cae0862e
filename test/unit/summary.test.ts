import { MAX_EXTRA_METRICS, parseSummary } from '../../src/core/trainerSummary.js';
import { parseResults, formatResultsRow, RESULTS_HEADER } from '../../src/core/resultsTsv.js';
import { makeRecord } from '../helpers/run.js';
import { measurementOf } from '../../src/core/experimentResult.js';

const BLOCK = `step 10 loss 3.2
---
val_bpb:          0.997900
training_seconds: 300.1
total_seconds:    325.9
peak_vram_mb:     45060.2
mfu_percent:      39.80
total_tokens_M:   499.6
num_steps:        953
num_params_M:     50.3
depth:            8
`;

describe('parseSummary', () => {
  test("parses the original's nine-key block", () => {
    const r = parseSummary(BLOCK);
    expect(r).toEqual({ ok: true, summary: expect.objectContaining({ val_bpb: 0.9979, peak_vram_mb: 45060.2, num_steps: 953, depth: 8 }) });
  });
  test('only val_bpb is required', () => {
    expect(parseSummary('---\nval_bpb: 1.5\n')).toEqual({ ok: true, summary: { val_bpb: 1.5 } });
  });
  test('uses the last block when the output has several', () => {
    const r = parseSummary(`---\nval_bpb: 2.0\nmore output\n---\nval_bpb: 1.25\n`);
    expect(r.ok && r.summary.val_bpb).toBe(1.25);
  });
  test('FAIL, a missing block, a missing val_bpb and NaN are failures with a reason', () => {
    expect(parseSummary('step 1\nFAIL\n')).toEqual({ ok: false, reason: 'trainer printed FAIL' });
    expect(parseSummary('step 1 loss 3\n')).toMatchObject({ ok: false, reason: expect.stringMatching(/no summary block/) });
    expect(parseSummary('---\ndepth: 8\n')).toMatchObject({ ok: false, reason: expect.stringMatching(/no val_bpb/) });
    expect(parseSummary('---\nval_bpb: nan\n')).toMatchObject({ ok: false, reason: expect.stringMatching(/val_bpb/) });
  });
});

describe('the tokens a run trained (results.tsv tokens)', () => {
  const tokensOf = (block: string) => {
    const r = parseSummary(block);
    if (!r.ok) throw new Error(r.reason);
    return measurementOf(r.summary).tokens;
  };
  test('are the exact total_tokens the trainer printed after its nine keys, not total_tokens_M rounded to 0.1 M', () => {
    expect(tokensOf(BLOCK.replace('499.6', '0.2') + 'total_tokens:     163840\n')).toBe(163_840);
  });
  test('come from total_tokens_M when a trainer prints only that (the original)', () => {
    expect(tokensOf(BLOCK)).toBe(499_600_000);
    expect(tokensOf('---\nval_bpb: 1.5\n')).toBeUndefined();
  });
});

describe('parseSummary bounds and FAIL', () => {
  test('keeps the nine summary keys and at most MAX_EXTRA_METRICS extra keys, however many the trainer prints', () => {
    const extras = Array.from({ length: 25_000 }, (_, i) => `extra_${i}: ${i}.5`).join('\n');
    const r = parseSummary(`${BLOCK}${extras}\n`);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const keys = Object.keys(r.summary);
    expect(keys).toEqual(expect.arrayContaining(['val_bpb', 'training_seconds', 'total_seconds', 'peak_vram_mb', 'mfu_percent',
      'total_tokens_M', 'num_steps', 'num_params_M', 'depth']));
    expect(keys.length).toBe(9 + MAX_EXTRA_METRICS);
    expect(r.summary.extra_0).toBe(0.5);
    expect(JSON.stringify(r.summary).length).toBeLessThan(4_000);
  });
  test('a known key printed after many extras is still kept', () => {
    const extras = Array.from({ length: 100 }, (_, i) => `extra_${i}: ${i}`).join('\n');
    const r = parseSummary(`---\n${extras}\nval_bpb: 1.25\ndepth: 4\n`);
    expect(r.ok && [r.summary.val_bpb, r.summary.depth]).toEqual([1.25, 4]);
  });
  test('FAIL counts only after the last block start, or when there is no block', () => {
    expect(parseSummary('FAIL\nretrying\n---\nval_bpb: 1.5\n')).toEqual({ ok: true, summary: { val_bpb: 1.5 } });
    expect(parseSummary('---\nval_bpb: 2.0\nFAIL\n---\nval_bpb: 1.5\n')).toEqual({ ok: true, summary: { val_bpb: 1.5 } });
    expect(parseSummary('---\nval_bpb: 1.5\nFAIL\n')).toEqual({ ok: false, reason: 'trainer printed FAIL' });
    expect(parseSummary('step 1\nFAIL\n')).toEqual({ ok: false, reason: 'trainer printed FAIL' });
  });
});

describe('results.tsv rows', () => {
  test('have the original five columns first, crash rows as zeros, and read back with the report parser', () => {
    const text = RESULTS_HEADER + [
      makeRecord(0, { commit: 'a1b2c3d', valBpb: 0.9979, memoryGb: 44.0, description: 'baseline' }),
      makeRecord(1, { commit: 'b2c3d4e', valBpb: 3, memoryGb: 2, status: 'crash', description: 'double the width\twith a tab' }),
    ].map(formatResultsRow).join('');
    const lines = text.trimEnd().split('\n');
    expect(lines[0].split('\t').slice(0, 5)).toEqual(['commit', 'val_bpb', 'memory_gb', 'status', 'description']);
    expect(lines[1].split('\t').slice(0, 5)).toEqual(['a1b2c3d', '0.997900', '44.0', 'keep', 'baseline']);
    expect(lines[2].split('\t').slice(0, 5)).toEqual(['b2c3d4e', '0.000000', '0.0', 'crash', 'double the width with a tab']);
    expect(parseResults(text).map((r) => r.experimentId)).toEqual(['run/exp-0000', 'run/exp-0001']);
  });
});
