import { describe, expect, test } from '@jest/globals';
import { ProposerConfigSchema } from '../../src/core/runInput.js';
import type { Proposal } from '../../src/core/proposal.js';
import type { ProposerContext } from '../../src/proposers/context.js';
import { createClaudeProposer } from '../../src/proposers/claude.js';
import { studyRequest } from '../../src/proposers/optimizer.js';
import { createHybridProposer, optimizerTurn } from '../../src/proposers/optimizerHybrid.js';
import type { SuggestAnswer, SuggestRequest } from '../../src/proposers/optimizerProtocol.js';
import { changesOf } from '../../src/proposers/optimizerTrials.js';
import { useFakeLlm, claudeToolUse } from './fakeServer.js';
import { SECRET_KEY, TRAIN_PY } from './fixtures.js';
import { journalRecord } from '../helpers/journalRecords.js';

const fake = useFakeLlm();

const config = (seed = 1, share = 0.7) => ProposerConfigSchema.parse({ kind: 'claude', seed, optimizer: { share } });

/** The optimizer's sampler, faked: it always suggests LR 0.025 and DEPTH 10. */
function sampler() {
  const asked: SuggestRequest[] = [];
  const suggest = async (r: SuggestRequest): Promise<SuggestAnswer> => (asked.push(r), { params: { DEPTH: 10, LR: 0.025 } });
  return { asked, suggest };
}

function hybrid(seed = 1, share = 0.7, suggest = sampler().suggest) {
  const llm = createClaudeProposer(config(seed, share), {
    env: { ANTHROPIC_API_KEY: SECRET_KEY, ANTHROPIC_BASE_URL: fake.server.url },
    retry: { attempts: 1, initialDelayMs: 5, maxDelayMs: 5, timeoutMs: 5_000 },
  });
  return createHybridProposer(llm, config(seed, share), suggest);
}

function context(experiment: number, over: Partial<ProposerContext> = {}): ProposerContext {
  return { experiment, program: 'Make val_bpb go down.', files: [{ path: 'train.py', content: TRAIN_PY }], recent: [], experimentsDone: experiment,
    steeringNotes: [], ...over };
}

/** The LLM's own idea: LR up to 0.04, not what the optimizer suggested. */
const OVERRIDE: Proposal = {
  hypothesis: 'A much higher learning rate suits the short budget.',
  description: 'LR much higher',
  edits: [{ path: 'train.py', search: 'LR = 0.02  # matrix learning rate', replace: 'LR = 0.04  # matrix learning rate' }],
};

describe('the hybrid of an LLM and the optimizer', () => {
  test('the optimizer proposes its share of the experiments, the LLM the rest, and the LLM sees the suggestion', async () => {
    const N = 20;
    const proposer = hybrid(3, 0.7);
    const llmTurns = Array.from({ length: N }, (_, i) => i + 1).filter((n) => !optimizerTurn(3, n, 0.7));
    fake.server.script(...llmTurns.map(() => claudeToolUse(OVERRIDE)));
    const byOptimizer: number[] = [];
    for (let n = 1; n <= N; n++) {
      const { proposal, usage } = await proposer.propose(context(n));
      if (proposal.description === 'DEPTH: 8 -> 10, LR: 0.02 -> 0.025') {
        byOptimizer.push(n);
        expect(usage.costUsd).toBe(0);
      }
    }
    expect(byOptimizer.length).toBe(14); // 0.7 of 20
    expect(fake.server.requests).toHaveLength(N - 14);
    for (const req of fake.server.requests) {
      const volatile: string = req.body.messages[0].content[1].text;
      expect(volatile).toContain("# The optimizer's suggestion");
      expect(volatile).toContain('would try next: DEPTH: 8 -> 10, LR: 0.02 -> 0.025');
    }
  });

  test('the share holds over any run of experiments, whatever the seed, and the same seed gives the same turns', () => {
    for (const seed of [1, 2, 99]) {
      for (const share of [0.3, 0.5, 0.7]) {
        for (const start of [1, 37]) {
          const turns = Array.from({ length: 50 }, (_, i) => optimizerTurn(seed, start + i, share)).filter(Boolean).length;
          expect(Math.abs(turns - 50 * share)).toBeLessThanOrEqual(1);
        }
      }
      expect(Array.from({ length: 30 }, (_, i) => optimizerTurn(seed, i, 0.7))).toEqual(Array.from({ length: 30 }, (_, i) => optimizerTurn(seed, i, 0.7)));
    }
  });

  test("the LLM's override is used, and the optimizer learns it: its constants line comes back through the journal", async () => {
    const n = Array.from({ length: 10 }, (_, i) => i + 1).find((e) => !optimizerTurn(1, e, 0.7))!;
    fake.server.script(claudeToolUse(OVERRIDE));
    const { proposal } = await hybrid(1, 0.7).propose(context(n));
    expect(proposal.edits).toEqual(OVERRIDE.edits);
    expect(proposal.description).toBe('LR much higher');
    expect(proposal.hypothesis).toBe('A much higher learning rate suits the short budget.\nconstants: LR: 0.02 -> 0.04');
    expect(changesOf(proposal)).toEqual([{ name: 'LR', from: '0.02', to: '0.04' }]);

    // Recorded by the journal, it is a trial of the next study with the LLM's value.
    const c = (k: number) => `c${k}`.padEnd(40, '0');
    const records = [
      journalRecord(0, { tag: 'run', baseline: true, parentCommit: 'b', commit: c(0), description: 'baseline', valBpb: 1, status: 'keep', touched: [] }),
      journalRecord(n, { tag: 'run', parentCommit: c(0), commit: c(n), description: proposal.description, hypothesis: proposal.hypothesis,
        valBpb: 1.01, status: 'discard', touched: ['LR'] }),
    ];
    const next = studyRequest(context(n + 1, {
      history: { tag: 'run', records }, best: { experiment: 0, commit: 'c0', commitFull: c(0), valBpb: 1 },
    }), { sampler: 'tpe' }, 1)!;
    expect(next.request.trials).toEqual([
      { params: { DEPTH: 8, LR: 0.02 }, value: 1, state: 'complete' },
      { params: { DEPTH: 8, LR: 0.04 }, value: 1.01, state: 'complete' },
    ]);
  });

  test('a structural change of the LLM leaves the hypothesis as it was; a failing sampler leaves the prompt without a suggestion', async () => {
    const n = Array.from({ length: 10 }, (_, i) => i + 1).find((e) => !optimizerTurn(1, e, 0.7))!;
    const structural: Proposal = { ...OVERRIDE, description: 'print more', edits: [{ path: 'train.py', search: 'print("---")', replace: 'print("----")' }] };
    fake.server.script(claudeToolUse(structural));
    const failing = async (): Promise<SuggestAnswer> => {
      throw new Error('no Python');
    };
    const { proposal } = await hybrid(1, 0.7, failing).propose(context(n));
    expect(proposal).toEqual(structural);
    expect(fake.server.requests[0].body.messages[0].content[1].text).not.toContain("optimizer's suggestion");
  });
});
