import { parseRunInput, type RunConfig } from '../../src/core/runInput.js';
import { renderWatch } from '../../src/cli/watchView.js';
import { formatStatus } from '../../src/cli/commands.js';
import { describeLanes } from '../../src/core/describe.js';
import type { RunStatus } from '../../src/api/messages.js';
import { initialRunState, recordExperiment, startExperiment, type RunState } from '../../src/core/runState.js';
import { lanesToHold } from '../../src/core/nextStep.js';
import { renderCurrentDetails } from '../../src/workflows/presentation.js';
import { makeRecord } from '../helpers/run.js';

const config = (extra: object = {}): RunConfig => {
  const r = parseRunInput({ tag: 't', lanes: 3, ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.config;
};
/** The baseline done, then `running` experiments started. */
const withRunning = (running: number, over: Partial<RunState> = {}): RunState => {
  let s = recordExperiment(initialRunState(), makeRecord(0));
  for (let i = 0; i < running; i++) s = startExperiment(s).state;
  return { ...s, ...over };
};

describe('lanesToHold', () => {
  test('a running run holds `lanes`, however many experiments run', () => {
    expect([0, 1, 3].map((n) => lanesToHold(config(), withRunning(n)))).toEqual([3, 3, 3]);
  });

  test('a paused run (by a person or the breaker) keeps only the lanes its experiments in flight train on', () => {
    expect([0, 1, 2].map((n) => lanesToHold(config(), withRunning(n, { paused: true })))).toEqual([0, 1, 2]);
    expect(lanesToHold(config(), withRunning(0, { paused: true, pausedReason: 'paused itself after 5 crash or invalid results' }))).toBe(0);
  });

  test('a paused run holds no lane for an experiment waiting to move: it does not start while paused', () => {
    const s = withRunning(1);
    expect(lanesToHold(config(), { ...s, paused: true, running: [], moved: s.running })).toBe(0);
  });

  test('resumed, it asks for `lanes` again', () => {
    expect(lanesToHold(config(), { ...withRunning(0, { paused: true }), paused: false })).toBe(3);
  });

  test('an ending run (stop, maxExperiments, cost cap) keeps only what its last experiments need, a moved one included', () => {
    expect(lanesToHold(config(), withRunning(2, { stopRequested: true }))).toBe(2);
    expect(lanesToHold(config(), withRunning(0, { stopRequested: true }))).toBe(0);
    const s = withRunning(1, { stopRequested: true });
    expect(lanesToHold(config(), { ...s, moved: s.running, running: [] })).toBe(1);
    expect(lanesToHold(config({ maxExperiments: 2 }), withRunning(1))).toBe(1); // experiment 1 is the last
    expect(lanesToHold(config({ maxExperiments: 3 }), withRunning(1))).toBe(3);
  });
});

const status = (over: Partial<RunStatus> = {}): RunStatus => ({
  tag: 't', phase: 'paused', running: [], paused: true, stopRequested: false, experiment: 3, experimentsDone: 3, timeBudgetSeconds: 300,
  counts: { keep: 1, discard: 2, crash: 0, invalid: 0 }, costUsd: 0, steeringNotes: [], lanesHeld: 0, lanesWaitingFor: 0, ...over,
});

describe('the lanes in status, watch and Current Details', () => {
  test('describeLanes says how many lanes the run holds and waits for', () => {
    expect(describeLanes(status())).toBe('holds no lanes');
    expect(describeLanes(status({ lanesWaitingFor: 1 }))).toBe('holds no lanes, waiting for 1 lane');
    expect(describeLanes(status({ lanesHeld: 1, lanesWaitingFor: 2 }))).toBe('holds 1 lane, waiting for 2 lanes');
    expect(describeLanes(status({ lanesHeld: 2 }))).toBe('holds 2 lanes');
    // Nothing to say while preparing or once done, nor when a worker too old to count answers.
    expect([describeLanes(status({ phase: 'preparing' })), describeLanes(status({ phase: 'done' })),
      describeLanes(status({ lanesHeld: undefined, lanesWaitingFor: undefined }))]).toEqual([undefined, undefined, undefined]);
  });

  test('watch and Current Details say that a paused run holds no lanes, or how many it waits for', () => {
    expect(renderWatch(status(), [], new Date()).split('\n')[1]).toBe('experiment 3 · phase paused · paused · holds no lanes');
    expect(renderWatch(status({ phase: 'idle', paused: false, lanesWaitingFor: 2 }), [], new Date()).split('\n')[1])
      .toBe('experiment 3 · phase idle · holds no lanes, waiting for 2 lanes');
    expect(renderCurrentDetails(status(), []).split('\n')[0]).toBe('**Experiment 3** · phase **paused** · ⏸ paused · holds no lanes');
    expect(renderCurrentDetails(status({ phase: 'idle', paused: false, lanesWaitingFor: 1 }), []).split('\n')[0])
      .toBe('**Experiment 3** · phase **idle** · holds no lanes, waiting for 1 lane');
  });

  test('`research status` says it too', () => {
    expect(formatStatus(status()).split('\n')).toContain('lanes: holds no lanes');
    expect(formatStatus(status({ phase: 'idle', paused: false, lanesHeld: 1, lanesWaitingFor: 1 })).split('\n')).toContain('lanes: holds 1 lane, waiting for 1 lane');
  });
});
