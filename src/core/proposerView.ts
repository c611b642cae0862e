/**
 * What the proposer sees of the run, built once from the run's state and carried whole: to a
 * proposal made ahead, to each experiment, and from the experiment to its proposer calls.
 */
import type { BestResult, ExperimentRecord } from './results.js';
import type { RunningExperiment, RunState } from './runState.js';

export interface ProposerView {
  best?: BestResult;
  /** The latest results, oldest first, and how many there are in all. */
  recent: ExperimentRecord[];
  experimentsDone: number;
  /** The end of the latest crashed experiment's log. */
  lastCrashLog?: string;
  steeringNotes: string[];
  /** The direction, when replaced by update; else program.md is read from the repo. */
  programOverride?: string;
  /** Experiments running on other lanes: the proposer avoids their ideas. */
  inFlight: RunningExperiment[];
}

/** The experiments in flight as the status and the proposer show them. */
export function runningOf(state: Pick<RunState, 'running'>): RunningExperiment[] {
  return state.running.map(({ experiment, hypothesis, description, lane, trainingStartedAt, start }) => (
    { experiment, hypothesis, description, lane, trainingStartedAt, ...(start ? { branchFrom: start.experiment } : {}) }));
}

/** The proposer's view of the run now; `forExperiment` is left out of the experiments in flight. */
export function proposerView(state: RunState, forExperiment?: number): ProposerView {
  return {
    best: state.best, recent: state.recent, experimentsDone: state.experimentsDone, lastCrashLog: state.lastCrashLog,
    steeringNotes: state.steeringNotes.map((n) => n.note), programOverride: state.programOverride,
    inFlight: runningOf(state).filter((r) => r.experiment !== forExperiment),
  };
}

/** The view out of a payload that carries it beside other fields (an experiment's input). */
export function viewIn(carrier: ProposerView): ProposerView {
  const { best, recent, experimentsDone, lastCrashLog, steeringNotes, programOverride, inFlight } = carrier;
  return { best, recent, experimentsDone, lastCrashLog, steeringNotes, programOverride, inFlight };
}
