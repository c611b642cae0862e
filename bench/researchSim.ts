/**
 * The research benchmark's simulation: seeded nights of a proposer on a landscape with known
 * truth, on a machine, judged by a keep rule, every rule with the same training runs. A night
 * ends when its runs are spent (the experiment running then finishes). Figures per cell
 * (landscape × proposer × machine × rule): the real gain of the final best, as a mean and a 10th
 * percentile over nights; the runs used; the share of keeps that were not really better.
 */
import type { Measurement } from '../src/core/noiseEstimate.js';
import { afterResult, initialSearchState, startNode, type SearchConfig } from '../src/core/searchTree.js';
import { gaussian, makeRng, uniform, type Rng } from './decisionSim.js';
import { BPB_PER_LOG_SPEED, baselineCode, type Code, type Landscape } from './researchLandscapes.js';
import type { Outcome, ProposerFactory } from './researchProposers.js';
import type { Lab, RuleFactory } from './researchRules.js';

export interface Machine {
  name: string;
  summary: string;
  /** Log speed of each lane; experiment n runs on lane n mod lanes, the baseline on lane 0. */
  lanes: number[];
  /** Each lane's machine class, which its runs carry (absent: one kind of machine, runs with none). */
  classes?: string[];
  /** sd of an ordinary run's log speed. */
  jitter: number;
  /** Share of runs on a machine that is fast or slow by chance, and by how much (log speed). */
  oddFraction: number;
  oddMin: number;
  oddMax: number;
}

const JITTER = 0.003;
export const MACHINES: Machine[] = [
  { name: 'dedicated', summary: 'one lane, 0.3% speed jitter', lanes: [0], jitter: JITTER, oddFraction: 0, oddMin: 0, oddMax: 0 },
  {
    name: 'shared', summary: 'one lane, 5% of runs 1.2-2.0x faster or slower by chance', lanes: [0], jitter: JITTER,
    oddFraction: 0.05, oddMin: 0.2, oddMax: 0.7,
  },
  {
    name: 'two lanes', summary: 'experiments alternate between two lanes, the second 10% slower', lanes: [0, Math.log(1 / 1.1)], classes: ['fast', 'slow'],
    jitter: JITTER, oddFraction: 0, oddMin: 0, oddMax: 0,
  },
  {
    name: 'two kinds', summary: 'experiments alternate between two GPU kinds, the second 1.5x faster', lanes: [0, Math.log(1.5)], classes: ['older', 'newer'],
    jitter: JITTER, oddFraction: 0, oddMin: 0, oddMax: 0,
  },
];

export interface Cell {
  landscape: Landscape;
  /** The share of a run's noise variance that belongs to its seed (the same for every code trained with it); absent: 0.9. */
  seedShare?: number;
  proposer: { name: string; make: ProposerFactory };
  machine: Machine;
  rule: { name: string; make: RuleFactory };
  /** The run's search as the workflow makes it (src/core/searchTree.ts); absent: greedy, every experiment from the best. */
  search?: SearchConfig;
}

export interface Night {
  /** The final best's real improvement over the baseline, bpb. */
  gain: number;
  runs: number;
  experiments: number;
  kept: number;
  /** Keeps whose code was not really better than the incumbent it replaced. */
  falseKeeps: number;
  /** The final best's code. */
  best: Code;
}

export interface CellFigures {
  nights: number;
  /** Real gain in σ of the landscape: mean and 10th percentile over nights. */
  gainSigma: number;
  gainP10Sigma: number;
  runs: number;
  experiments: number;
  kept: number;
  falseShare: number;
}

/**
 * The seed's share of a run's noise variance. Measured on the CPU preset: a new seed moves val_bpb
 * by 0.015–0.03, the same seed a one-constant change's effect by about 0.0015 (a share above 0.99).
 * On a GPU it is not measured; 0.9 is the benchmark's default, `--seed-share` sets another.
 */
export const DEFAULT_SEED_SHARE = 0.9;

const TIME_BUDGET_S = 300;
const NORMAL_TOKENS_PER_S = 100_000;
const TOKENS_PER_STEP = 65_536;

function machineLab(cell: Cell, truth: ReturnType<Landscape['night']>, rng: Rng, lane: () => number, counter: { runs: number }): Lab<Code> {
  const { machine, landscape } = cell;
  const draw = () => {
    const base = machine.lanes[lane()] + machine.jitter * gaussian(rng);
    if (machine.oddFraction === 0 || rng() >= machine.oddFraction) return base;
    return base + (rng() < 0.5 ? -1 : 1) * uniform(rng, machine.oddMin, machine.oddMax);
  };
  const shapes = landscape.constants.filter((c) => c.shape).map((c) => c.name);
  // A run's noise: its seed's part (shared by every code trained with that seed) and the rest, its own.
  const share = cell.seedShare ?? DEFAULT_SEED_SHARE;
  const seedParts = new Map<number, number>();
  const seedPart = (seed: number) => seedParts.get(seed) ?? seedParts.set(seed, Math.sqrt(share) * gaussian(rng)).get(seed)!;
  return {
    machine: draw,
    train(code, logSpeed = draw(), seed?: number): Measurement {
      counter.runs++;
      const own = seed === undefined ? gaussian(rng) : seedPart(seed) + Math.sqrt(1 - share) * gaussian(rng);
      const valBpb = truth.value(code) + landscape.sigmaBpb * own - BPB_PER_LOG_SPEED * logSpeed;
      const tokens = Math.round(NORMAL_TOKENS_PER_S * Math.exp(truth.logSpeed(code) + logSpeed) * TIME_BUDGET_S);
      const machineClass = machine.classes?.[lane()];
      return {
        valBpb, tokens, steps: Math.floor(tokens / TOKENS_PER_STEP), trainingSeconds: TIME_BUDGET_S,
        ...(seed !== undefined ? { seed } : {}), ...(machineClass !== undefined ? { machineClass } : {}),
      };
    },
    explained: (a, b) => shapes.some((n) => a.values[n] !== b.values[n]),
    truth: (code) => truth.value(code),
  };
}

/** One seeded night of a cell with `budget` training runs. The truth and the proposer's seed depend on the seed alone. */
export function runNight(cell: Cell, seed: number, budget: number): Night {
  const truth = cell.landscape.night(makeRng(seed));
  const proposer = cell.proposer.make(cell.landscape, truth, makeRng(seed * 7919 + 3), seed);
  const counter = { runs: 0 };
  let lane = 0;
  const rule = cell.rule.make(machineLab(cell, truth, makeRng(seed * 7919 + 5), () => lane, counter));
  const baseline = baselineCode(cell.landscape);
  let incumbent = baseline;
  rule.start(baseline);
  const history: Outcome[] = [];
  let kept = 0;
  let falseKeeps = 0;
  let experiments = 0;
  // The tree's nodes' code, by experiment: a branch starts from one (the keep rule still judges against the incumbent).
  const codes = new Map<number, Code>();
  let search = initialSearchState();
  for (let n = 1; counter.runs < budget; n++) {
    const start = cell.search ? startNode(cell.search, search, n) : { state: search, node: undefined };
    search = start.state;
    const next = proposer.propose(start.node ? codes.get(start.node.experiment)! : incumbent, n, history);
    if (!next) break;
    lane = n % cell.machine.lanes.length;
    const j = rule.judge(next.code);
    experiments++;
    history.push({ description: next.description, kept: j.kept });
    if (cell.search) {
      codes.set(n, next.code);
      search = afterResult(cell.search, search, { experiment: n, commitFull: `c${n}`, valBpb: j.valBpb, status: j.kept ? 'keep' : 'discard' });
    }
    if (!j.kept) continue;
    kept++;
    if (truth.value(next.code) >= truth.value(incumbent)) falseKeeps++;
    incumbent = next.code;
  }
  return { gain: truth.value(baseline) - truth.value(incumbent), runs: counter.runs, experiments, kept, falseKeeps, best: incumbent };
}

export function runCell(cell: Cell, opts: { nights: number; budget: number; firstSeed?: number }): CellFigures {
  const nights = Array.from({ length: opts.nights }, (_, i) => runNight(cell, (opts.firstSeed ?? 1) + i, opts.budget));
  const sigma = cell.landscape.sigmaBpb;
  const gains = nights.map((n) => n.gain / sigma).sort((a, b) => a - b);
  const sum = (f: (n: Night) => number) => nights.reduce((s, n) => s + f(n), 0);
  const kept = sum((n) => n.kept);
  return {
    nights: nights.length,
    gainSigma: sum((n) => n.gain) / sigma / nights.length,
    gainP10Sigma: gains[Math.floor(0.1 * (gains.length - 1))],
    runs: sum((n) => n.runs) / nights.length,
    experiments: sum((n) => n.experiments) / nights.length,
    kept: kept / nights.length,
    falseShare: kept ? sum((n) => n.falseKeeps) / kept : 0,
  };
}
