import type { ProposerConfig } from '../core/runInput.js';
import type { Proposer } from './context.js';
import { createClaudeProposer } from './claude.js';
import { createOpenAIProposer } from './openai.js';
import { createOfflineProposer } from './offline.js';

/** Picks the proposer named in the run input. Runs in the worker (API keys come from its env). */
export function createProposer(config: ProposerConfig): Proposer {
  switch (config.kind) {
    case 'claude':
      return createClaudeProposer(config);
    case 'openai':
      return createOpenAIProposer(config);
    case 'offline':
      return createOfflineProposer(config);
  }
}
