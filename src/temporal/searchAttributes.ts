import type { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

const { temporal } = proto; // a CommonJS module: named imports do not resolve under ESM

/** DESIGN §4: the run's search attributes, mirrored in temporal/search-attributes.txt for start-dev. */
export const SEARCH_ATTRIBUTES = {
  ResearchTag: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  BestValBpb: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  ExperimentCount: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  ResearchPhase: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
} as const;

/**
 * Creates the search attributes the run needs when they are missing. Where the connection may not
 * (e.g. a cloud namespace without admin rights), the error names the missing attributes.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !have.has(name));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing) });
  } catch (err) {
    if ((err as Error).message?.includes('already exists')) return; // a concurrent worker won the race
    const names = missing.map(([n]) => n).join(', ');
    throw new Error(
      `search attributes missing in namespace "${namespace}": ${names}; could not create them (${(err as Error).message}). ` +
        `Create them with: temporal operator search-attribute create --name <Name> --type <Type>`,
    );
  }
}
