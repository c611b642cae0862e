import {
  alreadyMeasuredMessage, contentKey, formatRecord, measuredIndex, parseRecord, recordPath, recordsInMemory, settingsOf, touchedNames, type JournalRecord,
} from '../../src/core/journal.js';
import { ranges, targetOf } from '../../src/core/journalGroups.js';
import { JOURNAL_PROMPT_CHARS, renderJournal } from '../../src/core/journalPrompt.js';
import { journalRecord, namesExperiment, SETTINGS } from '../helpers/journalRecords.js';

describe('the key of "same code"', () => {
  test('the same content under other settings is other code; the data and the budget kind count', () => {
    const tokens = settingsOf({ timeBudgetSeconds: 300, tokenBudget: 300, command: 'uv run train.py', evaluation: 'harness', env: {} });
    const data = settingsOf({ timeBudgetSeconds: 300, command: 'uv run train.py', evaluation: 'harness', env: { AUTORESEARCH_DATA: '/d' } });
    const spaced = settingsOf({ timeBudgetSeconds: 300, command: ' uv  run train.py ', evaluation: 'harness', env: {} });
    expect(contentKey('h', tokens)).not.toBe(contentKey('h', SETTINGS));
    expect(contentKey('h', data)).not.toBe(contentKey('h', SETTINGS));
    expect(contentKey('h', spaced)).toBe(contentKey('h', SETTINGS));
    expect(data.data).toBe('/d');
  });

  test('trained records with settings block their code, the first one named; invalid and imported ones do not', () => {
    const records = [
      journalRecord(0, { contentHash: 'x', status: 'invalid', valBpb: 0, commit: '' }),
      journalRecord(2, { contentHash: 'x' }),
      journalRecord(3, { contentHash: 'x', tag: 'nov24' }),
      journalRecord(4, { contentHash: 'y', settings: undefined, imported: true }),
    ];
    const index = measuredIndex(records);
    expect(index.get(contentKey('x', SETTINGS))?.experiment).toBe(2);
    expect(measuredIndex([journalRecord(5, { contentHash: 'z', status: 'crash', valBpb: 0 })]).get(contentKey('z', SETTINGS))?.status).toBe('crash');
    expect(index.has(contentKey('y', SETTINGS))).toBe(false);
    expect(alreadyMeasuredMessage(records[1])).toMatch(/^already measured as exp-0002 of run nov23: val_bpb 1\.002000, discard/);
  });

  test('memory: this run always; earlier runs unless memory is off, and only the tags memoryFrom names', () => {
    const records = [journalRecord(1, { tag: 'a' }), journalRecord(2, { tag: 'b' }), journalRecord(3, { tag: 'me' })];
    const tags = (rs: JournalRecord[]) => rs.map((r) => r.tag);
    expect(tags(recordsInMemory(records, { tag: 'me' }))).toEqual(['a', 'b', 'me']);
    expect(tags(recordsInMemory(records, { tag: 'me', memory: false }))).toEqual(['me']);
    expect(tags(recordsInMemory(records, { tag: 'me', memoryFrom: ['b'] }))).toEqual(['b', 'me']);
  });
});

describe('a record as a file', () => {
  test('round-trips, ASCII only, under a path unique per tag and experiment id', () => {
    const r = journalRecord(142, { description: 'β2 → 0.95 ✓' });
    const text = formatRecord(r);
    expect(/^[\x00-\x7f]*$/.test(text)).toBe(true);
    expect(parseRecord(text)).toEqual(r);
    expect(recordPath(r)).toMatch(/^nov23\/0001\/exp-0142-[0-9a-f]{8}\.json$/);
    expect(recordPath({ ...r, experimentId: 'other/exp-0142' })).not.toBe(recordPath(r));
  });

  test('a diff\'s touched constants and functions', () => {
    const diff = ['@@ -3 +3 @@ import os', '-LEARNING_RATE = 0.04', '+LEARNING_RATE = 0.08', '@@ -40,2 +40,2 @@ def forward(self, x):',
      '-    y = x', '+    y = 2 * x', '+def helper():', '+WARMUP: float = 0.2'].join('\n');
    expect(touchedNames(diff)).toEqual(['LEARNING_RATE', 'forward', 'helper', 'WARMUP']);
    expect(touchedNames('--- a/train.py\n+++ b/train.py\n')).toEqual([]);
  });

  test('condensed groups name their target; numbers as ranges', () => {
    expect(targetOf(journalRecord(1, { touched: ['b', 'A'] }))).toBe('A + b');
    expect(targetOf(journalRecord(1, { touched: [], description: 'DEPTH: 4 -> 5' }))).toBe('DEPTH');
    expect(ranges([9, 3, 4, 5, 7, 4])).toBe('#3-5 #7 #9');
  });
});

describe('the journal in the prompt', () => {
  test('small: this run one line each, kept changes in full, earlier discards of one code on one line with their count', () => {
    const records = [
      journalRecord(0, { tag: 'old', status: 'keep', baseline: true, description: 'baseline', valBpb: 1.1 }),
      journalRecord(1, { tag: 'old', contentHash: 'same' }),
      journalRecord(2, { tag: 'old', contentHash: 'same', status: 'crash', valBpb: 0, reason: 'OOM' }),
      journalRecord(3, { tag: 'old', status: 'keep', hypothesis: 'warmup helps', valBpb: 0.9 }),
      journalRecord(0, { tag: 'now', status: 'keep', baseline: true, description: 'baseline' }),
      journalRecord(1, { tag: 'now', status: 'crash', valBpb: 0, reason: 'NaN loss' }),
    ];
    const text = renderJournal(records, { tag: 'now' });
    expect(text).toMatch(/^# Research journal: 6 experiments in 2 runs of this repository \(this run: now\)/);
    expect(text).toContain('Nothing is condensed');
    expect(text).toContain('#1 crash · LEARNING_RATE: 0.04 -> 0.02 (NaN loss)');
    expect(text).toMatch(/- old #3: val_bpb 0\.900000 .*\n  hypothesis: warmup helps/);
    expect(text).toContain('- discard ×1, crash ×1, val_bpb 1.001000: old #1-2 · LEARNING_RATE: 0.04 -> 0.02');
    for (const r of records) expect(namesExperiment(text, r, 'now')).toBe(true);
  });

  test('150 experiments of this run and 300 of earlier runs: every experiment named or in a named group, within the budget', () => {
    const earlier = Array.from({ length: 300 }, (_, i) => journalRecord(i, {
      tag: i < 150 ? 'oct' : 'nov', experiment: i % 150, contentHash: `e${i % 40}`, status: i % 17 === 0 ? 'keep' : i % 5 === 0 ? 'crash' : 'discard',
      touched: [['LEARNING_RATE'], ['DEPTH'], ['forward'], ['WARMUP_RATIO', 'DEPTH']][i % 4], hypothesis: 'a long hypothesis '.repeat(20),
    }));
    const mine = Array.from({ length: 150 }, (_, i) => journalRecord(i, { tag: 'now', description: `change number ${i} `.repeat(5) }));
    const records = [...earlier, ...mine];
    const text = renderJournal(records, { tag: 'now' });
    expect(text.length).toBeLessThanOrEqual(JOURNAL_PROMPT_CHARS);
    expect(text).toMatch(/Condensed to fit: earlier runs' \d+ discarded and crashed experiments are grouped by the constant or function/);
    for (const r of records) expect([r.tag, r.experiment, namesExperiment(text, r, 'now')]).toEqual([r.tag, r.experiment, true]);
    // The same records give the same text.
    expect(renderJournal([...records], { tag: 'now' })).toBe(text);
  });

  test('10,000 records in a small budget: within it, and what is not listed is counted', () => {
    const records = Array.from({ length: 10_000 }, (_, i) => journalRecord(i % 1000, {
      tag: `run${Math.floor(i / 1000)}`, status: i % 50 === 0 ? 'keep' : 'discard', touched: [`C${i % 300}`],
    }));
    const text = renderJournal(records, { tag: 'run9', budgetChars: 8_000 });
    expect(text.length).toBeLessThanOrEqual(8_000);
    expect(text).toMatch(/## Not listed for lack of room\n\n\d+ experiments of \d+ runs \(/);
    const counted = Number(/(\d+) experiments of \d+ runs \(/.exec(text)![1]);
    expect(counted).toBeGreaterThan(0);
  });
});
