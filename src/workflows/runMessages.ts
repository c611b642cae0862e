/**
 * The run's message handlers: pause, resume, stop, steer, setProgram, the status and results
 * queries, and the signal by which an experiment says it trains. Registered before the run's
 * first await, so that no message arrives before its handler.
 */
import { setHandler } from '@temporalio/workflow';
import {
  experimentTrainingSignal, MAX_NOTE_CHARS, MAX_NOTES, MAX_NOTES_TOTAL_CHARS, MAX_PROGRAM_CHARS, pauseSignal, resultsQuery, resumeSignal, setProgramUpdate,
  statusQuery, steerUpdate, stopSignal,
} from '../api/messages.js';
import { effectiveExperiment, shouldPrepare } from '../core/nextStep.js';
import { pipelineOf } from '../core/runInput.js';
import { countSpent } from '../core/runState.js';
import type { RunExecution } from './runExecution.js';

export function handleMessages(run: RunExecution): void {
  /** Resume, and a steer while the breaker holds the run, give it `pauseAfterFailures` more tries. */
  const resume = () => Object.assign(run.state, { paused: false, pausedReason: undefined, consecutiveFailures: 0 });
  setHandler(pauseSignal, () => {
    run.state.paused = true;
    run.show();
  });
  setHandler(resumeSignal, () => {
    resume();
    run.show();
  });
  setHandler(stopSignal, () => {
    run.state.stopRequested = true;
    run.show();
  });
  setHandler(statusQuery, () => run.status());
  setHandler(resultsQuery, () => run.state.recent);
  setHandler(experimentTrainingSignal, ({ experiment: n, hypothesis, description, lane, costUsd }) => {
    run.state = countSpent(run.state, n, costUsd ?? 0);
    const running = run.state.running.find((r) => r.experiment === n);
    if (!running) return; // keyed by number: a late signal changes nothing
    Object.assign(running, { hypothesis, description, lane, trainingStartedAt: new Date().toISOString() });
    run.show();
    if (shouldPrepare(run.config, run.state, pipelineOf(run.config))) void run.prepareNext();
  });
  setHandler(steerUpdate, ({ note }) => {
    const fromExperiment = effectiveExperiment(run.state);
    run.state.steeringNotes.push({ note: note.trim(), fromExperiment });
    if (run.state.pausedReason) resume();
    run.show();
    return { effectiveFromExperiment: fromExperiment, notes: run.state.steeringNotes.length };
  }, {
    validator: ({ note }) => {
      if (typeof note !== 'string' || !note.trim()) throw new Error('note: must be a non-empty string');
      if (note.length > MAX_NOTE_CHARS) throw new Error(`note: at most ${MAX_NOTE_CHARS} characters (got ${note.length})`);
      const total = run.state.steeringNotes.reduce((sum, n) => sum + n.note.length, note.trim().length);
      if (run.state.steeringNotes.length >= MAX_NOTES || total > MAX_NOTES_TOTAL_CHARS) {
        throw new Error(`note: the run holds at most ${MAX_NOTES} notes of ${MAX_NOTES_TOTAL_CHARS} characters in all; replace the direction with setProgram instead`);
      }
    },
  });
  setHandler(setProgramUpdate, ({ program }) => {
    run.state.programOverride = program;
    run.show();
    return { effectiveFromExperiment: effectiveExperiment(run.state), notes: run.state.steeringNotes.length };
  }, {
    validator: ({ program }) => {
      if (typeof program !== 'string' || !program.trim()) throw new Error('program: must be a non-empty string');
      if (program.length > MAX_PROGRAM_CHARS) throw new Error(`program: at most ${MAX_PROGRAM_CHARS} characters`);
    },
  });
}
