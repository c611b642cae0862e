import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker, type ReplayResult, type WorkflowBundle } from '@temporalio/worker';
import webpack from 'webpack';
import { WORKFLOWS_PATH } from '../../src/createWorker.js';
import { workflowBundle } from '../helpers/temporalEnv.js';

/**
 * Saved histories of a finished run (scripts/record-history.ts) replay against today's workflow
 * code: a change that would break running workflows (a new activity, a reordered step) fails here.
 */
const HISTORIES_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../histories');
const { History } = proto.temporal.api.history.v1;

interface SavedHistory {
  /** The file name: `<tag>.json` for the run, `<tag>.exp-NNNN.json` for an experiment. */
  workflowId: string;
  workflowType: string;
  history: proto.temporal.api.history.v1.History;
}

async function savedHistories(): Promise<SavedHistory[]> {
  const files = (await readdir(HISTORIES_DIR)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (f) => {
      // Two forms: History.toObject (scripts/record-history.ts) and proto-JSON from
      // `temporal workflow show --output json` (timestamps as strings).
      const raw = JSON.parse(await readFile(path.join(HISTORIES_DIR, f), 'utf8'));
      const cliExport = typeof raw.events?.[0]?.eventTime === 'string';
      const history = cliExport ? (historyFromJSON(raw) as proto.temporal.api.history.v1.History) : History.fromObject(raw);
      const workflowType = history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
      return { workflowId: path.basename(f, '.json').replace('.', '/'), workflowType, history };
    }),
  );
}

/** The workflows as bundled by a later release whose run defaults differ (test/replay/changedDefaults.ts). */
function bundleWithChangedDefaults(): Promise<WorkflowBundle> {
  const changed = path.join(path.dirname(fileURLToPath(import.meta.url)), 'changedDefaults.ts');
  const silent = () => undefined;
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { log: silent, trace: silent, debug: silent, info: silent, warn: silent, error: console.error },
    webpackConfigHook: (config) => ({
      ...config, plugins: [...(config.plugins ?? []), new webpack.NormalModuleReplacementPlugin(/^\.\/defaults(\.js)?$/, (resource: { context: string; request: string }) => {
        if (resource.context.endsWith(path.join('src', 'core'))) resource.request = changed;
      })],
    }),
  });
}

async function replay(histories: SavedHistory[], bundle?: WorkflowBundle): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  const options = { workflowBundle: bundle ?? await workflowBundle(), replayName: 'replay-test' };
  for await (const result of Worker.runReplayHistories(options, histories)) results.push(result);
  return results;
}

describe('saved histories replay', () => {
  test('every saved run and experiment history replays without a determinism error', async () => {
    const histories = await savedHistories();
    // At least one run and one experiment, or the test proves nothing.
    expect(histories.filter((h) => h.workflowType === 'researchRun').length).toBeGreaterThanOrEqual(1);
    expect(histories.filter((h) => h.workflowType === 'experiment').length).toBeGreaterThanOrEqual(1);

    const results = await replay(histories);
    expect(results.map((r) => r.workflowId)).toEqual(histories.map((h) => h.workflowId));
    expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error}`)).toEqual([]);
  });

  test('they replay as well against a release whose run defaults changed: a run resolves them once and carries them', async () => {
    const bundle = await bundleWithChangedDefaults();
    expect(bundle.code).toContain("program: 'direction.md'"); // the changed module is the one bundled
    const results = await replay(await savedHistories(), bundle);
    expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error}`)).toEqual([]);
  }, 120_000);

  test('a history the code would not produce fails to replay (the check can fail)', async () => {
    const [run] = (await savedHistories()).filter((h) => h.workflowType === 'researchRun');
    const scheduled = run.history.events.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'notAnActivityOfOurs';

    const [result] = await replay([run]);
    expect(result.error).toBeDefined();
    expect(String(result.error)).toMatch(/nondetermin/i);
  });
});
