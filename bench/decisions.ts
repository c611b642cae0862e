/**
 * `npm run bench -- decisions [--seeds N] [--k X] [--confirmFrom X] [--repeats N] [--confirmations N]
 * [--throughputTolerance X] [--oddMachineFraction X] ...`: greedy against the noise rule on a
 * fixture objective with known true effects (bench/decisionSim.ts). Prints, for each rule, the
 * false-keep rate, the detection rate and the training runs spent, on a dedicated machine and on
 * a shared one whose runs are sometimes fast or slow by chance; then the best detection any rule
 * could reach at a 2% false-keep rate with n runs per proposal, for scale.
 */
import { DEFAULT_DECISION_CONFIG, type DecisionConfig } from '../src/core/decisionConfig.js';
import { DEFAULT_FIXTURE, detectionCeiling, simulate, type BenchFigures, type Fixture, type RuleFigures } from './decisionSim.js';

const GOAL = { falseKeeps: 0.02, detection: 0.9, runRatio: 1.3 };
const DEFAULT_SEEDS = 1000;

/** `--name value` pairs: a DecisionConfig or Fixture field, or --seeds. */
function parseArgs(argv: string[]): { seeds: number; config: Partial<DecisionConfig>; fixture: Partial<Fixture> } {
  const config: Record<string, number> = {};
  const fixture: Record<string, number> = {};
  let seeds = DEFAULT_SEEDS;
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    const value = Number(argv[i + 1]);
    if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
    if (name === 'seeds') seeds = value;
    else if (name in DEFAULT_DECISION_CONFIG && name !== 'mode') config[name] = value;
    else if (name in DEFAULT_FIXTURE) fixture[name] = value;
    else throw new Error(`unknown option --${name}`);
  }
  return { seeds, config, fixture };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`.padStart(7);

function row(name: string, r: RuleFigures, greedyRuns: number): string {
  return `${name.padEnd(26)}${pct(r.falseKeepRate)}${pct(r.detectionRate)}${pct(r.falseShareOfKeeps)}` +
    `${r.runs.toFixed(1).padStart(8)}${`${(r.runs / greedyRuns).toFixed(2)}x`.padStart(7)}${r.trueGainSigma.toFixed(1).padStart(8)}` +
    `${r.kept.toFixed(1).padStart(6)}${r.confirmations.toFixed(1).padStart(7)}${r.remeasures.toFixed(1).padStart(7)}`;
}

function verdict(b: BenchFigures): string {
  const check = (ok: boolean) => (ok ? 'met' : 'NOT met');
  return `goals for the noise rule: false keeps <= 2% ${check(b.rule.falseKeepRate <= GOAL.falseKeeps)}, ` +
    `detection >= 90% ${check(b.rule.detectionRate >= GOAL.detection)}, runs <= 1.3x greedy ${check(b.runRatio <= GOAL.runRatio)}`;
}

function main(): void {
  const { seeds, config, fixture } = parseArgs(process.argv.slice(2));
  const f = { ...DEFAULT_FIXTURE, ...fixture };
  const c = { ...DEFAULT_DECISION_CONFIG, ...config };
  const t0 = performance.now();
  const nulls = 1 - f.helpfulFraction - f.harmfulFraction;
  console.log(`decisions benchmark: ${seeds} seeded nights of ${f.proposals} proposals under a time budget, σ = ${f.sigmaBpb} bpb per run`);
  console.log(`  ${pct(f.helpfulFraction).trim()} truly help by ${f.helpfulMin}-${f.helpfulMax}σ, ${pct(nulls).trim()} are neutral, ` +
    `${pct(f.harmfulFraction).trim()} harm by 0-${f.harmfulMax}σ`);
  console.log(`  noise rule: k ${c.k}, confirm from ${c.confirmFrom} SE, repeats ${c.repeats}, confirmations ${c.confirmations}, ` +
    `throughput tolerance ${c.throughputTolerance}, re-measurements ${c.remeasures}`);
  const header = `${''.padEnd(26)}${'false'.padStart(7)}${'detect'.padStart(7)}${'false'.padStart(7)}${'runs'.padStart(8)}${'vs'.padStart(7)}` +
    `${'true'.padStart(8)}${'kept'.padStart(6)}${'conf'.padStart(7)}${'remeas'.padStart(7)}\n` +
    `${''.padEnd(26)}${'keeps'.padStart(7)}${''.padStart(7)}${'share'.padStart(7)}${'/night'.padStart(8)}${'greedy'.padStart(7)}` +
    `${'gain σ'.padStart(8)}${''.padStart(6)}${''.padStart(7)}${''.padStart(7)}`;
  const scenarios: [string, Partial<Fixture>][] = [
    ['dedicated machine (every run at the same speed, up to 2% jitter)', { ...fixture, oddMachineFraction: 0 }],
    [`shared machine (${pct(f.oddMachineFraction).trim()} of runs ${Math.exp(f.oddSpeedMin).toFixed(1)}-` +
      `${Math.exp(f.oddSpeedMax).toFixed(1)}x faster or slower by chance; 10% faster moves val_bpb by ${(f.sigmaPerLogSpeed * Math.log(1.1)).toFixed(2)}σ)`, fixture],
  ];
  for (const [name, scenario] of scenarios) {
    const b = simulate({ seeds, fixture: scenario, config });
    console.log(`\n${name}\n${header}`);
    console.log(row('greedy (the original)', b.greedy, b.greedy.runs));
    console.log(row('noise rule', b.rule, b.greedy.runs));
    if (scenario.oddMachineFraction !== 0) {
      const unguarded = simulate({ seeds, fixture: scenario, config: { ...config, throughputTolerance: Number.POSITIVE_INFINITY } });
      console.log(row('noise rule, no speed guard', unguarded.rule, unguarded.greedy.runs));
    }
    console.log(verdict(b));
  }
  const ceilings = [1, 2, 3, 4, 6].map((n) => `${n} run${n > 1 ? 's' : ''}: ${pct(detectionCeiling(n, f)).trim()}`).join(', ');
  console.log(`\nceiling: the best detection at 2% false keeps of neutral proposals, with n runs of each proposal ` +
    `against an exactly known incumbent and σ:\n  ${ceilings}`);
  console.log(`\n(false keeps: kept but truly not better, over all such proposals; detect: truly helping ones kept; ` +
    `false share: of the keeps; runs include repeats, confirmations and re-measurements; true gain: the final best's ` +
    `real improvement in σ; ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

main();
