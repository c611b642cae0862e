/**
 * The project's structure, drawn from its imports: every src/**\/*.ts file, what it imports (value
 * and type imports alike), the floor of its folder, the circles and the arrows that run upward.
 * test/unit/layers.test.ts holds the tree to the rule; `npx tsx scripts/layers.ts [root]` prints it.
 *
 * The rule: a file imports files of its own folder, or of a folder on a lower floor. Nothing else:
 * not sideways (another folder on the same floor), not upward, and no circle between files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Floors, ground first: each folder of src/ and the floor it stands on. */
export const FLOORS: Record<string, number> = {
  /** What the run decides and shares: pure, no I/O, no Temporal (docs/architecture.md). */
  core: 0,
  /** The Temporal face: signals, queries, updates, search attributes, the activity and child workflow contracts. */
  api: 1,
  /** Orchestration: deterministic workflow code. */
  workflows: 2,
  /** The proposers (offline, Claude, OpenAI-compatible). */
  proposers: 2,
  /** Side effects: git, the trainer, the proposer calls. */
  activities: 3,
  /** The HTML report from results.tsv (and the journal, read from the remote through the git activities' code). */
  report: 4,
  /** Temporal connections and the dev server, for the CLI and the worker. */
  temporal: 4,
  /** The edges: the CLI and the worker process. */
  cli: 5,
  /** The files at the top of src/: the worker process (worker.ts, createWorker.ts). */
  '.': 5,
};

export interface Import {
  from: string;
  to: string;
  /** `import type` / `export type`, or every name imported with `type`. */
  typeOnly: boolean;
}

/** The folder of src/ a file is in (`.` for the files at its top): what carries a floor. */
export function folderOf(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? parts[1] : '.';
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Comments out, strings kept: an import in a comment is not an import. */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** The relative imports of one file's text: static, re-exports, side-effect-only and `import('…')`. */
export function importsOf(text: string): { specifier: string; typeOnly: boolean }[] {
  const code = withoutComments(text);
  const found: { specifier: string; typeOnly: boolean }[] = [];
  for (const m of code.matchAll(/\b(import|export)\s+(type\s+)?([^'";]*?)\bfrom\s*['"]([^'"]+)['"]/g)) {
    const names = m[3].replace(/[{}\s]/g, '').split(',').filter(Boolean);
    const typeOnly = Boolean(m[2]) || (names.length > 0 && names.every((n) => n.startsWith('type')));
    found.push({ specifier: m[4], typeOnly });
  }
  for (const m of code.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) found.push({ specifier: m[1], typeOnly: false });
  for (const m of code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ specifier: m[1], typeOnly: false });
  return found;
}

/** Every src file (relative to root, `src/...`) with its imports of other src files. */
export function importGraph(root: string): { files: string[]; imports: Import[]; external: { from: string; module: string; typeOnly: boolean }[] } {
  const files = sourceFiles(path.join(root, 'src')).map((f) => path.relative(root, f).split(path.sep).join('/')).sort();
  const known = new Set(files);
  const imports: Import[] = [];
  const external: { from: string; module: string; typeOnly: boolean }[] = [];
  for (const from of files) {
    for (const { specifier, typeOnly } of importsOf(readFileSync(path.join(root, from), 'utf8'))) {
      if (!specifier.startsWith('.')) {
        external.push({ from, module: specifier, typeOnly });
        continue;
      }
      const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier)).replace(/\.js$/, '');
      const to = [`${base}.ts`, `${base}/index.ts`].find((f) => known.has(f));
      if (!to) throw new Error(`${from}: cannot resolve ${specifier}`);
      imports.push({ from, to, typeOnly });
    }
  }
  return { files, imports, external };
}

/** Imports that break the floor rule: to another folder that is not on a lower floor. */
export function upwardImports(imports: Import[], floors = FLOORS): Import[] {
  return imports.filter(({ from, to }) => {
    const a = folderOf(from), b = folderOf(to);
    return a !== b && !(floors[b] < floors[a]);
  });
}

/** Folders (or top-level files) with no floor: each must be given one. */
export function unplacedFolders(files: string[], floors = FLOORS): string[] {
  return [...new Set(files.map(folderOf))].filter((f) => floors[f] === undefined);
}

/** The circles: sets of files that import each other, directly or around (Tarjan's strongly connected components). */
export function cycles(files: string[], imports: Import[]): string[][] {
  const edges = new Map(files.map((f) => [f, [] as string[]]));
  for (const { from, to } of imports) edges.get(from)!.push(to);
  const index = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || edges.get(v)!.includes(v)) found.push(component.sort());
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

/** Files longer than `max` lines, with their line counts. */
export function longFiles(root: string, files: string[], max = 300): { file: string; lines: number }[] {
  return files
    .map((file) => ({ file, lines: readFileSync(path.join(root, file), 'utf8').split('\n').length - 1 }))
    .filter((f) => f.lines > max);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
  const { files, imports } = importGraph(root);
  const circles = cycles(files, imports);
  const upward = upwardImports(imports);
  console.log(`${files.length} files, ${imports.length} imports`);
  console.log(`floors: ${Object.entries(FLOORS).map(([f, n]) => `${f}=${n}`).join(', ')}`);
  const unplaced = unplacedFolders(files);
  if (unplaced.length) console.log(`no floor: ${unplaced.join(', ')}`);
  console.log(`${circles.length} circle(s)`);
  for (const c of circles) console.log(`  ${c.join(' ↔ ')}`);
  console.log(`${upward.length} import(s) not to a lower floor`);
  for (const i of upward) console.log(`  ${i.from} → ${i.to}${i.typeOnly ? ' (type)' : ''}`);
  const long = longFiles(root, files);
  console.log(`${long.length} file(s) over 300 lines`);
  for (const f of long) console.log(`  ${f.file}: ${f.lines}`);
}
