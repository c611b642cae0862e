import { applyEdits } from '../../src/activities/applyEdits.js';
import { contentHashOf } from '../../src/activities/journal.js';
import { renderJournal } from '../../src/core/journalPrompt.js';
import type { ProposerContext } from '../../src/proposers/context.js';
import { candidates, proposeMutation } from '../../src/proposers/offline.js';
import { renderPrompt } from '../../src/proposers/prompt.js';
import { journalRecord } from '../helpers/journalRecords.js';

const SOURCE = 'DEPTH = 8  # layers\nMATRIX_LR = 0.04\nUSE_BIAS = False\n';
const ctx = (over: Partial<ProposerContext> = {}): ProposerContext =>
  ({ experiment: 1, program: '', files: [{ path: 'train.py', content: SOURCE }], recent: [], experimentsDone: 0, steeringNotes: [], ...over });

test('the offline proposer never proposes code the journal trained, and is exhausted when it trained all of it', () => {
  const all = candidates(ctx());
  expect(all.length).toBeGreaterThan(3);
  const trained = new Set<string>();
  const measured = (files: Record<string, string>) => trained.has(contentHashOf(Object.entries(files).map(([path, content]) => ({ path, content }))));
  for (let experiment = 1; experiment <= all.length; experiment++) {
    const proposal = proposeMutation(ctx({ experiment, measured }), 1);
    const after = applyEdits({ 'train.py': SOURCE }, proposal.edits, ['train.py']);
    const hash = contentHashOf([{ path: 'train.py', content: after['train.py'] }]);
    expect(trained.has(hash)).toBe(false);
    trained.add(hash);
  }
  expect(() => proposeMutation(ctx({ experiment: all.length + 1, measured }), 1)).toThrow(/every neighbouring setting/);
  // Without the journal the same proposer comes back to code it trained (its window is the latest results only).
  expect(trained.has(contentHashOf([{ path: 'train.py', content: applyEdits({ 'train.py': SOURCE }, proposeMutation(ctx(), 1).edits, ['train.py'])['train.py'] }]))).toBe(true);
});

test('the prompt shows the journal instead of the window of the latest results', () => {
  const journal = renderJournal([journalRecord(3, { tag: 'old' }), journalRecord(0, { tag: 'now', status: 'keep', baseline: true })], { tag: 'now' });
  const { volatile } = renderPrompt(ctx({ journal, experimentsDone: 1 }));
  expect(volatile).toContain('# Results so far (1 experiments in this run)');
  expect(volatile).toContain('# Research journal: 2 experiments in 2 runs of this repository (this run: now)');
  expect(volatile).toContain('old #3');
  expect(volatile).not.toContain('| # | commit |');
  expect(renderPrompt(ctx({ experimentsDone: 0 })).volatile).toContain('No experiments yet.');
});
