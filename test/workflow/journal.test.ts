/**
 * Two runs on one repository, on a real dev server, with the offline proposer and the fixture
 * trainer: the second run's first prompt holds the first run's results, and across both runs no
 * code is trained twice (a run's baseline, measured on purpose, excepted).
 */
import { createActivities } from '../../src/activities/index.js';
import { gitAt } from '../../src/activities/gitOps.js';
import { readJournal } from '../../src/activities/journalStore.js';
import { contentKey, TRAINED } from '../../src/core/journal.js';
import { createProposer } from '../../src/proposers/index.js';
import type { ProposerContext } from '../../src/proposers/context.js';
import { renderPrompt } from '../../src/proposers/prompt.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput } from '../helpers/fixtureRepo.js';
import { namesExperiment } from '../helpers/journalRecords.js';
import { devServerAndFixtureRepo, readResults, withWorker } from '../helpers/run.js';
import { uniqueId } from '../helpers/temporalEnv.js';

const env = devServerAndFixtureRepo();
/** Experiments per run: enough for the offline search to come back to code it trained before. */
const EXPERIMENTS = Number(process.env.JOURNAL_TEST_EXPERIMENTS ?? 10);

test('the second run\'s first prompt holds the first run\'s results; no code is trained twice across both runs', async () => {
  const seen: ProposerContext[] = [];
  const activities = createActivities({
    createProposer: (config) => {
      const inner = createProposer(config);
      return { propose: (ctx, signal, onSpending) => (seen.push(ctx), inner.propose(ctx, signal, onSpending)) };
    },
  });
  const run = (tag: string) => withWorker(env.t, (taskQueue) => env.t.client.workflow.execute(researchRun, {
    taskQueue, workflowId: tag, workflowExecutionTimeout: '5 minutes',
    args: [fixtureRunInput(env.repo, tag, { maxExperiments: EXPERIMENTS, decision: 'greedy', proposer: { kind: 'offline', seed: 3 } })],
  }), activities);
  const [first, second] = [uniqueId('night1'), uniqueId('night2')];

  await run(first);
  const proposalsOfFirst = seen.length;
  await run(second);

  // The second run's first proposal saw every experiment of the first, in its prompt's journal section.
  const firstRows = await readResults(env.repo, first);
  const prompt = renderPrompt(seen[proposalsOfFirst]).volatile;
  expect(prompt).toMatch(new RegExp(`# Research journal: ${firstRows.length + 1} experiments in 2 runs`));
  for (const row of firstRows) {
    const experiment = Number(/exp-(\d+)$/.exec(row.experimentId!)![1]);
    expect([experiment, namesExperiment(prompt, { tag: first, experiment }, second)]).toEqual([experiment, true]);
  }
  expect(prompt).not.toMatch(/latest are shown; \d+ older ones are not/);

  // One record per experiment of both runs, and no code (content and settings) trained twice.
  const { records } = await readJournal(gitAt(env.repo), env.repo);
  const ours = records.filter((r) => r.tag === first || r.tag === second);
  expect(ours.filter((r) => r.tag === first)).toHaveLength(firstRows.length);
  expect(ours.filter((r) => r.tag === second)).toHaveLength((await readResults(env.repo, second)).length);
  const trained = new Map<string, string[]>();
  for (const r of ours.filter((x) => TRAINED.includes(x.status) && x.contentHash && !x.baseline)) {
    const key = contentKey(r.contentHash, r.settings!);
    trained.set(key, [...(trained.get(key) ?? []), `${r.tag}#${r.experiment}`]);
  }
  const baselines = new Set(ours.filter((r) => r.baseline).map((r) => contentKey(r.contentHash, r.settings!)));
  expect([...trained.values()].filter((ids) => ids.length > 1)).toEqual([]);
  expect([...trained].filter(([key]) => baselines.has(key)).map(([, ids]) => ids)).toEqual([]);
  expect(ours.filter((r) => !r.baseline && TRAINED.includes(r.status)).length).toBeGreaterThan(EXPERIMENTS);
}, 240_000);
