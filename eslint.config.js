// Lint rules that carry the project's own rules: no forgotten await, and workflow code that stays
// deterministic (no Node built-ins, no activity or proposer implementations, nothing with side effects).
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['assert', 'buffer', 'child_process', 'crypto', 'events', 'fs', 'fs/promises', 'http', 'https', 'net', 'os', 'path',
  'process', 'stream', 'timers', 'url', 'util', 'worker_threads', 'zlib'];

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
    // Workflow code and the definitions it imports are replayed: they must be deterministic.
    files: ['src/workflows/**/*.ts', 'src/definitions.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: [...NODE_BUILTINS, 'execa', 'simple-git', '@anthropic-ai/sdk', '@temporalio/activity', '@temporalio/worker', '@temporalio/client']
          .map((name) => ({ name, message: 'workflow code runs in the deterministic sandbox: do I/O in an activity' })),
        patterns: [
          { group: ['node:*'], message: 'workflow code may not use Node built-ins: do I/O in an activity' },
          { group: ['**/activities/*', '!**/activities/index.js'], allowTypeImports: true, message: 'workflows import activity types only (proxyActivities)' },
          { group: ['**/activities/index.js'], allowTypeImports: true, message: 'workflows import activity types only (proxyActivities)' },
          { group: ['**/proposers/claude*', '**/proposers/openai*', '**/proposers/offline*', '**/proposers/index*', '**/proposers/prompt*', '**/cli/*', '**/report/*', '**/temporal/*'],
            allowTypeImports: true, message: 'workflow code may not import implementations with side effects' },
        ],
      }],
    },
  },
);
