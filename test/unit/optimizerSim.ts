/**
 * A night of a proposer on a fixture landscape (a pure function of the constants), with the journal
 * it would write: every experiment a record on the chain of kept commits, kept when it is better.
 * Shared by the optimizer's tests; noise-free, so two proposers compare on the truth alone.
 */
import { settingsOf, type JournalRecord } from '../../src/core/journal.js';
import type { ExperimentRecord } from '../../src/core/results.js';
import type { Proposer, ProposerContext } from '../../src/proposers/context.js';
import { findConstants } from '../../src/proposers/constants.js';
import { ProposerFatalError } from '../../src/core/failures.js';
import { makeRecord } from '../helpers/run.js';

export const FIXTURE = `"""a fixture trainer"""
MATRIX_LR = 0.04  # moves with EMBEDDING_LR
EMBEDDING_LR = 0.6
WEIGHT_DECAY = 0.2
DEPTH = 8
SEED = 42
`;

const ln = Math.log;

/**
 * Lower is better. The two learning rates gain only when moved together (alone, a step of 25% costs
 * more than it gains); WEIGHT_DECAY and DEPTH are plain bowls.
 */
export function fixtureValue(v: Record<string, number>): number {
  const u = ln(v.MATRIX_LR / 0.04);
  const e = ln(v.EMBEDDING_LR / 0.6);
  const w = ln(v.WEIGHT_DECAY / 0.2);
  const d = ln(v.DEPTH / 8);
  return 1 + 0.5 * (u + e - 1.2) ** 2 + 10 * (u - e) ** 2 + 0.3 * (w + 0.7) ** 2 + 0.2 * (d - 0.3) ** 2;
}

export function valuesOf(content: string): Record<string, number> {
  return Object.fromEntries(findConstants('train.py', content).flatMap((c) => (typeof c.value.value === 'number' ? [[c.name, c.value.value]] : [])));
}

const SETTINGS = settingsOf({ timeBudgetSeconds: 300, command: 'uv run train.py', evaluation: 'harness', env: {} });

function apply(content: string, edits: { path: string; search?: string; replace?: string; content?: string }[]): string {
  let out = content;
  for (const e of edits) out = e.content ?? out.replace(e.search!, () => e.replace!);
  return out;
}

export interface NightResult {
  best: number;
  records: JournalRecord[];
}

/** `runs` experiments after the baseline (fewer when the proposer has nothing left); the best value reached. */
export async function runNight(proposer: Proposer, runs: number, tag = 'night'): Promise<NightResult> {
  let content = FIXTURE;
  let best = { commit: 'c0'.padEnd(40, '0'), value: fixtureValue(valuesOf(FIXTURE)), experiment: 0 };
  const time = (n: number) => new Date(Date.UTC(2025, 0, 1, 0, n)).toISOString();
  const records: JournalRecord[] = [{
    tag, experimentId: `${tag}/exp-0000`, experiment: 0, parentCommit: 'base'.padEnd(40, '0'), commit: best.commit, contentHash: FIXTURE,
    description: 'baseline', hypothesis: 'baseline', status: 'keep', valBpb: best.value, confirmations: 0, reason: '', lane: 'l',
    time: time(0), settings: SETTINGS, touched: [], refusals: 0, baseline: true,
  }];
  const recent: ExperimentRecord[] = [makeRecord(0, { valBpb: best.value, description: 'baseline' })];
  const trained = new Set([FIXTURE]);
  for (let n = 1; n <= runs; n++) {
    const ctx: ProposerContext = {
      experiment: n, program: '', files: [{ path: 'train.py', content }], recent: recent.slice(-20), experimentsDone: n, steeringNotes: [],
      best: { experiment: best.experiment, commit: best.commit.slice(0, 7), commitFull: best.commit, valBpb: best.value },
      history: { tag, records }, measured: (files) => trained.has(files['train.py']),
    };
    let proposal;
    try {
      ({ proposal } = await proposer.propose(ctx));
    } catch (err) {
      if (err instanceof ProposerFatalError) break; // nothing left to propose: the night ends
      throw err;
    }
    const next = apply(content, proposal.edits);
    trained.add(next);
    const value = fixtureValue(valuesOf(next));
    const kept = value < best.value;
    const before = valuesOf(content);
    const after = valuesOf(next);
    const commit = `c${n}`.padEnd(40, '0');
    records.push({
      ...records[0], experimentId: `${tag}/exp-${n}`, experiment: n, parentCommit: best.commit, commit, contentHash: next,
      description: proposal.description, hypothesis: proposal.hypothesis, status: kept ? 'keep' : 'discard', valBpb: value, time: time(n),
      touched: Object.keys(after).filter((k) => after[k] !== before[k]).slice(0, 4), baseline: false,
    });
    recent.push(makeRecord(n, { valBpb: value, description: proposal.description, status: kept ? 'keep' : 'discard' }));
    if (kept) {
      best = { commit, value, experiment: n };
      content = next;
    }
  }
  return { best: best.value, records };
}
