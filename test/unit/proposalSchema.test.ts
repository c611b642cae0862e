/**
 * Control characters in a proposal: refused where the proposal is validated (the schema, naming the
 * field), so a NUL never reaches git; such a proposal goes back to the model as invalid output (the
 * repair loop). A commit message with one anyway does not fail (a retry would fail the same way).
 */
import { execa } from 'execa';
import { MockActivityEnvironment } from '@temporalio/testing';
import { parseRunInput, type RunConfig } from '../../src/core/runInput.js';
import { ProposalSchema, type Proposal } from '../../src/core/proposal.js';
import { parseProposal } from '../../src/proposers/toolSchema.js';
import { ProposalInvalidError } from '../../src/core/failures.js';
import { ZERO_USAGE } from '../../src/core/usage.js';
import type { Proposer } from '../../src/proposers/context.js';
import { commit, commitMessage, hypothesizeWith } from '../../src/activities/workspace.js';
import type { HypothesizeInput, LaneInput } from '../../src/api/activities.js';
import { prepareRun } from '../../src/activities/remote.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';

const valid: Proposal = {
  hypothesis: 'a higher learning rate\n\tconverges faster',
  description: 'lr 0.08',
  edits: [{ path: 'train.py', search: 'LEARNING_RATE = 0.04', replace: 'LEARNING_RATE = 0.08' }],
};

/** The paths of the issues zod reports for `proposal`, each with its message. */
function issuesOf(proposal: unknown): { path: string; message: string }[] {
  const r = ProposalSchema.safeParse(proposal);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

async function runConfig(tag: string): Promise<RunConfig> {
  const parsed = parseRunInput(fixtureRunInput(await makeFixtureRepo(), tag));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.config;
}

describe('control characters in a proposal', () => {
  test('allowed: newline and tab in the hypothesis; tab, newline, carriage return and form feed in source', () => {
    expect(issuesOf(valid)).toEqual([]);
    expect(issuesOf({ ...valid, edits: [{ path: 'train.py', content: 'x = 1\r\n\f\ty = 2\n' }] })).toEqual([]);
  });

  test.each([
    ['a NUL in the hypothesis', { ...valid, hypothesis: 'faster\0' }, 'hypothesis', /U\+0000 at index 6/],
    ['a carriage return in the hypothesis', { ...valid, hypothesis: 'a\rb' }, 'hypothesis', /U\+000D/],
    ['a tab in the description', { ...valid, description: 'lr\t0.08' }, 'description', /U\+0009/],
    ['a newline in the description', { ...valid, description: 'lr\n0.08' }, 'description', /U\+000A/],
    ['DEL in the description', { ...valid, description: 'lr\u007f' }, 'description', /U\+007F/],
    ['a control character in a path', { ...valid, edits: [{ path: 'train\u0001.py', content: 'x = 1\n' }] }, 'edits.0.path', /U\+0001/],
    ['a NUL in search', { ...valid, edits: [{ path: 'train.py', search: 'LEARNING_RATE\0', replace: 'x' }] }, 'edits.0.search', /U\+0000/],
    ['an escape in replace', { ...valid, edits: [{ path: 'train.py', search: 'LEARNING_RATE', replace: '\u001b[31m' }] }, 'edits.0.replace', /U\+001B/],
    ['a NUL in content', { ...valid, edits: [{ path: 'train.py', content: 'x = 1\0' }] }, 'edits.0.content', /U\+0000/],
  ])('refused, naming the field: %s', (_name, proposal, field, found) => {
    const issues = issuesOf(proposal);
    expect(issues).toEqual([{ path: field, message: expect.stringMatching(found) }]);
    expect(issues[0].message).toMatch(/must not contain control characters/);
  });

  test("a model's tool input with one is invalid output, with the field named (the repair loop's error)", () => {
    let caught: unknown;
    try {
      parseProposal({ ...valid, hypothesis: 'faster\0' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProposalInvalidError);
    expect((caught as Error).message).toMatch(/^the propose_experiment input is invalid: hypothesis: .*control characters/);
  });

  test('any proposer\'s proposal with one fails hypothesize as ProposalInvalid (not retried), its usage kept', async () => {
    const config = await runConfig('nulproposal');
    const bestCommit = (await execa('git', ['rev-parse', 'HEAD'], { cwd: config.repo })).stdout.trim();
    const usage = { ...ZERO_USAGE, inputTokens: 10, costUsd: 0.01 };
    const proposer: Proposer = { propose: async () => ({ proposal: { ...valid, hypothesis: 'faster\0' }, usage }) };
    const input: HypothesizeInput = {
      experiment: 1, config, bestCommit, bestRef: 'refs/heads/main', recent: [], experimentsDone: 0, steeringNotes: [], inFlight: [],
    };
    const failed = await new MockActivityEnvironment().run(hypothesizeWith(() => proposer), input).then(() => undefined, (err: unknown) => err);
    expect(failed).toMatchObject({ type: 'ProposalInvalid', nonRetryable: true, message: expect.stringMatching(/hypothesis: .*control characters/), details: [usage] });
  });
});

describe('a commit message with control characters', () => {
  test('they are dropped, newlines and tabs kept', () => {
    expect(commitMessage({ description: 'lr\u0007 0.08', hypothesis: 'a\0b\n\tc', experimentId: 't/exp-0001' })).toBe('lr 0.08\n\nab\n\tc\n\nExperiment-Id: t/exp-0001');
  });

  test('commit with a NUL in the hypothesis commits once, without it', async () => {
    const config = await runConfig('nulcommit');
    const { baseCommit } = await prepareRun({ config, runKey: 'nulcommit/test' });
    const lane: LaneInput = { config, laneId: 'lane0', bestCommit: baseCommit, bestRef: 'refs/heads/autoresearch/nulcommit' };
    const made = await commit({ lane, experimentId: 'nulcommit/exp-0000', experimentRef: 'refs/autoresearch/nulcommit/exp-0000', description: 'baseline', hypothesis: 'a\0b', edited: false });
    const message = (await execa('git', ['log', '-1', '--format=%B', made.commitFull], { cwd: config.repo })).stdout.trimEnd();
    expect(message).toBe('baseline\n\nab\n\nExperiment-Id: nulcommit/exp-0000');
  });
});
