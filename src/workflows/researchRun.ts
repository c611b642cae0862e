/**
 * The run: prepares its branch on the remote, then keeps up to `lanes` experiments running, one
 * per free lane, until it is stopped, reaches maxExperiments or the cost cap. It holds the global
 * best and decides keep or revert by compare-and-set as each experiment finishes. Its state is one
 * RunState, its runtime handles one RunExecution (runExecution.ts); every decision on them is a
 * pure function of ../core. See docs/architecture.md.
 */
import { allHandlersFinished, condition, continueAsNew, patched, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../api/activities.js';
import { applicationFailureOf } from '../api/failures.js';
import type { RunSummary } from '../api/messages.js';
import { NON_RETRYABLE } from '../core/failures.js';
import { nextStep } from '../core/nextStep.js';
import type { RunConfig, RunInput } from '../core/runInput.js';
import { initialRunState, type RunState } from '../core/runState.js';
import { remoteSteps } from './activityProxies.js';
import { LaneLeases } from './laneLeases.js';
import { RunExecution } from './runExecution.js';
import { handleMessages } from './runMessages.js';

/**
 * A paused or ending run gives its idle lanes back. Runs recorded before kept every lease until
 * they ended or continued as new; under this patch their histories replay as they were.
 */
const RELEASE_IDLE_LANES = 'release-idle-lanes';

export async function researchRun(input: RunInput, carried?: RunState): Promise<RunSummary> {
  const run = new RunExecution(input, carried ?? initialRunState());
  // The message handlers come first, so that none arrives before its handler.
  handleMessages(run);

  // Defaults and prices are resolved once, by an activity whose result is in the history: a later
  // release that changes one does not change what this run replays.
  const config = run.config = run.state.config ??= await resolveRun(input);
  const lanes = run.lanes = new LaneLeases(config.trainer.heartbeatTimeoutSeconds, (lost) => run.children.get(lost)?.cancel(),
    () => (run.givesLanesBack ? run.lanesWanted() : config.lanes));

  if (!run.state.paths) {
    run.show();
    // The run's identity on the remote: a re-run of the same workflow id is another run.
    const runKey = `${run.runWorkflowId}/${workflowInfo().firstExecutionRunId}`;
    const prepared = await remoteSteps.prepareRun.executeWithOptions({ summary: `prepare autoresearch/${config.tag} on the remote` }, [{ config, runKey }]);
    Object.assign(run.state, {
      paths: prepared.paths, baseCommit: prepared.baseCommit, phase: 'idle',
      // A resumed tag: numbering continues, and its first experiment measures the branch's tip afresh.
      firstExperiment: prepared.resumed?.nextExperiment ?? 0, nextExperiment: prepared.resumed?.nextExperiment ?? 0,
    });
  }
  // A run continued as new while paused asks for no lane until it is resumed.
  lanes.fit(run.lanesWanted() < config.lanes && (run.givesLanesBack = patched(RELEASE_IDLE_LANES)) ? run.lanesWanted() : config.lanes);
  const laneMisfit = () => run.givesLanesBack !== false && lanes.misfit(run.lanesWanted());

  for (;;) {
    if (run.givesLanesBack === false && !lanes.misfit(run.lanesWanted())) run.givesLanesBack = undefined;
    run.show();
    await condition(() => run.fatal !== undefined || run.finished.length > 0 || run.state.notesRecorded < run.state.steeringNotes.length || run.canStart()
      || laneMisfit() || (run.idle() && (run.drain() || nextStep(config, run.state).kind === 'end')));
    if (run.fatal !== undefined) throw run.fatal;
    if (run.finished.length > 0) {
      run.finish(run.finished.shift()!);
      continue;
    }
    if (run.state.notesRecorded < run.state.steeringNotes.length) {
      const notes = [...run.state.steeringNotes];
      run.state.notesRecorded = notes.length;
      run.write(() => remoteSteps.recordSteering({ config, notes }));
      continue;
    }
    if (laneMisfit()) {
      // Paused or ending: idle lanes go back to their workers; resumed: as many as `lanes` are asked for.
      run.givesLanesBack ??= patched(RELEASE_IDLE_LANES);
      if (run.givesLanesBack) lanes.fit(run.lanesWanted());
      continue;
    }
    const step = nextStep(config, run.state);
    if (run.idle() && step.kind === 'end') {
      run.state.endReason = step.reason;
      break;
    }
    if (run.idle() && run.drain()) {
      lanes.end();
      await condition(allHandlersFinished);
      await continueAsNew<typeof researchRun>(input, run.state);
    }
    if (run.canStart()) run.start();
  }
  lanes.end();

  const { state } = run;
  state.phase = 'done';
  run.show();
  await condition(allHandlersFinished);
  return {
    tag: config.tag, experiments: state.experimentsDone, kept: state.counts.keep, best: state.best, baselineValBpb: state.baselineValBpb,
    costUsd: state.costUsd, branch: state.paths!.branch, resultsFile: state.paths!.resultsFile, endReason: state.endReason!,
  };
}

/** The run input, validated and resolved (defaults, pipeline, price) by a local activity; an invalid one fails the run naming the field. */
async function resolveRun(input: RunInput): Promise<RunConfig> {
  const { resolveRunConfig } = proxyLocalActivities<Activities>({
    startToCloseTimeout: '1 minute', retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE },
  });
  try {
    return await resolveRunConfig(input);
  } catch (err) {
    throw applicationFailureOf(err) ?? err; // the failure itself, naming the field, not "activity failed"
  }
}
