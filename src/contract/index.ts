/** Every document, its shared parts, the console's API and the agent wire: `import type { … } from 'src/contract/index.js'`. */
export * from './common.js';
export * from './mem.js';
export * from './filecache.js';
export * from './memleak.js';
export * from './runlatency.js';
export * from './inspect.js';
export * from './io.js';
export * from './load.js';
export * from './profile.js';
export * from './net.js';
export * from './health.js';
export * from './config.js';
export * from './agent-wire.js';
export * from './console.js';

import { CONFIG_DIFF_SCHEMA, CONFIG_SCHEMA } from './config.js';
import { FILECACHE_SCHEMA } from './filecache.js';
import { INSPECT_SCHEMA } from './inspect.js';
import { IO_SCHEMA } from './io.js';
import { LOAD_SCHEMA } from './load.js';
import { PROFILE_SCHEMA } from './profile.js';
import { NET_SCHEMA } from './net.js';
import { MEM_SCHEMA } from './mem.js';
import { MEMLEAK_SCHEMA } from './memleak.js';
import { RUNLATENCY_SCHEMA } from './runlatency.js';

/** Every document schema name oscope produces. */
export const DOCUMENT_SCHEMAS = [MEM_SCHEMA, FILECACHE_SCHEMA, MEMLEAK_SCHEMA, RUNLATENCY_SCHEMA, INSPECT_SCHEMA, IO_SCHEMA, LOAD_SCHEMA, PROFILE_SCHEMA, NET_SCHEMA, CONFIG_SCHEMA, CONFIG_DIFF_SCHEMA] as const;
export type DocumentSchemaName = (typeof DOCUMENT_SCHEMAS)[number];

import type { Finding } from './common.js';
import type { ConfigDiffDocument, ConfigDocument } from './config.js';
import type { FileCacheDocument } from './filecache.js';
import type { InspectDocument } from './inspect.js';
import type { IoDocument } from './io.js';
import type { LoadDocument } from './load.js';
import type { ProfileDocument } from './profile.js';
import type { NetDocument } from './net.js';
import type { MemDocument } from './mem.js';
import type { MemleakDocument } from './memleak.js';
import type { RunlatencyDocument } from './runlatency.js';

/** Every document this build knows, discriminated on `schema` (`switch (doc.schema)` narrows it). */
export type AnyDocument = MemDocument | FileCacheDocument | MemleakDocument | RunlatencyDocument | InspectDocument | IoDocument | LoadDocument | ProfileDocument | NetDocument | ConfigDocument | ConfigDiffDocument;

/**
 * A document of a schema this build does not know (a newer agent's, or an area added later): its name,
 * the findings every oscope document carries in the one Finding shape, and the rest unread. Its `schema`
 * is a plain string, so it cannot take part in the narrowing: tell it apart by the schema name first.
 */
export interface ForeignDocument {
  schema: string;
  findings?: Finding[];
  [field: string]: unknown;
}

/** What the console stores and `GET /api/tasks/:id/report` returns: a known document, or a foreign one. */
export type StoredDocument = AnyDocument | ForeignDocument;

/** AnyDocument and DOCUMENT_SCHEMAS name the same schemas (a compile error here when one is added to only one). */
type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Holds<T extends true> = T;
export type EveryDocumentListed = Holds<SameSet<AnyDocument['schema'], DocumentSchemaName>>;

import type { z } from 'zod';
import { ConfigDiffDocumentSchema, ConfigDocumentSchema } from './config.js';
import { FileCacheDocumentSchema } from './filecache.js';
import { InspectDocumentSchema } from './inspect.js';
import { IoDocumentSchema } from './io.js';
import { LoadDocumentSchema } from './load.js';
import { ProfileDocumentSchema } from './profile.js';
import { NetDocumentSchema } from './net.js';
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
  [IO_SCHEMA]: IoDocumentSchema,
  [LOAD_SCHEMA]: LoadDocumentSchema,
  [PROFILE_SCHEMA]: ProfileDocumentSchema,
  [NET_SCHEMA]: NetDocumentSchema,
  [CONFIG_SCHEMA]: ConfigDocumentSchema,
  [CONFIG_DIFF_SCHEMA]: ConfigDiffDocumentSchema,
};
