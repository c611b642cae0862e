// Placeholder: the Claude proposer is built under issue 4.
import type { ProposerConfig } from '../config/runInput.js';
import { type Proposer, ProposerFatalError } from './context.js';

export function createClaudeProposer(_config: ProposerConfig): Proposer {
  throw new ProposerFatalError('the claude proposer is not built yet');
}
