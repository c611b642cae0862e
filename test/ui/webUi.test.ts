/** The Temporal web UI tells the story of a run without opening a payload (issue 5 §1). */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Browser, Page } from 'playwright-core';
import { startRun } from '../../src/cli/commands.js';
import { parseRunInput } from '../../src/config/runInput.js';
import { createWorker } from '../../src/createWorker.js';
import { BROWSER_TIMEOUT_MS, launchChromium } from '../../src/report/browser.js';
import { startDevServer, type DevServer } from '../../src/temporal/devServer.js';
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

test('the run page of a finished run shows its summary', async () => {
  const repo = await makeFixtureRepo();
  const tag = uniqueId('ui');
  const input = fixtureRunInput(repo, tag, { maxExperiments: 2 });
  const parsed = parseRunInput(input);
  if (!parsed.ok) throw new Error(parsed.error);
  // The run is started as the CLI starts it (task queue `autoresearch`: this server is the test's own).
  const worker = await createWorker({ connection: workerConnection, namespace: 'default', workflowBundle: await workflowBundle() });
  await worker.runUntil(async () => {
    const started = await startRun(client, parsed.config, input);
    await client.workflow.getHandle(started.workflowId).result();
    const summary = `${tag}: offline proposer, 5 s budget, 2 experiments`;

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(BROWSER_TIMEOUT_MS);
    await page.goto(`http://localhost:${server.uiPort}/namespaces/default/workflows/${encodeURIComponent(tag)}`);
    await page.getByText(summary).first().waitFor();
    await page.getByText('User Metadata').first().click();
    await page.waitForTimeout(3000);
    console.log('FRAMES>>>', page.frames().map((f) => f.url()).join(' | '));
    const html = await page.content();
    const k = html.indexOf('Current Details');
    console.log('HTML>>>', html.slice(k, k + 3000));
  });
});
