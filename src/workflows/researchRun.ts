/**
 * The run: prepares its worktree, then starts one experiment after another until it is stopped,
 * reaches maxExperiments or the cost cap. All its state is one RunState; decisions on it are the
 * pure functions of decisions.ts. See docs/architecture.md.
 */
import {
  ApplicationFailure, allHandlersFinished, condition, continueAsNew, executeChild, log, setHandler, workflowInfo,
  upsertSearchAttributes, setCurrentDetails, ParentClosePolicy,
} from '@temporalio/workflow';
import { parseRunInput, type RunInput } from '../config/runInput.js';
import { priceFor } from '../proposers/cost.js';
import {
  experimentId, experimentName, experimentTrainingSignal, FAILURE, isRunFatal, MAX_NOTE_CHARS, MAX_NOTES, MAX_NOTES_TOTAL_CHARS, MAX_PROGRAM_CHARS, pauseSignal,
  resultsQuery, resumeSignal, setProgramUpdate, statusQuery, steerUpdate, stopSignal, type RunStatus, type RunSummary,
} from '../definitions.js';
import { effectiveExperiment, failedExperiment, initialRunState, nextStep, recordExperiment, restingPhase, type RunState } from './decisions.js';
import { experiment, steps } from './experiment.js';
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

  const status = (): RunStatus => ({
    tag: config.tag, phase: state.phase, paused: state.paused, stopRequested: state.stopRequested,
    experiment: state.current?.experiment ?? state.experimentsDone, experimentsDone: state.experimentsDone, counts: state.counts,
    maxExperiments: config.maxExperiments, best: state.best, currentHypothesis: state.current?.hypothesis,
    trainingStartedAt: state.current?.trainingStartedAt, timeBudgetSeconds: config.trainer.timeBudgetSeconds, costUsd: state.costUsd,
    steeringNotes: state.steeringNotes.map((n) => n.note), branch: state.paths?.branch, resultsFile: state.paths?.resultsFile,
    endReason: state.endReason,
  });
  /** The web UI's current details and search attributes follow every change of state. */
  let upserted = '';
  const show = (phase = state.phase) => {
    state.phase = phase;
    const attributes = searchAttributeUpdates(config.tag, state);
    const key = JSON.stringify(attributes.map((a) => a.value));
    if (key !== upserted) upsertSearchAttributes(attributes); // each upsert is an event: only on change
    upserted = key;
    setCurrentDetails(renderCurrentDetails(status(), state.recent));
  };
  // Pause and resume change the phase only between experiments; a running one keeps its own.
  const rest = () => show(state.current ? state.phase : restingPhase(state));

  setHandler(pauseSignal, () => { state.paused = true; rest(); });
  setHandler(resumeSignal, () => { state.paused = false; rest(); });
  setHandler(stopSignal, () => { state.stopRequested = true; show(); });
  setHandler(statusQuery, status);
  setHandler(resultsQuery, () => state.recent);
  setHandler(experimentTrainingSignal, ({ experiment: n, hypothesis }) => {
    if (state.current?.experiment !== n) return; // keyed by number: a late signal changes nothing
    state.current = { experiment: n, hypothesis, trainingStartedAt: new Date().toISOString() };
    show('train');
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

  if (!state.paths) {
    show('preparing');
    const prepared = await steps.prepareRun.executeWithOptions({ summary: `prepare worktree for autoresearch/${config.tag}` }, [config]);
    state.paths = prepared.paths;
    state.baseCommit = prepared.baseCommit;
  }
  const paths = state.paths;

  for (;;) {
    show(restingPhase(state));
    await condition(() => !state.paused || state.stopRequested);
    if (state.notesRecorded < state.steeringNotes.length) {
      await steps.recordSteering({ paths, notes: state.steeringNotes });
      state.notesRecorded = state.steeringNotes.length;
    }
    const step = nextStep(config, state);
    if (step.kind === 'end') {
      state.endReason = step.reason;
      break;
    }
    const n = state.experimentsDone;
    state.current = { experiment: n };
    show('hypothesize');
    const record = await executeChild(experiment, {
      workflowId: experimentId(runWorkflowId, n),
      staticSummary: n === 0 ? 'baseline' : `experiment ${n}`,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      args: [{
        experiment: n, experimentId: experimentId(runWorkflowId, n), config, paths, baseCommit: state.baseCommit!, best: state.best,
        recent: state.recent, experimentsDone: n, steeringNotes: state.steeringNotes.map((s) => s.note),
        programOverride: state.programOverride, lastCrash: state.lastCrash,
        costBudgetUsd: config.proposer.maxCostUsd === undefined ? undefined : config.proposer.maxCostUsd - state.costUsd,
      }],
    }).catch(async (err: unknown) => {
      // One experiment that fails past its retries (say, its worker died three times) is a crash row,
      // not the end of the night; a failure retrying cannot fix (bad key, bad config) ends the run.
      if (isRunFatal(err)) throw err;
      // It may have left the branch at its own commit: back to the best.
      await steps.keepOrRevert.executeWithOptions({ summary: `revert failed ${experimentName(n)}` },
        [{ paths, keep: false, bestCommit: state.best?.commitFull ?? state.baseCommit!, experimentName: experimentName(n) }]);
      const failed = failedExperiment(runWorkflowId, n, err);
      await steps.recordResult({ paths, record: failed });
      return failed;
    });
    state = recordExperiment(state, record);
    log.info('experiment done', { experiment: n, status: record.status, valBpb: record.valBpb });

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof researchRun>(input, state);
    }
  }

  show('done');
  await condition(allHandlersFinished);
  return {
    tag: config.tag, experiments: state.experimentsDone, kept: state.counts.keep, best: state.best, baselineValBpb: state.baselineValBpb,
    costUsd: state.costUsd, branch: paths.branch, resultsFile: paths.resultsFile, endReason: state.endReason!,
  };
}
