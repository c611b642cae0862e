import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../api/messages.js';

const { IndexedValueType } = proto.temporal.api.enums.v1; // a CommonJS module: named imports do not resolve under ESM

/** `KEYWORD` → `Keyword`, as `temporal server start-dev --search-attribute Name=Type` spells it. */
export function searchAttributeFlags(): string[] {
  return SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${key.type.charAt(0)}${key.type.slice(1).toLowerCase()}`]);
}

/**
 * Creates the run's search attributes where they are missing; the worker and `research start` call
 * it. Where the connection may not (a cloud namespace without admin rights), the error names them.
 */
export async function ensureSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTES.filter((key) => !have.has(key.name));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`]])),
    });
  } catch (err) {
    if ((err as Error).message?.includes('already exists')) return; // a concurrent worker won the race
    throw new Error(
      `search attributes missing in namespace "${namespace}": ${missing.map((key) => key.name).join(', ')}; could not create them ` +
        `(${(err as Error).message}). Create them with: temporal operator search-attribute create --name <Name> --type <Type>`,
    );
  }
}
