/** Every document, its shared parts, the console's API and the agent wire: `import type { … } from 'src/contract/index.js'`. */
export * from './common.js';
export * from './mem.js';
export * from './filecache.js';
export * from './memleak.js';
export * from './runlatency.js';
export * from './inspect.js';
export * from './agent-wire.js';
export * from './console.js';

import { FILECACHE_SCHEMA } from './filecache.js';
import { INSPECT_SCHEMA } from './inspect.js';
import { MEM_SCHEMA } from './mem.js';
import { MEMLEAK_SCHEMA } from './memleak.js';
import { RUNLATENCY_SCHEMA } from './runlatency.js';

/** Every document schema name oscope produces. */
export const DOCUMENT_SCHEMAS = [MEM_SCHEMA, FILECACHE_SCHEMA, MEMLEAK_SCHEMA, RUNLATENCY_SCHEMA, INSPECT_SCHEMA] as const;
export type DocumentSchemaName = (typeof DOCUMENT_SCHEMAS)[number];

import type { z } from 'zod';
import { FileCacheDocumentSchema } from './filecache.js';
import { InspectDocumentSchema } from './inspect.js';
import { MemDocumentSchema } from './mem.js';
import { MemleakDocumentSchema } from './memleak.js';
import { RunlatencyDocumentSchema } from './runlatency.js';

/** The schema of each document, by its `schema` name (golden tests and the console check documents with it). */
export const DOCUMENT_SCHEMA_BY_NAME: Record<DocumentSchemaName, z.ZodTypeAny> = {
  [MEM_SCHEMA]: MemDocumentSchema,
  [FILECACHE_SCHEMA]: FileCacheDocumentSchema,
  [MEMLEAK_SCHEMA]: MemleakDocumentSchema,
  [RUNLATENCY_SCHEMA]: RunlatencyDocumentSchema,
  [INSPECT_SCHEMA]: InspectDocumentSchema,
};
