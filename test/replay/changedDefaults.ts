/**
 * The run defaults as a later release might change them (test/replay/replay.test.ts bundles the
 * workflows with this module in place of src/core/defaults.ts). A run resolves its defaults once
 * and carries them, so saved histories must replay unchanged against these.
 */
export const RUN_DEFAULTS = {
  trainerDir: 'trainer',
  trainerCommand: 'python3 train.py',
  editable: ['train.py', 'model.py'],
  timeBudgetSeconds: 7,
  timeoutSeconds: 9,
  heartbeatTimeoutSeconds: 5,
  evaluation: 'trainer',
  proposerKind: 'claude',
  maxRepairs: 0,
  proposerSeed: 7,
  program: 'direction.md',
  lanes: 3,
  pauseAfterFailures: 1,
} as const;
