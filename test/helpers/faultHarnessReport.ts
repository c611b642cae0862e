/** The fault harness's printed table and its totals. */
import type { FaultReport, RunOutcome } from './faultHarness.js';
import { TRAINER_FAULTS } from './faultHarnessPlan.js';

export interface FaultTotals {
  runs: number;
  experiments: number;
  kills: number;
  sigkill: number;
  sigterm: number;
  midTrainKills: number;
  restarts: number;
  trainerFaults: number;
  lost: number;
  duplicated: number;
  orphans: number;
  failures: number;
  workerExits: number;
}

export function faultTotals(report: Pick<FaultReport, 'runs'>): FaultTotals {
  const sum = (f: (r: RunOutcome) => number) => report.runs.reduce((a, r) => a + f(r), 0);
  return {
    runs: report.runs.length,
    experiments: sum((r) => r.experiments),
    kills: sum((r) => r.kills.SIGKILL + r.kills.SIGTERM),
    sigkill: sum((r) => r.kills.SIGKILL),
    sigterm: sum((r) => r.kills.SIGTERM),
    midTrainKills: sum((r) => r.kills.midTrain),
    restarts: sum((r) => r.restarts),
    trainerFaults: sum((r) => Object.values(r.trainerFaults).reduce((a, b) => a + (b ?? 0), 0)),
    lost: sum((r) => r.lost),
    duplicated: sum((r) => r.duplicated),
    orphans: sum((r) => r.orphans),
    failures: sum((r) => r.failures.length),
    workerExits: sum((r) => r.workerExits),
  };
}

/** True when every invariant held in every run. */
export function faultReportPassed(report: Pick<FaultReport, 'runs'>): boolean {
  const t = faultTotals(report);
  return t.lost === 0 && t.duplicated === 0 && t.orphans === 0 && t.failures === 0;
}

/** One line per run, a totals line, then every violated invariant. */
export function formatFaultReport(report: FaultReport): string {
  const header = ['run', 'experiments', 'kills (KILL/TERM, mid-train)', 'restarts', 'trainer faults', 'keep/discard/crash/invalid', 'lost', 'duplicated', 'orphans', 'failures', 'seconds'];
  const faults = (f: RunOutcome['trainerFaults']) => TRAINER_FAULTS.filter((k) => f[k]).map((k) => `${k} ${f[k]}`).join(', ') || '-';
  const statuses = (s: Record<string, number>) => ['keep', 'discard', 'crash', 'invalid'].map((k) => s[k] ?? 0).join('/');
  const lines = report.runs.map((r) => [
    r.tag, String(r.experiments), `${r.kills.SIGKILL + r.kills.SIGTERM} (${r.kills.SIGKILL}/${r.kills.SIGTERM}, ${r.kills.midTrain})`, String(r.restarts),
    faults(r.trainerFaults), statuses(r.statuses), String(r.lost), String(r.duplicated), String(r.orphans), String(r.failures.length), r.seconds.toFixed(0),
  ]);
  const t = faultTotals(report);
  const allFaults: RunOutcome['trainerFaults'] = {};
  const allStatuses: Record<string, number> = {};
  for (const r of report.runs) {
    for (const k of TRAINER_FAULTS) if (r.trainerFaults[k]) allFaults[k] = (allFaults[k] ?? 0) + r.trainerFaults[k]!;
    for (const [k, n] of Object.entries(r.statuses)) allStatuses[k] = (allStatuses[k] ?? 0) + n;
  }
  lines.push([
    `total (${t.runs} runs)`, String(t.experiments), `${t.kills} (${t.sigkill}/${t.sigterm}, ${t.midTrainKills})`, String(t.restarts),
    faults(allFaults), statuses(allStatuses), String(t.lost), String(t.duplicated), String(t.orphans), String(t.failures), report.seconds.toFixed(0),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const out = [row(header), ...lines.slice(0, -1).map(row), widths.map((w) => '-'.repeat(w)).join('  '), row(lines[lines.length - 1])];
  if (t.workerExits) out.push(`${t.workerExits} worker processes exited by themselves (started again)`);
  const failures = report.runs.flatMap((r) => r.failures);
  out.push(failures.length ? `\nviolated invariants:\n${failures.map((f) => `  ${f}`).join('\n')}` : '\nevery invariant held');
  return out.join('\n');
}
