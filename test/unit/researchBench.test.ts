import { makeRng, simulateRule } from '../../bench/decisionSim.js';
import { LANDSCAPES, baselineCode } from '../../bench/researchLandscapes.js';
import { PROPOSERS } from '../../bench/researchProposers.js';
import { FIRST_NOISE_RULE, RULES, greedyRule, noiseRule } from '../../bench/researchRules.js';
import { MACHINES, runCell, runNight, type Cell } from '../../bench/researchSim.js';
import { DEFAULT_DECISION_CONFIG } from '../../src/core/decisionConfig.js';

// The benchmark at a small size: 8 nights of 40 training runs per cell.
const SMALL = { nights: 8, budget: 40 };
const machine = (name: string) => MACHINES.find((m) => m.name === name)!;
const cell = (landscape: string, proposer: string, machineName: string, rule: string): Cell => ({
  landscape: LANDSCAPES.find((l) => l.name === landscape)!, proposer: { name: proposer, make: PROPOSERS[proposer] },
  machine: machine(machineName), rule: { name: rule, make: RULES[rule] },
});

describe('research benchmark at a small size', () => {
  test('every landscape × proposer × rule runs, its figures in range', () => {
    for (const l of LANDSCAPES) for (const p of Object.keys(PROPOSERS)) for (const r of Object.keys(RULES)) {
      const f = runCell(cell(l.name, p, 'dedicated', r), SMALL);
      const where = `${l.name} ${p} ${r}`;
      expect([where, Number.isFinite(f.gainSigma)]).toEqual([where, true]);
      expect([where, f.gainP10Sigma <= f.gainSigma]).toEqual([where, true]);
      // A night stops starting experiments at its budget; the last one finishes its follow-ups.
      expect([where, f.runs >= SMALL.budget && f.runs <= SMALL.budget + 10]).toEqual([where, true]);
      expect([where, f.experiments > 0 && f.kept <= f.experiments && f.falseShare >= 0 && f.falseShare <= 1]).toEqual([where, true]);
    }
  });

  test('greedy trains once per experiment: the budget is the baseline and 39 experiments', () => {
    const f = runCell(cell('smooth', 'offline', 'dedicated', 'greedy'), SMALL);
    expect([f.runs, f.experiments]).toEqual([40, 39]);
  });

  test('the oracle keeps nothing that is not better, and its final best is better than the baseline', () => {
    const f = runCell(cell('calibrated', 'llm', 'dedicated', 'oracle'), SMALL);
    expect(f.falseShare).toBe(0);
    expect(f.gainP10Sigma).toBeGreaterThan(0);
  });

  test("the default's keeps are more honest than greedy's", () => {
    const greedy = runCell(cell('smooth', 'llm', 'dedicated', 'greedy'), SMALL);
    const rule = runCell(cell('smooth', 'llm', 'dedicated', 'default'), SMALL);
    expect(greedy.falseShare).toBeGreaterThan(0.25);
    expect(rule.falseShare).toBeLessThan(greedy.falseShare / 2);
  });

  test('on a shared machine greedy keeps lucky fast runs and the default does not', () => {
    const greedy = runCell(cell('calibrated', 'offline', 'shared', 'greedy'), SMALL);
    const rule = runCell(cell('calibrated', 'offline', 'shared', 'default'), SMALL);
    expect(rule.gainSigma).toBeGreaterThan(1.3 * greedy.gainSigma);
  });

  test("on two lanes of different speed the default's keeps stay mostly honest", () => {
    const f = runCell(cell('smooth', 'offline', 'two lanes', 'default'), SMALL);
    expect(f.falseShare).toBeLessThan(0.3);
  });

  test('on two GPU kinds the per-class default keeps fewer changes that are not really better than class-blind, and gains more', () => {
    // Class-blind, the throughput guard discards most candidates on the other kind, and some that are not better slip through.
    for (const l of ['smooth', 'interacting']) {
      const perClass = runCell(cell(l, 'offline', 'two kinds', 'default'), SMALL);
      const blind = runCell(cell(l, 'offline', 'two kinds', 'class-blind'), SMALL);
      expect([l, blind.falseShare > perClass.falseShare, perClass.gainSigma > blind.gainSigma]).toEqual([l, true, true]);
    }
    // Per class, a lane's speed drops out: two lanes 10% apart and two kinds 1.5x apart give the same nights.
    expect(runCell(cell('smooth', 'offline', 'two lanes', 'default'), SMALL)).toEqual(runCell(cell('smooth', 'offline', 'two kinds', 'default'), SMALL));
  });

  test('a tree search reaches the better basin on deceptive where a greedy one does not, and loses none of the nights greedy reaches', () => {
    // The basin: LOGIT_SOFTCAP 4.5x its start or more; the plateau before it looks ~1σ worse.
    const inBasin = (c: Cell) => Array.from({ length: 40 }, (_, i) => i + 1).filter((seed) => runNight(c, seed, 100).best.values.LOGIT_SOFTCAP >= 15 * 4.4);
    const greedy = cell('deceptive', 'offline', 'dedicated', 'default');
    const greedyNights = inBasin(greedy);
    const treeNights = inBasin({ ...greedy, search: { kind: 'tree', stallAfter: 8, branchLength: 6 } });
    expect(treeNights.length).toBeGreaterThanOrEqual(greedyNights.length + 3);
    expect(greedyNights.every((seed) => treeNights.includes(seed))).toBe(true);
  });

  test('a seed gives the same night', () => {
    const c = cell('interacting', 'llm', 'shared', 'default');
    expect(runNight(c, 5, 40)).toEqual(runNight(c, 5, 40));
  });

  test("the offline proposer is the product's search: each proposal changes one constant of the incumbent", () => {
    const l = LANDSCAPES[0];
    const base = baselineCode(l);
    const p = PROPOSERS.offline(l, l.night(makeRng(1)), makeRng(2), 7);
    for (let n = 1; n <= 10; n++) {
      const next = p.propose(base, n, [])!;
      const changed = Object.keys(base.values).filter((k) => next.code.values[k] !== base.values[k]);
      expect(changed).toHaveLength(1);
      expect(next.description).toMatch(new RegExp(`^${changed[0]}: `));
    }
  });
});

describe('the decisions fixture at a small size', () => {
  // At full size 19% of the default's keeps are not really better, and it gains 9.7σ against the first noise rule's 7.9σ.
  test('the default keeps few that are not really better, and ends the night better than the first noise rule', () => {
    const seeds = { seeds: 60 };
    const rule = simulateRule(noiseRule(DEFAULT_DECISION_CONFIG), seeds);
    const first = simulateRule(noiseRule(FIRST_NOISE_RULE), seeds);
    const greedy = simulateRule(greedyRule, seeds);
    expect(rule.falseShareOfKeeps).toBeLessThanOrEqual(0.25);
    expect(greedy.falseShareOfKeeps).toBeGreaterThan(0.5);
    expect(rule.trueGainSigma).toBeGreaterThan(first.trueGainSigma);
  });
});
