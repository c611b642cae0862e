import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ExperimentRecord } from './types.js';

/** DESIGN §4 message names: stable public interface (the plain temporal CLI uses them). */

/** No new experiment starts; the running one finishes. */
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Finish the current experiment, then complete the run. */
export const stopSignal = defineSignal('stop');

export interface SteerInput {
  note: string;
}
export interface SteerResult {
  /** The experiment number whose hypothesis first sees the note. */
  effectiveFromExperiment: number;
  notes: number;
}
/** An update, not a signal: the caller learns where the note takes effect. */
export const steerUpdate = defineUpdate<SteerResult, [SteerInput]>('steer');
export const MAX_NOTE_CHARS = 2000;

export interface SetProgramInput {
  program: string;
}
/** Replaces the direction of program.md for the rest of the run. */
export const setProgramUpdate = defineUpdate<SteerResult, [SetProgramInput]>('setProgram');
export const MAX_PROGRAM_CHARS = 50_000;

export type ResearchPhase = 'preparing' | 'hypothesize' | 'edit' | 'commit' | 'train' | 'evaluate' | 'decide' | 'paused' | 'idle' | 'done';

export interface RunStatus {
  tag: string;
  phase: ResearchPhase;
  paused: boolean;
  stopRequested: boolean;
  /** Number of the experiment running or next to run. */
  experiment: number;
  experimentsDone: number;
  maxExperiments?: number;
  best?: { valBpb: number; commit: string; experiment: number };
  currentHypothesis?: string;
  trainingStartedAt?: string;
  timeBudgetSeconds: number;
  costUsd: number;
  steeringNotes: string[];
  branch?: string;
  resultsFile?: string;
  endReason?: string;
}
export const statusQuery = defineQuery<RunStatus>('status');
export const resultsQuery = defineQuery<ExperimentRecord[]>('results');

/** Internal: an experiment child tells its run which phase it is in (for status and the UI). */
export interface PhaseInput {
  experiment: number;
  phase: ResearchPhase;
  hypothesis?: string;
}
export const experimentPhaseSignal = defineSignal<[PhaseInput]>('experimentPhase');
