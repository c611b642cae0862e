import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cycles, FLOORS, folderOf, importGraph, importsOf, longFiles, unplacedFolders, upwardImports } from '../../scripts/layers.js';

/**
 * The structure drawn from the imports of every src file (value and type imports alike): each
 * folder stands on a floor (scripts/layers.ts, docs/architecture.md), a file imports only its own
 * folder or a lower floor, no files import each other in a circle, and none is over 300 lines.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const graph = importGraph(ROOT);
const show = (i: { from: string; to: string; typeOnly: boolean }) => `${i.from} → ${i.to}${i.typeOnly ? ' (type)' : ''}`;

describe('the import parser', () => {
  test('finds static, type-only, multi-line, re-exported, side-effect and dynamic imports, and none in comments', () => {
    const text = [
      "import { a, type B } from './a.js';",
      "import type { C } from '../c.js';",
      'import {\n  d,\n  type E,\n} from "./d.js";',
      "export { f } from './f.js';",
      "import './side.js';",
      "const m = await import('./dyn.js');",
      "type T = import('./t.js').T;",
      "// import { no } from './comment.js';",
      "/* import { no } from './block.js'; */",
      "import { onlyTypes } from './x.js';".replace('onlyTypes', 'type G, type H'),
    ].join('\n');
    expect(importsOf(text)).toEqual(expect.arrayContaining([
      { specifier: './a.js', typeOnly: false }, { specifier: '../c.js', typeOnly: true }, { specifier: './d.js', typeOnly: false },
      { specifier: './f.js', typeOnly: false }, { specifier: './side.js', typeOnly: false }, { specifier: './dyn.js', typeOnly: false },
      { specifier: './t.js', typeOnly: false }, { specifier: './x.js', typeOnly: true },
    ]));
    expect(importsOf(text).map((i) => i.specifier)).not.toEqual(expect.arrayContaining(['./comment.js']));
    expect(importsOf(text).map((i) => i.specifier)).not.toEqual(expect.arrayContaining(['./block.js']));
  });

  test('a circle and an upward arrow are found when there is one', () => {
    const files = ['src/core/a.ts', 'src/core/b.ts', 'src/workflows/w.ts', 'src/core/c.ts'];
    const imports = [
      { from: 'src/core/a.ts', to: 'src/core/b.ts', typeOnly: true }, { from: 'src/core/b.ts', to: 'src/core/a.ts', typeOnly: false },
      { from: 'src/core/c.ts', to: 'src/workflows/w.ts', typeOnly: true }, { from: 'src/workflows/w.ts', to: 'src/core/c.ts', typeOnly: false },
    ];
    expect(cycles(files, imports)).toEqual([['src/core/a.ts', 'src/core/b.ts'], ['src/core/c.ts', 'src/workflows/w.ts']]);
    expect(upwardImports(imports)).toEqual([imports[2]]);
    expect(folderOf('src/worker.ts')).toBe('.');
  });
});

describe('the layering of src/', () => {
  test('the tree is read: files, and imports between them', () => {
    expect(graph.files.length).toBeGreaterThan(50);
    expect(graph.imports.length).toBeGreaterThan(100);
  });

  test('every folder stands on a floor', () => {
    expect(unplacedFolders(graph.files)).toEqual([]);
  });

  test('no file imports another folder on its own floor or a higher one', () => {
    expect(upwardImports(graph.imports).map(show)).toEqual([]);
  });

  test('no circle between files', () => {
    expect(cycles(graph.files, graph.imports).map((c) => c.join(' ↔ '))).toEqual([]);
  });

  test('core imports nothing but zod and, for types only, @temporalio/common', () => {
    const outside = graph.external.filter((e) => folderOf(e.from) === 'core')
      .filter((e) => e.module !== 'zod' && !(e.module === '@temporalio/common' && e.typeOnly));
    expect(outside.map((e) => `${e.from} → ${e.module}`)).toEqual([]);
  });

  test('workflows import values only from core, the Temporal face and the workflow SDK', () => {
    const values = graph.imports.filter((i) => folderOf(i.from) === 'workflows' && !i.typeOnly && !['core', 'api', 'workflows'].includes(folderOf(i.to)));
    expect(values.map(show)).toEqual([]);
    const sdk = graph.external.filter((e) => folderOf(e.from) === 'workflows' && !e.typeOnly && !['@temporalio/workflow', '@temporalio/common'].includes(e.module));
    expect(sdk.map((e) => `${e.from} → ${e.module}`)).toEqual([]);
  });

  test('no src file is over 300 lines', () => {
    expect(longFiles(ROOT, graph.files, 300)).toEqual([]);
  });

  test('the floors run from core up to the edges', () => {
    expect(FLOORS.core).toBe(0);
    expect(FLOORS.api).toBeLessThan(FLOORS.workflows);
    expect(FLOORS.workflows).toBeLessThan(FLOORS.activities);
    expect(FLOORS.activities).toBeLessThan(FLOORS.cli);
  });
});
