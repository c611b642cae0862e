/**
 * Names: task queues, lanes, experiment ids, refs on the remote, and where a run lives on disk.
 * One home for each, so that the workflow, the workers and the CLI spell them alike.
 */

/** The shared task queue: workflows, proposer calls and the run's git remote steps. */
export const TASK_QUEUE = 'autoresearch';

/** One GPU (or one CPU slot); an experiment's host-local steps run on its lane's queue. */
export interface Lane {
  /** `<host>-gpu0`, `<host>-cpu0`: unique across the cluster. */
  id: string;
  host: string;
  /** The task queue of this lane's host-local steps. */
  queue: string;
  /** CUDA_VISIBLE_DEVICES for its trainer; absent on a CPU lane. */
  gpu?: string;
  /** The worker's label for its machines (machineClass.ts); absent: the device its trainer names. */
  machineClass?: string;
}

/** Queue names derive from the shared queue, so a test's own queue gets its own lanes. */
export const leaseQueue = (sharedQueue: string) => `${sharedQueue}-lanes`;
export const laneQueue = (sharedQueue: string, laneId: string) => `${sharedQueue}-lane-${laneId}`;

/** A worker tells an experiment which lane it holds; `lease` tells a stale grant from the current one. */
export interface LaneGrant {
  lease: number;
  lane: Lane;
}

/** `exp-0007`: child workflow id suffix, log file name, ref name. */
export function experimentName(experiment: number): string {
  return `exp-${String(experiment).padStart(4, '0')}`;
}

/** `<run's workflow id>/exp-NNNN`: the experiment's child workflow id and its commit trailer. */
export function experimentId(runWorkflowId: string, experiment: number): string {
  return `${runWorkflowId}/${experimentName(experiment)}`;
}

/** The run's branch, at the best commit on the remote. */
export const branchOf = (tag: string) => `autoresearch/${tag}`;
/** Every experiment's commit, kept or not, stays reachable on the remote under this ref. */
export const experimentRef = (tag: string, experiment: number) => `refs/autoresearch/${tag}/${experimentName(experiment)}`;
/** A ref on the remote that holds the best commit: the best experiment's, or the run's branch (the base commit) until one is kept. */
export const bestRefOf = (tag: string, best: { experiment: number } | undefined) =>
  best ? experimentRef(tag, best.experiment) : `refs/heads/${branchOf(tag)}`;
/** A commit whose tree holds results.tsv and steering.tsv: the results travel with the remote. */
export const resultsRef = (tag: string) => `refs/autoresearch/${tag}/results`;

/** Beside results.tsv: the person's steering notes, for the report. */
export const STEERING_FILE = 'steering.tsv';

/** Where a run lives on one host's disk (each host resolves its own), and the remote they share. */
export interface RunPaths {
  /** This host's clone of the research repository. */
  repo: string;
  workDir: string;
  /** A copy of results.tsv, as this host last wrote it (the remote's results ref has them all). */
  resultsFile: string;
  logsDir: string;
  branch: string;
  /** The git remote every lane shares: a path or URL. */
  remote: string;
}

/** A lane's own git worktree, detached at the commit it works on; the user's checkout is never touched. */
export interface LanePaths extends RunPaths {
  worktree: string;
  trainerDir: string;
}
