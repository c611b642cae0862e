import type { ProposerConfig } from '../core/runInput.js';
import type { Proposer } from './context.js';
import { createClaudeProposer } from './claude.js';
import { createOpenAIProposer } from './openai.js';
import { createOfflineProposer } from './offline.js';
import { createOptimizerProposer } from './optimizer.js';
import { createHybridProposer } from './optimizerHybrid.js';
import type { Suggest } from './optimizerProtocol.js';

/**
 * Picks the proposer named in the run input. Runs in the worker (API keys come from its env; the
 * optimizer's sampler, `suggest`, is the worker's Python). An LLM with `optimizer` settings is the hybrid.
 */
export function createProposer(config: ProposerConfig, deps: { suggest?: Suggest } = {}): Proposer {
  switch (config.kind) {
    case 'claude':
      return hybrid(createClaudeProposer(config), config, deps.suggest);
    case 'openai':
      return hybrid(createOpenAIProposer(config), config, deps.suggest);
    case 'offline':
      return createOfflineProposer(config);
    case 'optimizer':
      return createOptimizerProposer(config, deps.suggest);
  }
}

function hybrid(llm: Proposer, config: ProposerConfig, suggest: Suggest | undefined): Proposer {
  return config.optimizer ? createHybridProposer(llm, config, suggest) : llm;
}
