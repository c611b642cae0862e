import { describeIssues } from '../core/runInput.js';
import { ProposalInvalidError, ProposerFatalError } from '../core/failures.js';
import { type Proposal, ProposalSchema } from '../core/proposal.js';

/** The one tool every LLM proposer offers; its input is a Proposal. */
export const PROPOSE_TOOL_NAME = 'propose_experiment';

export const PROPOSE_TOOL_DESCRIPTION =
  'Propose the next experiment: one idea, as exact edits to the editable files. ' +
  'Call this exactly once; it is the only way to answer.';

/** Validates the model's tool input; a failure goes back to the model (the repair loop). */
export function parseProposal(input: unknown): Proposal {
  const result = ProposalSchema.safeParse(input);
  if (!result.success) {
    throw new ProposalInvalidError(`the ${PROPOSE_TOOL_NAME} input is invalid: ${describeIssues(result.error)}`);
  }
  return result.data;
}

/** What a provider's reply amounts to, whatever its wire shape. */
export interface ToolReply {
  /** The tool call's input (Claude: an object; OpenAI: a JSON string), if the model called it. */
  toolInput?: unknown;
  /** The reply hit the output-token limit. */
  cutOff: boolean;
  /** The model declined to answer, in its words if it gave any. */
  refusal?: string;
  /** Any plain text the model wrote. */
  text: string;
  /** Whether the request forced the tool (then not calling it is the model's refusal). */
  forced: boolean;
}

/**
 * Turns a reply into a Proposal, or the error the workflow acts on: ProposalInvalidError goes
 * back to the model for repair; ProposerFatalError stops the run with its message.
 */
export function proposalFromReply(reply: ToolReply): Proposal {
  if (reply.refusal !== undefined) {
    throw new ProposerFatalError(`the model declined to propose an experiment${quote(reply.refusal)}`);
  }
  if (reply.cutOff) {
    // Whatever arrived before the limit is at best a truncated proposal.
    try {
      return parseToolInput(reply.toolInput);
    } catch {
      throw new ProposalInvalidError(
        'the reply was cut off at the output-token limit before the proposal was complete: ' +
          'propose a smaller change, with search/replace edits rather than whole files',
      );
    }
  }
  if (reply.toolInput === undefined) {
    if (reply.forced) {
      throw new ProposerFatalError(
        `the model answered without calling ${PROPOSE_TOOL_NAME} although the request required it ` +
          `(does the model or server support tool calls?)${quote(reply.text)}`,
      );
    }
    throw new ProposalInvalidError(`the reply did not call ${PROPOSE_TOOL_NAME}: answer only by calling it${quote(reply.text)}`);
  }
  return parseToolInput(reply.toolInput);
}

function parseToolInput(input: unknown): Proposal {
  if (typeof input !== 'string') return parseProposal(input);
  let parsed: unknown;
  try {
    parsed = JSON.parse(input);
  } catch (err) {
    throw new ProposalInvalidError(`the ${PROPOSE_TOOL_NAME} arguments are not valid JSON: ${(err as Error).message}`);
  }
  return parseProposal(parsed);
}

function quote(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t ? `: "${t.length > 300 ? `${t.slice(0, 300)}…` : t}"` : '';
}
