// Placeholder: the OpenAI-compatible proposer is built under issue 4.
import type { ProposerConfig } from '../config/runInput.js';
import { type Proposer, ProposerFatalError } from './context.js';

export function createOpenAIProposer(_config: ProposerConfig): Proposer {
  throw new ProposerFatalError('the openai proposer is not built yet');
}
