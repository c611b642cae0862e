/** What a run shows of itself: its status (the status query), its search attributes and its markdown "current details" in the web UI. Pure. */
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { BestValBpb, ExperimentCount, ResearchPhaseKey, ResearchTag, type RunStatus } from '../api/messages.js';
import { describeBest, describeLanes } from '../core/describe.js';
import { experimentId, experimentName } from '../core/names.js';
import { noiseOf } from '../core/keepDecision.js';
import { phaseOf } from '../core/nextStep.js';
import { runningOf } from '../core/proposerView.js';
import type { ExperimentRecord } from '../core/results.js';
import type { RunInput } from '../core/runInput.js';
import type { RunState } from '../core/runState.js';

/** The run's status from its state, and the lanes it holds and waits for. Until the input is resolved (milliseconds), it says so. */
export function statusOf(input: RunInput, state: RunState, lanes: { held: number; waitingFor: number }): RunStatus {
  const config = state.config;
  if (!config) {
    return {
      tag: String((input as { tag?: unknown }).tag), phase: 'preparing', running: [], paused: state.paused, stopRequested: state.stopRequested,
      experiment: 0, experimentsDone: 0, counts: state.counts, timeBudgetSeconds: 0, costUsd: 0, steeringNotes: state.steeringNotes.map((n) => n.note),
    };
  }
  /** Of the experiments running, the latest one's hypothesis or training start. */
  const latest = (key: 'hypothesis' | 'trainingStartedAt') => [...state.running].reverse().find((r) => r[key])?.[key];
  return {
    tag: config.tag, phase: phaseOf(state), running: runningOf(state),
    paused: state.paused, stopRequested: state.stopRequested, experiment: state.running[0]?.experiment ?? state.nextExperiment,
    experimentsDone: state.experimentsDone, counts: state.counts, maxExperiments: config.maxExperiments, best: state.best,
    currentHypothesis: latest('hypothesis'), trainingStartedAt: latest('trainingStartedAt'),
    timeBudgetSeconds: config.trainer.timeBudgetSeconds, tokenBudget: config.trainer.tokenBudget, costUsd: state.costUsd,
    steeringNotes: state.steeringNotes.map((n) => n.note), branch: state.paths?.branch, resultsFile: state.paths?.resultsFile,
    endReason: state.endReason, pausedReason: state.pausedReason,
    sigma: config.decision.mode === 'greedy' || !state.incumbent.runs.length ? undefined : noiseOf(config, state).sigma,
    lanesHeld: lanes.held, lanesWaitingFor: lanes.waitingFor, refusals: (state.refusals ?? 0) + (state.refusedAhead ?? 0),
  };
}

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
    // The run's page cannot show a trainer's steps without an event per update in the run's history:
    // each experiment's own page shows them (its child workflow, under Relationships).
    status.running.length ? `Training progress (steps, time left): on the page of ${status.running.map((r) => `\`${experimentId(status.tag, r.experiment)}\``).join(', ')}` : '',
    branchLine(status),
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

/** Tree search: the experiments running in a branch, and the node each starts from (the others start from the best). */
function branchLine(status: RunStatus): string {
  const branched = status.running.filter((r) => r.branchFrom !== undefined);
  return branched.length ? `Branch (tree search): ${branched.map((r) => `${experimentName(r.experiment)} from ${experimentName(r.branchFrom!)}`).join(', ')}` : '';
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
