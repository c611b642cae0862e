/**
 * `npm run test:faults -- --kills 20 --restarts 3 [--seed N] [--runs N] [--experiments N] [--lanes N]`:
 * the fault harness (docs/faults.md). Prints a table; exits 1 when any invariant was violated.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_OPTIONS, runFaultHarness } from '../test/helpers/faultHarness.js';
import { TRAINER_FAULTS } from '../test/helpers/faultHarnessPlan.js';
import { faultReportPassed, formatFaultReport } from '../test/helpers/faultHarnessReport.js';

const USAGE = `usage: npm run test:faults -- [--kills N] [--restarts N] [--seed N] [--runs N] [--experiments N] [--lanes N]
  [--fault-rate P] [--faults ${TRAINER_FAULTS.join(',')}] [--train-seconds S] [--timeout-seconds S]`;

const count = (min: number) => z.coerce.number().int().min(min);
const ArgsSchema = z.object({
  kills: count(0).default(DEFAULT_OPTIONS.kills),
  restarts: count(0).default(DEFAULT_OPTIONS.restarts),
  seed: count(0).default(DEFAULT_OPTIONS.seed),
  runs: count(1).default(DEFAULT_OPTIONS.runs),
  experiments: count(1).default(DEFAULT_OPTIONS.experiments),
  lanes: count(1).max(8).default(DEFAULT_OPTIONS.lanes),
  'fault-rate': z.coerce.number().min(0).max(1).default(DEFAULT_OPTIONS.faultRate),
  faults: z.string().default(DEFAULT_OPTIONS.faults.join(',')).transform((s) => s.split(',').filter(Boolean)).pipe(z.array(z.enum(TRAINER_FAULTS)).min(1)),
  'train-seconds': z.coerce.number().min(0).default(DEFAULT_OPTIONS.trainSeconds),
  'timeout-seconds': z.coerce.number().min(3).default(DEFAULT_OPTIONS.timeoutSeconds),
}).strict();

async function main(): Promise<number> {
  const names = ['kills', 'restarts', 'seed', 'runs', 'experiments', 'lanes', 'fault-rate', 'faults', 'train-seconds', 'timeout-seconds'];
  const { values } = parseArgs({ options: { ...Object.fromEntries(names.map((n) => [n, { type: 'string' as const }])), help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const { help: _help, ...given } = values;
  const parsed = ArgsSchema.safeParse(given);
  if (!parsed.success) {
    console.error(`${parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n')}\n${USAGE}`);
    return 2;
  }
  const a = parsed.data;
  const report = await runFaultHarness({
    kills: a.kills, restarts: a.restarts, seed: a.seed, runs: a.runs, experiments: a.experiments, lanes: a.lanes,
    faultRate: a['fault-rate'], faults: a.faults, trainSeconds: a['train-seconds'], timeoutSeconds: a['timeout-seconds'],
  });
  console.log(`\n${formatFaultReport(report)}\n(worker logs, clones and the remote: ${report.dir})`);
  return faultReportPassed(report) ? 0 : 1;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
