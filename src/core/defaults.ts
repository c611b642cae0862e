/**
 * The run input's defaults, in one place. They are applied once, when a run starts (the
 * resolveRunConfig local activity), and the resolved config is carried in the run's state: a
 * default changed in a later release never changes what a running run replays.
 */
export const RUN_DEFAULTS = {
  trainerDir: 'trainer',
  trainerCommand: 'uv run train.py',
  editable: ['train.py'],
  timeBudgetSeconds: 300,
  timeoutSeconds: 600,
  heartbeatTimeoutSeconds: 60,
  evaluation: 'harness',
  proposerKind: 'offline',
  maxRepairs: 2,
  proposerSeed: 1,
  program: 'program.md',
  lanes: 1,
  pauseAfterFailures: 5,
} as const;
