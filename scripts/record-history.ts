/**
 * Regenerates test/histories/: runs a short fixture run (3 experiments, a steering note) on a
 * throw-away dev server and saves the history of the run and of each experiment. test/replay
 * replays them against the current workflow code, so a change that breaks determinism fails the tests.
 *
 * The files hold `History.toObject` (int64 and bytes as strings), read back with `History.fromObject`,
 * not the proto-JSON of `temporal workflow show --output json`: in this install npm keeps two copies
 * of protobufjs 8 (under @temporalio/common and @temporalio/proto), and the SDK's historyToJSON and
 * historyFromJSON then fail with "type must be a Type".
 *
 * A second run, CLI_TAG, is driven with the plain temporal CLI (start, pause, resume, steer, stop)
 * and saved as the CLI exports it (`temporal workflow show --output json`), so both forms are covered.
 *
 * Re-record only when a workflow change is meant to be incompatible with running workflows
 * (docs/architecture.md says when):
 *   npx tsx scripts/record-history.ts
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { NativeConnection } from '@temporalio/worker';
import { createWorker } from '../src/createWorker.js';
import { execa } from 'execa';
import { startDevServer, temporalCli } from '../src/temporal/devServer.js';
import { steerUpdate } from '../src/api/messages.js';
import { researchRun } from '../src/workflows/researchRun.js';
import { experimentName } from '../src/core/names.js';
import { fixtureRunInput, makeFixtureRepo } from '../test/helpers/fixtureRepo.js';

export const HISTORIES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../test/histories');
const TAG = 'recorded-run';
const EXPERIMENTS = 3;
const CLI_TAG = 'clicheck';

const { History } = proto.temporal.api.history.v1;

export function historyToObject(history: proto.temporal.api.history.v1.IHistory): object {
  return History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String });
}

async function main() {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ar-record-'));
  const server = await startDevServer({ dbFile: path.join(dir, 'temporal.db'), logFile: path.join(dir, 'server.log') });
  const connection = await Connection.connect({ address: server.address });
  const workerConnection = await NativeConnection.connect({ address: server.address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const repo = await makeFixtureRepo();
    const taskQueue = 'record-history';
    const worker = await createWorker({ connection: workerConnection, namespace: 'default', taskQueue });
    const summary = await worker.runUntil(async () => {
      const handle = await client.workflow.start(researchRun, {
        taskQueue, workflowId: TAG, args: [fixtureRunInput(repo, TAG, { maxExperiments: EXPERIMENTS, trainer: { timeBudgetSeconds: 1 } })],
      });
      await handle.executeUpdate(steerUpdate, { args: [{ note: 'try a deeper model' }] });
      const summary = await handle.result();
      await driveWithCli(server.address, repo, taskQueue);
      return summary;
    });

    await mkdir(HISTORIES_DIR, { recursive: true });
    for (const old of (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json'))) await rm(path.join(HISTORIES_DIR, old));
    const ids = [TAG, ...Array.from({ length: summary.experiments }, (_, i) => `${TAG}/${experimentName(i)}`)];
    for (const id of ids) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      const file = path.join(HISTORIES_DIR, `${id.replace('/', '.')}.json`);
      await writeFile(file, JSON.stringify(historyToObject(history), null, 2) + '\n');
      console.log(`${path.relative(process.cwd(), file)}: ${history.events?.length ?? 0} events`);
    }
    const cliExport = await execa(await temporalCli(), ['workflow', 'show', '--address', server.address, '-w', CLI_TAG, '--output', 'json']);
    await writeFile(path.join(HISTORIES_DIR, `${CLI_TAG}.json`), cliExport.stdout + '\n');
    console.log(`test/histories/${CLI_TAG}.json: exported with the temporal CLI`);
    await rm(repo, { recursive: true, force: true });
  } finally {
    await workerConnection.close();
    await connection.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A run started, paused, resumed, steered and stopped with the plain temporal CLI, as the README shows. */
async function driveWithCli(address: string, repo: string, taskQueue: string): Promise<void> {
  const cli = await temporalCli();
  const temporal = (...args: string[]) => execa(cli, [...args, '--address', address]);
  const input = path.join(repo, 'clicheck.json');
  await writeFile(input, JSON.stringify(fixtureRunInput(repo, CLI_TAG, { maxExperiments: 10, trainer: { timeBudgetSeconds: 1, env: { FIXTURE_SLEEP: '1' } } })));
  await temporal('workflow', 'start', '--type', 'researchRun', '--task-queue', taskQueue, '--workflow-id', CLI_TAG, '--input-file', input);
  await temporal('workflow', 'signal', '-w', CLI_TAG, '--name', 'pause');
  await temporal('workflow', 'signal', '-w', CLI_TAG, '--name', 'resume');
  await temporal('workflow', 'update', 'execute', '-w', CLI_TAG, '--name', 'steer', '--input', JSON.stringify({ note: 'try a deeper model' }));
  await new Promise((r) => setTimeout(r, 3000)); // into the second experiment
  await temporal('workflow', 'signal', '-w', CLI_TAG, '--name', 'stop');
  await temporal('workflow', 'result', '-w', CLI_TAG);
}

main().catch((err) => {
  console.error(`record-history: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
