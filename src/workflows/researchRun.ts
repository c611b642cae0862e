/**
 * The run: prepares its branch on the remote, then keeps up to `lanes` experiments running, one
 * per free lane, until it is stopped, reaches maxExperiments or the cost cap. It holds the global
 * best and decides keep or revert by compare-and-set as each experiment finishes. All its state is
 * one RunState; decisions on it are the pure functions of decisions.ts. See docs/architecture.md.
 */
import {
  ApplicationFailure, allHandlersFinished, CancellationScope, condition, continueAsNew, executeChild, log, proxyActivities, setHandler,
  workflowInfo, upsertSearchAttributes, setCurrentDetails, ParentClosePolicy,
} from '@temporalio/workflow';
import { parseRunInput, pipelineOf, type RunInput } from '../config/runInput.js';
import { priceFor } from '../proposers/cost.js';
import {
  applicationFailureOf, bestRefOf, experimentId, experimentName, experimentRef, experimentTrainingSignal, FAILURE, isRunFatal, laneGrantedSignal,
  leaseQueue, MAX_NOTE_CHARS, MAX_NOTES, MAX_NOTES_TOTAL_CHARS, MAX_PROGRAM_CHARS, pauseSignal, REPAIRABLE, resultsQuery, resumeSignal,
  setProgramUpdate, statusQuery, steerUpdate, stopSignal, type ExperimentRecord, type FailureType, type Lane, type RunStatus, type RunSummary,
} from '../definitions.js';
import type { Activities } from '../activities/index.js';
import type { Usage } from '../proposers/context.js';
import {
  effectiveExperiment, failedExperiment, initialRunState, judge, mayStart, moveExperiment, nextStep, phaseOf, recordExperiment, shouldPrepare,
  startExperiment, type RunState,
} from './decisions.js';
import { experiment, proposer, steps, type ExperimentResult } from './experiment.js';
import { renderCurrentDetails, searchAttributeUpdates } from './presentation.js';

export async function researchRun(input: RunInput, carried?: RunState): Promise<RunSummary> {
  const parsed = parseRunInput(input);
  if (!parsed.ok) throw ApplicationFailure.nonRetryable(parsed.error, FAILURE.InvalidRunInput);
  const config = parsed.config;
  try {
    priceFor(config.proposer); // an unpriced model would make the cost cap meaningless
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`invalid run input: proposer.model: ${(err as Error).message}`, FAILURE.InvalidRunInput);
  }
  const runWorkflowId = workflowInfo().workflowId;
  let state: RunState = carried ?? initialRunState();
  /** Finished children, handled one at a time by the loop; and a fatal failure of a proposal made ahead. */
  const finished: { experiment: number; result?: ExperimentResult; error?: unknown; moved?: boolean }[] = [];
  let fatal: unknown;

  // Lanes: the run holds a lease on `lanes` of them, each an activity that a worker with a free
  // lane runs for as long as the run keeps it. A lease that ends by itself means its host is gone:
  // the experiment on it moves to another lane, and a new lease is asked for (any live host, or the
  // same one when it comes back, may grant it). Leases live in this closure, not in the state:
  // they end before continue-as-new and are asked for again after.
  const leases = new Map<number, { lane?: Lane; experiment?: number }>();
  const children = new Map<number, CancellationScope>();
  const leaseScope = new CancellationScope();
  let leaseCount = 0;
  let ending = false;
  const leaseSteps = proxyActivities<Activities>({
    taskQueue: leaseQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '365 days',
    heartbeatTimeout: `${config.trainer.heartbeatTimeoutSeconds} seconds`,
    retry: { maximumAttempts: 1 },
  });
  const askForLease = () => {
    const lease = ++leaseCount;
    leases.set(lease, {});
    void leaseScope.run(() => leaseSteps.holdLane({ lease })).catch(() => undefined).then(() => {
      const lost = leases.get(lease);
      leases.delete(lease);
      if (ending) return;
      if (lost?.experiment !== undefined) {
        log.warn('a lane was lost: its experiment moves to another lane', { lane: lost.lane?.id, experiment: lost.experiment });
        children.get(lost.experiment)?.cancel();
      }
      askForLease();
    });
  };
  const freeLanes = () => [...leases.values()].filter((l) => l.lane && l.experiment === undefined);
  setHandler(laneGrantedSignal, ({ lease, lane }) => {
    const held = leases.get(lease);
    if (held && !held.lane) held.lane = lane; // a grant for a lease already lost changes nothing
  });

  /** Of the experiments running, the latest one's hypothesis or training start. */
  const latest = (key: 'hypothesis' | 'trainingStartedAt') => [...state.running].reverse().find((r) => r[key])?.[key];
  const status = (): RunStatus => ({
    tag: config.tag, phase: phaseOf(state), running: state.running.map(({ experiment: n, hypothesis, description, lane, trainingStartedAt }) => (
      { experiment: n, hypothesis, description, lane, trainingStartedAt })),
    paused: state.paused, stopRequested: state.stopRequested, experiment: state.running[0]?.experiment ?? state.nextExperiment,
    experimentsDone: state.experimentsDone, counts: state.counts, maxExperiments: config.maxExperiments, best: state.best,
    currentHypothesis: latest('hypothesis'), trainingStartedAt: latest('trainingStartedAt'),
    timeBudgetSeconds: config.trainer.timeBudgetSeconds, costUsd: state.costUsd, steeringNotes: state.steeringNotes.map((n) => n.note),
    branch: state.paths?.branch, resultsFile: state.paths?.resultsFile, endReason: state.endReason,
  });
  /** The web UI's current details and search attributes follow every change of state. */
  let upserted = '';
  const show = () => {
    state.phase = phaseOf(state);
    const attributes = searchAttributeUpdates(config.tag, state);
    const key = JSON.stringify(attributes.map((a) => a.value));
    if (key !== upserted) upsertSearchAttributes(attributes); // each upsert is an event: only on change
    upserted = key;
    setCurrentDetails(renderCurrentDetails(status(), state.recent));
  };

  setHandler(pauseSignal, () => { state.paused = true; show(); });
  setHandler(resumeSignal, () => { state.paused = false; show(); });
  setHandler(stopSignal, () => { state.stopRequested = true; show(); });
  setHandler(statusQuery, status);
  setHandler(resultsQuery, () => state.recent);
  setHandler(experimentTrainingSignal, ({ experiment: n, hypothesis, description, lane }) => {
    const running = state.running.find((r) => r.experiment === n);
    if (!running) return; // keyed by number: a late signal changes nothing
    Object.assign(running, { hypothesis, description, lane, trainingStartedAt: new Date().toISOString() });
    show();
    if (shouldPrepare(config, state, pipelineOf(config))) void prepareNext();
  });
  setHandler(steerUpdate, ({ note }) => {
    const fromExperiment = effectiveExperiment(state);
    state.steeringNotes.push({ note: note.trim(), fromExperiment });
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
    const held = freeLanes()[0];
    held.experiment = n;
    const scope = new CancellationScope();
    children.set(n, scope);
    void scope.run(() => executeChild(experiment, {
      workflowId: experimentId(runWorkflowId, n),
      staticSummary: n === 0 ? 'baseline' : `experiment ${n}`,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      args: [{
        experiment: n, experimentId: experimentId(runWorkflowId, n), config, lane: held.lane!, baseCommit: state.baseCommit!, best: state.best,
        recent: state.recent, experimentsDone: state.experimentsDone, steeringNotes: state.steeringNotes.map((s) => s.note),
        programOverride: state.programOverride, lastCrashLog: state.lastCrashLog, inFlight: status().running.filter((r) => r.experiment !== n),
        costBudgetUsd: config.proposer.maxCostUsd === undefined ? undefined : config.proposer.maxCostUsd - state.costUsd + next.started.preparedUsd,
        prepared: next.started.prepared, restarted: next.started.restarted,
      }],
    })).then((result) => ({ experiment: n, result }), (error: unknown) => ({ experiment: n, error, moved: !leases.has(leaseOf(held)) }))
      .then((done) => {
        children.delete(n);
        held.experiment = undefined;
        finished.push(done);
      });
  }
  const leaseOf = (held: { lane?: Lane }) => [...leases].find(([, l]) => l === held)?.[0] ?? -1;

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
      state = moveExperiment(state, n);
      return;
    }
    // One experiment that fails past its retries (say, its worker died three times) is a crash row,
    // not the end of the night; a failure retrying cannot fix (bad key, bad config) ends the run.
    if (error && isRunFatal(error)) throw error;
    const startedFrom = state.running.find((r) => r.experiment === n)?.startedFrom;
    let record: ExperimentRecord = failedExperiment(runWorkflowId, n, error);
    if (result) {
      const { status: decided, reason } = judge(state, startedFrom, result.outcome);
      const { outcome, logTail: _logTail, ...rest } = result;
      record = { ...rest, experiment: n, experimentId: experimentId(runWorkflowId, n), status: decided,
        valBpb: outcome.kind === 'trained' ? outcome.valBpb : 0, error: result.error ?? reason };
    }
    const expectedBest = state.best?.commitFull ?? state.baseCommit!;
    state = recordExperiment(state, record, result?.logTail);
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
    const prepared = await steps.prepareRun.executeWithOptions({ summary: `prepare autoresearch/${config.tag} on the remote` }, [config]);
    state.paths = prepared.paths;
    state.baseCommit = prepared.baseCommit;
    state.phase = 'idle';
  }
  for (let i = 0; i < config.lanes; i++) askForLease();

  // Continue-as-new waits for the lanes to drain: then the state is all there is.
  const drain = () => workflowInfo().continueAsNewSuggested;
  // A proposal in the making is billed, and written results must be on the remote: both are waited for.
  const idle = () => state.running.length === 0 && state.moved.length === 0 && !state.proposing && pendingWrites === 0;
  const canStart = () => !drain() && mayStart(state, freeLanes().length) && (state.moved.length > 0 || nextStep(config, state).kind === 'experiment');
  for (;;) {
    show();
    await condition(() => fatal !== undefined || finished.length > 0 || state.notesRecorded < state.steeringNotes.length || canStart()
      || (idle() && (drain() || nextStep(config, state).kind === 'end')));
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
    const step = nextStep(config, state);
    if (idle() && step.kind === 'end') {
      state.endReason = step.reason;
      break;
    }
    if (idle() && drain()) {
      ending = true;
      leaseScope.cancel();
      await condition(allHandlersFinished);
      await continueAsNew<typeof researchRun>(input, state);
    }
    if (canStart()) start();
  }
  ending = true;
  leaseScope.cancel(); // the lanes go back to their workers

  state.phase = 'done';
  show();
  await condition(allHandlersFinished);
  return {
    tag: config.tag, experiments: state.experimentsDone, kept: state.counts.keep, best: state.best, baselineValBpb: state.baselineValBpb,
    costUsd: state.costUsd, branch: state.paths!.branch, resultsFile: state.paths!.resultsFile, endReason: state.endReason!,
  };
}
