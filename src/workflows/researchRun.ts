/**
 * The run: prepares its branch on the remote, then keeps up to `lanes` experiments running, one
 * per free lane, until it is stopped, reaches maxExperiments or the cost cap. It holds the global
 * best and decides keep or revert by compare-and-set as each experiment finishes. All its state is
 * one RunState; decisions on it are the pure functions of decisions.ts. See docs/architecture.md.
 */
import {
  allHandlersFinished, CancellationScope, condition, continueAsNew, executeChild, log, patched, proxyLocalActivities, setHandler,
  workflowInfo, upsertSearchAttributes, setCurrentDetails, ParentClosePolicy,
} from '@temporalio/workflow';
import { pipelineOf, type RunConfig, type RunInput } from '../core/runInput.js';
import { applicationFailureOf, isRunFatal } from '../api/failures.js';
import { bestRefOf, experimentId, experimentName, experimentRef } from '../core/names.js';
import { experimentTrainingSignal, MAX_NOTE_CHARS, MAX_NOTES, MAX_NOTES_TOTAL_CHARS, MAX_PROGRAM_CHARS, pauseSignal, resultsQuery, resumeSignal, setProgramUpdate, statusQuery, steerUpdate, stopSignal, type RunStatus, type RunSummary } from '../api/messages.js';
import { NON_RETRYABLE, REPAIRABLE, type FailureType } from '../core/failures.js';
import type { ExperimentRecord } from '../core/results.js';
import type { Activities } from '../api/activities.js';
import type { Usage } from '../core/usage.js';
import {
  baselineCrashReason, breakerReason, countSpent, effectiveExperiment, failedExperiment, initialRunState, lanesToHold, mayStart, moveExperiment, nextStep, phaseOf,
  recordExperiment, shouldPrepare, startExperiment, type RunState,
} from '../core/runState.js';
import { judge, noiseOf } from '../core/keepDecision.js';
import { EXPERIMENT_CANCELLED, experiment, proposer, steps, type CancelledExperiment, type ExperimentResult } from './experiment.js';
import { LaneLeases } from './laneLeases.js';
import { renderCurrentDetails, searchAttributeUpdates } from './presentation.js';

/**
 * A paused or ending run gives its idle lanes back. Runs recorded before kept every lease until
 * they ended or continued as new; under this patch their histories replay as they were.
 */
const RELEASE_IDLE_LANES = 'release-idle-lanes';
/**
 * A baseline that crashed ends the run (decisions.ts baselineCrashReason). Runs recorded before
 * went on to propose experiments; under this patch their histories replay as they were.
 */
const END_ON_BASELINE_CRASH = 'end-on-baseline-crash';

export async function researchRun(input: RunInput, carried?: RunState): Promise<RunSummary> {
  let state: RunState = carried ?? initialRunState();
  // Resolved below; the message handlers come first, so that none arrives before its handler.
  let config = state.config as RunConfig;
  const runWorkflowId = workflowInfo().workflowId;
  /** Finished children, handled one at a time by the loop; and a fatal failure of a proposal made ahead. */
  const finished: { experiment: number; result?: ExperimentResult; error?: unknown; moved?: boolean }[] = [];
  let fatal: unknown;

  /** Of the experiments running, the latest one's hypothesis or training start. */
  const latest = (key: 'hypothesis' | 'trainingStartedAt') => [...state.running].reverse().find((r) => r[key])?.[key];
  /** The leases' counts for the status; set once the leases exist. */
  let laneCounts = () => ({ held: 0, waitingFor: 0 });
  const status = (): RunStatus => (!state.config ? {
    // Until the input is resolved (milliseconds), the status says so.
    tag: String((input as { tag?: unknown }).tag), phase: 'preparing', running: [], paused: state.paused, stopRequested: state.stopRequested,
    experiment: 0, experimentsDone: 0, counts: state.counts, timeBudgetSeconds: 0, costUsd: 0, steeringNotes: state.steeringNotes.map((n) => n.note),
  } : {
    tag: config.tag, phase: phaseOf(state), running: state.running.map(({ experiment: n, hypothesis, description, lane, trainingStartedAt }) => (
      { experiment: n, hypothesis, description, lane, trainingStartedAt })),
    paused: state.paused, stopRequested: state.stopRequested, experiment: state.running[0]?.experiment ?? state.nextExperiment,
    experimentsDone: state.experimentsDone, counts: state.counts, maxExperiments: config.maxExperiments, best: state.best,
    currentHypothesis: latest('hypothesis'), trainingStartedAt: latest('trainingStartedAt'),
    timeBudgetSeconds: config.trainer.timeBudgetSeconds, tokenBudget: config.trainer.tokenBudget, costUsd: state.costUsd, steeringNotes: state.steeringNotes.map((n) => n.note),
    branch: state.paths?.branch, resultsFile: state.paths?.resultsFile, endReason: state.endReason, pausedReason: state.pausedReason,
    sigma: config.decision.mode === 'greedy' || !state.incumbent.runs.length ? undefined : noiseOf(config, state).sigma,
    lanesHeld: laneCounts().held, lanesWaitingFor: laneCounts().waitingFor,
  });
  /** The web UI's current details and search attributes follow every change of state. */
  let upserted = '';
  const show = () => {
    if (!state.config) return;
    state.phase = phaseOf(state);
    const attributes = searchAttributeUpdates(config.tag, state);
    const key = JSON.stringify(attributes.map((a) => a.value));
    if (key !== upserted) upsertSearchAttributes(attributes); // each upsert is an event: only on change
    upserted = key;
    setCurrentDetails(renderCurrentDetails(status(), state.recent));
  };

  /** Resume, and a steer while the breaker holds the run, give it `pauseAfterFailures` more tries. */
  const resume = () => Object.assign(state, { paused: false, pausedReason: undefined, consecutiveFailures: 0 });
  setHandler(pauseSignal, () => { state.paused = true; show(); });
  setHandler(resumeSignal, () => { resume(); show(); });
  setHandler(stopSignal, () => { state.stopRequested = true; show(); });
  setHandler(statusQuery, status);
  setHandler(resultsQuery, () => state.recent);
  setHandler(experimentTrainingSignal, ({ experiment: n, hypothesis, description, lane, costUsd }) => {
    state = countSpent(state, n, costUsd ?? 0);
    const running = state.running.find((r) => r.experiment === n);
    if (!running) return; // keyed by number: a late signal changes nothing
    Object.assign(running, { hypothesis, description, lane, trainingStartedAt: new Date().toISOString() });
    show();
    if (shouldPrepare(config, state, pipelineOf(config))) void prepareNext();
  });
  setHandler(steerUpdate, ({ note }) => {
    const fromExperiment = effectiveExperiment(state);
    state.steeringNotes.push({ note: note.trim(), fromExperiment });
    if (state.pausedReason) resume();
    show();
    return { effectiveFromExperiment: fromExperiment, notes: state.steeringNotes.length };
  }, {
    validator: ({ note }) => {
      if (typeof note !== 'string' || !note.trim()) throw new Error('note: must be a non-empty string');
      if (note.length > MAX_NOTE_CHARS) throw new Error(`note: at most ${MAX_NOTE_CHARS} characters (got ${note.length})`);
      const total = state.steeringNotes.reduce((sum, n) => sum + n.note.length, note.trim().length);
      if (state.steeringNotes.length >= MAX_NOTES || total > MAX_NOTES_TOTAL_CHARS) {
        throw new Error(`note: the run holds at most ${MAX_NOTES} notes of ${MAX_NOTES_TOTAL_CHARS} characters in all; replace the direction with setProgram instead`);
      }
    },
  });
  setHandler(setProgramUpdate, ({ program }) => {
    state.programOverride = program;
    show();
    return { effectiveFromExperiment: effectiveExperiment(state), notes: state.steeringNotes.length };
  }, {
    validator: ({ program }) => {
      if (typeof program !== 'string' || !program.trim()) throw new Error('program: must be a non-empty string');
      if (program.length > MAX_PROGRAM_CHARS) throw new Error(`program: at most ${MAX_PROGRAM_CHARS} characters`);
    },
  });

  // Defaults and prices are resolved once, by an activity whose result is in the history: a later
  // release that changes one does not change what this run replays.
  config = state.config ??= await resolveRun(input);
  const children = new Map<number, CancellationScope>();
  /**
   * Whether this run gives idle lanes back (RELEASE_IDLE_LANES), asked where it first would. A run
   * replaying a history from before the patch answers no there; that answer is asked again at the
   * next pause or end, so a run that reaches new code live gives its lanes back from then on.
   */
  let givesLanesBack: boolean | undefined;
  const lanesWanted = () => lanesToHold(config, state);
  const lanes = new LaneLeases(config.trainer.heartbeatTimeoutSeconds, (lost) => children.get(lost)?.cancel(),
    () => (givesLanesBack ? lanesWanted() : config.lanes));
  laneCounts = () => lanes.counts();

  /** Pipelining: the next proposal is made while a lane trains, from every result known by then and the ideas in flight. */
  async function prepareNext(): Promise<void> {
    state.proposing = true;
    const best = state.best;
    try {
      const made = await proposer.hypothesize.executeWithOptions({ summary: `hypothesize ${experimentName(state.nextExperiment)} ahead` }, [{
        experiment: state.nextExperiment, config, bestCommit: best?.commitFull ?? state.baseCommit!,
        bestRef: bestRefOf(config.tag, best), programOverride: state.programOverride,
        recent: state.recent, experimentsDone: state.experimentsDone, best, lastCrashLog: state.lastCrashLog,
        steeringNotes: state.steeringNotes.map((n) => n.note), inFlight: status().running,
      }]);
      state.prepared = { proposal: made.proposal, costUsd: made.usage.costUsd, promptChars: made.promptChars };
      state.costUsd += made.usage.costUsd;
    } catch (err) {
      const failure = applicationFailureOf(err);
      state.costUsd += (failure?.details?.[0] as Usage | undefined)?.costUsd ?? 0; // billed, though unusable
      // An unusable proposal is dropped: the experiment then asks itself, with the repair loop.
      if (!REPAIRABLE.includes(failure?.type as FailureType)) fatal ??= err;
    } finally {
      state.proposing = false;
    }
  }

  function start(): void {
    const next = startExperiment(state);
    state = next.state;
    const n = next.started.experiment;
    const held = lanes.free()[0];
    held.experiment = n;
    const scope = new CancellationScope();
    children.set(n, scope);
    void scope.run(() => executeChild(experiment, {
      workflowId: experimentId(runWorkflowId, n),
      staticSummary: n === state.firstExperiment ? 'baseline' : `experiment ${n}`,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      args: [{
        experiment: n, experimentId: experimentId(runWorkflowId, n), config, lane: held.lane!, baseCommit: state.baseCommit!, best: state.best,
        recent: state.recent, experimentsDone: state.experimentsDone, steeringNotes: state.steeringNotes.map((s) => s.note),
        programOverride: state.programOverride, lastCrashLog: state.lastCrashLog, inFlight: status().running.filter((r) => r.experiment !== n),
        costBudgetUsd: config.proposer.maxCostUsd === undefined ? undefined : config.proposer.maxCostUsd - state.costUsd + next.started.preparedUsd,
        prepared: next.started.prepared, restarted: next.started.restarted, baseline: n === state.firstExperiment,
        incumbent: state.incumbent, noise: state.noise,
      }],
    })).then((result) => ({ experiment: n, result }), (error: unknown) => ({ experiment: n, error, moved: !lanes.holds(held) }))
      .then((done) => {
        children.delete(n);
        held.experiment = undefined;
        finished.push(done);
      });
  }

  /** Keep or revert (compare-and-set against the best of now), then the results row. */
  /**
   * The run's writes to the remote (the branch, results.tsv, steering.tsv), one after another in
   * the order decided, while the next experiment already runs: it needs only the decision.
   */
  let writes: Promise<void> = Promise.resolve();
  let pendingWrites = 0;
  const write = (step: () => Promise<void>) => {
    pendingWrites++;
    writes = writes.then(step).catch((err: unknown) => {
      fatal ??= err; // the steps retry until they succeed; what gets here cannot succeed
    }).finally(() => {
      pendingWrites--;
    });
  };

  function finish({ experiment: n, result, error, moved }: (typeof finished)[number]): void {
    if (moved) {
      // What it was paid for counts, and its proposal goes with it to the next lane.
      const cancelled = applicationFailureOf(error)?.type === EXPERIMENT_CANCELLED
        ? applicationFailureOf(error)!.details?.[0] as CancelledExperiment : undefined;
      state = moveExperiment(state, n, cancelled);
      return;
    }
    // One experiment that fails past its retries (say, its worker died three times) is a crash row,
    // not the end of the night; a failure retrying cannot fix (bad key, bad config) ends the run.
    if (error && isRunFatal(error)) throw error;
    const startedFrom = state.running.find((r) => r.experiment === n)?.startedFrom;
    let record: ExperimentRecord = failedExperiment(runWorkflowId, n, error);
    if (result) {
      const { status: decided, reason, decision } = judge(config, state, startedFrom, result.outcome, result.measured);
      const { outcome, logTail: _logTail, measured: _measured, ...rest } = result;
      const last = result.measured?.candidate.at(-1);
      record = { ...rest, experiment: n, experimentId: experimentId(runWorkflowId, n), status: decided,
        valBpb: outcome.kind === 'trained' ? outcome.valBpb : 0, error: result.error ?? reason,
        delta: decision && n !== state.firstExperiment ? decision.delta : undefined, sigma: decision?.sigma,
        confirmations: result.measured ? result.measured.candidate.length - 1 : 0, steps: last?.steps, tokens: last?.tokens };
    }
    const expectedBest = state.best?.commitFull ?? state.baseCommit!;
    state = recordExperiment(state, record, result?.logTail, result?.measured, config);
    const baselineCrashed = baselineCrashReason(state, record);
    if (baselineCrashed && patched(END_ON_BASELINE_CRASH)) {
      log.warn(baselineCrashed);
      state.endReason = baselineCrashed; // nextStep ends the run: nothing starts, nothing is proposed ahead
    }
    const tripped = !state.paused && !state.endReason && breakerReason(config, state, record.error);
    if (tripped) {
      log.warn(tripped);
      Object.assign(state, { paused: true, pausedReason: tripped });
    }
    write(async () => {
      if (record.status === 'keep') {
        await steps.keepOrRevert.executeWithOptions({ summary: `keep ${experimentName(n)}: ${record.description}` }, [{
          config, experimentRef: experimentRef(config.tag, n), commitFull: record.commitFull, expectedBest,
        }]);
      }
      await steps.recordResult.executeWithOptions({ summary: `results.tsv: ${experimentName(n)} ${record.status}` }, [{ config, record }]);
    });
    log.info('experiment done', { experiment: n, status: record.status, valBpb: record.valBpb });
  }

  if (!state.paths) {
    show();
    // The run's identity on the remote: a re-run of the same workflow id is another run.
    const runKey = `${runWorkflowId}/${workflowInfo().firstExecutionRunId}`;
    const prepared = await steps.prepareRun.executeWithOptions({ summary: `prepare autoresearch/${config.tag} on the remote` }, [{ config, runKey }]);
    state.paths = prepared.paths;
    state.baseCommit = prepared.baseCommit;
    // A resumed tag: numbering continues, and its first experiment measures the branch's tip afresh.
    state.firstExperiment = state.nextExperiment = prepared.resumed?.nextExperiment ?? 0;
    state.phase = 'idle';
  }
  // A run continued as new while paused asks for no lane until it is resumed.
  lanes.fit(lanesWanted() < config.lanes && (givesLanesBack = patched(RELEASE_IDLE_LANES)) ? lanesWanted() : config.lanes);
  const laneMisfit = () => givesLanesBack !== false && lanes.misfit(lanesWanted());

  // Continue-as-new waits for the lanes to drain: then the state is all there is.
  const drain = () => workflowInfo().continueAsNewSuggested;
  // A proposal in the making is billed, and written results must be on the remote: both are waited for.
  const idle = () => state.running.length === 0 && state.moved.length === 0 && !state.proposing && pendingWrites === 0;
  const canStart = () => !drain() && mayStart(state, lanes.free().length) && (state.moved.length > 0 || nextStep(config, state).kind === 'experiment');
  for (;;) {
    if (givesLanesBack === false && !lanes.misfit(lanesWanted())) givesLanesBack = undefined;
    show();
    await condition(() => fatal !== undefined || finished.length > 0 || state.notesRecorded < state.steeringNotes.length || canStart()
      || laneMisfit() || (idle() && (drain() || nextStep(config, state).kind === 'end')));
    if (fatal !== undefined) throw fatal;
    if (finished.length > 0) {
      finish(finished.shift()!);
      continue;
    }
    if (state.notesRecorded < state.steeringNotes.length) {
      const notes = [...state.steeringNotes];
      state.notesRecorded = notes.length;
      write(() => steps.recordSteering({ config, notes }));
      continue;
    }
    if (laneMisfit()) {
      // Paused or ending: idle lanes go back to their workers; resumed: as many as `lanes` are asked for.
      givesLanesBack ??= patched(RELEASE_IDLE_LANES);
      if (givesLanesBack) lanes.fit(lanesWanted());
      continue;
    }
    const step = nextStep(config, state);
    if (idle() && step.kind === 'end') {
      state.endReason = step.reason;
      break;
    }
    if (idle() && drain()) {
      lanes.end();
      await condition(allHandlersFinished);
      await continueAsNew<typeof researchRun>(input, state);
    }
    if (canStart()) start();
  }
  lanes.end();

  state.phase = 'done';
  show();
  await condition(allHandlersFinished);
  return {
    tag: config.tag, experiments: state.experimentsDone, kept: state.counts.keep, best: state.best, baselineValBpb: state.baselineValBpb,
    costUsd: state.costUsd, branch: state.paths!.branch, resultsFile: state.paths!.resultsFile, endReason: state.endReason!,
  };
}

/** The run input, validated and resolved (defaults, pipeline, price) by a local activity; an invalid one fails the run naming the field. */
async function resolveRun(input: RunInput): Promise<RunConfig> {
  const { resolveRunConfig } = proxyLocalActivities<Activities>({
    startToCloseTimeout: '1 minute', retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
  });
  try {
    return await resolveRunConfig(input);
  } catch (err) {
    throw applicationFailureOf(err) ?? err; // the failure itself, naming the field, not "activity failed"
  }
}
