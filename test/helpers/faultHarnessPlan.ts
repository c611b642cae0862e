/**
 * The fault harness's plan: which faults it injects, into which run, at which phase. Pure and
 * seeded, so a seed names one plan (the timing of a real run still varies).
 */
import { createHash } from 'node:crypto';
import { makeRng } from '../../bench/decisionSim.js';

/** Trainer faults the fixture trainer switches on by itself (test/fixtures/trainer/train.py, FIXTURE_FAULT_RATE). */
export const TRAINER_FAULTS = ['crash', 'hang', 'nan', 'memory', 'flood'] as const;
export type TrainerFault = (typeof TRAINER_FAULTS)[number];

/** When an event fires: while a trainer of the run is alive, right after a row is written, or after a random delay. */
export type EventPhase = 'train' | 'between' | 'delay';

export type FaultEvent =
  | { kind: 'kill'; signal: 'SIGKILL' | 'SIGTERM'; afterRows: number; phase: EventPhase; jitterMs: number; restartDelayMs: number }
  | { kind: 'restart'; afterRows: number; phase: EventPhase; jitterMs: number };

export interface RunPlan {
  run: number;
  events: FaultEvent[];
}



/** Spreads `kills` worker kills and `restarts` server restarts over the runs, each at a random experiment and phase. */
export function planFaults(opts: { seed: number; runs: number; experiments: number; kills: number; restarts: number }): RunPlan[] {
  const random = makeRng(opts.seed); // the decisions benchmark's seeded generator
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const plans: RunPlan[] = Array.from({ length: opts.runs }, (_, run) => ({ run, events: [] }));
  const phases: EventPhase[] = ['train', 'train', 'between', 'delay']; // mid-train is where most can go wrong
  for (let i = 0; i < opts.kills; i++) {
    pick(plans).events.push({
      kind: 'kill',
      signal: random() < 0.6 ? 'SIGKILL' : 'SIGTERM',
      afterRows: Math.floor(random() * opts.experiments),
      phase: pick(phases),
      jitterMs: Math.floor(random() * 1500),
      // Mostly back at once; a quarter stay down past the lease timeout, so their experiment moves to another lane.
      restartDelayMs: random() < 0.25 ? 8000 + Math.floor(random() * 8000) : Math.floor(random() * 3000),
    });
  }
  for (let i = 0; i < opts.restarts; i++) {
    pick(plans).events.push({ kind: 'restart', afterRows: Math.floor(random() * opts.experiments), phase: pick(phases), jitterMs: Math.floor(random() * 1500) });
  }
  for (const plan of plans) plan.events.sort((a, b) => a.afterRows - b.afterRows);
  return plans;
}

/**
 * The trainer fault the fixture gives an experiment, computed as train.py does (sha256 of
 * "<seed>:<experiment id>"): the harness knows which rows must be crashes without reading logs.
 */
export function injectedTrainerFault(opts: { seed: number; rate: number; faults: readonly TrainerFault[] }, experimentId: string): TrainerFault | undefined {
  const digest = createHash('sha256').update(`${opts.seed}:${experimentId}`).digest('hex');
  if (parseInt(digest.slice(0, 8), 16) / 2 ** 32 >= opts.rate) return undefined;
  return opts.faults[parseInt(digest.slice(8, 16), 16) % opts.faults.length];
}
