import { describe, expect, test } from '@jest/globals';
import { promptChars, renderPrompt } from '../../src/proposers/prompt.js';
import { PROPOSAL_JSON_SCHEMA } from '../../src/core/proposal.js';
import { GOOD_PROPOSAL, TRAIN_PY, record, sampleContext } from './fixtures.js';

describe('renderPrompt', () => {
  test('puts the rules and the editable file list in the system part', () => {
    const { system } = renderPrompt(sampleContext());
    expect(system).toContain('Edit only these files: train.py');
    expect(system).toMatch(/no packages/i);
    expect(system).toMatch(/Simplicity/);
    expect(system).toMatch(/One idea per experiment/);
    expect(system).toMatch(/occur exactly once/);
  });

  test('contains program.md and every editable file in full', () => {
    const prompt = renderPrompt(sampleContext());
    expect(prompt.program).toContain('Make val_bpb go down. Try optimizer changes first.');
    expect(prompt.code).toContain('## train.py');
    expect(prompt.code).toContain(TRAIN_PY.trimEnd());
  });

  test('says when the code is a tree-search branch, not the best', () => {
    const ctx = sampleContext();
    expect(renderPrompt(ctx).code).toContain('# Current code (the best version so far)');
    const branch = renderPrompt({ ...ctx, filesCommit: 'b'.repeat(40), best: { ...ctx.best!, commitFull: 'a'.repeat(40) } }).code;
    expect(branch).toContain('# Current code (a branch: the run stalled, so tree search starts this experiment from an earlier experiment\'s code, not the best;');
  });

  test('shows a results table with the best so far and the latest outcomes', () => {
    const { volatile } = renderPrompt(sampleContext());
    expect(volatile).toContain('| # | commit | val_bpb | memory_gb | status | description |');
    expect(volatile).toContain('| 0 | c0ffee0 | 1.000000 | 44.1 | keep | baseline |');
    expect(volatile).toContain('| 1 | c0ffee1 | 1.003100 | 44.1 | discard | wider MLP |');
    expect(volatile).toContain('| 2 | c0ffee2 | - | - | crash | deeper model |');
    expect(volatile).toContain('Best so far: val_bpb 1.000000 (experiment #0, commit c0ffee0)');
    expect(volatile).toContain('- #2 (crash): deeper model');
    expect(volatile).toContain('error: CUDA out of memory');
    expect(volatile).toContain('hypothesis: hypothesis 1');
  });

  test('shows the tail of the last crash log and the steering notes', () => {
    const { volatile } = renderPrompt(sampleContext({ steeringNotes: ['Avoid changing DEPTH for now.', 'Try warmup.'] }));
    expect(volatile).toContain('torch.OutOfMemoryError: CUDA out of memory');
    expect(volatile).toContain('1. Avoid changing DEPTH for now.\n2. Try warmup.');
  });

  test('keeps only the tail of a long crash log', () => {
    const log = Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n');
    const { volatile } = renderPrompt(sampleContext({ lastCrashLog: log }));
    expect(volatile).toContain('line 499');
    expect(volatile).not.toContain('line 400\n');
  });

  test('shows the repair error and the failed proposal when repairing', () => {
    const { volatile } = renderPrompt(
      sampleContext({ repairError: 'edit 1: search text not found in train.py', previousProposal: GOOD_PROPOSAL }),
    );
    expect(volatile).toContain('Your previous proposal for experiment #3 could not be used');
    expect(volatile).toContain('Error: edit 1: search text not found in train.py');
    expect(volatile).toContain('"search": "LR = 0.02  # matrix learning rate"');
  });

  test('leaves out the sections that have nothing to say', () => {
    const { volatile } = renderPrompt(sampleContext({ recent: [], experimentsDone: 0, best: undefined, lastCrashLog: undefined, steeringNotes: [] }));
    expect(volatile).toContain('No experiments yet.');
    expect(volatile).not.toMatch(/crash|Notes from the researcher|could not be used/);
    expect(volatile.endsWith('Propose experiment #3 now by calling propose_experiment.')).toBe(true);
  });

  test('keeps the cached parts identical when only results, notes and repairs change', () => {
    const a = renderPrompt(sampleContext());
    const b = renderPrompt(
      sampleContext({ recent: [record(0)], experimentsDone: 1, steeringNotes: ['new note'], lastCrashLog: 'other', repairError: 'x', experiment: 9 }),
    );
    expect([b.system, b.program, b.code]).toEqual([a.system, a.program, a.code]);
    expect(b.volatile).not.toBe(a.volatile);
  });

  test('fences code that itself contains backtick fences with a longer fence', () => {
    const content = 'doc = """\n```python\nx = 1\n```\n"""\n';
    const { code } = renderPrompt(sampleContext({ files: [{ path: 'train.py', content }] }));
    expect(code).toContain('````python\n' + content.trimEnd() + '\n````');
  });

  test('of a long run, shows the window of latest rows, the best and how many are left out', () => {
    const recent = Array.from({ length: 20 }, (_, i) => record(280 + i, { status: 'discard', valBpb: 1.1 }));
    const best = { experiment: 42, commit: 'c0ffee42', commitFull: 'c0ffee42'.padEnd(40, '0'), valBpb: 0.5 };
    const { volatile } = renderPrompt(sampleContext({ recent, experimentsDone: 300, best }));
    const rows = volatile.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    expect(rows.map((r) => r.split(' | ')[0])).toEqual(recent.map((r) => `| ${r.experiment}`));
    expect(volatile).toContain('# Results so far (300 experiments)');
    expect(volatile).toContain('Best so far: val_bpb 0.500000 (experiment #42, commit c0ffee42).');
    expect(volatile).toContain('280 older ones are not.');
  });

  test('promptChars counts all four parts', () => {
    const prompt = renderPrompt(sampleContext());
    expect(promptChars(prompt)).toBe(prompt.system.length + prompt.program.length + prompt.code.length + prompt.volatile.length);
  });
});

describe('the propose_experiment tool schema', () => {
  test('is a plain JSON-schema object with no $schema key', () => {
    expect(PROPOSAL_JSON_SCHEMA.type).toBe('object');
    expect(PROPOSAL_JSON_SCHEMA).not.toHaveProperty('$schema');
    expect(PROPOSAL_JSON_SCHEMA.required).toEqual(['hypothesis', 'description', 'edits']);
    expect(JSON.parse(JSON.stringify(PROPOSAL_JSON_SCHEMA))).toEqual(PROPOSAL_JSON_SCHEMA);
  });
});
