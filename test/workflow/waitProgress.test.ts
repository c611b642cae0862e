/**
 * `research wait` against a real dev server: while the fixture trainer sleeps, lines keep coming
 * (at most `everyMs` apart) and say which baseline run trains. The repeat interval is shortened
 * from 15 s so the test stays short; the 15 s default is the unit tests' (progress.test.ts).
 */
import { waitForRun } from '../../src/cli/commands.js';
import { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput } from '../helpers/fixtureRepo.js';
import { devServerAndFixtureRepo, withWorker } from '../helpers/run.js';
import { uniqueId } from '../helpers/temporalEnv.js';

const env = devServerAndFixtureRepo();

test('research wait prints the baseline run i of n and a line at least every few seconds while the trainer is silent; the experiment\'s page shows the same', async () => {
  const everyMs = 3000;
  const tag = uniqueId('wait');
  const lines: { at: number; line: string }[] = [];
  const pages = new Set<string>();
  await withWorker(env.t, async (taskQueue) => {
    await env.t.client.workflow.start(researchRun, {
      taskQueue, workflowId: tag, workflowExecutionTimeout: '2 minutes',
      args: [fixtureRunInput(env.repo, tag, { maxExperiments: 1, decision: { repeats: 2 }, trainer: { timeBudgetSeconds: 20, env: { FIXTURE_SLEEP: '5' } } })],
    });
    const started = Date.now();
    // Meanwhile, what the experiment's page in the web UI shows: its Current Details.
    let running = true;
    const pagePoll = (async () => {
      while (running) {
        const meta = await env.t.client.workflow.getHandle(`${tag}/exp-0000`).query<{ currentDetails?: string }>('__temporal_workflow_metadata')
          .catch(() => undefined);
        if (meta?.currentDetails) pages.add(meta.currentDetails);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    await waitForRun(env.t.client, tag, { pollMs: 250, everyMs, print: (line) => lines.push({ at: Date.now(), line }) });
    running = false;
    await pagePoll;
    lines.unshift({ at: started, line: '(start)' });
  });
  // The experiment's page: the phase with the baseline's run i of n, and how far its training is.
  const page = [...pages].join('\n---\n');
  expect(page).toMatch(/phase \*\*baseline run 1\/2\*\*/);
  expect(page).toMatch(/phase \*\*baseline run 2\/2\*\*/);
  expect(page).toMatch(/training: (\d+ s of a 20 s budget, about \d+ s left|starting)/);
  const text = lines.map((l) => l.line).join('\n');
  expect(text).toMatch(/training exp-0000 run 1\/2, /);
  expect(text).toMatch(/training exp-0000 run 2\/2, /);
  // The fixture prints nothing parseable: elapsed against the budget, from the heartbeat.
  expect(text).toMatch(/still training exp-0000 run [12]\/2, (\d+ s of a 20 s budget, about \d+ s left|starting)/);
  const gaps = lines.slice(1).map((l, i) => l.at - lines[i].at);
  // everyMs, plus one poll and its server calls.
  expect(Math.max(...gaps)).toBeLessThan(everyMs + 1500);
}, 60_000);
