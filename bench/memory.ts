/**
 * `npm run bench -- memory [--experiments N] [--seed S]`: what the journal changes.
 * - Repeats: the offline proposer on this project's trainer/train.py against a simulated trainer
 *   (a seeded quadratic in the log of each constant, greedy keep), N experiments (default 200):
 *   how many contents are trained more than once, without the journal (the proposer sees the
 *   latest 20 results, as before) and with it (it never proposes a content already measured).
 * - Scale: journals of 100, 1,000 and 10,000 records on a real git remote: the prompt section's
 *   size, and the time to read the journal (a fresh worker, then one that read it before) and
 *   build the section.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { applyEdits } from '../src/activities/applyEdits.js';
import { gitAt } from '../src/activities/gitOps.js';
import { contentHashOf } from '../src/activities/journal.js';
import { readJournal } from '../src/activities/journalStore.js';
import { formatRecord, JOURNAL_REF, recordPath, recordsInMemory, settingsOf, type JournalRecord } from '../src/core/journal.js';
import { JOURNAL_PROMPT_CHARS, renderJournal } from '../src/core/journalPrompt.js';
import type { ExperimentRecord } from '../src/core/results.js';
import { findConstants } from '../src/proposers/constants.js';
import { proposeMutation } from '../src/proposers/offline.js';

const FILE = 'train.py';
const WINDOW = 20; // what the run hands its proposer: the latest results

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/**
 * A seeded objective: each numeric constant has an optimum within a factor of 4 of its value, and
 * each run adds seed noise (σ 0.002 bpb), so that late in a night most proposals lose.
 */
function simulatedTrainer(source: string, seed: number): (content: string) => number {
  let s = seed;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const noise = () => 0.002 * Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
  const optimum = new Map(findConstants(FILE, source).filter((c) => c.value.kind === 'int' || c.value.kind === 'float')
    .map((c) => [c.name, Math.abs(Number(c.value.value)) * 4 ** (rand() * 2 - 1) || 1]));
  const weight = new Map([...optimum.keys()].map((n) => [n, 0.002 + rand() * 0.02]));
  return (content) => findConstants(FILE, content).reduce((bpb, c) => {
    const best = optimum.get(c.name);
    const v = Math.abs(Number(c.value.value));
    return best === undefined || !(v > 0) ? bpb : bpb + weight.get(c.name)! * Math.log(v / best) ** 2;
  }, 1.0 + noise());
}

/** The fixture trainer's objective (test/fixtures/trainer/train.py): four constants, a small space. */
function fixtureTrainer(content: string): number {
  const get = (name: string) => Number(new RegExp(`^${name} = ([^ #\\n]+)`, 'm').exec(content)?.[1]);
  if (/^CRASH = True/m.test(content)) return Infinity;
  return 1.0 + 0.5 * Math.log2(get('LEARNING_RATE') / 0.08) ** 2 + 0.02 * (get('DEPTH') - 6) ** 2 + 2.0 * (get('WARMUP_RATIO') - 0.1) ** 2;
}

interface Night {
  /** Experiments that trained a content trained before, in this night or an earlier one. */
  repeats: number;
  experiments: number;
  best: number;
}

/**
 * Offline nights on one repository, each starting at `source`: without memory the proposer sees the
 * latest 20 results of its own night (as before the journal); with it, it never proposes a content
 * any night trained. Each night gets a fresh simulated trainer (`makeTrainer`), so both modes see the
 * same noise.
 */
function nights(source: string, makeTrainer: () => (content: string) => number, sizes: number[], seed: number, memory: boolean): Night[] {
  const trained = new Set<string>();
  return sizes.map((size) => {
    const trainer = makeTrainer();
    let best = { content: source, valBpb: trainer(source) };
    trained.add(contentHashOf([{ path: FILE, content: source }])); // the baseline: measured again on purpose, never a repeat
    const results: ExperimentRecord[] = [];
    let repeats = 0;
    let n = 1;
    for (; n < size; n++) {
      let proposal;
      try {
        proposal = proposeMutation({
          experiment: n, program: '', files: [{ path: FILE, content: best.content }], recent: results.slice(-WINDOW), experimentsDone: results.length,
          steeringNotes: [], measured: memory ? (after: Record<string, string>) => trained.has(contentHashOf([{ path: FILE, content: after[FILE] }])) : undefined,
        }, seed);
      } catch {
        break; // every neighbouring setting measured: the search is exhausted
      }
      const after = applyEdits({ [FILE]: best.content }, proposal.edits, [FILE])[FILE];
      const hash = contentHashOf([{ path: FILE, content: after }]);
      if (trained.has(hash)) repeats++;
      trained.add(hash);
      const valBpb = trainer(after); // Infinity: a crash
      const keep = valBpb < best.valBpb;
      results.push({ experiment: n, experimentId: `bench/exp-${n}`, commit: '', commitFull: '', valBpb, memoryGb: 0,
        status: keep ? 'keep' : valBpb === Infinity ? 'crash' : 'discard', description: proposal.description, hypothesis: proposal.hypothesis, costUsd: 0 });
      if (keep) best = { content: after, valBpb };
    }
    return { repeats, experiments: n, best: best.valBpb };
  });
}

/** A journal of `count` records on a fresh bare remote, written in one fast-import. */
async function journalRemote(count: number): Promise<string> {
  const remote = await mkdtemp(path.join(os.tmpdir(), 'ar-bench-journal-'));
  await execa('git', ['init', '-q', '--bare', remote]);
  const settings = settingsOf({ timeBudgetSeconds: 300, command: 'uv run train.py', evaluation: 'harness', env: {} });
  const names = ['MATRIX_LR', 'DEPTH', 'WARMUP_RATIO', 'WEIGHT_DECAY', 'forward', 'ASPECT_RATIO', 'ADAM_BETAS', 'EMBEDDING_LR'];
  let stream = `commit ${JOURNAL_REF}\ncommitter bench <bench@localhost> 0 +0000\ndata 5\nbench\n`;
  for (let i = 0; i < count; i++) {
    const tag = `night${String(Math.floor(i / 250)).padStart(2, '0')}`;
    const experiment = i % 250;
    const status = experiment === 0 || i % 23 === 0 ? 'keep' : i % 9 === 0 ? 'crash' : 'discard';
    const r: JournalRecord = {
      tag, experimentId: `${tag}/exp-${experiment}`, experiment, parentCommit: 'a'.repeat(40), commit: 'b'.repeat(40), contentHash: `h${i % (count / 2)}`,
      description: `${names[i % names.length]}: ${i % 13} -> ${i % 17} (a change of the kind an LLM proposes)`, hypothesis: 'because '.repeat(12),
      status, valBpb: status === 'crash' ? 0 : 1 - i / 1e6, delta: 0.0001, sigma: 0.001, confirmations: 0, reason: status === 'crash' ? 'OOM' : '',
      lane: 'host-gpu0', time: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(), settings, touched: [names[i % names.length]],
      refusals: 0, baseline: experiment === 0,
    };
    const text = formatRecord(r);
    stream += `M 100644 inline ${recordPath(r)}\ndata ${text.length}\n${text}\n`;
  }
  await execa('git', ['fast-import', '--quiet'], { cwd: remote, input: stream });
  return remote;
}

async function scale(count: number): Promise<string> {
  const remote = await journalRemote(count);
  const clone = await mkdtemp(path.join(os.tmpdir(), 'ar-bench-clone-'));
  await execa('git', ['init', '-q', clone]);
  const git = gitAt(clone);
  const tag = `night${String(Math.floor((count - 1) / 250)).padStart(2, '0')}`;
  const timed = async () => {
    const t0 = performance.now();
    const { records } = await readJournal(git, remote);
    const t1 = performance.now();
    const text = renderJournal(recordsInMemory(records, { tag }), { tag });
    return { read: t1 - t0, build: performance.now() - t1, chars: text.length };
  };
  // Each count writes other records (their content hashes depend on it), so the first read is cold.
  const cold = await timed(); // a worker that never read this journal: every record fetched and parsed
  const warm = await timed(); // the next proposal on the same worker: only new records are read
  const ms = (x: number) => `${x.toFixed(0)} ms`.padStart(8);
  return `${String(count).padStart(7)} records ${String(cold.chars).padStart(7)} chars ${ms(cold.read)} read ${ms(cold.build)} build ` +
    `(${ms(cold.read + cold.build)} in all) ${ms(warm.read + warm.build)} again`;
}

async function main(): Promise<void> {
  const experiments = arg('experiments', 200);
  const seed = arg('seed', 1);
  const project = await readFile(new URL('../trainer/train.py', import.meta.url), 'utf8');
  const fixture = await readFile(new URL('../test/fixtures/trainer/train.py', import.meta.url), 'utf8');
  console.log(`memory benchmark: the offline proposer against a simulated trainer, seed ${seed}`);
  const scenarios = [
    { what: `trainer/train.py (27 constants, a seeded noisy objective), one night of ${experiments}`, source: project, sizes: [experiments] },
    { what: `trainer/train.py, two nights of ${experiments / 2} on one repository`, source: project, sizes: [experiments / 2, experiments / 2] },
    { what: `the fixture trainer (4 constants), one night of ${experiments}`, source: fixture, sizes: [experiments] },
  ];
  for (const { what, source, sizes } of scenarios) {
    console.log(`  ${what}:`);
    const makeTrainer = source === fixture ? () => fixtureTrainer : () => simulatedTrainer(source, seed);
    for (const memory of [false, true]) {
      const runs = nights(source, makeTrainer, sizes, seed, memory);
      const done = runs.reduce((sum, r) => sum + r.experiments, 0);
      console.log(`    ${memory ? 'with the journal ' : 'latest 20 results'}  contents trained twice: ${String(runs.reduce((sum, r) => sum + r.repeats, 0)).padStart(3)} ` +
        `in ${done} experiments${done < experiments ? ' (then every neighbouring setting was measured)' : ''}, ` +
        `best val_bpb ${runs.map((r) => r.best.toFixed(6)).join(', ')}`);
    }
  }
  console.log(`\njournal scale (prompt budget ${JOURNAL_PROMPT_CHARS} characters; goal: within it, read and build under 1 s at 10,000):`);
  for (const count of [100, 1_000, 10_000]) console.log(await scale(count));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
