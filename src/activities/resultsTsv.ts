import type { ExperimentRecord, SteeringNote } from '../workflows/types.js';

/** The original's five columns first (DESIGN §2); ours follow and never replace them. */
export const RESULTS_HEADER = ['commit', 'val_bpb', 'memory_gb', 'status', 'description', 'cost_usd', 'experiment_id'];

/** Renders results.tsv whole from workflow state, so a retried write can never duplicate a row. */
export function formatResultsTsv(records: ExperimentRecord[]): string {
  const rows = records.map((r) => {
    const trained = r.status === 'keep' || r.status === 'discard';
    return [
      r.commit || '-',
      (trained ? r.valBpb : 0).toFixed(6),
      (trained ? r.memoryGb : 0).toFixed(1),
      r.status,
      oneLine(r.description),
      r.costUsd.toFixed(4),
      r.experimentId,
    ].join('\t');
  });
  return [RESULTS_HEADER.join('\t'), ...rows].join('\n') + '\n';
}

function oneLine(s: string): string {
  return s.replace(/[\t\r\n]+/g, ' ').trim();
}

/** Beside results.tsv: the steering notes, so the report can show them. */
export const STEERING_FILE = 'steering.tsv';

export function formatSteeringTsv(notes: SteeringNote[]): string {
  return ['from_experiment\tnote', ...notes.map((n) => `${n.fromExperiment}\t${oneLine(n.note)}`)].join('\n') + '\n';
}
