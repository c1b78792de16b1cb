/**
 * `oscope.memleak/v1`: is the kernel leaking (slab, page, vmalloc), which cache or caller, how fast, with
 * stacks. The diagnosis is src/diagnose/memleak/; report/memleak.ts words the verdict and renders.
 */
import { z } from 'zod';
import { CoverageSchema, FindingSchema, MessageRefSchema, MethodSchema, bytes } from './common.js';

export const MEMLEAK_SCHEMA = 'oscope.memleak/v1';

export const LEAK_TYPES = ['slab', 'page', 'vmalloc'] as const;
export const LeakTypeSchema = z.enum(LEAK_TYPES);
export type LeakType = z.infer<typeof LeakTypeSchema>;

export const ConfidenceSchema = z.enum(['none', 'low', 'medium', 'high']);
export type Confidence = z.infer<typeof ConfidenceSchema>;

/** The verdict as the diagnosis decides it: the reason is a catalog key (memleak.reason.*) and its params. */
export const VerdictSchema = z.object({ leaking: z.boolean(), kind: LeakTypeSchema.nullable(), confidence: ConfidenceSchema, reason: MessageRefSchema }).strict();
export type Verdict = z.infer<typeof VerdictSchema>;
export type VerdictReason = Verdict['reason'];

export const GrowthRowSchema = z.object({ name: z.string(), startBytes: bytes, endBytes: bytes, bytesPerS: z.number().int() }).strict();
export type GrowthRow = z.infer<typeof GrowthRowSchema>;

export const CallsiteSchema = z
  .object({
    /** Innermost frame outside the allocator (the caller that allocated), "func+0x1a". */
    symbol: z.string(),
    /** Frames, innermost first, symbolised ("func+0x1a [module]"). */
    stack: z.array(z.string()),
    outstandingBytes: bytes,
    count: z.number().int().nonnegative(),
    oldestAgeS: z.number().nonnegative(),
  })
  .strict();
export type Callsite = z.infer<typeof CallsiteSchema>;

export const MemleakDocumentSchema = z
  .object({
    schema: z.literal(MEMLEAK_SCHEMA),
    type: z.enum(['slab', 'page', 'vmalloc', 'check']),
    durationS: z.number().nonnegative(),
    /** The verdict with its reason worded in the document's language. */
    verdict: z
      .object({
        leaking: z.boolean(),
        kind: LeakTypeSchema.nullable(),
        confidence: ConfidenceSchema,
        reason: z.string().min(1),
      })
      .strict(),
    growth: z.array(GrowthRowSchema),
    callsites: z.array(CallsiteSchema),
    findings: z.array(FindingSchema),
    method: MethodSchema,
    coverage: z.array(CoverageSchema),
  })
  .strict();
export type MemleakDocument = z.infer<typeof MemleakDocumentSchema>;
