import type { ExperimentRecord } from '../core/results.js';
import type { ProposerContext } from './context.js';
import { PROPOSE_TOOL_NAME } from './toolSchema.js';

/**
 * The proposer's prompt, as pure text in four parts ordered from most to least stable, so an
 * LLM provider can cache the long prefix: `system` and `program` change never or rarely in a
 * run, `code` only when an experiment is kept, `volatile` on every call.
 */
export interface RenderedPrompt {
  /** Who the model is and the rules. */
  system: string;
  /** The research direction (program.md). */
  program: string;
  /** The editable files in full, as they are at the best commit. */
  code: string;
  /** Results, last crash, steering notes, repair request, and the ask. */
  volatile: string;
}

/** Experiments shown with their hypothesis and outcome. */
const RECENT_DETAILED = 5;
/** How much of the last crash's log the model sees. */
const CRASH_TAIL_LINES = 80;
const CRASH_TAIL_CHARS = 6_000;

export function renderPrompt(ctx: ProposerContext): RenderedPrompt {
  return {
    system: renderSystem(ctx.files.map((f) => f.path)),
    program: `# Research program (program.md)\n\n${ctx.program.trim()}\n`,
    code: renderCode(ctx.files, onBranch(ctx)),
    volatile: [
      renderResults(ctx),
      renderRecent(ctx.recent),
      ctx.inFlight?.length ? renderInFlight(ctx.inFlight) : '',
      ctx.optimizerSuggestion ? `# The optimizer's suggestion\n\n${ctx.optimizerSuggestion}` : '',
      ctx.lastCrashLog ? renderCrash(ctx.lastCrashLog) : '',
      ctx.steeringNotes.length ? renderNotes(ctx.steeringNotes) : '',
      ctx.repairError !== undefined ? renderRepair(ctx) : '',
      `Propose experiment #${ctx.experiment} now by calling ${PROPOSE_TOOL_NAME}.`,
    ]
      .filter(Boolean)
      .join('\n\n'),
  };
}

/** Prompt size in characters, for the cost estimate made before a call. */
export function promptChars(prompt: RenderedPrompt): number {
  return prompt.system.length + prompt.program.length + prompt.code.length + prompt.volatile.length;
}

function renderSystem(editable: string[]): string {
  return `You are an autonomous ML researcher. You improve a small language-model training script one experiment at a time. Each experiment changes the code, trains for a fixed time budget, and is measured by val_bpb (validation bits per byte; lower is better). A change that lowers val_bpb is kept; anything else is reverted, so the code you see is always the best version so far.

Rules:
- Edit only these files: ${editable.join(', ')}. Everything else, including the data, tokenizer and evaluation harness, is fixed.
- Add no packages and no imports beyond what the code already uses and the Python standard library.
- One idea per experiment, so that its result teaches something. Prefer small, targeted changes to rewrites.
- Simplicity counts: a tiny gain that adds a lot of complexity is not worth it; removing code for an equal result is a win.
- Do not change how the time budget is measured or how val_bpb is computed. Peak memory is recorded: moderate increases are fine, running out of memory is a crash.
- If an experiment crashed, fix or avoid its cause instead of repeating it.
- An edit is either {path, search, replace} or {path, content}. "search" is copied exactly from the current file, whitespace and indentation included, and must occur exactly once in it: include enough surrounding lines to make it unique. {path, content} replaces the whole file; use it only for small files.
- The edited file must still be valid Python.
- Answer by calling ${PROPOSE_TOOL_NAME} exactly once, with a hypothesis (why val_bpb should drop), a description (one short line for the results table and the commit message) and the edits.`;
}

/** Tree search started this experiment from another node's code than the best's. */
function onBranch(ctx: Pick<ProposerContext, 'filesCommit' | 'best'>): boolean {
  return ctx.filesCommit !== undefined && ctx.best !== undefined && ctx.filesCommit !== ctx.best.commitFull;
}

const BRANCH_NOTE = 'a branch: the run stalled, so tree search starts this experiment from an earlier experiment\'s code, not the best; '
  + 'it is kept only if it beats the best';

function renderCode(files: ProposerContext['files'], branch: boolean): string {
  const blocks = files.map((f) => {
    const fence = fenceFor(f.content);
    const lang = f.path.endsWith('.py') ? 'python' : '';
    return `## ${f.path}\n\n${fence}${lang}\n${f.content.replace(/\n$/, '')}\n${fence}`;
  });
  return `# Current code (${branch ? BRANCH_NOTE : 'the best version so far'})\n\n${blocks.join('\n\n')}\n`;
}

/** A backtick fence longer than any backtick run inside the content. */
function fenceFor(content: string): string {
  const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(3, longest + 1));
}

function renderResults(ctx: ProposerContext): string {
  const best = ctx.best
    ? `Best so far: val_bpb ${ctx.best.valBpb.toFixed(6)} (experiment #${ctx.best.experiment}, commit ${ctx.best.commit}).`
    : 'No experiment has been kept yet.';
  // The journal (every run of the repository, within its budget) replaces the window of the latest results.
  if (ctx.journal !== undefined) return [`# Results so far (${ctx.experimentsDone} experiments in this run)`, '', best, '', ctx.journal].join('\n');
  if (ctx.experimentsDone === 0) return '# Results so far\n\nNo experiments yet.';
  const rows = ctx.recent.map(
    (r) =>
      `| ${r.experiment} | ${r.commit || '-'} | ${hasMetric(r) ? r.valBpb.toFixed(6) : '-'} | ` +
      `${hasMetric(r) ? r.memoryGb.toFixed(1) : '-'} | ${r.status} | ${cell(r.description)} |`,
  );
  const omitted = ctx.experimentsDone - ctx.recent.length;
  return [
    `# Results so far (${ctx.experimentsDone} experiments)`,
    '',
    best + (omitted > 0 ? ` The ${ctx.recent.length} latest are shown; ${omitted} older ones are not.` : ''),
    '',
    '| # | commit | val_bpb | memory_gb | status | description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

function renderRecent(results: ExperimentRecord[]): string {
  const recent = results.slice(-RECENT_DETAILED).filter((r) => r.experiment > 0);
  if (recent.length === 0) return '';
  const items = recent.map((r) => {
    const outcome = hasMetric(r) ? `${r.status}, val_bpb ${r.valBpb.toFixed(6)}` : r.status;
    const lines = [`- #${r.experiment} (${outcome}): ${r.description}`, `  hypothesis: ${oneLine(r.hypothesis)}`];
    if (r.reason) lines.push(`  error: ${oneLine(r.reason)}`);
    return lines.join('\n');
  });
  return `# Latest experiments, newest last\n\n${items.join('\n')}`;
}

function renderInFlight(running: NonNullable<ProposerContext['inFlight']>): string {
  const items = running.map((r) => `- #${r.experiment}: ${r.description ?? '(being proposed)'}${r.hypothesis ? ` (${oneLine(r.hypothesis)})` : ''}`);
  return `# Running now on other lanes (do not propose the same idea)\n\n${items.join('\n')}`;
}

function renderCrash(log: string): string {
  const tail = log.split('\n').slice(-CRASH_TAIL_LINES).join('\n').slice(-CRASH_TAIL_CHARS);
  return `# Tail of the last crashed experiment's log\n\n${fenceFor(tail)}\n${tail.replace(/\n$/, '')}\n${fenceFor(tail)}`;
}

function renderNotes(notes: string[]): string {
  const items = notes.map((n, i) => `${i + 1}. ${n.trim()}`);
  return `# Notes from the researcher (newest last; follow them, later notes win)\n\n${items.join('\n')}`;
}

function renderRepair(ctx: ProposerContext): string {
  const previous = ctx.previousProposal ? JSON.stringify(ctx.previousProposal, null, 2) : undefined;
  return [
    `# Your previous proposal for experiment #${ctx.experiment} could not be used`,
    '',
    `Error: ${ctx.repairError}`,
    ...(previous ? ['', 'The proposal was:', '', `${fenceFor(previous)}json`, previous, fenceFor(previous)] : []),
    '',
    'Fix what the error says and propose again; the same idea is fine once it applies. ' +
      'Copy each search text exactly from the current code above.',
  ].join('\n');
}

function hasMetric(r: ExperimentRecord): boolean {
  return r.status === 'keep' || r.status === 'discard';
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Table cells cannot hold pipes or newlines. */
function cell(text: string): string {
  return oneLine(text).replace(/\|/g, '\\|');
}
