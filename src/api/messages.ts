/**
 * The run's public interface: its signals, queries and updates (the plain temporal CLI uses these
 * names), their payloads, and its search attributes. Workflow-safe: definitions only.
 * How they fit together: docs/architecture.md.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { LaneGrant } from '../core/names.js';
import type { BestResult, ExperimentRecord, ExperimentStatus } from '../core/results.js';
import type { ResearchPhase, RunningExperiment } from '../core/runState.js';

// ---------------------------------------------------------------------------------------------
// Search attributes of the run: `temporal workflow list --query "BestValBpb < 1.0"`

export const ResearchTag = defineSearchAttributeKey('ResearchTag', SearchAttributeType.KEYWORD);
export const BestValBpb = defineSearchAttributeKey('BestValBpb', SearchAttributeType.DOUBLE);
export const ExperimentCount = defineSearchAttributeKey('ExperimentCount', SearchAttributeType.INT);
export const ResearchPhaseKey = defineSearchAttributeKey('ResearchPhase', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [ResearchTag, BestValBpb, ExperimentCount, ResearchPhaseKey];

// ---------------------------------------------------------------------------------------------
// Signals, queries and updates

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
/** Notes travel with every experiment: their number and total size are bounded, so the payload is. */
export const MAX_NOTES = 50;
export const MAX_NOTES_TOTAL_CHARS = 20_000;

export interface SetProgramInput {
  program: string;
}
/** Replaces the direction of program.md for the rest of the run. */
export const setProgramUpdate = defineUpdate<SteerResult, [SetProgramInput]>('setProgram');
export const MAX_PROGRAM_CHARS = 50_000;

export interface RunStatus {
  tag: string;
  phase: ResearchPhase;
  running: RunningExperiment[];
  paused: boolean;
  stopRequested: boolean;
  /** Number of the experiment running or next to run. */
  experiment: number;
  experimentsDone: number;
  counts: Record<ExperimentStatus, number>;
  maxExperiments?: number;
  best?: BestResult;
  currentHypothesis?: string;
  trainingStartedAt?: string;
  timeBudgetSeconds: number;
  /** The training budget in tokens, when the run has one: it replaces the time budget. */
  tokenBudget?: number;
  costUsd: number;
  steeringNotes: string[];
  branch?: string;
  resultsFile?: string;
  endReason?: string;
  /** Why the run paused itself (the breaker), until resume, a steer or stop. */
  pausedReason?: string;
  /** σ of one training run as the keep rule sees it now, bpb (absent before the baseline or under the greedy rule). */
  sigma?: number;
  /** Lanes the run holds now (a paused run holds only those its experiments in flight train on). */
  lanesHeld?: number;
  /** Lanes the run has asked for and not yet been granted: it waits for a worker with a free lane. */
  lanesWaitingFor?: number;
  /** Proposals refused before training because the journal had trained their code already. */
  refusals?: number;
}
export const statusQuery = defineQuery<RunStatus>('status');
/** The latest results (a bounded window; results.tsv has them all). */
export const resultsQuery = defineQuery<ExperimentRecord[]>('results');

/** What a completed run returns. */
export interface RunSummary {
  tag: string;
  experiments: number;
  kept: number;
  best?: BestResult;
  baselineValBpb?: number;
  costUsd: number;
  branch: string;
  resultsFile: string;
  endReason: string;
}

// ---------------------------------------------------------------------------------------------
// Internal: between the run, its experiments and the workers' lane leases

/** A worker's lease activity tells the run which lane a lease got. */
export const laneGrantedSignal = defineSignal<[LaneGrant]>('laneGranted');

/** An experiment tells its run that it trains, and what it tests (one signal per experiment). */
export interface TrainingInput {
  experiment: number;
  hypothesis: string;
  description: string;
  lane: string;
  /** What its proposer calls cost, all made by now: the run counts it toward the cap at once. */
  costUsd?: number;
}
export const experimentTrainingSignal = defineSignal<[TrainingInput]>('experimentTraining');

/**
 * The train activity tells its experiment how far the trainer is ("45% (36 of 80 steps), about 20 s
 * left"), at most every 12 s: the experiment's page in the web UI shows it in its Current Details.
 */
export const trainProgressSignal = defineSignal<[string]>('trainProgress');
