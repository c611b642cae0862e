import {
  ApplicationFailure, allHandlersFinished, condition, continueAsNew, executeChild, log, setHandler, workflowInfo,
  upsertSearchAttributes, setCurrentDetails, ParentClosePolicy, patched,
} from '@temporalio/workflow';
import { parseRunInput, type RunConfig, type RunInput } from '../config/runInput.js';
import { priceFor } from '../proposers/cost.js';
import type { RunPaths } from '../activities/runPaths.js';
import { io } from './activityOptions.js';
import { bestOf } from './decision.js';
import { experiment } from './experiment.js';
import { failedExperiment, isRunFatal } from './experimentFailure.js';
import {
  experimentPhaseSignal, MAX_NOTE_CHARS, MAX_PROGRAM_CHARS, pauseSignal, resultsQuery, resumeSignal, setProgramUpdate, statusQuery,
  steerUpdate, stopSignal, type ResearchPhase, type RunStatus,
} from './messages.js';
import { effectiveExperiment, nextStep } from './nextStep.js';
import { renderCurrentDetails, searchAttributeUpdates } from './presentation.js';
import { experimentName, spentUsd, type ExperimentRecord, type SteeringNote } from './types.js';

/** Everything the run carries across continue-as-new. */
export interface RunState {
  paths?: RunPaths;
  baseCommit?: string;
  records: ExperimentRecord[];
  paused: boolean;
  stopRequested: boolean;
  steeringNotes: SteeringNote[];
  programOverride?: string;
}

export interface RunSummary {
  tag: string;
  experiments: number;
  kept: number;
  best?: { valBpb: number; commit: string; experiment: number };
  baselineValBpb?: number;
  costUsd: number;
  branch: string;
  resultsFile: string;
  endReason: string;
}

export async function researchRun(input: RunInput, carried?: RunState): Promise<RunSummary> {
  const parsed = parseRunInput(input);
  if (!parsed.ok) throw ApplicationFailure.nonRetryable(parsed.error, 'InvalidRunInput');
  const config = parsed.config;
  try {
    priceFor(config.proposer); // an unpriced model would make the cost cap meaningless
  } catch (err) {
    throw ApplicationFailure.nonRetryable(`invalid run input: proposer.model: ${(err as Error).message}`, 'InvalidRunInput');
  }
  const state: RunState = carried ?? { records: [], paused: false, stopRequested: false, steeringNotes: [] };
  let phase: ResearchPhase = 'preparing';
  let currentHypothesis: string | undefined;
  let trainingStartedAt: string | undefined;
  let endReason: string | undefined;

  const status = (): RunStatus => {
    const best = bestOf(state.records);
    return {
      tag: config.tag, phase: state.paused && phase === 'idle' ? 'paused' : phase, paused: state.paused, stopRequested: state.stopRequested,
      experiment: state.records.length, experimentsDone: state.records.length, maxExperiments: config.maxExperiments,
      best: best && { valBpb: best.valBpb, commit: best.commit, experiment: best.index },
      currentHypothesis, trainingStartedAt, timeBudgetSeconds: config.trainer.timeBudgetSeconds,
      costUsd: spentUsd(state.records), steeringNotes: state.steeringNotes.map((n) => n.note),
      branch: state.paths?.branch, resultsFile: state.paths?.resultsFile, endReason,
    };
  };
  const show = () => setCurrentDetails(renderCurrentDetails(status(), state.records));

  // ResearchPhase follows pause/resume only between experiments; a running one keeps its phase.
  const showPause = () => {
    // patched: runs started before this upsert existed replay without it (test/histories/clicheck.json, exported with the temporal CLI).
    if (phase === 'idle' && patched('research-phase-paused')) upsertSearchAttributes(searchAttributeUpdates(config.tag, state.records, state.paused ? 'paused' : 'idle'));
    show();
  };
  setHandler(pauseSignal, () => { state.paused = true; showPause(); });
  setHandler(resumeSignal, () => { state.paused = false; showPause(); });
  setHandler(stopSignal, () => { state.stopRequested = true; show(); });
  setHandler(statusQuery, status);
  setHandler(resultsQuery, () => state.records);
  setHandler(experimentPhaseSignal, ({ experiment: n, phase: p, hypothesis }) => {
    if (n !== state.records.length) return; // a late signal from a finished child
    phase = p;
    currentHypothesis = hypothesis ?? currentHypothesis;
    trainingStartedAt = p === 'train' ? new Date().toISOString() : trainingStartedAt;
    upsertSearchAttributes(searchAttributeUpdates(config.tag, state.records, phase));
    show();
  });
  setHandler(steerUpdate, ({ note }) => {
    const fromExperiment = effectiveExperiment(phase, state.records.length);
    state.steeringNotes.push({ note: note.trim(), fromExperiment });
    show();
    return { effectiveFromExperiment: fromExperiment, notes: state.steeringNotes.length };
  }, {
    validator: ({ note }) => {
      if (typeof note !== 'string' || !note.trim()) throw new Error('note: must be a non-empty string');
      if (note.length > MAX_NOTE_CHARS) throw new Error(`note: at most ${MAX_NOTE_CHARS} characters (got ${note.length})`);
    },
  });
  setHandler(setProgramUpdate, ({ program }) => {
    state.programOverride = program;
    show();
    return { effectiveFromExperiment: effectiveExperiment(phase, state.records.length), notes: state.steeringNotes.length };
  }, {
    validator: ({ program }) => {
      if (typeof program !== 'string' || !program.trim()) throw new Error('program: must be a non-empty string');
      if (program.length > MAX_PROGRAM_CHARS) throw new Error(`program: at most ${MAX_PROGRAM_CHARS} characters`);
    },
  });

  if (!state.paths) {
    const prepared = await io.prepareRun.executeWithOptions({ summary: `prepare worktree for autoresearch/${config.tag}` }, [config]);
    state.paths = prepared.paths;
    state.baseCommit = prepared.baseCommit;
  }
  const paths = state.paths;
  upsertSearchAttributes(searchAttributeUpdates(config.tag, state.records, 'idle'));

  for (;;) {
    phase = 'idle';
    show();
    await condition(() => !state.paused || state.stopRequested);
    const step = nextStep(config, state);
    if (step.kind === 'end') {
      endReason = step.reason;
      break;
    }
    const index = state.records.length;
    const best = bestOf(state.records);
    const lastCrash = [...state.records].reverse().find((r) => r.status === 'crash');
    const bestCommit = best?.commitFull ?? state.baseCommit!;
    const record = await executeChild(experiment, {
      workflowId: `${workflowInfo().workflowId}/${experimentName(index)}`,
      staticSummary: index === 0 ? 'baseline' : `experiment ${index}`,
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      args: [{
        runId: workflowInfo().workflowId, index, config, paths, bestCommit,
        history: state.records, steeringNotes: state.steeringNotes.map((n) => n.note), programOverride: state.programOverride,
        lastCrashLogFile: lastCrash ? `${paths.logsDir}/${experimentName(lastCrash.index)}.log` : undefined,
        costBudgetUsd: config.proposer.maxCostUsd === undefined ? undefined : config.proposer.maxCostUsd - spentUsd(state.records),
      }],
    }).catch(async (err: unknown) => {
      // One experiment that fails past its retries (say, its worker died three times) is a crash row,
      // not the end of the night; a failure retrying cannot fix (bad key, bad config) ends the run.
      if (isRunFatal(err)) throw err;
      // It may have left the branch at its own commit: back to the best.
      await io.finalize.executeWithOptions({ summary: `revert failed exp ${index}` },
        [{ paths, keep: false, bestCommit, experimentName: experimentName(index) }]);
      return failedExperiment(workflowInfo().workflowId, index, err);
    });
    state.records.push(record);
    // Between experiments: without this, status would pair the next number with the last phase ('decide').
    phase = 'idle';
    currentHypothesis = undefined;
    log.info('experiment done', { index, status: record.status, valBpb: record.valBpb });
    await io.writeResults.executeWithOptions({ summary: `results.tsv: ${state.records.length} rows` }, [{ paths, records: state.records, notes: state.steeringNotes }]);
    upsertSearchAttributes(searchAttributeUpdates(config.tag, state.records, state.paused ? 'paused' : 'idle'));

    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof researchRun>(input, state);
    }
  }

  phase = 'done';
  upsertSearchAttributes(searchAttributeUpdates(config.tag, state.records, 'done'));
  show();
  await condition(allHandlersFinished);
  const best = bestOf(state.records);
  return {
    tag: config.tag,
    experiments: state.records.length,
    kept: state.records.filter((r) => r.status === 'keep').length,
    best: best && { valBpb: best.valBpb, commit: best.commit, experiment: best.index },
    baselineValBpb: state.records[0]?.status === 'keep' ? state.records[0].valBpb : undefined,
    costUsd: spentUsd(state.records),
    branch: paths.branch,
    resultsFile: paths.resultsFile,
    endReason: endReason!,
  };
}

export type { RunConfig };
