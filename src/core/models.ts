import type { Price } from './runInput.js';

/**
 * What we know about each Claude model: its list price and whether it accepts a forced
 * `tool_choice`. The one place to update when Anthropic changes prices or ships a model.
 * Workflow-safe (no I/O, no SDK import): the workflow prices calls with it.
 */

/** The Claude proposer's model when the run input names none (`proposer.model`). */
export const DEFAULT_CLAUDE_MODEL = 'claude-sonnet-5-5';

interface ClaudeModelInfo {
  /** USD per million tokens; cache writes are the 5-minute kind, the only one we ask for. */
  price: Price;
  /**
   * The 5.1/5.5 generation answers `tool_choice: {type: 'tool'}` with a 400 ("forced tool
   * choice"), so for them we send `auto` and the prompt insists on the tool.
   */
  forcedToolChoice: boolean;
}

const p = (inputPerMTok: number, outputPerMTok: number, cacheReadPerMTok: number, cacheWritePerMTok: number): Price => ({
  inputPerMTok,
  outputPerMTok,
  cacheReadPerMTok,
  cacheWritePerMTok,
});

// Source: platform.claude.com/docs/en/about-claude/pricing and the model pages (checked 2026-11).
// Sonnet 5.5's cache read is reported cut to $0.10 on 2026-10-07; we keep the published $0.20,
// which can only over-count, never let a cost cap be overrun.
// Haiku 5.5 is priced by prompt length; this is the band up to 100k prompt tokens.
const CLAUDE_MODELS: Record<string, ClaudeModelInfo> = {
  'claude-fable-5-1': { price: p(10, 50, 0.25, 12.5), forcedToolChoice: false },
  'claude-mythos-5-1': { price: p(10, 50, 0.25, 12.5), forcedToolChoice: false },
  'claude-fable-5': { price: p(10, 50, 1, 12.5), forcedToolChoice: true },
  'claude-mythos-5': { price: p(10, 50, 1, 12.5), forcedToolChoice: true },
  'claude-opus-5-5': { price: p(4, 20, 0.2, 5), forcedToolChoice: false },
  'claude-opus-5': { price: p(5, 25, 0.5, 6.25), forcedToolChoice: true },
  'claude-opus-4-8': { price: p(5, 25, 0.5, 6.25), forcedToolChoice: true },
  'claude-opus-4-7': { price: p(5, 25, 0.5, 6.25), forcedToolChoice: true },
  'claude-opus-4-6': { price: p(5, 25, 0.5, 6.25), forcedToolChoice: true },
  'claude-opus-4-5': { price: p(5, 25, 0.5, 6.25), forcedToolChoice: true },
  'claude-sonnet-5-5': { price: p(2, 10, 0.2, 2.5), forcedToolChoice: false },
  'claude-sonnet-5': { price: p(2, 10, 0.2, 2.5), forcedToolChoice: true },
  'claude-sonnet-4-6': { price: p(3, 15, 0.3, 3.75), forcedToolChoice: true },
  'claude-sonnet-4-5': { price: p(3, 15, 0.3, 3.75), forcedToolChoice: true },
  'claude-haiku-5-5': { price: p(0.1, 0.5, 0.01, 0.125), forcedToolChoice: false },
  'claude-haiku-4-5': { price: p(1, 5, 0.1, 1.25), forcedToolChoice: true },
};

/** `claude-haiku-4-5-20251001` and `claude-haiku-4-5` are the same model for our purposes. */
function claudeModelInfo(model: string): ClaudeModelInfo | undefined {
  return CLAUDE_MODELS[model] ?? CLAUDE_MODELS[model.replace(/-\d{8}$/, '')];
}

/** List price of a Claude model, or undefined for a model this table does not know. */
export function claudePrice(model: string): Price | undefined {
  return claudeModelInfo(model)?.price;
}

/** Unknown models get a forced tool choice; if they reject it, the proposer falls back to auto. */
export function claudeAcceptsForcedToolChoice(model: string): boolean {
  return claudeModelInfo(model)?.forcedToolChoice ?? true;
}

/** The whole table, for the README and for tests. */
export function knownClaudeModels(): string[] {
  return Object.keys(CLAUDE_MODELS);
}
