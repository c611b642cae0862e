/** Journal records for tests: a discard of tag nov23 by default, with `over` on top. */
import { settingsOf, type JournalRecord } from '../../src/core/journal.js';

export const SETTINGS = settingsOf({ timeBudgetSeconds: 300, command: 'uv run train.py', evaluation: 'harness', env: {} });

export function journalRecord(experiment: number, over: Partial<JournalRecord> = {}): JournalRecord {
  return {
    tag: 'nov23', experimentId: `nov23/exp-${String(experiment).padStart(4, '0')}`, experiment, parentCommit: 'a'.repeat(40),
    commit: `${experiment}`.padStart(40, 'c'), contentHash: `h${experiment}`, description: `LEARNING_RATE: 0.04 -> 0.0${experiment % 9 + 1}`,
    hypothesis: `hypothesis ${experiment}`, status: 'discard', valBpb: 1 + experiment / 1000, delta: -0.001, sigma: 0.002, confirmations: 0,
    reason: '', lane: 'host-cpu0', time: new Date(Date.UTC(2025, 0, 1, 0, experiment)).toISOString(), settings: SETTINGS,
    touched: ['LEARNING_RATE'], refusals: 0, baseline: false, ...over,
  };
}

/**
 * Whether the journal section names experiment `r`: its own line (`#N …`, this run), a kept line
 * (`- tag #N: …`), or a group that lists it (`tag #a #b-c`).
 */
export function namesExperiment(text: string, r: Pick<JournalRecord, 'tag' | 'experiment'>, thisRun: string): boolean {
  return text.split('\n').some((line) => {
    if (r.tag === thisRun && line.startsWith(`#${r.experiment} `)) return true;
    for (const m of line.matchAll(new RegExp(`(?:^|[ ,])${r.tag.replace(/[.]/g, '\\.')}((?: #\\d+(?:-\\d+)?)+)`, 'g'))) {
      for (const [, a, b] of m[1].matchAll(/#(\d+)(?:-(\d+))?/g)) {
        if (r.experiment >= Number(a) && r.experiment <= Number(b ?? a)) return true;
      }
    }
    return false;
  });
}
