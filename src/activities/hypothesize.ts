import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { RunConfig } from '../config/runInput.js';
import type { Proposal } from '../proposers/proposal.js';
import { ProposalSchema } from '../proposers/proposal.js';
import { ProposalInvalidError, ProposerFatalError, type ProposeResult, type Proposer, type Usage } from '../proposers/context.js';
import type { ExperimentRecord } from '../workflows/types.js';
import type { RunPaths } from './runPaths.js';

export interface HypothesizeInput {
  experiment: number;
  config: RunConfig;
  paths: RunPaths;
  /** The direction, when replaced by update; else program.md is read from the repo. */
  programOverride?: string;
  results: ExperimentRecord[];
  lastCrashLogFile?: string;
  steeringNotes: string[];
  repairError?: string;
  previousProposal?: Proposal;
}

export function hypothesizeWith(createProposer: (c: RunConfig['proposer']) => Proposer) {
  return async function hypothesize(input: HypothesizeInput): Promise<ProposeResult> {
    const program = input.programOverride ?? (await readProgram(input));
    const files = await Promise.all(
      input.config.trainer.editable.map(async (p) => ({ path: p, content: await readFile(path.join(input.paths.trainerDir, p), 'utf8') })),
    );
    const lastCrashLog = input.lastCrashLogFile ? await tail(input.lastCrashLogFile, 4000) : undefined;
    try {
      const proposer = createProposer(input.config.proposer);
      const result = await proposer.propose(
        { experiment: input.experiment, program, files, results: input.results, lastCrashLog, steeringNotes: input.steeringNotes,
          repairError: input.repairError, previousProposal: input.previousProposal },
        Context.current().cancellationSignal,
      );
      return { ...result, proposal: ProposalSchema.parse(result.proposal) };
    } catch (err) {
      // details[0] carries the usage of a billed call, so it still counts toward the cost cap.
      const usage = (err as { usage?: Usage }).usage;
      if (err instanceof ProposerFatalError) throw ApplicationFailure.nonRetryable(err.message, err.type, usage);
      // Malformed output goes back to the workflow, which asks again with the error (repair loop).
      if (err instanceof ProposalInvalidError) throw ApplicationFailure.nonRetryable(err.message, 'ProposalInvalid', usage);
      throw err;
    }
  };
}

async function readProgram(input: HypothesizeInput): Promise<string> {
  const file = path.join(input.paths.repo, input.config.program);
  if (!existsSync(file)) return '(no program.md: improve val_bpb)';
  return readFile(file, 'utf8');
}

export async function tail(file: string, maxChars: number): Promise<string> {
  if (!existsSync(file)) return '';
  const text = await readFile(file, 'utf8');
  return text.length > maxChars ? text.slice(-maxChars) : text;
}
