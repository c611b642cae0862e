import type { ProposerConfig } from '../core/runInput.js';
import type { ExperimentRecord } from '../core/results.js';
import type { Proposer, ProposerContext } from './context.js';
import { ProposerFatalError } from '../core/failures.js';
import { ZERO_USAGE } from '../core/usage.js';
import { type Constant, type ConstantValue, findConstants, formatLiteral } from './constants.js';
import type { Proposal } from '../core/proposal.js';

/**
 * The offline proposer: a mutation search over the editable files' UPPER_CASE constants. It needs
 * no key and no network. It learns from the results so far: a setting tried before is never tried
 * again, nor code the journal has trained in any run, and a direction (a constant raised or lowered)
 * that was kept is favoured, one that lost is not.
 */
export function createOfflineProposer(config: ProposerConfig): Proposer {
  return {
    async propose(ctx) {
      return { proposal: proposeMutation(ctx, config.seed), usage: ZERO_USAGE };
    },
  };
}

export type Direction = 'up' | 'down' | 'set';

export interface Candidate {
  constant: Constant;
  next: ConstantValue;
  direction: Direction;
}

/** Descriptions are `NAME: old -> new`; this is how the search reads its own history back. */
const DESCRIPTION = /^([A-Z][A-Z0-9_]*): (.+) -> (.+)$/;

export function describeChange(c: Candidate): string {
  return `${c.constant.name}: ${c.constant.literal} -> ${formatLiteral(c.next)}`;
}

interface Tried {
  name: string;
  to: string;
  direction: Direction;
  status: ExperimentRecord['status'];
}

export function triedSettings(results: Pick<ExperimentRecord, 'description' | 'status'>[]): Tried[] {
  return results.flatMap((r) => {
    const m = DESCRIPTION.exec(r.description);
    if (!m) return [];
    const from = Number(m[2]);
    const to = Number(m[3]);
    const direction: Direction = Number.isFinite(from) && Number.isFinite(to) ? (to > from ? 'up' : 'down') : 'set';
    return [{ name: m[1], to: m[3], direction, status: r.status }];
  });
}

const FLOAT_FACTORS = [1.25, 0.8, 1.5, 0.67, 2, 0.5, 3, 0.33, 4, 0.25];

/** Every neighbouring value of a constant, nearest first. */
export function neighbours(v: ConstantValue): { next: ConstantValue; direction: Direction }[] {
  switch (v.kind) {
    case 'float': {
      // A value in (0, 1) is usually a ratio, a beta or a probability: stay inside (0, 1). Near 1
      // (betas, decay) the distance to 1 is what matters, so that distance is scaled instead.
      const scale = (f: number) => {
        if (v.value <= 0 || v.value >= 1) return v.value * f;
        return v.value >= 0.5 ? 1 - (1 - v.value) / f : Math.min(v.value * f, 0.95);
      };
      return FLOAT_FACTORS.map((f) => ({ next: { ...v, value: scale(f) }, direction: f > 1 ? 'up' : 'down' }));
    }
    case 'int': {
      const steps = [1, -1, 2, -2].map((d) => v.value + d * Math.max(1, Math.round(Math.abs(v.value) * 0.25)));
      const scaled = [v.value * 2, Math.round(v.value / 2)];
      const uniq = [...new Set([...steps, ...scaled])].filter((n) => n !== v.value && (v.value <= 0 || n > 0));
      return uniq.map((n) => ({ next: { kind: 'int', value: n }, direction: n > v.value ? 'up' : 'down' }));
    }
    case 'bool':
      return [{ next: { kind: 'bool', value: !v.value }, direction: 'set' }];
    case 'str': {
      if (v.options) return v.options.filter((o) => o !== v.value).map((o) => ({ next: { ...v, value: o }, direction: 'set' as const }));
      // A short upper-case pattern such as WINDOW_PATTERN "SSSL": change one position to another letter of it.
      const alphabet = [...new Set(v.value)];
      if (!/^[A-Z]{2,12}$/.test(v.value) || alphabet.length < 2) return [];
      return [...v.value].flatMap((ch, i) =>
        alphabet.filter((a) => a !== ch).map((a) => ({ next: { ...v, value: v.value.slice(0, i) + a + v.value.slice(i + 1) }, direction: 'set' as const })),
      );
    }
  }
}

/** Score of a candidate from the history: directions that were kept score high, losing ones low. */
export function scoreCandidate(c: Candidate, tried: Tried[]): number {
  let score = 1;
  for (const t of tried) {
    if (t.name !== c.constant.name) continue;
    const same = t.direction === c.direction && c.direction !== 'set';
    if (t.status === 'keep') score += same ? 3 : 0.5;
    else if (t.status === 'discard') score -= same ? 0.4 : 0.1;
    else score -= 0.6; // a crash or invalid edit: this constant is risky
  }
  return Math.max(score, 0.05);
}

export function candidates(ctx: ProposerContext): Candidate[] {
  // Settings running now on other lanes are taken as well as the ones tried.
  const running = (ctx.inFlight ?? []).map((r) => ({ description: r.description ?? '', status: 'discard' as const }));
  const done = new Set([...triedSettings(ctx.recent), ...triedSettings(running)].map((t) => `${t.name}=${t.to}`));
  return ctx.files
    .flatMap((f) => findConstants(f.path, f.content))
    .flatMap((constant) => neighbours(constant.value).map((n) => ({ constant, ...n })))
    .filter((c) => formatLiteral(c.next) !== c.constant.literal && !done.has(`${c.constant.name}=${formatLiteral(c.next)}`))
    .filter((c) => !ctx.measured?.(filesAfter(ctx, c))); // the journal: code trained before, in any run, is never proposed
}

/** The editable files as the candidate would leave them. */
function filesAfter(ctx: ProposerContext, c: Candidate): Record<string, string> {
  const files = Object.fromEntries(ctx.files.map((f) => [f.path, f.content]));
  const newLine = c.constant.line.replace(c.constant.literal, formatLiteral(c.next)); // as proposeMutation writes it
  files[c.constant.file] = files[c.constant.file].replace(c.constant.line, () => newLine);
  return files;
}

export function proposeMutation(ctx: ProposerContext, seed: number): Proposal {
  const all = candidates(ctx);
  if (all.length === 0) throw new ProposerFatalError('offline proposer: every neighbouring setting of every constant has been tried');
  const tried = triedSettings(ctx.recent);
  const rand = mulberry32(seed * 100_003 + ctx.experiment);
  // Weighted draw: learning biases the search without making it greedy.
  const weighted = all.map((c, i) => ({ c, w: scoreCandidate(c, tried) ** 2 / (1 + rankInConstant(all, i) * 0.5) }));
  const total = weighted.reduce((s, x) => s + x.w, 0);
  let r = rand() * total;
  const pick = weighted.find((x) => (r -= x.w) <= 0)?.c ?? weighted[weighted.length - 1].c;
  const newLine = pick.constant.line.replace(pick.constant.literal, formatLiteral(pick.next));
  const verb = pick.direction === 'up' ? 'raise' : pick.direction === 'down' ? 'lower' : 'change';
  return {
    hypothesis: `${verb} ${pick.constant.name} from ${pick.constant.literal} to ${formatLiteral(pick.next)} (offline mutation search)`,
    description: describeChange(pick),
    edits: [{ path: pick.constant.file, search: pick.constant.line, replace: newLine }],
  };
}

/** 0 for a constant's nearest neighbour, 1 for the next, ...: near moves come first. */
function rankInConstant(all: Candidate[], i: number): number {
  let rank = 0;
  for (let j = 0; j < i; j++) if (all[j].constant.name === all[i].constant.name) rank++;
  return rank;
}

function mulberry32(a: number): () => number {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
