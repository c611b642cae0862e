/**
 * One experiment, as a child workflow of the run, on the lane the run gives it: hypothesize →
 * edit → commit → train (and the follow-up runs the keep rule asks for), and it returns what it
 * measured; the run decides keep or revert. Its own page in the web UI (Current Details) shows the
 * step it is at (hypothesize, edit, commit, train, which run of the baseline, each follow-up run)
 * and, while it trains, how far: steps or tokens and the time left.
 */
import { ApplicationFailure, getExternalWorkflowHandle, isCancellation, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { EXPERIMENT_CANCELLED, type CancelledExperiment, type ExperimentInput } from '../api/experiment.js';
import { experimentTrainingSignal, trainProgressSignal } from '../api/messages.js';
import { memoryGbOf, outcomeOf, type ExperimentResult } from '../core/experimentResult.js';
import { bestRefOf, experimentName, experimentRef } from '../core/names.js';
import { worstCaseCallUsd } from '../core/nextStep.js';
import { viewIn } from '../core/proposerView.js';
import { bestCommitOf } from '../core/results.js';
import { laneActivities, proposer } from './activityProxies.js';
import { trainCandidate } from './candidateRuns.js';
import { BASELINE, ProposalState } from './proposalState.js';

type Show = (phase: string, hypothesis?: string) => void;

export async function experiment(input: ExperimentInput): Promise<ExperimentResult> {
  const name = experimentName(input.experiment);
  // The page shows the phase, which run, and (from the train activity, every 12 s) how far it is.
  let shown: { phase: string; hypothesis?: string; progress?: string } = { phase: 'start' };
  const from = input.baseline ? '' : ` · from ${startOf(input)}`;
  const render = () => setCurrentDetails(`**${name}** on ${input.lane.id}${input.lane.machineClass ? ` (${input.lane.machineClass})` : ''}${from} · phase **${shown.phase}**` +
    `${shown.progress ? `\n\ntraining: ${shown.progress}` : ''}${shown.hypothesis ? `\n\n${shown.hypothesis}` : ''}`);
  const show: Show = (phase, hypothesis) => {
    shown = { phase, hypothesis };
    render();
  };
  setHandler(trainProgressSignal, (progress) => {
    shown = { ...shown, progress };
    render();
  });
  const proposal = new ProposalState(input);
  try {
    return await onLane(input, proposal, show);
  } catch (err) {
    // The run cancels an experiment whose lane died: what it was paid for must still count.
    if (!isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      type: EXPERIMENT_CANCELLED, message: `${name} was cancelled`, nonRetryable: true,
      details: [{ proposal: proposal.current, costUsd: proposal.costUsd() } satisfies CancelledExperiment],
    });
  }
}

/** The node its code starts from, as its page shows it: the best, or tree search's branch node. */
function startOf(input: ExperimentInput): string {
  if (input.start) return `${experimentName(input.start.experiment)} (branch)`;
  return input.best ? `${experimentName(input.best.experiment)} (the best)` : 'the base commit';
}

/** The experiment's steps on its lane. */
async function onLane(input: ExperimentInput, proposal: ProposalState, show: Show): Promise<ExperimentResult> {
  const { config, experiment: n, experimentId, lane } = input;
  const name = experimentName(n);
  const { laneSteps, trainer } = laneActivities(lane, config);
  const bestCommit = bestCommitOf(input);
  const bestRef = bestRefOf(config.tag, input.best);
  // Tree search's branch: the edits start from its node; the incumbent's runs and the diff's count stay the best's.
  const start = input.start && { startCommit: input.start.commitFull, startRef: experimentRef(config.tag, input.start.experiment) };
  const laneInput = { config, laneId: lane.id, bestCommit, bestRef, ...start };
  // A lane that died may have committed this experiment already: it then carries on from that commit.
  const existing = input.restarted ? await laneSteps.prepareLane.executeWithOptions({ summary: `lane ${lane.id} takes over ${name}` },
    [{ ...laneInput, experimentRef: experimentRef(config.tag, n) }]) : undefined;
  if (existing) proposal.current = { hypothesis: existing.hypothesis, description: existing.description, edits: [] };

  // hypothesize → edit, with a bounded repair loop: an edit that fails goes back to the proposer with the error.
  for (let attempt = 0; !input.baseline && !existing; attempt++) {
    if (!proposal.current || proposal.repairError) {
      if (attempt > 0 && input.costBudgetUsd !== undefined && proposal.costUsd() + worstCaseCallUsd(config, proposal.promptChars) > input.costBudgetUsd) {
        proposal.repairError = `${proposal.repairError}\n(no repair: the cost cap leaves no room for another call)`;
        break;
      }
      show('hypothesize');
      const asked = await proposal.ask(() => proposer.hypothesize.executeWithOptions(
        { summary: `hypothesize ${name}${proposal.repairError ? ` (repair ${attempt})` : ''}` },
        [{ ...viewIn(input), experiment: n, config, bestCommit: start?.startCommit ?? bestCommit, bestRef: start?.startRef ?? bestRef,
          repairError: proposal.repairError, previousProposal: proposal.previous }],
      ));
      if (!asked && attempt >= config.proposer.maxRepairs) break;
      if (!asked) continue;
    }
    show('edit', proposal.current!.hypothesis);
    const edited = await proposal.ask(() => laneSteps.edit.executeWithOptions({ summary: `edit ${name}: ${proposal.current!.description}` },
      [{ lane: laneInput, editable: config.trainer.editable, proposal: proposal.current! }]).then(() => undefined));
    if (edited) break;
    if (attempt >= config.proposer.maxRepairs) break;
  }
  const { hypothesis, description } = proposal.current ?? BASELINE;
  if (proposal.repairError) {
    return { outcome: { kind: 'invalid' }, commit: '', commitFull: '', memoryGb: 0, description, hypothesis, costUsd: proposal.costUsd(),
      reason: proposal.repairError, promptChars: proposal.promptChars, lane: lane.id, refusals: proposal.refusals };
  }

  show('commit', hypothesis);
  // The baseline gets an (empty) commit too, so every row has a commit carrying its experiment id.
  const committed = await laneSteps.commit.executeWithOptions({ summary: `commit ${name}: ${description}` }, [
    { lane: laneInput, experimentId, experimentRef: experimentRef(config.tag, n), description, hypothesis, restarted: input.restarted,
      edited: !input.baseline && !existing },
  ]);

  const repeats = config.decision.mode === 'greedy' ? 1 : config.decision.repeats;
  show(input.baseline && repeats > 1 ? `baseline run 1/${repeats}` : 'train', hypothesis);
  const parent = workflowInfo().parent;
  // Sent beside the first train step, not before it: the run learns of it as the trainer starts.
  const told = parent && getExternalWorkflowHandle(parent.workflowId).signal(experimentTrainingSignal, {
    experiment: n, hypothesis, description, lane: lane.id, costUsd: proposal.costUsd() });
  const { first, measured, failure } = await trainCandidate({
    input, laneSteps, trainer, laneInput, candidate: committed, paths: committed.paths, show: (phase) => show(phase, hypothesis) });
  await told;
  return {
    outcome: outcomeOf(measured),
    measured,
    commit: committed.commit,
    commitFull: committed.commitFull,
    memoryGb: memoryGbOf(first.ok ? first.summary : undefined),
    description,
    hypothesis,
    costUsd: proposal.costUsd(),
    reason: first.ok ? (failure ?? first.warning) : first.reason,
    logTail: first.ok ? undefined : first.logTail,
    promptChars: proposal.promptChars,
    lane: lane.id,
    refusals: proposal.refusals,
  };
}
