/**
 * The Model Context Protocol side of oscope: the diagnoses of the registry as MCP tools, served with
 * the official SDK (`@modelcontextprotocol/sdk`, low-level `Server`) so that an AI assistant can ask
 * the same questions a person asks the CLI.
 *
 * - One tool per registered diagnosis, named as the command (`mem`, `inspect`, …; diagnoses registered
 *   later appear by themselves). Its `inputSchema` is the JSON Schema of the entry's zod parameters
 *   (zod-to-json-schema), and a call goes through `registry.validate` — the very check the console and
 *   the agent apply, with the agent's caps (`agentMax`: a tracing tool cannot run longer than an agent
 *   task may). No tool runs a shell command; every tool only reads (annotations say so), and the ones
 *   that trace (BPF, perf) say what they cost in their description.
 * - A result is compact for a model: a short text summary (the findings with id, severity, conclusion
 *   and suggestions, and the next diagnoses worth running), plus the full JSON document as an embedded
 *   resource (`oscope://results/<id>`) that can be read again with resources/read.
 *
 * `oscope mcp` (src/cli/commands/mcp.ts) serves these tools over stdio for an assistant on the host;
 * the console (src/console/mcp.ts) serves fleet tools over streamable HTTP at /mcp with the same helpers.
 */
import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ErrorCode, ListResourcesRequestSchema, ListToolsRequestSchema, McpError, ReadResourceRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { zodToJsonSchema } from 'zod-to-json-schema';
import type { z } from 'zod';
import type { Host } from '../host/host.js';
import { VERSION } from '../version.js';
import type { DiagnosisDocument, DiagnosisEntry, DiagnosisRegistry } from './registry.js';

/** Diagnoses that attach tracing (BPF programs, perf events) for their run: they cost while they run. */
export const TRACING_DIAGNOSES: ReadonlySet<string> = new Set(['memleak', 'runlatency', 'io', 'net', 'profile']);

/** The result documents kept for resources/read, newest last (a bounded ring: a document can be MiBs). */
export const MCP_KEPT_RESULTS = 20;

/** What a tool handler gets besides its arguments. */
export interface ToolContext {
  /** Sends an MCP progress notification when the client asked for them (no-op otherwise). */
  progress: (done: number, total: number, message: string) => void;
  signal: AbortSignal;
}

/** One MCP tool: its listing and its handler. */
export interface McpTool {
  tool: Tool;
  call(args: Record<string, unknown>, ctx: ToolContext): Promise<CallToolResult>;
}

/** A JSON Schema object for a zod schema, in the shape MCP wants for `inputSchema` (no $schema, type object). */
export function inputSchemaOf(schema: z.ZodTypeAny): Tool['inputSchema'] {
  const js = zodToJsonSchema(schema, { target: 'jsonSchema7', $refStrategy: 'none', effectStrategy: 'input' }) as Record<string, unknown>;
  delete js.$schema;
  return { ...js, type: 'object' } as Tool['inputSchema'];
}

interface FindingLike {
  id: string;
  severity: string;
  title?: string;
  conclusion?: string;
  suggestions?: string[];
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function findingsOf(doc: DiagnosisDocument): FindingLike[] {
  const f = doc.findings;
  if (!Array.isArray(f)) return [];
  return f.filter((x): x is FindingLike => isRecord(x) && typeof x.id === 'string' && typeof x.severity === 'string');
}

const SEVERITY_ORDER = ['critical', 'warning', 'info'];

/**
 * The next diagnoses worth running after a document: the `oscope <command>` its suggestions name (the
 * catalogs write concrete commands), then the `suggestedDiagnosis` of health reasons, restricted to
 * what `known` has and never the document's own diagnosis.
 */
export function nextDiagnoses(doc: DiagnosisDocument, known: readonly string[], self?: string): string[] {
  const out = new Set<string>();
  const text: string[] = [];
  for (const f of findingsOf(doc)) text.push(...(f.suggestions ?? []));
  if (Array.isArray(doc.reasons)) for (const r of doc.reasons) if (isRecord(r) && typeof r.suggestedDiagnosis === 'string') out.add(r.suggestedDiagnosis);
  for (const s of text) for (const m of s.matchAll(/\boscope\s+([a-z][a-z0-9-]*)/g)) out.add(m[1]!);
  return [...out].filter((n) => known.includes(n) && n !== self);
}

/** The compact text of a document for a model: what it is, its findings, what to run next. */
export function summarizeDocument(doc: DiagnosisDocument, opts: { known?: readonly string[]; self?: string; uri?: string; maxFindings?: number } = {}): string {
  const lines: string[] = [];
  const host = isRecord(doc.host) ? doc.host : undefined;
  const where = host && typeof host.hostname === 'string' ? ` on ${host.hostname}${typeof host.kernel === 'string' ? ` (kernel ${host.kernel})` : ''}` : '';
  lines.push(`${doc.schema}${where}`);
  if (typeof doc.score === 'number' && typeof doc.level === 'string') lines.push(`health score ${doc.score}/100: ${doc.level}`);
  const findings = [...findingsOf(doc)].sort((a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity));
  const max = opts.maxFindings ?? 12;
  if (findings.length === 0) lines.push('no findings');
  else {
    const counts = SEVERITY_ORDER.map((s) => [s, findings.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
    lines.push(`${findings.length} finding(s): ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}`);
    for (const f of findings.slice(0, max)) {
      lines.push(`- [${f.severity}] ${f.id}: ${f.conclusion ?? f.title ?? ''}`.trimEnd());
      for (const s of (f.suggestions ?? []).slice(0, 3)) lines.push(`    suggestion: ${s}`);
    }
    if (findings.length > max) lines.push(`… and ${findings.length - max} more in the document`);
  }
  if (Array.isArray(doc.reasons)) {
    for (const r of doc.reasons.slice(0, max)) if (isRecord(r)) lines.push(`- ${String(r.subscore)}: ${String(r.detail)}${typeof r.suggestedDiagnosis === 'string' ? ` (run ${r.suggestedDiagnosis})` : ''}`);
  }
  const next = nextDiagnoses(doc, opts.known ?? [], opts.self);
  if (next.length > 0) lines.push(`next diagnoses worth running: ${next.join(', ')}`);
  if (opts.uri) lines.push(`full document: ${opts.uri}`);
  return lines.join('\n');
}

/** A tool result: the summary as text and the document as an embedded JSON resource. */
export function documentResult(doc: DiagnosisDocument, uri: string, summary: string): CallToolResult {
  return {
    content: [
      { type: 'text', text: summary },
      { type: 'resource', resource: { uri, mimeType: 'application/json', text: JSON.stringify(doc) } },
    ],
  };
}

/** A tool error a model can act on: one sentence, `isError`. */
export function toolError(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

/** The description of a diagnosis tool: the entry's line, its document, and what it costs. */
function describe(entry: DiagnosisEntry): string {
  const cost = TRACING_DIAGNOSES.has(entry.name)
    ? ' Attaches kernel tracing (BPF) for its duration; the duration is capped by the agent limits in the schema, and everything attached is removed when it ends.'
    : ' Reads kernel counters and logs only.';
  return `${entry.description}. Returns an ${entry.schema} document (summary first, the full JSON as a resource).${cost}`;
}

/** Keeps the last few result documents for resources/read. */
export class ResultShelf {
  private readonly docs = new Map<string, { doc: DiagnosisDocument; name: string }>();
  constructor(private readonly max = MCP_KEPT_RESULTS) {}

  put(doc: DiagnosisDocument, name: string): string {
    const uri = `oscope://results/${randomUUID()}`;
    this.docs.set(uri, { doc, name });
    while (this.docs.size > this.max) this.docs.delete(this.docs.keys().next().value!);
    return uri;
  }

  get(uri: string): DiagnosisDocument | undefined {
    return this.docs.get(uri)?.doc;
  }

  list(): { uri: string; name: string; mimeType: string }[] {
    return [...this.docs.entries()].map(([uri, v]) => ({ uri, name: `${v.name} ${v.doc.schema}`, mimeType: 'application/json' }));
  }
}

/** The registry's diagnoses as tools, run on `host`. */
export function diagnosisTools(registry: DiagnosisRegistry, host: Host, shelf: ResultShelf): McpTool[] {
  const known = registry.names();
  return registry.list().map((entry): McpTool => ({
    tool: {
      name: entry.name,
      description: describe(entry),
      inputSchema: inputSchemaOf(entry.params as z.ZodTypeAny),
      annotations: { title: `oscope ${entry.name}`, readOnlyHint: true, destructiveHint: false, idempotentHint: !TRACING_DIAGNOSES.has(entry.name), openWorldHint: false },
    },
    call: async (args, ctx) => {
      const v = registry.validate(entry.name, args);
      if (!v.ok) return toolError(v.reason);
      let doc: DiagnosisDocument;
      try {
        doc = await v.entry.run(host, v.params, (step, done, total) => ctx.progress(done, total, step));
      } catch (err) {
        return toolError(`${entry.name} failed: ${(err as Error).message || String(err)}`);
      }
      const uri = shelf.put(doc, entry.name);
      return documentResult(doc, uri, summarizeDocument(doc, { known, self: entry.name, uri }));
    },
  }));
}

export interface McpServerOptions {
  name: string;
  instructions?: string;
  tools: McpTool[];
  /** Resources a client may read (result documents). */
  resources?: {
    list(): Promise<{ uri: string; name: string; mimeType?: string }[]> | { uri: string; name: string; mimeType?: string }[];
    read(uri: string): Promise<DiagnosisDocument | undefined> | DiagnosisDocument | undefined;
  };
}

/** An MCP server (not connected) with these tools and resources. */
export function createMcpServer(opts: McpServerOptions): Server {
  const server = new Server({ name: opts.name, version: VERSION }, { capabilities: { tools: {}, resources: {} }, ...(opts.instructions ? { instructions: opts.instructions } : {}) });
  const byName = new Map(opts.tools.map((t) => [t.tool.name, t]));
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: opts.tools.map((t) => t.tool) }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const t = byName.get(req.params.name);
    if (!t) throw new McpError(ErrorCode.InvalidParams, `unknown tool "${req.params.name}" (known: ${[...byName.keys()].join(', ')})`);
    const token = req.params._meta?.progressToken;
    const progress = (done: number, total: number, message: string): void => {
      if (token === undefined) return;
      void extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: done, total, message } }).catch(() => undefined);
    };
    return t.call(req.params.arguments ?? {}, { progress, signal: extra.signal });
  });
  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: opts.resources ? await opts.resources.list() : [] }));
  server.setRequestHandler(ReadResourceRequestSchema, async (req) => {
    const doc = opts.resources ? await opts.resources.read(req.params.uri) : undefined;
    if (!doc) throw new McpError(ErrorCode.InvalidParams, `no resource ${req.params.uri} (results are kept for the last ${MCP_KEPT_RESULTS} calls)`);
    return { contents: [{ uri: req.params.uri, mimeType: 'application/json', text: JSON.stringify(doc) }] };
  });
  return server;
}

/** The stdio server of `oscope mcp`: the registry's diagnoses on this host. */
export function hostMcpServer(registry: DiagnosisRegistry, host: Host): Server {
  const shelf = new ResultShelf();
  return createMcpServer({
    name: 'oscope',
    instructions:
      'oscope diagnoses this Linux host: each tool is one oscope command (mem, filecache, memleak, runlatency, inspect, …) with the CLI\'s JSON document as result. ' +
      'Start with inspect (kernel-log anomalies and risky settings) or mem (where the memory is); follow the "next diagnoses" each result names.',
    tools: diagnosisTools(registry, host, shelf),
    resources: { list: () => shelf.list(), read: (uri) => shelf.get(uri) },
  });
}
