/**
 * `npm run bench -- research [--nights N] [--budget N] [--landscapes a,b] [--proposers a,b]
 * [--machines a,b] [--rules a,b] [--search greedy,tree] [--seed-share S] [--frontier]`: keep rules on landscapes with known truth
 * (bench/researchSim.ts). Per cell (landscape × proposer × machine × rule), at equal training
 * runs: the final best's real gain in σ (mean and 10th percentile over seeded nights), the runs
 * used, the experiments judged, the keeps, and the share of keeps that were not really better.
 * `--frontier` sweeps the default's family from greedy-like to strict on a dedicated machine.
 * The optimizer proposers (tpe, cmaes, hybrid: Optuna in the trainer's environment, one sampler
 * process for the whole bench) are slower: ask for them with --proposers, e.g. offline,tpe,hybrid.
 * `--search greedy,tree` runs every cell with each search (src/core/searchTree.ts at its tree
 * settings); a tree row's `vs search` is its gain against the greedy search's in the same cell.
 */
import { LANDSCAPES } from './researchLandscapes.js';
import { OPTIMIZER_PROPOSERS, closeSampler, openSampler } from './researchOptimizer.js';
import { PROPOSERS as FAST_PROPOSERS } from './researchProposers.js';
import { FRONTIER, RULES } from './researchRules.js';
import { MACHINES, runCell, type Cell, type CellFigures } from './researchSim.js';
import { SearchSchema, type SearchConfig } from '../src/core/searchTree.js';

const PROPOSERS = { ...FAST_PROPOSERS, ...OPTIMIZER_PROPOSERS };

interface Options {
  nights: number;
  budget: number;
  landscapes: string[];
  proposers: string[];
  machines: string[];
  rules: string[];
  searches: string[];
  frontier: boolean;
  seedShare?: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    nights: 200, budget: 100, landscapes: LANDSCAPES.map((l) => l.name), proposers: Object.keys(FAST_PROPOSERS),
    machines: MACHINES.map((m) => m.name), rules: Object.keys(RULES), searches: ['greedy'], frontier: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (name === 'frontier') {
      o.frontier = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (name === 'nights' || name === 'budget') o[name] = Number(value);
    else if (name === 'landscapes' || name === 'proposers' || name === 'machines' || name === 'rules') o[name] = value.split(',');
    else if (name === 'search') o.searches = value.split(',');
    else if (name === 'seed-share' && Number(value) >= 0 && Number(value) < 1) o.seedShare = Number(value);
    else throw new Error(`unknown option --${name}`);
  }
  const known: [string[], string[]][] = [
    [o.landscapes, LANDSCAPES.map((l) => l.name)], [o.proposers, Object.keys(PROPOSERS)], [o.machines, MACHINES.map((m) => m.name)],
    [o.rules, [...Object.keys(RULES), ...Object.keys(FRONTIER)]], [o.searches, ['greedy', 'tree']],
  ];
  for (const [asked, names] of known) for (const a of asked) if (!names.includes(a)) throw new Error(`unknown name ${a} (known: ${names.join(', ')})`);
  return o;
}

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const HEADER = `${'proposer'.padEnd(9)}${'machine'.padEnd(11)}${'rule'.padEnd(16)}${'search'.padEnd(8)}${'gain σ'.padStart(8)}${'p10 σ'.padStart(8)}` +
  `${'vs greedy'.padStart(10)}${'vs search'.padStart(10)}${'runs'.padStart(7)}${'exps'.padStart(6)}${'keeps'.padStart(7)}${'not better'.padStart(11)}`;

const ratioOf = (f: CellFigures, to?: CellFigures) => (to && to.gainSigma > 0 ? `${(f.gainSigma / to.gainSigma).toFixed(2)}x` : '-');

function row(proposer: string, machine: string, rule: string, search: string, f: CellFigures, greedy?: CellFigures, greedySearch?: CellFigures): string {
  return `${proposer.padEnd(9)}${machine.padEnd(11)}${rule.padEnd(16)}${search.padEnd(8)}${f.gainSigma.toFixed(1).padStart(8)}${f.gainP10Sigma.toFixed(1).padStart(8)}` +
    `${ratioOf(f, greedy).padStart(10)}${ratioOf(f, greedySearch).padStart(10)}${f.runs.toFixed(1).padStart(7)}${f.experiments.toFixed(0).padStart(6)}${f.kept.toFixed(1).padStart(7)}${pct(f.falseShare).padStart(11)}`;
}

/** A search by name at the run input's settings for it; greedy runs as the simulation always has. */
function searchOf(name: string): SearchConfig | undefined {
  return name === 'greedy' ? undefined : SearchSchema.parse(name);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.proposers.some((p) => p in OPTIMIZER_PROPOSERS)) await openSampler();
  const t0 = performance.now();
  const rules = o.frontier ? { greedy: RULES.greedy, 'first noise': RULES['first noise'], ...FRONTIER, oracle: RULES.oracle } : Object.fromEntries(o.rules.map((r) => [r, { ...RULES, ...FRONTIER }[r]]));
  const machines = o.frontier ? MACHINES.filter((m) => m.name === 'dedicated') : MACHINES.filter((m) => o.machines.includes(m.name));
  console.log(`research benchmark: ${o.nights} seeded nights of ${o.budget} training runs per cell; every rule gets the same runs and the same proposer`);
  console.log(`machines: ${machines.map((m) => `${m.name} (${m.summary})`).join('; ')}`);
  for (const landscape of LANDSCAPES.filter((l) => o.landscapes.includes(l.name))) {
    console.log(`\n${landscape.summary} (σ ${landscape.sigmaBpb} bpb per run)\n${HEADER}`);
    for (const proposer of o.proposers) {
      for (const machine of machines) {
        const greedy: Record<string, CellFigures> = {};
        for (const [name, make] of Object.entries(rules)) {
          let greedySearch: CellFigures | undefined;
          for (const search of o.searches) {
            const cell: Cell = { landscape, proposer: { name: proposer, make: PROPOSERS[proposer] }, machine, rule: { name, make }, search: searchOf(search), seedShare: o.seedShare };
            const f = runCell(cell, { nights: o.nights, budget: o.budget });
            if (name === 'greedy') greedy[search] = f;
            if (search === 'greedy') greedySearch = f;
            console.log(row(proposer, machine.name, name, search, f, greedy[search], search === 'greedy' ? undefined : greedySearch));
          }
        }
      }
    }
  }
  console.log(`\n(gain: the final best's real improvement over the baseline in σ, mean and 10th percentile over nights; vs greedy: ` +
    `the mean's ratio; vs search: a tree search's gain against the greedy search's, same rule; runs: training runs used (a night stops starting experiments at its budget); exps: experiments judged; ` +
    `not better: keeps whose code was not really better than the incumbent it replaced; oracle: one run each, kept iff truly ` +
    `better, for scale; ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

main().finally(closeSampler).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
