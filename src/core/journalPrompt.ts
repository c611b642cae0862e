/**
 * The journal as a section of the proposer's prompt, within a character budget: this run's
 * experiments one line each, every kept change of every run in full, earlier runs' discards and
 * crashes one line per code. Over budget, the oldest entries are condensed step by step, always the
 * same way for the same records; the section says what was condensed and how much, and an entry
 * that finds no room at all is still counted. Pure.
 */
import { byTime, type JournalRecord } from './journal.js';
import { experimentLine, groupBySameCode, groupByTarget, keptItem, type Item, type MemberStyle } from './journalGroups.js';

/** The section's default size: about 6,000 tokens, a fraction of a proposer call's context. */
export const JOURNAL_PROMPT_CHARS = 24_000;
/** This run's latest experiments stay one line each when older ones are condensed. */
export const RECENT_LINES = 30;
const HYPOTHESIS_CHARS = 600;
const CLIPPED_HYPOTHESIS_CHARS = 160;
/** Room kept for the line that counts entries cut for lack of room. */
const TALLY_ROOM = 400;

interface Level {
  /** Earlier runs' discards and crashes by constant or function instead of by code. */
  earlierByTarget: boolean;
  /** This run's experiments before the latest RECENT_LINES, likewise. */
  olderByTarget: boolean;
  hypothesisChars: number;
  members: MemberStyle;
  /** Earlier runs' kept changes without their hypotheses. */
  earlierKeptShort: boolean;
}

const LEVELS: Level[] = [
  { earlierByTarget: false, olderByTarget: false, hypothesisChars: HYPOTHESIS_CHARS, members: 'numbers', earlierKeptShort: false },
  { earlierByTarget: true, olderByTarget: false, hypothesisChars: HYPOTHESIS_CHARS, members: 'numbers', earlierKeptShort: false },
  { earlierByTarget: true, olderByTarget: true, hypothesisChars: HYPOTHESIS_CHARS, members: 'numbers', earlierKeptShort: false },
  { earlierByTarget: true, olderByTarget: true, hypothesisChars: CLIPPED_HYPOTHESIS_CHARS, members: 'numbers', earlierKeptShort: false },
  { earlierByTarget: true, olderByTarget: true, hypothesisChars: CLIPPED_HYPOTHESIS_CHARS, members: 'counts', earlierKeptShort: false },
  { earlierByTarget: true, olderByTarget: true, hypothesisChars: CLIPPED_HYPOTHESIS_CHARS, members: 'counts', earlierKeptShort: true },
];

interface Section {
  title: string;
  items: Item[];
  /** Which items go first when even the last level does not fit: lower goes first, from its start or its end. */
  cutOrder: number;
  cutFrom: 'start' | 'end';
}

export interface JournalPromptOptions {
  /** This run's tag: its records are "this run". */
  tag: string;
  budgetChars?: number;
}

/** The section, at most `budgetChars` long (JOURNAL_PROMPT_CHARS by default). `records` in time order. */
export function renderJournal(records: readonly JournalRecord[], options: JournalPromptOptions): string {
  const budget = options.budgetChars ?? JOURNAL_PROMPT_CHARS;
  const mine = records.filter((r) => r.tag === options.tag).sort((a, b) => a.experiment - b.experiment);
  const earlier = records.filter((r) => r.tag !== options.tag);
  const runs = new Set(records.map((r) => r.tag)).size;
  const title = `# Research journal: ${records.length} experiment${records.length === 1 ? '' : 's'} in ${runs} run${runs === 1 ? '' : 's'} ` +
    `of this repository (this run: ${options.tag})`;
  if (records.length === 0) return `${title}\n\nNothing measured yet.`;
  let text = '';
  const memo = new Map<string, Item[]>();
  for (const level of LEVELS) {
    const sections = sectionsAt(level, options.tag, mine, earlier, memo);
    text = assemble(title, notesOf(level, sections, mine, earlier, budget), sections);
    if (text.length <= budget) return text;
  }
  return fitByCutting(title, sectionsAt(LEVELS[LEVELS.length - 1], options.tag, mine, earlier, memo), LEVELS[LEVELS.length - 1], mine, earlier, budget);
}

/** The sections at a level; `memo` shares the parts two levels have alike (rendering 10,000 records once, not six times). */
function sectionsAt(level: Level, tag: string, mine: JournalRecord[], earlier: JournalRecord[], memo = new Map<string, Item[]>()): Section[] {
  const once = (key: string, make: () => Item[]) => memo.get(key) ?? memo.set(key, make()).get(key)!;
  const older = level.olderByTarget ? mine.slice(0, Math.max(0, mine.length - RECENT_LINES)) : [];
  const recent = mine.slice(older.length);
  const kept = [...mine, ...earlier].filter((r) => r.status === 'keep').sort(byTime);
  const earlierOther = earlier.filter((r) => r.status !== 'keep');
  const olderItems = once(`older ${level.olderByTarget} ${level.members}`, () => groupByTarget(older, level.members)
    .map((i) => ({ ...i, text: `${i.text} (older, condensed)` })));
  return [
    { title: 'This run, one line each (Δ: how much better than its starting point; positive is better)', cutOrder: 3, cutFrom: 'start',
      items: [...olderItems, ...once(`recent ${recent.length}`, () => recent.map(experimentLine))] },
    { title: 'Kept changes of every run, oldest first', cutOrder: 2, cutFrom: 'start',
      items: once(`kept ${level.hypothesisChars} ${level.earlierKeptShort}`, () => kept.map((r) =>
        keptItem(r, r.tag !== tag && level.earlierKeptShort ? 0 : level.hypothesisChars))) },
    { title: level.earlierByTarget ? 'Discarded and crashed in earlier runs, by what they changed'
      : 'Discarded and crashed in earlier runs, one line per code (the same code again is counted, not repeated)',
    cutOrder: 1, cutFrom: 'end', // largest groups first: the smallest go first
    items: once(`earlier ${level.earlierByTarget} ${level.members}`, () => (level.earlierByTarget
      ? groupByTarget(earlierOther, level.members) : groupBySameCode(earlierOther, level.members))) },
  ].filter((s): s is Section => s.items.length > 0);
}

function notesOf(level: Level, sections: Section[], mine: JournalRecord[], earlier: JournalRecord[], budget: number): string[] {
  const notes: string[] = [];
  const earlierOther = earlier.filter((r) => r.status !== 'keep').length;
  if (level.earlierByTarget && earlierOther) {
    notes.push(`earlier runs' ${earlierOther} discarded and crashed experiments are grouped by the constant or function they changed ` +
      `(${sections.at(-1)?.items.length ?? 0} groups)`);
  }
  const older = Math.max(0, mine.length - RECENT_LINES);
  if (level.olderByTarget && older) notes.push(`this run's ${older} experiments before #${mine[older].experiment} are grouped likewise`);
  if (level.hypothesisChars < HYPOTHESIS_CHARS) notes.push(`hypotheses are cut to ${level.hypothesisChars} characters`);
  if (level.members === 'counts') notes.push('groups say how many experiments of each run they hold instead of their numbers');
  if (level.earlierKeptShort) notes.push('earlier runs\' kept changes are shown without their hypotheses');
  const within = `Within ${String(budget).replace(/\B(?=(\d{3})+$)/g, ',')} characters.`;
  return [notes.length ? `${within} Condensed to fit: ${notes.join('; ')}.` : `${within} Nothing is condensed: every experiment is listed.`];
}

function assemble(title: string, notes: string[], sections: Section[], tally?: string): string {
  const body = sections.filter((s) => s.items.length).map((s) => `## ${s.title}\n\n${s.items.map((i) => i.text).join('\n')}`);
  return [title, ...notes, ...body, ...(tally ? [tally] : [])].join('\n\n');
}

/** The last resort: whole items are cut, lowest cutOrder and oldest first, and what they held is counted. */
function fitByCutting(title: string, full: Section[], level: Level, mine: JournalRecord[], earlier: JournalRecord[], budget: number): string {
  const sections = full.map((s) => ({ ...s, items: [...s.items] }));
  const notes = notesOf(level, sections, mine, earlier, budget);
  let length = assemble(title, notes, sections).length;
  const cut: JournalRecord[] = [];
  for (const section of [...sections].sort((a, b) => a.cutOrder - b.cutOrder)) {
    while (length > budget - TALLY_ROOM && section.items.length > 0) {
      const item = section.cutFrom === 'start' ? section.items.shift()! : section.items.pop()!;
      length -= item.text.length + 1;
      cut.push(...item.records);
    }
  }
  const counts = new Map<string, number>();
  for (const r of cut) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const runs = new Set(cut.map((r) => r.tag)).size;
  const tally = `## Not listed for lack of room\n\n${cut.length} experiment${cut.length === 1 ? '' : 's'} of ${runs} run${runs === 1 ? '' : 's'} ` +
    `(${[...counts].map(([s, n]) => `${s} ${n}`).join(', ')}), the oldest first: they are counted here and were measured all the same.`;
  const text = assemble(title, [`${notes[0]} ${cut.length} more experiments are counted at the end, not listed.`], sections, tally);
  return text.length <= budget ? text : text.slice(0, budget);
}
