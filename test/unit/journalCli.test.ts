import { formatJournal } from '../../src/cli/journal.js';
import { journalSection } from '../../src/report/journal.js';
import { journalRecord } from '../helpers/journalRecords.js';
import type { RunStatus } from '../../src/api/messages.js';
import { renderCurrentDetails } from '../../src/workflows/presentation.js';

const records = [
  journalRecord(0, { tag: 'old', status: 'keep', valBpb: 1.1, baseline: true, description: 'baseline' }),
  journalRecord(1, { tag: 'old', status: 'keep', valBpb: 1.05, refusals: 2 }),
  journalRecord(2, { tag: 'old', status: 'crash', valBpb: 0, reason: 'CUDA out of memory', imported: true }),
  journalRecord(0, { tag: 'new<b>', status: 'keep', valBpb: 1.04, baseline: true, description: 'baseline' }),
];

test('the journal command: totals per run with their refused repeats, then one line per experiment', () => {
  const text = formatJournal(records, 'journal of /r');
  expect(text.split('\n').slice(0, 3)).toEqual([
    'journal of /r: 4 experiments in 2 runs',
    '  old: 3 (keep 2, crash 1), best val_bpb 1.050000 at exp-0001, 2 repeats refused (imported from results.tsv)',
    '  new<b>: 1 (keep 1), best val_bpb 1.040000 at exp-0000, 0 repeats refused',
  ]);
  expect(text).toContain('old exp-0002 crash   -        Δ -0.001000  LEARNING_RATE: 0.04 -> 0.03 (CUDA out of memory)  ccccccc');
  expect(formatJournal([], 'journal of /r')).toMatch(/no records/);
});

test('the report\'s journal section: this run\'s refusals, every run, escaped', () => {
  const html = journalSection(records, 'old');
  expect(html).toContain('This run had <strong>2</strong> proposals refused before training');
  expect(html).toContain('<td>new&#60;b&#62;</td>');
  expect(html).toContain('<td>1.050000 (#1)</td><td>2</td>');
  expect(journalSection([], 'old')).toBe('');
});

test('the web UI\'s current details count the refused repeats, once there are any', () => {
  const status = (refusals?: number): RunStatus => ({
    tag: 't', phase: 'train', running: [], paused: false, stopRequested: false, experiment: 3, experimentsDone: 3,
    counts: { keep: 1, discard: 2, crash: 0, invalid: 0 }, timeBudgetSeconds: 300, costUsd: 0, steeringNotes: [], refusals,
  });
  expect(renderCurrentDetails(status(2), [])).toContain('Repeats refused: 2 (code the journal had trained already, not trained again)');
  expect(renderCurrentDetails(status(0), [])).not.toContain('Repeats refused');
  expect(renderCurrentDetails(status(), [])).not.toContain('Repeats refused');
});
