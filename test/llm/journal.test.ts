/**
 * The repeat check with the real Claude proposer against a local Messages API: a proposal that
 * reproduces code trained before is refused before anything is committed or trained, the proposer
 * is told which earlier result it reproduces, and the refusal is counted.
 */
import { gitAt } from '../../src/activities/gitOps.js';
import { readJournal } from '../../src/activities/journalStore.js';
import { statusQuery } from '../../src/api/messages.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { readResults, withWorker } from '../helpers/run.js';
import { useTestTemporal, uniqueId } from '../helpers/temporalEnv.js';
import { claudeToolUse, useAnthropicEnvFor, useFakeLlm } from './fakeServer.js';
import { SECRET_KEY } from './fixtures.js';

const fake = useFakeLlm();
useAnthropicEnvFor(fake, SECRET_KEY);
const dev = useTestTemporal();

const edit = (line: string, to: string, description: string) => ({
  hypothesis: `${description} should lower val_bpb`, description, edits: [{ path: 'train.py', search: line, replace: to }],
});
const SHALLOWER = edit('DEPTH = 4  # optimum 6', 'DEPTH = 2  # optimum 6', 'DEPTH: 4 -> 2');
const DEEPER = edit('DEPTH = 4  # optimum 6', 'DEPTH = 6  # optimum 6', 'DEPTH: 4 -> 6');

test('a proposal that reproduces a discarded experiment is refused before training, naming it; the retry is counted', async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('repeat');
  // exp 1: a worse depth (discarded). exp 2: the same code again (refused), then a new idea (kept).
  fake.server.script(claudeToolUse(SHALLOWER), claudeToolUse(SHALLOWER), claudeToolUse(DEEPER));
  const { status } = await withWorker(dev.t, async (taskQueue) => {
    const handle = await dev.t.client.workflow.start(researchRun, {
      taskQueue, workflowId: tag, workflowExecutionTimeout: '3 minutes',
      args: [fixtureRunInput(repo, tag, { maxExperiments: 3, decision: 'greedy', pipeline: false, proposer: { kind: 'claude', model: 'claude-sonnet-4-5' } }) as never],
    });
    await handle.result();
    return { status: await handle.query(statusQuery) };
  });

  const rows = await readResults(repo, tag);
  expect(rows.map((r) => [r.status, r.description])).toEqual([['keep', 'baseline'], ['discard', 'DEPTH: 4 -> 2'], ['keep', 'DEPTH: 4 -> 6']]);
  expect(fake.server.requests).toHaveLength(3);
  const repair = JSON.stringify(fake.server.requests[2].body);
  expect(repair).toContain(`already measured as exp-0001 of run ${tag}: val_bpb ${rows[1].valBpb.toFixed(6)}, discard (DEPTH: 4 -> 2)`);
  // The first prompt of exp 2 already listed exp 1 in its journal section.
  expect(JSON.stringify(fake.server.requests[1].body)).toContain('#1 discard');

  // Refused before anything was committed: exp 2 has one commit, the kept one; the count reaches the status and the journal.
  const { records } = await readJournal(gitAt(repo), repo);
  expect(records.filter((r) => r.tag === tag).map((r) => [r.experiment, r.refusals])).toEqual([[0, 0], [1, 0], [2, 1]]);
  expect(status).toMatchObject({ refusals: 1 });
}, 180_000);
