import { readFileSync } from 'node:fs';
import { formatResultsRow, parseResults, RESULTS_HEADER, ResultsParseError } from '../../src/core/resultsTsv.js';
import type { ExperimentRecord } from '../../src/core/results.js';
import { makeRecord } from '../helpers/run.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const HEADER = 'commit\tval_bpb\tmemory_gb\tstatus\tdescription';
const formatted = (records: ExperimentRecord[]) => RESULTS_HEADER + records.map(formatResultsRow).join('');

function parseError(text: string): ResultsParseError {
  try {
    parseResults(text);
  } catch (error) {
    if (error instanceof ResultsParseError) return error;
    throw error;
  }
  throw new Error('expected a ResultsParseError');
}

describe('parseResults', () => {
  test('reads the example file from the original autoresearch program.md', () => {
    const rows = parseResults(fixture('original.tsv'));
    expect(rows).toHaveLength(4);
    expect(rows[0]).toEqual({ commit: 'a1b2c3d', valBpb: 0.9979, memoryGb: 44, status: 'keep', description: 'baseline' });
    expect(rows.map((row) => row.status)).toEqual(['keep', 'keep', 'discard', 'crash']);
    expect(rows[3]).toMatchObject({ commit: 'd4e5f6g', valBpb: 0, memoryGb: 0, description: 'double model width (OOM)' });
  });

  test('reads the file a run writes: its experiment ids, other extra columns ignored', () => {
    const rows = parseResults(fixture('sample.tsv')); // + cost_usd, experiment_id; '-' for no commit
    expect(rows).toHaveLength(12);
    expect(rows[1]).toEqual({
      commit: '8b71d0e', valBpb: 0.9932, memoryGb: 44.2, status: 'keep', description: 'raise MATRIX_LR to 0.05', experimentId: 'night-1/exp-0001',
    });
    expect(rows[6]).toMatchObject({ commit: '-', status: 'invalid' });
  });

  test('reads the keep decision\'s columns: delta, sigma, confirmations, steps, tokens and reason', () => {
    const rows = parseResults(fixture('decisions.tsv'));
    expect(rows).toHaveLength(9);
    expect(rows[1]).toEqual({
      commit: '8b71d0e', valBpb: 0.9932, memoryGb: 44.2, status: 'keep', description: 'raise MATRIX_LR to 0.05', experimentId: 'night-2/exp-0001',
      delta: 0.00475, sigma: 0.00081, extraRuns: 0, steps: 951, tokens: 498597888,
      reason: 'gain 0.004750 > 0.004235 (k·SE) over 1 run(s) vs 3',
    });
    expect(rows[2]).toMatchObject({ delta: -0.00065, sigma: 0.00079 }); // a discard: negative delta
    expect(rows[4]).toMatchObject({ status: 'discard', extraRuns: 2 });
    // '-' is unknown: the baseline has no delta, a crash no sigma, steps or tokens.
    expect(rows[0]).toMatchObject({ sigma: 0.00081, extraRuns: 2 });
    expect(rows[0].delta).toBeUndefined();
    expect(rows[3]).toMatchObject({ status: 'crash', extraRuns: 0, reason: 'trainer exited with 1: CUDA out of memory' });
    expect([rows[3].delta, rows[3].sigma, rows[3].steps, rows[3].tokens]).toEqual([undefined, undefined, undefined, undefined]);
  });

  test('reads a greedy run\'s σ of 0 as written', () => {
    const rows = parseResults(fixture('greedy.tsv'));
    expect(rows.map((row) => row.sigma)).toEqual([0, 0, 0, 0]);
    expect(rows[1]).toMatchObject({ delta: 0.0005, reason: 'greedy: 0.997400 < best 0.997900' });
  });

  test('reads files from before the decision columns without them', () => {
    for (const name of ['original.tsv', 'sample.tsv']) {
      for (const row of parseResults(fixture(name))) {
        expect([row.delta, row.sigma, row.extraRuns, row.steps, row.tokens, row.reason]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
      }
    }
    // Runs that wrote a lane and an empty reason, but no decision columns yet.
    const [row] = parseResults(`${HEADER}\tcost_usd\texperiment_id\tlane\treason\nabc1234\t0.997900\t44.0\tkeep\tbaseline\t0.0000\tt/exp-0000\tgpu0\t\n`);
    expect(row).toEqual({ commit: 'abc1234', valBpb: 0.9979, memoryGb: 44, status: 'keep', description: 'baseline', experimentId: 't/exp-0000' });
  });

  test('reads the parent column a run writes, and files without it', () => {
    const rows = parseResults(formatted([makeRecord(0), makeRecord(1, { parent: 0 })]));
    expect(rows.map((r) => r.parent)).toEqual([undefined, 0]);
    for (const row of parseResults(fixture('sample.tsv'))) expect(row.parent).toBeUndefined();
  });

  test('reads a row that stops short of the trailing decision columns as unknown there', () => {
    const [row] = parseResults(`${HEADER}\tdelta\tsigma\treason\nabc1234\t0.993200\t44.0\tkeep\tLR\t0.004700\n`);
    expect(row).toMatchObject({ delta: 0.0047 });
    expect([row.sigma, row.reason]).toEqual([undefined, undefined]);
  });

  test('names the line and the column of a malformed decision value', () => {
    const text = `${HEADER}\tdelta\tsigma\tconfirmations\nabc1234\t0.997900\t44.0\tkeep\tbaseline\t-\t0.000800\t0\nbcd2345\t0.99\t44.0\tkeep\tx\t0.007900\t-0.1\t0\n`;
    expect(parseError(text).message).toMatch(/^results\.tsv line 3: sigma: .*"-0\.1"/);
    expect(parseError(text.replace('-0.1\t0\n', '0.0008\t1.5\n')).message).toMatch(/line 3: confirmations: expected a whole number/);
  });

  test('reads an invalid proposal that has no commit', () => {
    const [row] = parseResults(`${HEADER}\n\t0.000000\t0.0\tinvalid\tedit did not apply\n`);
    expect(row).toMatchObject({ commit: '', status: 'invalid', valBpb: 0 });
  });

  test('finds the columns by header name, whatever their order', () => {
    const [row] = parseResults('status\tdescription\tcommit\tmemory_gb\tval_bpb\nkeep\tbaseline\tabc1234\t44.0\t0.997900');
    expect(row).toEqual({ commit: 'abc1234', valBpb: 0.9979, memoryGb: 44, status: 'keep', description: 'baseline' });
  });

  test('tolerates CRLF line ends, a byte-order mark and blank lines', () => {
    const rows = parseResults(`\uFEFF${HEADER}\r\nabc1234\t0.997900\t44.0\tkeep\tbaseline\r\n\r\n`);
    expect(rows).toHaveLength(1);
  });

  test('reads a file with only its header as no rows', () => {
    expect(parseResults(`${HEADER}\n`)).toEqual([]);
  });

  test('names the line and the column of a malformed value', () => {
    const error = parseError(`${HEADER}\nabc1234\t0.997900\t44.0\tkeep\tbaseline\nbcd2345\tnan\t44.0\tkeep\tbroken\n`);
    expect(error.line).toBe(3);
    expect(error.message).toMatch(/^results\.tsv line 3: val_bpb: .*"nan"/);
  });

  test('names the line of an unknown status', () => {
    expect(parseError(`${HEADER}\nabc1234\t0.997900\t44.0\tkept\tbaseline\n`).message).toMatch(/line 2: status/);
  });

  test('names the line of a row with too few fields', () => {
    expect(parseError(`${HEADER}\nabc1234\t0.997900\t44.0\n`).message).toMatch(/line 2: 3 tab-separated field\(s\), expected at least 5/);
  });

  test('rejects a header without the five columns', () => {
    const error = parseError('commit,val_bpb,memory_gb,status,description\nabc1234,0.99,44.0,keep,baseline\n');
    expect(error.line).toBe(1);
    expect(error.message).toMatch(/header lacks column\(s\) commit, val_bpb/);
  });
});
