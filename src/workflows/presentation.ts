/** What the web UI shows of a run: its search attributes and its markdown "current details". Pure. */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { BestValBpb, ExperimentCount, ResearchPhaseKey, ResearchTag, type RunStatus } from '../api/messages.js';
import { describeBest, describeLanes } from '../core/describe.js';
import type { ExperimentRecord } from '../core/results.js';
import type { RunState } from '../core/runState.js';

/** Keeps `temporal workflow list --query "BestValBpb < 1.0"` current. */
export function searchAttributeUpdates(tag: string, state: Pick<RunState, 'experimentsDone' | 'phase' | 'best'>): SearchAttributeUpdatePair[] {
  const pairs: SearchAttributeUpdatePair[] = [
    { key: ResearchTag, value: tag },
    { key: ExperimentCount, value: state.experimentsDone },
    { key: ResearchPhaseKey, value: state.phase },
  ];
  if (state.best) pairs.push({ key: BestValBpb, value: state.best.valBpb });
  return pairs;
}

/** The run's "current details" in the web UI: markdown, readable without opening a payload. */
export function renderCurrentDetails(status: RunStatus, recent: ExperimentRecord[]): string {
  const lanes = describeLanes(status);
  const lines = [
    `**Experiment ${status.experiment}** · phase **${status.phase}**${status.paused ? ' · ⏸ paused' : ''}${status.stopRequested ? ' · stopping after this experiment' : ''}${lanes ? ` · ${lanes}` : ''}`,
    status.pausedReason ? `⏸ The run ${status.pausedReason}.` : '',
    status.currentHypothesis ? `Hypothesis: ${status.currentHypothesis}` : '',
    status.best ? `${capitalize(describeBest(status.best))}` : 'No result yet',
    `Cost so far: $${status.costUsd.toFixed(4)}${status.sigma !== undefined ? ` · noise σ ${status.sigma.toFixed(6)} bpb per run` : ''}`,
    status.refusals ? `Repeats refused: ${status.refusals} (code the journal had trained already, not trained again)` : '',
  ].filter(Boolean);
  const blocks = [lines.join('\n\n')]; // markdown: a single newline would merge these into one paragraph
  const last = recent.slice(-5);
  if (last.length) {
    const table = ['| # | commit | val_bpb | status | description |', '|---|---|---|---|---|'];
    for (const r of last) table.push(`| ${r.experiment} | \`${r.commit || '-'}\` | ${r.valBpb.toFixed(6)} | ${r.status} | ${r.description.replace(/\|/g, '\\|')} |`);
    blocks.push(table.join('\n'));
  }
  if (status.endReason) blocks.push(`Run ended: ${status.endReason}`);
  return blocks.join('\n\n');
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
