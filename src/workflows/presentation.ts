import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributeUpdatePair } from '@temporalio/common';
import { bestOf } from './decision.js';
import type { ResearchPhase, RunStatus } from './messages.js';
import type { ExperimentRecord } from './types.js';

export const ResearchTag = defineSearchAttributeKey('ResearchTag', SearchAttributeType.KEYWORD);
export const BestValBpb = defineSearchAttributeKey('BestValBpb', SearchAttributeType.DOUBLE);
export const ExperimentCount = defineSearchAttributeKey('ExperimentCount', SearchAttributeType.INT);
export const ResearchPhaseKey = defineSearchAttributeKey('ResearchPhase', SearchAttributeType.KEYWORD);

/** Keeps `temporal workflow list --query "BestValBpb < 1.0"` current. */
export function searchAttributeUpdates(tag: string, records: ExperimentRecord[], phase: ResearchPhase): SearchAttributeUpdatePair[] {
  const best = bestOf(records);
  const pairs: SearchAttributeUpdatePair[] = [
    { key: ResearchTag, value: tag },
    { key: ExperimentCount, value: records.length },
    { key: ResearchPhaseKey, value: phase },
  ];
  if (best) pairs.push({ key: BestValBpb, value: best.valBpb });
  return pairs;
}

/** The run's "current details" in the web UI: markdown, readable without opening a payload. */
export function renderCurrentDetails(status: RunStatus, records: ExperimentRecord[]): string {
  const lines = [
    `**Experiment ${status.experiment}** · phase **${status.phase}**${status.paused ? ' · ⏸ paused' : ''}${status.stopRequested ? ' · stopping after this experiment' : ''}`,
    status.currentHypothesis ? `Hypothesis: ${status.currentHypothesis}` : '',
    status.best ? `Best val_bpb **${status.best.valBpb.toFixed(6)}** at \`${status.best.commit}\` (exp ${status.best.experiment})` : 'No result yet',
    `Cost so far: $${status.costUsd.toFixed(4)}`,
  ].filter(Boolean);
  const blocks = [lines.join('\n\n')]; // markdown: a single newline would merge these into one paragraph
  const last = records.slice(-5);
  if (last.length) {
    const table = ['| # | commit | val_bpb | status | description |', '|---|---|---|---|---|'];
    for (const r of last) table.push(`| ${r.index} | \`${r.commit || '-'}\` | ${r.valBpb.toFixed(6)} | ${r.status} | ${r.description.replace(/\|/g, '\\|')} |`);
    blocks.push(table.join('\n'));
  }
  if (status.endReason) blocks.push(`Run ended: ${status.endReason}`);
  return blocks.join('\n\n');
}
