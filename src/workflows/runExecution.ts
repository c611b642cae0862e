/**
 * One execution of the run: its state (carried across continue-as-new) and, beside it in one
 * object, the handles that live only as long as this execution: the experiments' child workflows,
 * the lane leases, the queue of writes to the remote, the finished experiments waiting for the
 * loop. Its methods do what the loop in researchRun.ts decides; every decision is ../core.
 */
import {
  CancellationScope, executeChild, log, ParentClosePolicy, patched, setCurrentDetails, upsertSearchAttributes, workflowInfo,
} from '@temporalio/workflow';
import { EXPERIMENT_CANCELLED, type CancelledExperiment } from '../api/experiment.js';
import { applicationFailureOf, describeFailure, isRunFatal } from '../api/failures.js';
import type { RunStatus } from '../api/messages.js';
import type { ExperimentResult } from '../core/experimentResult.js';
import { REPAIRABLE, type FailureType } from '../core/failures.js';
import { ALREADY_MEASURED } from '../core/journal.js';
import { bestRefOf, experimentId, experimentName, experimentRef } from '../core/names.js';
import { baselineCrashReason, breakerReason, lanesToHold, mayStart, nextStep, phaseOf } from '../core/nextStep.js';
import { proposerView } from '../core/proposerView.js';
import { bestCommitOf } from '../core/results.js';
import type { RunConfig, RunInput } from '../core/runInput.js';
import { finishExperiment, moveExperiment, paidAhead, proposedAhead, startExperiment, type RunState } from '../core/runState.js';
import type { Usage } from '../core/usage.js';
import { proposer, remoteSteps } from './activityProxies.js';
import { experiment } from './experiment.js';
import type { LaneLeases } from './laneLeases.js';
import { renderCurrentDetails, searchAttributeUpdates, statusOf } from './presentation.js';

/**
 * A baseline that crashed ends the run (nextStep.ts baselineCrashReason). Runs recorded before
 * went on to propose experiments; under this patch their histories replay as they were.
 */
const END_ON_BASELINE_CRASH = 'end-on-baseline-crash';

/** A child that ended: its result, or its failure, and whether it failed because it lost its lane. */
export interface Finished {
  experiment: number;
  result?: ExperimentResult;
  error?: unknown;
  moved?: boolean;
}

export class RunExecution {
  /** Resolved once, as the run starts; carried in the state. */
  config!: RunConfig;
  /** Finished children, handled one at a time by the loop. */
  readonly finished: Finished[] = [];
  /** What ends the run: a fatal failure of a proposal made ahead, a write that cannot succeed. */
  fatal: unknown;
  /** Each running experiment's cancellation scope, by number: a lost lane cancels its experiment. */
  readonly children = new Map<number, CancellationScope>();
  lanes?: LaneLeases;
  /**
   * Whether this run gives idle lanes back (RELEASE_IDLE_LANES), asked where it first would. A run
   * replaying a history from before the patch answers no there; that answer is asked again at the
   * next pause or end, so a run that reaches new code live gives its lanes back from then on.
   */
  givesLanesBack?: boolean;
  /**
   * The run's writes to the remote (the branch, results.tsv, steering.tsv), one after another in
   * the order decided, while the next experiment already runs: it needs only the decision.
   */
  private writes: Promise<void> = Promise.resolve();
  pendingWrites = 0;
  /** The search attributes last upserted: each upsert is an event, so only a change is sent. */
  private upserted = '';
  readonly runWorkflowId = workflowInfo().workflowId;

  constructor(readonly input: RunInput, public state: RunState) {}

  status(): RunStatus {
    return statusOf(this.input, this.state, this.lanes?.counts() ?? { held: 0, waitingFor: 0 });
  }

  /** The web UI's current details and search attributes follow every change of state. */
  show(): void {
    if (!this.state.config) return;
    this.state.phase = phaseOf(this.state);
    const attributes = searchAttributeUpdates(this.config.tag, this.state);
    const key = JSON.stringify(attributes.map((a) => a.value));
    if (key !== this.upserted) upsertSearchAttributes(attributes);
    this.upserted = key;
    setCurrentDetails(renderCurrentDetails(this.status(), this.state.recent));
  }

  write(step: () => Promise<void>): void {
    this.pendingWrites++;
    this.writes = this.writes.then(step).catch((err: unknown) => {
      this.fatal ??= err; // the steps retry until they succeed; what gets here cannot succeed
    }).finally(() => {
      this.pendingWrites--;
    });
  }

  lanesWanted(): number {
    return lanesToHold(this.config, this.state);
  }

  /** Continue-as-new waits for the lanes to drain: then the state is all there is. */
  drain(): boolean {
    return workflowInfo().continueAsNewSuggested;
  }

  /** A proposal in the making is billed, and written results must be on the remote: both are waited for. */
  idle(): boolean {
    const s = this.state;
    return s.running.length === 0 && s.moved.length === 0 && !s.proposing && this.pendingWrites === 0;
  }

  canStart(): boolean {
    const s = this.state;
    return !this.drain() && mayStart(s, this.lanes!.free().length) && (s.moved.length > 0 || nextStep(this.config, s).kind === 'experiment');
  }

  /** Pipelining: the next proposal is made while a lane trains, from every result known by then and the ideas in flight. */
  async prepareNext(): Promise<void> {
    const { config } = this;
    this.state.proposing = true;
    const best = this.state.best;
    try {
      const made = await proposer.hypothesize.executeWithOptions({ summary: `hypothesize ${experimentName(this.state.nextExperiment)} ahead` }, [{
        experiment: this.state.nextExperiment, config, bestCommit: bestCommitOf(this.state), bestRef: bestRefOf(config.tag, best), ...proposerView(this.state),
      }]);
      this.state = proposedAhead(this.state, made);
    } catch (err) {
      const failure = applicationFailureOf(err);
      this.state = paidAhead(this.state, (failure?.details?.[0] as Usage | undefined)?.costUsd ?? 0); // billed, though unusable
      if (failure?.details?.[1] === ALREADY_MEASURED) this.state.refusedAhead = (this.state.refusedAhead ?? 0) + 1;
      // An unusable proposal is dropped: the experiment then asks itself, with the repair loop.
      if (!REPAIRABLE.includes(failure?.type as FailureType)) this.fatal ??= err;
    } finally {
      this.state.proposing = false;
    }
  }

  /** Starts the next experiment as a child workflow on a free lane. */
  start(): void {
    const { config } = this;
    const next = startExperiment(this.state, config.search);
    this.state = next.state;
    const n = next.started.experiment;
    const held = this.lanes!.free()[0];
    held.experiment = n;
    const scope = new CancellationScope();
    this.children.set(n, scope);
    const baseline = n === this.state.firstExperiment;
    const refusedAhead = this.state.refusedAhead; // the experiment counts them from here
    this.state.refusedAhead = undefined;
    void scope.run(() => executeChild(experiment, {
      workflowId: experimentId(this.runWorkflowId, n),
      staticSummary: baseline ? 'baseline' : `experiment ${n}`,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      args: [{
        ...proposerView(this.state, n), experiment: n, experimentId: experimentId(this.runWorkflowId, n), config, lane: held.lane!,
        baseCommit: this.state.baseCommit!,
        costBudgetUsd: config.proposer.maxCostUsd === undefined ? undefined : config.proposer.maxCostUsd - this.state.costUsd + next.started.preparedUsd,
        prepared: next.started.prepared, restarted: next.started.restarted, baseline, incumbent: this.state.incumbent, noise: this.state.noise,
        refusedAhead, ...(next.started.start ? { start: next.started.start } : {}),
      }],
    })).then((result) => ({ experiment: n, result }), (error: unknown) => ({ experiment: n, error, moved: !this.lanes!.holds(held) }))
      .then((done) => {
        this.children.delete(n);
        held.experiment = undefined;
        this.finished.push(done);
      });
  }

  /** An experiment ended: keep or revert (compare-and-set against the best of now), then its results row. */
  finish({ experiment: n, result, error, moved }: Finished): void {
    const { config } = this;
    if (moved) {
      // What it was paid for counts, and its proposal goes with it to the next lane.
      const failure = applicationFailureOf(error);
      const cancelled = failure?.type === EXPERIMENT_CANCELLED ? failure.details?.[0] as CancelledExperiment : undefined;
      this.state = moveExperiment(this.state, n, cancelled);
      return;
    }
    // One experiment that fails past its retries (say, its worker died three times) is a crash row,
    // not the end of the night; a failure retrying cannot fix (bad key, bad config) ends the run.
    if (error && isRunFatal(error)) throw error;
    const ended = result ? { result } : { failure: describeFailure(error) };
    // Runs recorded before a keep's closed group held its former incumbent's reruns replay as they were.
    const { state, record, expectedBest } = finishExperiment(config, this.state, this.runWorkflowId, n, ended, { poolReruns: patched('pool-reruns-on-keep') });
    this.state = state;
    const baselineCrashed = baselineCrashReason(state, record);
    if (baselineCrashed && patched(END_ON_BASELINE_CRASH)) {
      log.warn(baselineCrashed);
      state.endReason = baselineCrashed; // nextStep ends the run: nothing starts, nothing is proposed ahead
    }
    const tripped = !state.paused && !state.endReason && breakerReason(config, state, record.reason);
    if (tripped) {
      log.warn(tripped);
      Object.assign(state, { paused: true, pausedReason: tripped });
    }
    this.write(async () => {
      if (record.status === 'keep') {
        await remoteSteps.keepOrRevert.executeWithOptions({ summary: `keep ${experimentName(n)}: ${record.description}` }, [{
          config, experimentRef: experimentRef(config.tag, n), commitFull: record.commitFull, expectedBest,
        }]);
      }
      await remoteSteps.recordResult.executeWithOptions({ summary: `results.tsv: ${experimentName(n)} ${record.status}` }, [{ config, record }]);
    });
    log.info('experiment done', { experiment: n, status: record.status, valBpb: record.valBpb });
  }
}
