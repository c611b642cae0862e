/** The Temporal web UI tells the story of a run without opening a payload. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Browser, Page } from 'playwright-core';
import { startRun } from '../../src/cli/commands.js';
import { parseRunInput } from '../../src/core/runInput.js';
import { createWorker } from '../../src/createWorker.js';
import { BROWSER_TIMEOUT_MS, launchChromium } from '../../src/report/browser.js';
import { startDevServer, type DevServer } from '../../src/temporal/devServer.js';
import { resultsQuery } from '../../src/api/messages.js';
import type { researchRun } from '../../src/workflows/researchRun.js';
import { fixtureRunInput, makeFixtureRepo } from '../helpers/fixtureRepo.js';
import { uniqueId, workflowBundle } from '../helpers/temporalEnv.js';

let server: DevServer;
let connection: Connection;
let workerConnection: NativeConnection;
let client: Client;
let browser: Browser;
beforeAll(async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-ui-'));
  server = await startDevServer({ dbFile: path.join(dir, 'temporal.db'), ui: true, logFile: path.join(dir, 'server.log') });
  connection = await Connection.connect({ address: server.address });
  workerConnection = await NativeConnection.connect({ address: server.address });
  client = new Client({ connection });
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await workerConnection?.close().catch(() => undefined);
  await connection?.close().catch(() => undefined);
  await server?.stop();
});

/** Waits until a markdown pane (summary, details, current details: each an iframe of its own) shows `text`. */
async function waitForText(page: Page, text: string, timeoutMs = BROWSER_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames().filter((f) => f !== page.mainFrame())) {
      const body = await frame.locator('body').innerText({ timeout: 1000 }).catch(() => '');
      if (body.includes(text)) return;
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`"${text}" not shown within ${timeoutMs} ms`);
}

async function openUserMetadata(page: Page, workflowId: string): Promise<void> {
  await page.goto(`http://localhost:${server.uiPort}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
  await page.getByRole('link', { name: 'User Metadata' }).or(page.getByText('User Metadata', { exact: true })).first().click();
}

test('the run page of a finished run shows its summary, its configuration and its current details; an experiment\'s shows its hypothesis', async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('ui');
  const input = fixtureRunInput(repo, tag, { maxExperiments: 2 });
  const parsed = parseRunInput(input);
  if (!parsed.ok) throw new Error(parsed.error);
  // Started as the CLI starts it, on task queue `autoresearch` (this server is the test's own).
  const worker = await createWorker({ connection: workerConnection, namespace: 'default', workflowBundle: await workflowBundle() });
  // The worker stays up while the pages load: current details come from a query the worker answers.
  await worker.runUntil(async () => {
    const started = await startRun(client, parsed.config, input);
    const summary = await client.workflow.getHandle<typeof researchRun>(started.workflowId).result();
    expect(summary.experiments).toBe(2);
    const records = await client.workflow.getHandle(started.workflowId).query(resultsQuery);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(BROWSER_TIMEOUT_MS);
    await openUserMetadata(page, tag);
    await waitForText(page, `${tag}: offline proposer, 5 s budget, 2 experiments`);
    await waitForText(page, `Research run ${tag} on branch autoresearch/${tag}`);
    await waitForText(page, 'Run ended: reached maxExperiments (2)');
    await page.screenshot({ path: '/tmp/ui-run.png' });

    await openUserMetadata(page, `${tag}/exp-0001`);
    await waitForText(page, records[1].hypothesis);
    await page.screenshot({ path: '/tmp/ui-experiment.png' });
  });
});
