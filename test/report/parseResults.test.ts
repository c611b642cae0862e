import { readFileSync } from 'node:fs';
import { parseResults, ResultsParseError } from '../../src/report/parseResults.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const HEADER = 'commit\tval_bpb\tmemory_gb\tstatus\tdescription';

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
