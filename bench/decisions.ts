/**
 * `npm run bench -- decisions [--seeds N] [--k X] [--confirmFrom X] [--repeats N] [--confirmations N]
 * [--kConfirmed X] [--freshRuns N] [--throughputTolerance X] [--oddMachineFraction X] ... [--frontier]`:
 * greedy, the first noise rule (its settings, or the ones given) and the default rule on a fixture
 * objective with known true effects (bench/decisionSim.ts). Prints, for each rule, the false-keep
 * rate, the detection rate, the training runs spent and the final best's real gain, on a
 * dedicated machine and on a shared one whose runs are sometimes fast or slow by chance; the
 * default's goals; then the best detection any rule could reach at a 2% false-keep rate with n
 * runs per proposal, for scale. `--frontier` prints the default's family from loose to strict.
 */
import { DEFAULT_DECISION_CONFIG, type DecisionConfig } from '../src/core/decisionConfig.js';
import { DEFAULT_FIXTURE, detectionCeiling, simulateRule, type Fixture, type RuleFigures } from './decisionSim.js';
import { FIRST_NOISE_RULE, FRONTIER, greedyRule, noiseRule, type RuleFactory } from './researchRules.js';

/** The default's goals against greedy; on the shared machine, its margin over greedy at least the first noise rule's. */
const GOAL = { gain: 1.15, runs: 1.1, falseShare: 0.2 };
const DEFAULT_SEEDS = 1000;

/** `--name value` pairs: a DecisionConfig or Fixture field, or --seeds; and --frontier. */
function parseArgs(argv: string[]): { seeds: number; config: Partial<DecisionConfig>; fixture: Partial<Fixture>; frontier: boolean } {
  const config: Record<string, number> = {};
  const fixture: Record<string, number> = {};
  let seeds = DEFAULT_SEEDS;
  let frontier = false;
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (name === 'frontier') {
      frontier = true;
      i--;
      continue;
    }
    const value = Number(argv[i + 1]);
    if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
    if (name === 'seeds') seeds = value;
    else if (name in DEFAULT_DECISION_CONFIG && name !== 'mode') config[name] = value;
    else if (name in DEFAULT_FIXTURE) fixture[name] = value;
    else throw new Error(`unknown option --${name}`);
  }
  return { seeds, config, fixture, frontier };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(7);
const HEADER = `${''.padEnd(28)}${'false'.padStart(7)}${'detect'.padStart(7)}${'false'.padStart(7)}${'runs'.padStart(8)}${'vs'.padStart(7)}` +
  `${'real'.padStart(8)}${'vs'.padStart(7)}${'kept'.padStart(6)}${'conf'.padStart(7)}${'remeas'.padStart(7)}\n` +
  `${''.padEnd(28)}${'keeps'.padStart(7)}${''.padStart(7)}${'share'.padStart(7)}${'/night'.padStart(8)}${'greedy'.padStart(7)}` +
  `${'gain σ'.padStart(8)}${'greedy'.padStart(7)}${''.padStart(6)}${''.padStart(7)}${''.padStart(7)}`;

function row(name: string, r: RuleFigures, greedy: RuleFigures): string {
  return `${name.padEnd(28)}${pct(r.falseKeepRate)}${pct(r.detectionRate)}${pct(r.falseShareOfKeeps)}` +
    `${r.runs.toFixed(1).padStart(8)}${`${(r.runs / greedy.runs).toFixed(2)}x`.padStart(7)}${r.trueGainSigma.toFixed(1).padStart(8)}` +
    `${`${(r.trueGainSigma / greedy.trueGainSigma).toFixed(2)}x`.padStart(7)}` +
    `${r.kept.toFixed(1).padStart(6)}${r.confirmations.toFixed(1).padStart(7)}${r.remeasures.toFixed(1).padStart(7)}`;
}

function goals(d: RuleFigures, g: RuleFigures): string {
  const check = (ok: boolean) => (ok ? 'met' : 'NOT met');
  return `goals for the default: real gain >= ${GOAL.gain}x greedy's ${check(d.trueGainSigma >= GOAL.gain * g.trueGainSigma)}, ` +
    `runs <= ${GOAL.runs}x ${check(d.runs <= GOAL.runs * g.runs)}, keeps not really better <= ${GOAL.falseShare * 100}% ${check(d.falseShareOfKeeps <= GOAL.falseShare)}`;
}

function main(): void {
  const { seeds, config, fixture, frontier } = parseArgs(process.argv.slice(2));
  const f = { ...DEFAULT_FIXTURE, ...fixture };
  const first = { ...FIRST_NOISE_RULE, ...config };
  const t0 = performance.now();
  const nulls = 1 - f.helpfulFraction - f.harmfulFraction;
  console.log(`decisions benchmark: ${seeds} seeded nights of ${f.proposals} proposals under a time budget, σ = ${f.sigmaBpb} bpb per run`);
  console.log(`  ${pct(f.helpfulFraction).trim()} truly help by ${f.helpfulMin}-${f.helpfulMax}σ, ${pct(nulls).trim()} are neutral, ` +
    `${pct(f.harmfulFraction).trim()} harm by 0-${f.harmfulMax}σ`);
  const describe = (c: DecisionConfig) => `k ${c.k}, confirmed k ${c.kConfirmed ?? c.k}, confirm from ${c.confirmFrom} SE, ` +
    `repeats ${c.repeats}, confirmations ${c.confirmations}, fresh runs ${c.freshRuns ?? c.repeats}`;
  console.log(`  first noise rule: ${describe(first)}\n  default: ${describe(DEFAULT_DECISION_CONFIG)}`);
  const scenarios: [string, Partial<Fixture>][] = [
    ['dedicated machine (every run at the same speed, up to 2% jitter)', { ...fixture, oddMachineFraction: 0 }],
    [`shared machine (${pct(f.oddMachineFraction).trim()} of runs ${Math.exp(f.oddSpeedMin).toFixed(1)}-` +
      `${Math.exp(f.oddSpeedMax).toFixed(1)}x faster or slower by chance; 10% faster moves val_bpb by ${(f.sigmaPerLogSpeed * Math.log(1.1)).toFixed(2)}σ)`, fixture],
  ];
  for (const [name, scenario] of scenarios) {
    const run = (rule: RuleFactory) => simulateRule(rule, { seeds, fixture: scenario });
    const g = run(greedyRule);
    const n = run(noiseRule(first));
    const d = run(noiseRule(DEFAULT_DECISION_CONFIG));
    console.log(`\n${name}\n${HEADER}`);
    console.log(row('greedy (the original)', g, g));
    console.log(row('first noise rule', n, g));
    if (scenario.oddMachineFraction !== 0) console.log(row('first noise rule, no guard', run(noiseRule({ ...first, throughputTolerance: Number.POSITIVE_INFINITY })), g));
    console.log(row('default', d, g));
    if (frontier) for (const [label, rule] of Object.entries(FRONTIER)) console.log(row(`  frontier ${label}`, run(rule), g));
    console.log(goals(d, g));
    if (scenario.oddMachineFraction !== 0) {
      const margin = (r: RuleFigures) => r.trueGainSigma / g.trueGainSigma;
      console.log(`shared: the default gains ${margin(d).toFixed(2)}x greedy's, the first noise rule ${margin(n).toFixed(2)}x: ` +
        `${margin(d) >= margin(n) ? 'met' : 'NOT met'}`);
    }
  }
  const ceilings = [1, 2, 3, 4, 6].map((k) => `${k} run${k > 1 ? 's' : ''}: ${pct(detectionCeiling(k, f)).trim()}`).join(', ');
  console.log(`\nceiling: the best detection at 2% false keeps of neutral proposals, with n runs of each proposal ` +
    `against an exactly known incumbent and σ:\n  ${ceilings}`);
  console.log(`\n(false keeps: kept but truly not better, over all such proposals; detect: truly helping ones kept; ` +
    `false share: of the keeps; runs include repeats, confirmations, re-measurements and fresh runs; real gain: the final best's ` +
    `real improvement in σ; ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

main();
