/**
 * The optimizer proposer in the research benchmark, and the hybrid with the simulated LLM. Each
 * night keeps the journal the product would write (a record per experiment, on the chain of kept
 * commits, with the value its run measured) and asks python/suggest.py as the worker does, through
 * the product's own study (studyRequest), answer (changesFor) and proposal (proposalOf). The
 * benchmark's proposers are synchronous, so the sampler runs as one process behind two named pipes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { settingsOf, type JournalRecord } from '../src/core/journal.js';
import { ProposerConfigSchema } from '../src/core/runInput.js';
import type { OptimizerSettings } from '../src/core/optimizerSettings.js';
import { findConstants } from '../src/proposers/constants.js';
import type { ProposerContext } from '../src/proposers/context.js';
import { changesFor, filesWith, proposalOf, samplerSeed, studyRequest } from '../src/proposers/optimizer.js';
import { optimizerTurn, withConstantsLine, constantChanges } from '../src/proposers/optimizerHybrid.js';
import { checkedAnswer, type SuggestAnswer, type SuggestRequest } from '../src/proposers/optimizerProtocol.js';
import { ISOLATED, SUGGEST_SCRIPT, optimizerPython, samplerEnv } from '../src/activities/optimizerPython.js';
import { gaussian } from './decisionSim.js';
import type { Code } from './researchLandscapes.js';
import { llmProposer, sourceOf, type ProposerFactory, type SimProposer } from './researchProposers.js';

/** One sampler process for the whole benchmark: each ask is a line written and a line read, synchronously. */
class SyncSampler {
  private constructor(private child: ChildProcess, private dir: string, private input: number, private output: number) {}
  private pending = '';

  static start(python: string): SyncSampler {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sampler-'));
    const [inPipe, outPipe] = [path.join(dir, 'in'), path.join(dir, 'out')];
    spawnSync('mkfifo', [inPipe, outPipe]);
    const cmd = `exec "$0" ${ISOLATED.join(' ')} "$1" --lines < "$2" > "$3"`;
    const child = spawn('sh', ['-c', cmd, python, SUGGEST_SCRIPT, inPipe, outPipe], { env: samplerEnv(), stdio: 'inherit' });
    // Opening a pipe waits for its other end: the shell opens `in` first, then `out`.
    const input = openSync(inPipe, 'w');
    const output = openSync(outPipe, 'r');
    return new SyncSampler(child, dir, input, output);
  }

  suggest(request: SuggestRequest): SuggestAnswer {
    writeSync(this.input, `${JSON.stringify(request)}\n`);
    const buf = Buffer.alloc(1 << 16);
    while (!this.pending.includes('\n')) {
      const n = readSync(this.output, buf, 0, buf.length, null);
      if (n === 0) throw new Error('the sampler ended');
      this.pending += buf.subarray(0, n).toString();
    }
    const i = this.pending.indexOf('\n');
    const line = this.pending.slice(0, i);
    this.pending = this.pending.slice(i + 1);
    return checkedAnswer(JSON.parse(line), request.space);
  }

  close(): void {
    closeSync(this.input);
    closeSync(this.output);
    this.child.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let shared: SyncSampler | undefined;
/** The sampler, started on first use (close it with closeSampler when the benchmark ends). */
export async function openSampler(): Promise<void> {
  shared ??= SyncSampler.start(await optimizerPython());
}
export function closeSampler(): void {
  shared?.close();
  shared = undefined;
}

const FILE = 'train.py';
const SETTINGS = settingsOf({ timeBudgetSeconds: 300, command: 'uv run train.py', evaluation: 'harness', env: {} });
const commitOf = (n: number) => `c${n}`.padEnd(40, '0');

function codeOf(incumbent: Code, content: string): Code {
  const values = { ...incumbent.values };
  for (const c of findConstants(FILE, content)) if (typeof c.value.value === 'number') values[c.name] = c.value.value;
  return { values, ideas: incumbent.ideas };
}

/**
 * A night's journal as the proposer reads it. Each trial's value is one run's measurement (the
 * truth plus the landscape's seed noise): what the run's record would hold.
 */
function journalOf() {
  const records: JournalRecord[] = [];
  const made: { content: string; value: number; parent: string }[] = [];
  let bestCommit = commitOf(0);
  return {
    records, made, bestCommit: () => bestCommit,
    /** The outcomes the benchmark reported since the last call, recorded. */
    catchUp(history: readonly { kept: boolean }[], hypothesisOf: (i: number) => string, descriptionOf: (i: number) => string) {
      while (records.length - 1 < history.length && records.length - 1 < made.length) {
        const i = records.length - 1;
        const m = made[i];
        const kept = history[i].kept;
        records.push({
          ...records[0], experimentId: `sim/exp-${i + 1}`, experiment: i + 1, parentCommit: m.parent, commit: commitOf(i + 1), contentHash: m.content,
          description: descriptionOf(i), hypothesis: hypothesisOf(i), status: kept ? 'keep' : 'discard', valBpb: m.value, baseline: false,
          time: new Date(Date.UTC(2025, 0, 1, 0, i + 1)).toISOString(),
        });
        if (kept) bestCommit = commitOf(i + 1);
      }
    },
    start(value: number) {
      records.push({
        tag: 'sim', experimentId: 'sim/exp-0', experiment: 0, parentCommit: 'base', commit: commitOf(0), contentHash: '', description: 'baseline',
        hypothesis: 'baseline', status: 'keep', valBpb: value, confirmations: 0, reason: '', lane: 'l', time: new Date(Date.UTC(2025, 0, 1)).toISOString(),
        settings: SETTINGS, touched: [], refusals: 0, baseline: true,
      });
    },
  };
}

/** The optimizer with `share` of the turns (1: alone); the simulated LLM has the others. */
function optimizerFactory(settings: OptimizerSettings, share: number): ProposerFactory {
  return (landscape, truth, rng, seed) => {
    const journal = journalOf();
    const proposals: { description: string; hypothesis: string }[] = [];
    const llm = share < 1 ? llmProposer(landscape, truth, rng, seed) : undefined;
    const measure = (code: Code) => truth.value(code) + landscape.sigmaBpb * gaussian(rng);
    const trained = new Set<string>();
    const proposer: SimProposer = {
      propose(incumbent, experiment, history) {
        if (journal.records.length === 0) journal.start(measure(incumbent));
        journal.catchUp(history, (i) => proposals[i].hypothesis, (i) => proposals[i].description);
        const content = sourceOf(landscape, incumbent);
        trained.add(content);
        const ctx: ProposerContext = {
          experiment, program: '', files: [{ path: FILE, content }], recent: [], experimentsDone: history.length, steeringNotes: [],
          best: { experiment: 0, commit: '', commitFull: journal.bestCommit(), valBpb: 0 }, history: { tag: 'sim', records: journal.records },
          measured: (files) => trained.has(files[FILE]),
        };
        let next: { content: string; description: string; hypothesis: string } | undefined;
        if (!llm || optimizerTurn(seed, experiment, share)) next = optimizerNext(ctx, settings, seed);
        if (!next && llm) {
          const p = llm.propose(incumbent, experiment, history);
          if (!p) return undefined;
          const after = sourceOf(landscape, p.code);
          const edits = [{ path: FILE, content: after }];
          const told = withConstantsLine({ hypothesis: 'llm', description: p.description, edits }, constantChanges(ctx.files, { hypothesis: '', description: '', edits }));
          journal.made.push({ content: after, value: measure(p.code), parent: journal.bestCommit() });
          proposals.push({ description: p.description, hypothesis: told.hypothesis });
          trained.add(after);
          return p;
        }
        if (!next) return undefined;
        const code = codeOf(incumbent, next.content);
        journal.made.push({ content: next.content, value: measure(code), parent: journal.bestCommit() });
        proposals.push({ description: next.description, hypothesis: next.hypothesis });
        trained.add(next.content);
        return { code, description: next.description };
      },
    };
    return proposer;
  };
}

/** The product's loop (nextSuggestion), synchronously: ask, and ask again with the next seed while the answer is nothing new. */
function optimizerNext(ctx: ProposerContext, settings: OptimizerSettings, seed: number) {
  const study = studyRequest(ctx, settings, seed);
  if (!study || !shared) return undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const answer = shared.suggest({ ...study.request, seed: samplerSeed(seed, ctx.experiment, attempt) });
    const changes = changesFor(study.request.space, study.constants, answer);
    const files = filesWith(ctx.files, study.constants, changes);
    if (changes.length === 0 || ctx.measured?.(files)) continue;
    const proposal = proposalOf({ changes, constants: study.constants, trials: study.request.trials.length, sampler: settings.sampler });
    return { content: files[FILE], description: proposal.description, hypothesis: proposal.hypothesis };
  }
  return undefined;
}

const settingsOfKind = (sampler: 'tpe' | 'cmaes') => ProposerConfigSchema.parse({ kind: 'optimizer', optimizer: { sampler } }).optimizer!;

/** The proposers this file adds to the benchmark, by name. */
export const OPTIMIZER_PROPOSERS: Record<string, ProposerFactory> = {
  tpe: optimizerFactory(settingsOfKind('tpe'), 1),
  cmaes: optimizerFactory(settingsOfKind('cmaes'), 1),
  hybrid: optimizerFactory(settingsOfKind('tpe'), 0.7), // TPE for 70% of the trials, the simulated LLM for the rest
};
