/**
 * The console's MCP server (streamable HTTP at /mcp, see server.ts): fleet tools for an AI assistant
 * that looks at many nodes. Authentication is an API token (`Authorization: Bearer oscope_…`) an admin
 * issued to a user, with a scope: `read` lists and reads, `diagnose` may also run diagnoses on nodes
 * (and only when the token's user is an admin). A tool's arguments are parsed with zod (unknown keys
 * refused) and a diagnosis's parameters go through the registry's validation — the same as the
 * console's own API. No tool runs a command; run_diagnosis queues a task that the node's agent runs.
 *
 * Tools: list_nodes (with health), get_node, run_diagnosis (waits for the result), get_result,
 * list_alerts, list_crashes, list_diagnoses. Results are compact text (the findings with ids, severities, conclusions
 * and suggestions, the next diagnoses worth running); a report is embedded as a resource
 * `oscope://tasks/<task id>/report` and can be read again with resources/read.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { z } from 'zod';
import { createMcpServer, documentResult, inputSchemaOf, type McpTool, summarizeDocument, toolError } from '../agent/mcp.js';
import { type DiagnosisDocument, type DiagnosisRegistry, zodReason } from '../agent/registry.js';
import { SeveritySchema } from '../contract/common.js';
import { AlertStateSchema } from '../contract/agent-wire.js';
import type { Alert, CrashGroup, Node, Task } from '../contract/console.js';
import { HEALTH_LEVELS } from '../contract/health.js';
import type { ApiTokenRow, NodeRow, Store, TaskRow, UserRow } from './store/index.js';

/** What the MCP tools may do with the console: the server's own functions, so both paths behave alike. */
export interface FleetAccess {
  store: Store;
  registry: DiagnosisRegistry;
  nodeJson(n: NodeRow): Node;
  taskJson(t: TaskRow): Task;
  alertJson(a: Parameters<Store['addAlerts']>[0][number]): Alert;
  /** Queues a task as the console's POST /api/nodes/:id/tasks does; throws with a sentence when refused. */
  createTask(node: NodeRow, diagnosis: string, params: unknown, createdBy: string): Promise<TaskRow>;
  /** Crash groups as GET /api/crashes gives them. */
  listCrashes(q: { since?: string; kernel?: string; node?: string; limit: number }): Promise<CrashGroup[]>;
}

export interface McpPrincipal {
  user: UserRow;
  token: ApiTokenRow;
}

/** How long run_diagnosis waits for a result by default, and at most, in seconds. */
export const MCP_WAIT_DEFAULT_S = 120;
export const MCP_WAIT_MAX_S = 900;
const POLL_MS = 500;
const TERMINAL = new Set(['done', 'failed', 'timeout', 'cancelled']);

const nodeRef = z.string().min(1).max(128).describe('node name or id');
const ListNodesArgs = z
  .object({
    level: z.enum(HEALTH_LEVELS).optional().describe('only nodes at this health level'),
    kernel: z.string().max(128).optional().describe('only nodes whose kernel starts with this'),
    online: z.boolean().optional().describe('only online (true) or offline (false) nodes'),
    label: z.string().max(200).regex(/^[^=]+=.*$/).optional().describe('only nodes with this label, as key=value (oscope agent --label)'),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict();
const GetNodeArgs = z.object({ node: nodeRef }).strict();
const RunArgs = z
  .object({
    node: nodeRef,
    diagnosis: z.string().min(1).max(32).describe('a diagnosis name, as list_diagnoses gives them (mem, inspect, …)'),
    params: z.record(z.unknown()).default({}).describe('the diagnosis parameters (see list_diagnoses for their schemas)'),
    waitS: z.number().int().min(0).max(MCP_WAIT_MAX_S).default(MCP_WAIT_DEFAULT_S).describe('seconds to wait for the result; 0 = return at once with the task id'),
  })
  .strict();
const GetResultArgs = z.object({ taskId: z.string().uuid() }).strict();
const ListAlertsArgs = z
  .object({
    node: nodeRef.optional(),
    severity: SeveritySchema.optional(),
    state: AlertStateSchema.optional(),
    limit: z.number().int().min(1).max(1000).default(50),
  })
  .strict();
const ListCrashesArgs = z
  .object({
    since: z.string().datetime({ offset: true }).optional().describe('only crashes at or after this time (ISO 8601)'),
    kernel: z.string().max(128).optional().describe('only crashes of boots that ran this kernel release'),
    node: nodeRef.optional(),
    limit: z.number().int().min(1).max(1000).default(20),
  })
  .strict();
const NoArgs = z.object({}).strict();

const reportUri = (taskId: string): string => `oscope://tasks/${taskId}/report`;
const text = (t: string): { content: { type: 'text'; text: string }[] } => ({ content: [{ type: 'text', text: t }] });

/** A node's health as the fleet page shows it: from the newest sample (agents that compute it). */
function healthOf(n: Node): { score: number; level: string } | undefined {
  const h = (n.latest as { health?: { score?: unknown; level?: unknown } } | null)?.health;
  return h && typeof h.score === 'number' && typeof h.level === 'string' ? { score: h.score, level: h.level } : undefined;
}

function nodeLine(n: Node): string {
  const h = healthOf(n);
  const mem = n.latest?.memTotalBytes && n.latest.memAvailableBytes !== undefined ? `, memory available ${Math.round((100 * n.latest.memAvailableBytes) / n.latest.memTotalBytes)}%` : '';
  return `- ${n.name} (${n.id}): ${n.online ? 'online' : 'offline'}, kernel ${n.info.kernel ?? '?'}, health ${h ? `${h.score} ${h.level}` : 'unknown'}${mem}`;
}

export function fleetMcpServer(access: FleetAccess, who: McpPrincipal): Server {
  const { store, registry } = access;
  const known = registry.names();
  const canDiagnose = who.token.scope === 'diagnose' && who.user.role === 'admin';

  const findNode = async (ref: string): Promise<NodeRow | undefined> =>
    (/^[0-9a-f-]{36}$/.test(ref) ? await store.getNode(ref) : undefined) ?? (await store.getNodeByName(ref));

  const parseArgs = <S extends z.ZodTypeAny>(schema: S, args: unknown): { ok: true; v: z.output<S> } | { ok: false; r: ReturnType<typeof toolError> } => {
    const r = schema.safeParse(args ?? {});
    return r.success ? { ok: true, v: r.data as z.output<S> } : { ok: false, r: toolError(`invalid arguments: ${zodReason(r.error)}`) };
  };

  const taskResult = async (task: TaskRow, node: NodeRow | undefined): Promise<ReturnType<typeof toolError>> => {
    const t = access.taskJson(task);
    const head = `task ${t.id}: ${t.diagnosis} on ${node?.name ?? t.nodeId}, ${t.status}${t.progress ? ` (${t.progress.step} ${t.progress.done}/${t.progress.total})` : ''}`;
    if (t.status === 'done') {
      const r = await store.getReport(t.id);
      if (!r) return text(`${head}; no report stored`);
      const doc = r.document as DiagnosisDocument;
      return documentResult(doc, reportUri(t.id), `${head}\n${summarizeDocument(doc, { known, self: t.diagnosis, uri: reportUri(t.id) })}`);
    }
    if (TERMINAL.has(t.status)) return { ...text(`${head}${t.error ? `: ${t.error}` : ''}`), isError: true };
    return text(`${head}; not finished yet: call get_result with taskId ${t.id} later`);
  };

  const tools: McpTool[] = [
    {
      tool: {
        name: 'list_nodes',
        description: 'The fleet\'s nodes, worst health first: name, id, online, kernel, health score and level (healthy, at risk, warning, error), memory available.',
        inputSchema: inputSchemaOf(ListNodesArgs),
        annotations: { readOnlyHint: true },
      },
      call: async (args) => {
        const a = parseArgs(ListNodesArgs, args);
        if (!a.ok) return a.r;
        let nodes = (await store.listNodes()).map((n) => access.nodeJson(n));
        if (a.v.level) nodes = nodes.filter((n) => healthOf(n)?.level === a.v.level);
        if (a.v.kernel) nodes = nodes.filter((n) => (n.info.kernel ?? '').startsWith(a.v.kernel!));
        if (a.v.online !== undefined) nodes = nodes.filter((n) => n.online === a.v.online);
        if (a.v.label) {
          const i = a.v.label.indexOf('=');
          const [k, val] = [a.v.label.slice(0, i), a.v.label.slice(i + 1)];
          nodes = nodes.filter((n) => n.info.labels?.[k] === val);
        }
        nodes.sort((x, y) => (healthOf(x)?.score ?? 101) - (healthOf(y)?.score ?? 101) || x.name.localeCompare(y.name));
        const shown = nodes.slice(0, a.v.limit);
        const lines = [`${nodes.length} node(s)${nodes.length > shown.length ? `, the ${shown.length} worst shown` : ''}`, ...shown.map(nodeLine)];
        return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: { nodes: shown.map((n) => ({ id: n.id, name: n.name, online: n.online, kernel: n.info.kernel ?? null, health: healthOf(n) ?? null })) } };
      },
    },
    {
      tool: { name: 'get_node', description: 'One node: what its agent said about itself, its newest sample (memory, PSI, run-queue latency, kernel-log anomalies, health), its recent alerts and tasks.', inputSchema: inputSchemaOf(GetNodeArgs), annotations: { readOnlyHint: true } },
      call: async (args) => {
        const a = parseArgs(GetNodeArgs, args);
        if (!a.ok) return a.r;
        const row = await findNode(a.v.node);
        if (!row) return toolError(`no node "${a.v.node}" (list_nodes names them)`);
        const n = access.nodeJson(row);
        const alerts = (await store.listAlerts({ nodeId: row.id, limit: 10 })).map((x) => access.alertJson(x));
        const tasks = (await store.listTasks({ nodeId: row.id, limit: 10 })).map((x) => access.taskJson(x));
        const lines = [nodeLine(n), `diagnoses: ${(n.info.diagnoses ?? []).join(', ') || '?'}`];
        const h = (n.latest as { health?: { reasons?: { subscore: string; detail: string; suggestedDiagnosis?: string }[] } } | null)?.health;
        for (const r of h?.reasons ?? []) lines.push(`  health ${r.subscore}: ${r.detail}${r.suggestedDiagnosis ? ` (run ${r.suggestedDiagnosis})` : ''}`);
        lines.push(`recent alerts: ${alerts.length === 0 ? 'none' : ''}`, ...alerts.map((x) => `- ${x.ts} [${x.severity}] ${x.rule} ${x.state}: ${x.message}`));
        lines.push(`recent tasks: ${tasks.length === 0 ? 'none' : ''}`, ...tasks.map((x) => `- ${x.id} ${x.diagnosis} ${x.status} ${x.createdAt}`));
        return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: { node: n, alerts, tasks } };
      },
    },
    {
      tool: {
        name: 'list_diagnoses',
        description: 'The diagnoses a node can run (for run_diagnosis), each with its parameters\' JSON Schema.',
        inputSchema: inputSchemaOf(NoArgs),
        annotations: { readOnlyHint: true },
      },
      call: async () => {
        const list = registry.list().map((d) => ({ name: d.name, description: d.description, schema: d.schema, params: inputSchemaOf(d.params as z.ZodTypeAny) }));
        return { content: [{ type: 'text', text: list.map((d) => `- ${d.name}: ${d.description} (${d.schema})`).join('\n') }], structuredContent: { diagnoses: list } };
      },
    },
    {
      tool: {
        name: 'run_diagnosis',
        description:
          'Runs a diagnosis on a node (the node\'s agent runs it; its parameters are validated as the console validates them, with the agent\'s caps) and waits up to waitS for the result: a summary with the findings and the next diagnoses worth running, the full document as a resource. Needs a token with the diagnose scope.',
        inputSchema: inputSchemaOf(RunArgs),
        annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
      },
      call: async (args, ctx) => {
        if (!canDiagnose) return toolError(`this token may only read (scope ${who.token.scope}${who.user.role === 'admin' ? '' : `, user ${who.user.username} is a viewer`}): ask an admin for a token with the diagnose scope`);
        const a = parseArgs(RunArgs, args);
        if (!a.ok) return a.r;
        const node = await findNode(a.v.node);
        if (!node) return toolError(`no node "${a.v.node}" (list_nodes names them)`);
        const v = registry.validate(a.v.diagnosis, a.v.params);
        if (!v.ok) return toolError(v.reason);
        let task: TaskRow;
        try {
          task = await access.createTask(node, a.v.diagnosis, v.params, `mcp:${who.user.username}:${who.token.name}`);
        } catch (err) {
          return toolError((err as Error).message);
        }
        const until = Date.now() + a.v.waitS * 1000;
        let cur = task;
        while (!TERMINAL.has(cur.status) && Date.now() < until && !ctx.signal.aborted) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          cur = (await store.getTask(task.id)) ?? cur;
          if (cur.progress) ctx.progress(cur.progress.done, cur.progress.total, cur.progress.step);
        }
        return taskResult(cur, node);
      },
    },
    {
      tool: { name: 'get_result', description: 'A task\'s status, and when it is done its report: the summary, and the full document as a resource.', inputSchema: inputSchemaOf(GetResultArgs), annotations: { readOnlyHint: true } },
      call: async (args) => {
        const a = parseArgs(GetResultArgs, args);
        if (!a.ok) return a.r;
        const task = await store.getTask(a.v.taskId);
        if (!task) return toolError(`no task ${a.v.taskId}`);
        return taskResult(task, await store.getNode(task.nodeId));
      },
    },
    {
      tool: { name: 'list_alerts', description: 'Alert events of the fleet (or one node), newest first: rule, severity, firing or resolved, message.', inputSchema: inputSchemaOf(ListAlertsArgs), annotations: { readOnlyHint: true } },
      call: async (args) => {
        const a = parseArgs(ListAlertsArgs, args);
        if (!a.ok) return a.r;
        let nodeId: string | undefined;
        if (a.v.node) {
          const n = await findNode(a.v.node);
          if (!n) return toolError(`no node "${a.v.node}"`);
          nodeId = n.id;
        }
        const names = new Map((await store.listNodes()).map((n) => [n.id, n.name]));
        const alerts = (await store.listAlerts({ nodeId, severity: a.v.severity, state: a.v.state, limit: a.v.limit })).map((x) => access.alertJson(x));
        const lines = [`${alerts.length} alert event(s)`, ...alerts.map((x) => `- ${x.ts} ${names.get(x.nodeId) ?? x.nodeId} [${x.severity}] ${x.rule} ${x.state}: ${x.message}`)];
        return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: { alerts } };
      },
    },
    {
      tool: {
        name: 'list_crashes',
        description:
          'Crashes across the fleet (kernel panics, watchdogs, OOM and hung-task panics, machine checks, unclean ends), grouped by title and stack signature, the most recent group first: how many crashes on how many nodes, on which kernels, the first and last node and time, and the newest stack.',
        inputSchema: inputSchemaOf(ListCrashesArgs),
        annotations: { readOnlyHint: true },
      },
      call: async (args) => {
        const a = parseArgs(ListCrashesArgs, args);
        if (!a.ok) return a.r;
        let node: string | undefined;
        if (a.v.node) {
          const n = await findNode(a.v.node);
          if (!n) return toolError(`no node "${a.v.node}"`);
          node = n.id;
        }
        const crashes = await access.listCrashes({ since: a.v.since, kernel: a.v.kernel, node, limit: a.v.limit });
        const lines = [`${crashes.length} crash group(s)`];
        for (const c of crashes) {
          const kernels = c.kernels.map((k) => `${k.kernel ?? 'unknown kernel'} ×${k.count}`).join(', ');
          lines.push(`- ${c.title ?? c.cause} [${c.cause}${c.signature ? `, signature ${c.signature}` : ''}]: ${c.count} crash(es) on ${c.nodes} node(s) (${kernels}); first ${c.first.nodeName} at ${c.first.at}, last ${c.last.nodeName} at ${c.last.at}`);
          if (c.stack?.length) lines.push(`  stack: ${c.stack.slice(0, 6).map((f) => f.trim()).join(' < ')}`);
        }
        if (crashes.length > 0) lines.push('next: run_diagnosis inspect on the last node for its kernel log now; get_node for its health');
        return { content: [{ type: 'text', text: lines.join('\n') }], structuredContent: { crashes } };
      },
    },
  ];

  return createMcpServer({
    name: 'oscope-console',
    instructions:
      'The oscope console: a fleet of Linux nodes with oscope agents. list_nodes shows them worst health first; get_node explains one; run_diagnosis runs a diagnosis (mem, inspect, runlatency, …) on a node and returns its findings; follow the next diagnoses each result names.',
    tools,
    resources: {
      list: async () =>
        (await store.listTasks({ limit: 50 }))
          .filter((t) => t.status === 'done' && t.reportSchema !== null)
          .slice(0, 20)
          .map((t) => ({ uri: reportUri(t.id), name: `${t.diagnosis} ${t.reportSchema}`, mimeType: 'application/json' })),
      read: async (uri) => {
        const m = /^oscope:\/\/tasks\/([0-9a-f-]{36})\/report$/.exec(uri);
        if (!m) return undefined;
        const r = await store.getReport(m[1]!);
        return r ? (r.document as DiagnosisDocument) : undefined;
      },
    },
  });
}
