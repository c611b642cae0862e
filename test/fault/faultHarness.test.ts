/**
 * The fault harness (`npm run test:faults`, docs/faults.md) in short: one seeded run whose worker is
 * killed (SIGTERM and SIGKILL) and whose server restarts, all mid-train, while the fixture trainer
 * prints NaN, exceeds its memory limit or floods its log; nothing may be lost, duplicated or orphaned.
 * First the checker itself, on planted faults, so a clean result means something.
 */
import { execa } from 'execa';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { runFaultHarness } from '../helpers/faultHarness.js';
import { injectedTrainerFault, planFaults, type TrainerFault } from '../helpers/faultHarnessPlan.js';
import { faultReportPassed, faultTotals, formatFaultReport } from '../helpers/faultHarnessReport.js';
import { FIXTURES } from '../helpers/fixtureRepo.js';
import { checkRunFacts, parseTsvRows, type RunFacts, type TsvRow } from '../helpers/runInvariants.js';
import { killAllWorkerProcesses } from '../helpers/workerProcess.js';

afterAll(async () => {
  await killAllWorkerProcesses();
});

const TAG = 'faults-unit';
const hash = (n: number) => n.toString(16).padStart(40, '0');
/** Full hashes whose short forms differ: 0000000…, 1111111…, 2222222… */
const full = (i: number) => `${String(i).repeat(7)}${'0'.repeat(33)}`;
const id = (i: number) => `${TAG}/exp-${String(i).padStart(4, '0')}`;

/** A consistent three-experiment run: keep (base), keep (better), discard. */
function cleanFacts(): RunFacts {
  const rows: TsvRow[] = [
    { experimentId: id(0), commit: full(0).slice(0, 7), status: 'keep', valBpb: 1.5, reason: '' },
    { experimentId: id(1), commit: full(1).slice(0, 7), status: 'keep', valBpb: 1.2, reason: '' },
    { experimentId: id(2), commit: full(2).slice(0, 7), status: 'discard', valBpb: 1.3, reason: '' },
  ];
  return {
    tag: TAG,
    experiments: 3,
    baseCommit: hash(1),
    rows,
    hostRows: [{ host: 'host0', rows: rows.slice(0, 2) }],
    records: rows.map((r, i) => ({ experimentId: r.experimentId, commit: r.commit, commitFull: full(i), status: r.status as 'keep', valBpb: r.valBpb })),
    status: { experimentsDone: 3, counts: { keep: 2, discard: 1, crash: 0, invalid: 0 }, running: 0 },
    summary: { experiments: 3, bestCommit: rows[1].commit },
    trailerCommits: Object.fromEntries(rows.map((r, i) => [r.experimentId, [full(i)]])),
    experimentRefs: Object.fromEntries(rows.map((r, i) => [r.experimentId, full(i)])),
    branch: full(1),
    code: Object.fromEntries(rows.map((r) => [r.experimentId, { valBpb: r.valBpb, crashConstant: false }])),
    dirtyWorktrees: [],
    trainers: [],
    injected: {},
  };
}

describe('the invariant checker', () => {
  test('a consistent run passes', () => {
    expect(checkRunFacts(cleanFacts())).toEqual({ lost: 0, duplicated: 0, orphans: 0, failures: [] });
  });

  test('a planted duplicate row, a lost row and a live trainer are counted', () => {
    const f = cleanFacts();
    f.rows.push({ ...f.rows[1] });
    expect(checkRunFacts(f)).toMatchObject({ duplicated: 1, lost: 0, failures: expect.arrayContaining([expect.stringMatching(/duplicated: faults-unit\/exp-0001: 2 rows/)]) });

    const lost = cleanFacts();
    lost.rows.splice(2, 1);
    expect(checkRunFacts(lost)).toMatchObject({ lost: 1, duplicated: 0 });

    const orphan = cleanFacts();
    orphan.trainers.push({ pid: 4242, experimentId: id(2) });
    expect(checkRunFacts(orphan)).toMatchObject({ orphans: 1, failures: [expect.stringMatching(/orphan trainer: pid 4242/)] });
  });

  test('a commit twice, a branch off the best, a dirty worktree, a missing ref and a fault that was not a crash are failures', () => {
    const f = cleanFacts();
    f.trailerCommits[id(2)].push(hash(99));
    f.branch = f.experimentRefs[id(0)];
    f.dirtyWorktrees.push('/x/lanes/host0-cpu0:  M trainer/train.py');
    f.experimentRefs[id(2)] = undefined;
    f.injected[id(1)] = 'nan';
    const check = checkRunFacts(f);
    expect(check.duplicated).toBe(1);
    expect(check.failures.join('\n')).toMatch(/branch: autoresearch\/faults-unit is at 0000000, the best kept commit is 1111111/);
    expect(check.failures.join('\n')).toMatch(/dirty worktree/);
    expect(check.failures.join('\n')).toMatch(/unreachable commit: faults-unit\/exp-0002/);
    expect(check.failures.join('\n')).toMatch(/fault not a crash: faults-unit\/exp-0001 \(nan\) is keep/);
  });

  test('results.tsv is read by column name', () => {
    const rows = parseTsvRows('commit\tval_bpb\tmemory_gb\tstatus\tdescription\tcost_usd\texperiment_id\tlane\treason\nabc1234\t0.000000\t0.0\tcrash\td\t0\tt/exp-0000\tl\ttimed out\n');
    expect(rows).toEqual([{ experimentId: 't/exp-0000', commit: 'abc1234', status: 'crash', valBpb: 0, reason: 'timed out' }]);
  });
});

describe('the plan', () => {
  test('a seed gives one plan, with every kill and restart placed', () => {
    const a = planFaults({ seed: 7, runs: 3, experiments: 10, kills: 20, restarts: 3 });
    expect(planFaults({ seed: 7, runs: 3, experiments: 10, kills: 20, restarts: 3 })).toEqual(a);
    const events = a.flatMap((p) => p.events);
    expect(events.filter((e) => e.kind === 'kill')).toHaveLength(20);
    expect(events.filter((e) => e.kind === 'restart')).toHaveLength(3);
    expect(events.every((e) => e.afterRows >= 0 && e.afterRows < 10)).toBe(true);
  });

  test('the harness predicts the fixture trainer\'s fault for an experiment, as train.py draws it', async () => {
    const faults: TrainerFault[] = ['crash', 'nan', 'flood'];
    for (let i = 0; i < 8; i++) {
      const experimentId = `t/exp-000${i}`;
      const { stdout } = await execa('python3', ['train.py'], {
        cwd: path.join(FIXTURES, 'trainer'),
        env: { AUTORESEARCH_EXPERIMENT_ID: experimentId, FIXTURE_FAULT_RATE: '0.5', FIXTURE_FAULTS: faults.join(','), FIXTURE_FAULT_SEED: '1', FIXTURE_FLOOD_MB: '0' },
        reject: false,
      });
      const drawn = /^fixture fault: (\w+)$/m.exec(stdout)?.[1];
      expect({ experimentId, fault: drawn }).toEqual({ experimentId, fault: injectedTrainerFault({ seed: 1, rate: 0.5, faults }, experimentId) });
    }
  });
});

describe('the fault harness, short and seeded', () => {
  test('a run through SIGKILL and SIGTERM of its worker, a server restart and trainer faults loses, duplicates and orphans nothing', async () => {
    const lines: string[] = [];
    const report = await runFaultHarness({
      seed: 43, runs: 1, experiments: 5, lanes: 1, kills: 2, restarts: 1,
      faultRate: 0.5, faults: ['crash', 'nan', 'memory', 'flood'], trainSeconds: 2,
      log: (line) => lines.push(line),
    });
    console.log(`${lines.join('\n')}\n${formatFaultReport(report)}`);
    const totals = faultTotals(report);
    expect(totals).toMatchObject({ runs: 1, experiments: 5, kills: 2, restarts: 1, lost: 0, duplicated: 0, orphans: 0, failures: 0 });
    expect(totals.sigkill).toBeGreaterThanOrEqual(1);
    expect(totals.trainerFaults).toBeGreaterThanOrEqual(1);
    expect(faultReportPassed(report)).toBe(true);
    await rm(report.dir, { recursive: true, force: true });
  }, 150_000);
});
