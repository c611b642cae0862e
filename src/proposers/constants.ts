/** Finds the tunable UPPER_CASE constants of a Python file: `NAME = literal  # comment` at top level. */

export type ConstantValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'str'; value: string; quote: string; options?: string[] };

export interface Constant {
  file: string;
  name: string;
  /** The whole source line, used as the exact search text of an edit. */
  line: string;
  /** The literal as written. */
  literal: string;
  value: ConstantValue;
}

const LINE = /^([A-Z][A-Z0-9_]*)(\s*(?::\s*[A-Za-z_.[\]]+\s*)?=\s*)([^#\n]+?)(\s*(#.*)?)$/;

export function parseLiteral(text: string, comment = ''): ConstantValue | undefined {
  // Python allows digit separators (1_000); drop them from numbers only.
  const t = /^[\d_.eE+-]+$/.test(text.trim()) ? text.trim().replace(/_/g, '') : text.trim();
  if (/^[+-]?\d+$/.test(t)) return { kind: 'int', value: Number(t) };
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)$/.test(t)) return { kind: 'float', value: Number(t) };
  if (t === 'True' || t === 'False') return { kind: 'bool', value: t === 'True' };
  const s = /^(['"])(.*)\1$/.exec(text.trim());
  if (s) {
    const options = [...comment.matchAll(/(['"])([^'"]*)\1/g)].map((m) => m[2]);
    return { kind: 'str', value: s[2], quote: s[1], options: /one of|options|choices/i.test(comment) && options.length > 1 ? options : undefined };
  }
  return undefined;
}

export function findConstants(file: string, source: string): Constant[] {
  const found: Constant[] = [];
  const counts = new Map<string, number>();
  for (const line of source.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
    const value = parseLiteral(m[3], m[5] ?? '');
    if (value) found.push({ file, name: m[1], line, literal: m[3].trim(), value });
  }
  // A name assigned twice at top level is ambiguous to edit: leave it alone. So is a non-unique line.
  return found.filter((c) => counts.get(c.name) === 1 && source.split(c.line).length === 2);
}

/** Python source for a value, so the edited file stays valid Python. */
export function formatLiteral(v: ConstantValue): string {
  switch (v.kind) {
    case 'int':
      return String(v.value);
    case 'float': {
      const s = String(Number(v.value.toPrecision(4)));
      return /[.e]/.test(s) ? s : `${s}.0`;
    }
    case 'bool':
      return v.value ? 'True' : 'False';
    case 'str':
      return `${v.quote}${v.value}${v.quote}`;
  }
}
