/** The pure parts of harness evaluation: the evaluator's command line, its output, and the score it accepts. */
import { AGREEMENT, harnessCommand, harnessScore, parseEvaluatorOutput, type EvaluatorResult } from '../../src/activities/harnessEvaluation.js';
import { parseSummary } from '../../src/core/trainerSummary.js';

const scored = (val_bpb: number | null, causal = true): EvaluatorResult => ({
  ok: true,
  output: { val_bpb, causal, causality_problem: causal ? null : 'the logits up to position 3 changed by 2 when the tokens after 3 changed',
    causality_max_change: causal ? 0 : 2, causality_tolerance: 1e-4, tokens_evaluated: 100, eval_seconds: 1, device: 'cpu' },
});

describe('harness evaluation', () => {
  test('the evaluator runs an interpreter the experiment cannot have written, isolated from PYTHON* variables and the user site', () => {
    const python = { dir: '/envs/abc', python: '/envs/abc/bin/python' };
    expect(harnessCommand('uv run train.py', '/h/evaluate.py', ['m.pt2'], python)).toEqual({ file: '/envs/abc/bin/python', args: ['-E', '-s', '-B', '/h/evaluate.py', 'm.pt2'] });
    expect(harnessCommand('python3 train.py --fast', '/h/evaluate.py', ['m'])).toEqual({ file: 'python3', args: ['-E', '-s', '-B', '/h/evaluate.py', 'm'] });
    expect(harnessCommand('./run.sh', '/h/evaluate.py', ['m'])).toEqual({ file: 'python3', args: ['-E', '-s', '-B', '/h/evaluate.py', 'm'] });
  });

  test('only a valid last evaluation-json line counts', () => {
    expect(parseEvaluatorOutput('noise\nevaluation-json: {"error": "bad"}\n')).toEqual({ error: 'bad' });
    expect(parseEvaluatorOutput('evaluation-json: {"val_bpb": "low"}')).toBeUndefined();
    expect(parseEvaluatorOutput('evaluation-json: {not json')).toBeUndefined();
    expect(parseEvaluatorOutput('val_bpb: 0.1')).toBeUndefined();
  });

  test("the harness's score replaces the trainer's; a disagreement or a failed causality check fails", () => {
    expect(harnessScore({ num_steps: 5 }, scored(1.5))).toEqual({ ok: true, summary: { num_steps: 5, val_bpb: 1.5 } });
    const within = 1.5 + AGREEMENT.absolute + AGREEMENT.relative * 1.5 - 1e-9;
    expect(harnessScore({ val_bpb: within }, scored(1.5))).toMatchObject({ ok: true, summary: { val_bpb: 1.5 } });
    expect(harnessScore({ val_bpb: within + 1e-6 }, scored(1.5))).toMatchObject({ ok: false, reason: expect.stringMatching(/^the trainer printed val_bpb/) });
    expect(harnessScore({ val_bpb: 1.5 }, scored(1.5, false))).toMatchObject({ ok: false, reason: expect.stringMatching(/^causality check failed: the logits up to position 3/) });
    expect(harnessScore({}, scored(null))).toMatchObject({ ok: false });
    expect(harnessScore({}, { ok: false, reason: 'no exported model' })).toEqual({ ok: false, reason: 'no exported model' });
  });

  test('under harness evaluation a summary block may lack val_bpb, and nothing else changes', () => {
    expect(parseSummary('---\nnum_steps: 3\n', { valBpb: 'optional' })).toEqual({ ok: true, summary: { num_steps: 3 } });
    expect(parseSummary('---\nnum_steps: 3\n')).toMatchObject({ ok: false, reason: 'summary block has no val_bpb' });
    expect(parseSummary('---\nFAIL\n', { valBpb: 'optional' })).toMatchObject({ ok: false, reason: 'trainer printed FAIL' });
  });
});
