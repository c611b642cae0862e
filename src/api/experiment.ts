/** The experiment child workflow's interface: what its run gives it, and what a cancelled one hands back. */
import type { Lane } from '../core/names.js';
import type { Incumbent } from '../core/keepDecision.js';
import type { NoiseTotals } from '../core/noiseEstimate.js';
import type { Proposal } from '../core/proposal.js';
import type { ProposerView } from '../core/proposerView.js';
import type { RunConfig } from '../core/runInput.js';
import type { PreparedProposal } from '../core/runState.js';
import type { SearchNode } from '../core/searchTree.js';

/** What an experiment gets from its run: the proposer's view (the best so far and a bounded window, never the whole results list) and the keep rule's reference. */
export interface ExperimentInput extends ProposerView {
  experiment: number;
  experimentId: string;
  config: RunConfig;
  /** The lane the run holds for it: its host-local steps run on the lane's queue. */
  lane: Lane;
  /** The commit the run started from: the best commit until something is kept. */
  baseCommit: string;
  /** What the cost cap leaves for this experiment's proposer calls (absent: no cap). */
  costBudgetUsd?: number;
  /** Made while another experiment trained; absent: this experiment asks the proposer itself. */
  prepared?: PreparedProposal;
  /** It lost its lane before: its commit may be on the remote already. */
  restarted?: boolean;
  /** Proposals made ahead for it and refused as repeats (the journal had trained their code): its own count starts there. */
  refusedAhead?: number;
  /** The run's first experiment: the unmodified trainer, trained `decision.repeats` times. */
  baseline: boolean;
  /** What the keep rule compares with: the best's own runs and shape, and former incumbents' noise. */
  incumbent: Incumbent;
  noise: NoiseTotals;
  /** The node tree search starts it from (its edits apply to that commit); absent: the best. */
  start?: SearchNode;
}

/** A cancelled experiment (its lane died) hands back what it had: its proposal, and what the proposer was paid. */
export interface CancelledExperiment {
  proposal?: Proposal;
  costUsd: number;
}
/** The failure type of a cancelled experiment; its details' first item is a CancelledExperiment. */
export const EXPERIMENT_CANCELLED = 'ExperimentCancelled';
