/**
 * Fetches what progress.ts formats: for each running experiment (a child workflow `<tag>/exp-NNNN`),
 * its pending activity with the heartbeat details, the activity's summary and the experiment's
 * settings. Pending activities carry no summary, so it is read once per activity from the child's
 * history (its ActivityTaskScheduled event's user metadata), as is the child's input.
 */
import type { Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import { decodeArrayFromPayloads, decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { optionalTsToMs } from '@temporalio/common/lib/time.js';
import { experimentId } from '../core/names.js';
import type { RunStatus } from '../api/messages.js';
import type { ActivityState, MeasureSettings } from './progress.js';

const { PendingActivityState } = proto.temporal.api.enums.v1; // a CommonJS module: named imports do not resolve under ESM

/** Each server call is bounded: a progress line must never hang the wait it decorates. */
const CALL_DEADLINE_MS = 5_000;

interface ChildInfo {
  settings: MeasureSettings;
  /** Per activity id: its summary and, for train and evaluate, which train activity of the experiment it is (or follows). */
  activities: Map<string, { summary?: string; trainIndex?: number }>;
}

/** Remembers what it read from each child's history, so each poll costs one describe per running experiment. */
export class RunProgressReader {
  private readonly children = new Map<string, ChildInfo>();

  /** `runWorkflowId`: the run's workflow id, which names its experiments' workflows (`research start` makes it the tag). */
  constructor(private readonly client: Client, private readonly runWorkflowId: string) {}

  /** The pending activities of the run's running experiments; an experiment the server cannot describe is left out. */
  async read(s: RunStatus): Promise<ActivityState[]> {
    const numbers = s.running.length ? s.running.map((r) => r.experiment)
      : s.phase === 'train' || s.phase === 'hypothesize' ? [s.experiment] : [];
    const states = await Promise.all(numbers.map((n) => this.experiment(n).catch(() => [] as ActivityState[])));
    // What was read of finished experiments is not needed again: a night's run has thousands.
    const live = new Set(numbers.map((n) => experimentId(this.runWorkflowId, n)));
    for (const id of this.children.keys()) if (!live.has(id)) this.children.delete(id);
    return states.flat();
  }

  private async experiment(n: number): Promise<ActivityState[]> {
    const id = experimentId(this.runWorkflowId, n);
    const handle = this.client.workflow.getHandle(id);
    const described = await this.client.withDeadline(Date.now() + CALL_DEADLINE_MS, () => handle.describe());
    if (described.status.name !== 'RUNNING') return [];
    const pending = described.raw.pendingActivities ?? [];
    let info = this.children.get(id);
    if (!info || pending.some((p) => !info!.activities.has(p.activityId ?? ''))) {
      info = await this.history(id);
      this.children.set(id, info);
    }
    const converter = this.client.options.loadedDataConverter;
    return Promise.all(pending.map(async (p): Promise<ActivityState> => {
      const known = info!.activities.get(p.activityId ?? '');
      const details = p.heartbeatDetails?.payloads?.length
        ? await decodeArrayFromPayloads(converter, p.heartbeatDetails.payloads).then((d) => d[0], () => undefined)
        : undefined;
      return {
        experiment: n, type: p.activityType?.name ?? 'activity', summary: known?.summary, trainIndex: known?.trainIndex,
        attempt: p.attempt ?? undefined, waiting: p.state === PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED, startedAtMs: optionalTsToMs(p.lastStartedTime) ?? undefined,
        heartbeatAtMs: optionalTsToMs(p.lastHeartbeatTime) ?? undefined, details, settings: info!.settings,
      };
    }));
  }

  private async history(id: string): Promise<ChildInfo> {
    const history = await this.client.withDeadline(Date.now() + CALL_DEADLINE_MS, () => this.client.workflow.getHandle(id).fetchHistory());
    const converter = this.client.options.loadedDataConverter;
    const info: ChildInfo = { settings: {}, activities: new Map() };
    let trains = 0;
    for (const event of history.events ?? []) {
      const started = event.workflowExecutionStartedEventAttributes;
      if (started) info.settings = settingsOf(await decodeFromPayloadsAtIndex(converter, 0, started.input?.payloads).catch(() => undefined));
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (!scheduled?.activityId) continue;
      const type = scheduled.activityType?.name;
      if (type === 'train') trains++;
      info.activities.set(scheduled.activityId, {
        summary: await summaryOf(converter, event.userMetadata),
        trainIndex: type === 'train' || type === 'evaluate' ? trains : undefined,
      });
    }
    return info;
  }
}

async function summaryOf(converter: Client['options']['loadedDataConverter'], metadata: temporal.api.sdk.v1.IUserMetadata | null | undefined) {
  if (!metadata?.summary) return undefined;
  const text = await decodeFromPayloadsAtIndex(converter, 0, [metadata.summary]).catch(() => undefined);
  return typeof text === 'string' ? text : undefined;
}

/** The experiment's input (ExperimentInput, src/api/experiment.ts), read defensively: its shape may change. */
function settingsOf(input: unknown): MeasureSettings {
  const i = (input ?? {}) as { baseline?: unknown; config?: { trainer?: Record<string, unknown>; decision?: Record<string, unknown> } };
  const d = i.config?.decision ?? {};
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const greedy = d.mode === 'greedy';
  const followUps = (num(d.confirmations) ?? 0) + (num(d.remeasures) ?? 0);
  return {
    baseline: typeof i.baseline === 'boolean' ? i.baseline : undefined,
    repeats: greedy ? 1 : num(d.repeats),
    followUps: greedy ? undefined : followUps || undefined,
    tokenBudget: num(i.config?.trainer?.tokenBudget),
    timeBudgetSeconds: num(i.config?.trainer?.timeBudgetSeconds),
  };
}
