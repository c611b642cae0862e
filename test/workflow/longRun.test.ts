/**
 * A long run with a trainer that returns at once: every history segment between continues-as-new
 * stays under a fixed size and no payload reaches 256 KB, however many experiments ran.
 * CI runs 40 experiments; `npm run test:long` runs 1,000 (LONG_RUN_EXPERIMENTS; about 30 minutes here).
 */
import type { temporal } from '@temporalio/proto';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults, withWorker } from '../helpers/run.js';
import { startTestTemporal, uniqueId, type TestTemporal } from '../helpers/temporalEnv.js';
import { createActivities } from '../../src/activities/index.js';
import { ZERO_USAGE } from '../../src/core/usage.js';
import type { ProposerContext } from '../../src/proposers/context.js';
import type { Proposal } from '../../src/core/proposal.js';

const EXPERIMENTS = Number(process.env.LONG_RUN_EXPERIMENTS ?? 40);
/** The server suggests continue-as-new at this many events; a segment may add one experiment's finish. */
const SUGGEST_AT = 200;
const MAX_SEGMENT_EVENTS = SUGGEST_AT + 100;
const MAX_PAYLOAD_BYTES = 256 * 1024;

let t: TestTemporal;
beforeAll(async () => {
  t = await startTestTemporal({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': SUGGEST_AT } });
}, 120_000);
afterAll(async () => {
  await t?.close();
});

type Event = temporal.api.history.v1.IHistoryEvent;

/** A proposer whose ideas never run out: each experiment sets WARMUP_RATIO to a value of its own. */
function nudge(ctx: ProposerContext): Proposal {
  const file = ctx.files[0];
  const line = /^WARMUP_RATIO = .*$/m.exec(file.content)![0];
  const value = (0.05 + ctx.experiment * 1e-5).toFixed(6);
  return { hypothesis: `warmup ratio ${value}`, description: `WARMUP_RATIO: ${value}`, edits: [{ path: file.path, search: line, replace: `WARMUP_RATIO = ${value}` }] };
}

/** The largest single payload anywhere in an event (inputs, results, signal and update arguments, details). */
function largestPayload(value: unknown): number {
  if (!value || typeof value !== 'object') return 0;
  const v = value as { data?: unknown; metadata?: unknown };
  if (v.data instanceof Uint8Array && v.metadata && typeof v.metadata === 'object') return v.data.length;
  return Math.max(0, ...Object.values(value).map(largestPayload));
}

test(`${EXPERIMENTS} experiments: history segments and payloads stay bounded`, async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('long');
  const input = fixtureRunInput(repo, tag, { maxExperiments: EXPERIMENTS, lanes: 2, trainer: { timeBudgetSeconds: 0.1 } });
  const started = Date.now();
  const summary = await withWorker(t, (taskQueue) => t.client.workflow.execute(researchRun, { taskQueue, workflowId: tag, args: [input] }),
    createActivities({ createProposer: () => ({ propose: async (ctx) => ({ proposal: nudge(ctx), usage: ZERO_USAGE }) }) }));
  expect(summary.experiments).toBe(EXPERIMENTS);
  expect((await readResults(repo, tag)).map((r) => r.experimentId).sort()).toEqual(
    Array.from({ length: EXPERIMENTS }, (_, i) => `${tag}/exp-${String(i).padStart(4, '0')}`));

  const segments: { events: number; largest: number }[] = [];
  for await (const execution of t.client.workflow.list({ query: `WorkflowId = '${tag}'` })) {
    const events: Event[] = (await t.client.workflow.getHandle(tag, execution.runId).fetchHistory()).events ?? [];
    segments.push({ events: events.length, largest: Math.max(...events.map(largestPayload)) });
  }
  const child = (await t.client.workflow.getHandle(`${tag}/exp-${String(EXPERIMENTS - 1).padStart(4, '0')}`).fetchHistory()).events ?? [];
  const largest = Math.max(...segments.map((s) => s.largest), ...child.map(largestPayload));
  console.log(`${EXPERIMENTS} experiments in ${((Date.now() - started) / 1000).toFixed(0)} s: ${segments.length} history segments, ` +
    `at most ${Math.max(...segments.map((s) => s.events))} events each; largest payload ${(largest / 1024).toFixed(1)} KB`);
  expect(segments.length).toBeGreaterThan(1);
  expect(Math.max(...segments.map((s) => s.events))).toBeLessThanOrEqual(MAX_SEGMENT_EVENTS);
  expect(largest).toBeLessThan(MAX_PAYLOAD_BYTES);
}, Math.max(180_000, EXPERIMENTS * 4_000));
