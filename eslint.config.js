// Lint rules that carry the project's own rules: no forgotten await; a pure core; and workflow code
// that stays deterministic (no Node built-ins, no I/O, values only from the core and the Temporal face).
// The floors every src folder stands on are test/unit/layers.test.ts's (scripts/layers.ts).
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['assert', 'buffer', 'child_process', 'crypto', 'events', 'fs', 'fs/promises', 'http', 'https', 'net', 'os', 'path',
  'process', 'stream', 'timers', 'url', 'util', 'worker_threads', 'zlib'];
/** Libraries that do I/O or talk to a provider: never in replayed or pure code. */
const SIDE_EFFECTS = ['execa', 'simple-git', '@anthropic-ai/sdk', '@temporalio/activity', '@temporalio/worker', '@temporalio/client'];
/** Project folders with side effects (or above the workflows' floor): type imports at most. */
const IMPLEMENTATIONS = ['**/activities/*', '**/proposers/*', '**/cli/*', '**/report/*', '**/temporal/*', '**/worker*', '**/createWorker*'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.autoresearch/**', 'trainer/**', 'coverage/**', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A forgotten await on an activity or a git call is a bug, not a style.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code and the Temporal face it imports are replayed: they must be deterministic.
    files: ['src/workflows/**/*.ts', 'src/api/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [...NODE_BUILTINS, ...SIDE_EFFECTS].map((name) => ({ name, message: 'workflow code runs in the deterministic sandbox: do I/O in an activity' })),
        patterns: [
          { group: ['node:*'], message: 'workflow code may not use Node built-ins: do I/O in an activity' },
          { group: IMPLEMENTATIONS, allowTypeImports: true,
            message: 'workflows import values only from src/core and src/api (the activities\' interface is src/api/activities.ts)' },
        ],
      }],
    },
  },
  {
    // The core: what the run decides and shares. Pure: no I/O, no Temporal, nothing above it.
    files: ['src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [
          ...[...NODE_BUILTINS, ...SIDE_EFFECTS, '@temporalio/workflow', '@temporalio/proto'].map((name) => ({ name, message: 'src/core is pure: no I/O, no Temporal' })),
          { name: '@temporalio/common', allowTypeImports: true, message: 'src/core may import types only from @temporalio/common' },
        ],
        patterns: [
          { group: ['node:*'], message: 'src/core is pure: no Node built-ins' },
          { group: ['../*'], message: 'src/core imports nothing outside itself: it is the ground floor' },
        ],
      }],
    },
  },
);
