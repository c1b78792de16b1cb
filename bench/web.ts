/**
 * The web UI in a real headless Chromium (Debian's /usr/bin/chromium through playwright-core).
 *
 * - `measureResultRender()` (run by the console bench, `make bench`): a real memory panorama
 *   (`oscope mem --json` on this host) stored in a real console, then the time from navigation to the
 *   conclusions and the top-30 file table being visible, with an empty browser cache (cold) and with the
 *   cache warm. Target (issue 7): under 1 s.
 * - `node dist/bench/web.js --screenshots [DIR]`: a console and a real agent for this host, real
 *   diagnoses run through the API, and 1280x800 pictures of the main pages for the README
 *   (default DIR docs/screenshots/).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const BIN = join(REPO, 'bin', 'oscope');
export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface RunningConsole {
  url: string;
  dir: string;
  password: string;
  proc: ChildProcess;
  stop: () => Promise<void>;
}

/** `oscope console` on a free port with a fresh SQLite file in a temporary directory. */
export async function startTestConsole(): Promise<RunningConsole> {
  if (!existsSync(join(REPO, 'web', 'dist', 'index.html'))) throw new Error('the web UI is not built (make build)');
  const dir = mkdtempSync('/var/tmp/oscope-bench-web-');
  const db = join(dir, 'console.db');
  const proc = spawn(process.execPath, [BIN, 'console', '--listen', '127.0.0.1:0', '--db', db], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((res, rej) => {
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) res(m[1]!);
    });
    proc.once('exit', (code) => rej(new Error(`console exited ${code}: ${err}`)));
  });
  const password = readFileSync(`${db}.admin-password`, 'utf8').trim();
  return {
    url,
    dir,
    password,
    proc,
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export class Api {
  constructor(
    readonly url: string,
    readonly cookie: string,
  ) {}

  static async login(url: string, username: string, password: string): Promise<Api> {
    const r = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
    if (!r.ok) throw new Error(`login: ${r.status} ${await r.text()}`);
    return new Api(url, (r.headers.get('set-cookie') ?? '').split(';')[0]!);
  }

  async call<T>(method: string, path: string, body?: unknown, auth?: string): Promise<T> {
    const headers: Record<string, string> = auth ? { authorization: `Bearer ${auth}` } : { cookie: this.cookie };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const r = await fetch(`${this.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text) as T;
  }

  async addNode(name: string): Promise<{ id: string; token: string }> {
    const b = await this.call<{ node: { id: string }; token: string }>('POST', '/api/nodes', { name });
    return { id: b.node.id, token: b.token };
  }

  /** Stores a finished diagnosis with this document as if the node's agent had run it. */
  async storeReport(node: { id: string; token: string }, diagnosis: string, params: Record<string, unknown>, doc: unknown): Promise<string> {
    const { task } = await this.call<{ task: { id: string } }>('POST', `/api/nodes/${node.id}/tasks`, { diagnosis, params });
    const claimed = await this.call<{ task: { id: string } | null }>('POST', '/api/agent/tasks/claim', {}, node.token);
    if (claimed.task?.id !== task.id) throw new Error('the task was not the one claimed');
    await this.call('POST', `/api/agent/tasks/${task.id}/result`, { status: 'done', report: doc }, node.token);
    return task.id;
  }

  /** Queues a diagnosis and waits for it to finish (a real agent runs it). */
  async runTask(nodeId: string, diagnosis: string, params: Record<string, unknown>, timeoutMs = 5 * 60_000): Promise<{ id: string; status: string; error: string | null }> {
    const { task } = await this.call<{ task: { id: string } }>('POST', `/api/nodes/${nodeId}/tasks`, { diagnosis, params });
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const cur = (await this.call<{ task: { id: string; status: string; error: string | null } }>('GET', `/api/tasks/${task.id}`)).task;
      if (!['queued', 'running'].includes(cur.status)) return cur;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${diagnosis} did not finish in ${timeoutMs / 1000} s`);
  }
}

/** A real document from the CLI on this host. */
export function cliDocument(args: string[]): unknown {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, timeout: 5 * 60_000 });
  if (r.status !== 0) throw new Error(`oscope ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

export async function openBrowser(dir: string, viewport = { width: 1440, height: 900 }): Promise<{ ctx: BrowserContext; page: Page }> {
  if (!existsSync(CHROMIUM)) throw new Error(`needs ${CHROMIUM} (apt install chromium)`);
  const ctx = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport, locale: 'en-US' });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  return { ctx, page };
}

export async function uiLogin(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByTestId('login-form').waitFor();
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(password);
  await page.locator('button[type=submit]').click();
  await page.getByTestId('fleet-table').waitFor();
}

/** The little of the DOM the timing predicates use (this file is compiled without the DOM types). */
interface El {
  offsetHeight: number;
  querySelector(sel: string): El | null;
}
interface Doc {
  querySelector(sel: string): El | null;
  querySelectorAll(sel: string): ArrayLike<El>;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Navigation → conclusions and the file table's rows visible, on a result page, `runs` times each with
 * the browser cache emptied first (cold) and kept (warm). Milliseconds as seen by the test driver.
 */
export async function timeResultPage(page: Page, url: string, taskId: string, wantRows: number, runs = 7): Promise<{ coldMs: number[]; warmMs: number[] }> {
  const cdp = await page.context().newCDPSession(page);
  const once = async (cold: boolean): Promise<number> => {
    await page.goto('about:blank');
    if (cold) await cdp.send('Network.clearBrowserCache');
    const t0 = performance.now();
    await page.goto(`${url}/#/tasks/${taskId}`, { waitUntil: 'commit' });
    // A function, not a string: the console's CSP (script-src 'self') refuses the eval a string needs.
    await page.waitForFunction(
      (want: number) => {
        const d = (globalThis as unknown as { document: Doc }).document;
        const c = d.querySelector('[data-testid=conclusions]');
        const rows = d.querySelectorAll('[data-testid=files-table] tbody tr');
        return c !== null && c.offsetHeight > 0 && (want === 0 || (rows.length >= want && rows[0]!.offsetHeight > 0));
      },
      wantRows,
      { polling: 'raf', timeout: 30_000 },
    );
    return performance.now() - t0;
  };
  await once(false); // the first load also compiles the JS: not counted
  const coldMs: number[] = [];
  const warmMs: number[] = [];
  for (let i = 0; i < runs; i++) coldMs.push(await once(true));
  for (let i = 0; i < runs; i++) warmMs.push(await once(false));
  return { coldMs, warmMs };
}

/**
 * Navigation → the fleet page readable: the share of nodes per level shown and every one of `wantRows`
 * nodes in the table with its health score (the first, worst, row visible), `runs` times cold (browser
 * cache emptied) and warm, after one uncounted load. Milliseconds as seen by the test driver.
 */
export async function timeFleetPage(page: Page, url: string, wantRows: number, runs = 7): Promise<{ coldMs: number[]; warmMs: number[] }> {
  const cdp = await page.context().newCDPSession(page);
  const once = async (cold: boolean): Promise<number> => {
    await page.goto('about:blank');
    if (cold) await cdp.send('Network.clearBrowserCache');
    const t0 = performance.now();
    await page.goto(`${url}/#/`, { waitUntil: 'commit' });
    await page.waitForFunction(
      (want: number) => {
        const d = (globalThis as unknown as { document: Doc }).document;
        const share = d.querySelector('[data-testid=health-share]');
        const rows = d.querySelectorAll('[data-testid=fleet-table] tbody tr');
        const first = rows.length > 0 ? rows[0]!.querySelector('[data-testid=health-score]') : null;
        return share !== null && share.offsetHeight > 0 && rows.length >= want && first !== null && first.offsetHeight > 0;
      },
      wantRows,
      { polling: 'raf', timeout: 30_000 },
    );
    return performance.now() - t0;
  };
  await once(false);
  const coldMs: number[] = [];
  const warmMs: number[] = [];
  // Alternate cold and warm runs so a burst of host load hits both alike.
  for (let i = 0; i < runs; i++) {
    coldMs.push(await once(true));
    warmMs.push(await once(false));
  }
  return { coldMs, warmMs };
}

/** One line of a timing: median, max and n. */
export const timingLine = (label: string, xs: number[], target?: string): string =>
  `   ${label.padEnd(12)} median ${median(xs).toFixed(0)} ms  max ${Math.max(...xs).toFixed(0)} ms  (n=${xs.length})${target ? `   ${target}` : ''}`;

/** The bench: prints the render time of a stored real memory panorama. */
export async function measureResultRender(): Promise<void> {
  const con = await startTestConsole();
  let ctx: BrowserContext | undefined;
  try {
    const api = await Api.login(con.url, 'admin', con.password);
    const node = await api.addNode('oscope-bench-web');
    const doc = cliDocument(['mem']) as { fileCache?: { files: unknown[] } | null; processes: unknown[] };
    const files = doc.fileCache?.files.length ?? 0;
    const taskId = await api.storeReport(node, 'mem', {}, doc);
    const size = JSON.stringify(doc).length;
    const b = await openBrowser(con.dir);
    ctx = b.ctx;
    await uiLogin(b.page, con.url, 'admin', con.password);
    const r = await timeResultPage(b.page, con.url, taskId, Math.min(30, files));
    console.log(`   memory panorama result page (real report, ${(size / 1024).toFixed(0)} KiB JSON, ${doc.processes.length} processes, ${files} files), navigation → conclusions + file table visible:`);
    console.log(`   cold cache  median ${median(r.coldMs).toFixed(0)} ms  max ${Math.max(...r.coldMs).toFixed(0)} ms  (n=${r.coldMs.length})`);
    console.log(`   warm cache  median ${median(r.warmMs).toFixed(0)} ms  max ${Math.max(...r.warmMs).toFixed(0)} ms  (n=${r.warmMs.length})   target < 1000 ms`);
  } finally {
    await ctx?.close().catch(() => undefined);
    await con.stop();
  }
}

async function waitUntil<T>(what: string, f: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Pictures of the main pages from a real console, agent and diagnoses on this host. */
export async function screenshots(outDir: string): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const con = await startTestConsole();
  let agent: ChildProcess | undefined;
  let ctx: BrowserContext | undefined;
  try {
    const api = await Api.login(con.url, 'admin', con.password);
    const node = await api.addNode(hostname());
    const cfg = join(con.dir, 'agent.json');
    // A demonstration rule that fires on the first sample, so the alerts page has something to show.
    writeFileSync(cfg, JSON.stringify({ rules: [{ id: 'demo-memory-usage', kind: 'memory_usage', thresholdPct: 1, forS: 0, severity: 'warning' }] }));
    const stateDir = join(con.dir, 'agent-state');
    mkdirSync(stateDir);
    agent = spawn(process.execPath, [BIN, 'agent', '--console', con.url, '--interval', '3s', '--no-metrics', '--config', cfg, '--state-dir', stateDir], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, OSCOPE_AGENT_TOKEN: node.token },
    });
    await waitUntil('the agent to say hello', async () => ((await api.call<{ online: boolean }>('GET', `/api/nodes/${node.id}`)).online ? true : undefined), 60_000);
    const known = (await api.call<{ diagnoses: { name: string }[] }>('GET', '/api/diagnoses')).diagnoses.map((d) => d.name);
    const results: Record<string, string> = {};
    for (const [d, params] of [
      ['mem', { lang: 'en' }],
      ['filecache', {}],
      ['runlatency', { durationS: 10, lang: 'en' }],
      ['inspect', { lang: 'en' }],
      ['memleak', { type: 'slab', durationS: 20, lang: 'en' }],
    ] as const) {
      if (!known.includes(d)) continue;
      const p: Record<string, unknown> = { ...params };
      const defaults = (await api.call<{ diagnoses: { name: string; defaults: Record<string, unknown> | null }[] }>('GET', '/api/diagnoses')).diagnoses.find((x) => x.name === d)?.defaults ?? {};
      for (const k of Object.keys(p)) if (!(k in defaults)) delete p[k];
      const t = await api.runTask(node.id, d, p);
      process.stderr.write(`   ${d}: ${t.status}${t.error ? ` (${t.error})` : ''}\n`);
      if (t.status === 'done') results[d] = t.id;
    }
    // Let a few more samples arrive for the node page's charts.
    await new Promise((r) => setTimeout(r, 15_000));

    const b = await openBrowser(con.dir, { width: 1280, height: 800 });
    ctx = b.ctx;
    const page = b.page;
    const shot = async (name: string, at?: string): Promise<void> => {
      if (at) await page.evaluate(`document.querySelector(${JSON.stringify(at)})?.scrollIntoView({ block: 'start' }); window.scrollBy(0, -56);`);
      else await page.evaluate('window.scrollTo(0, 0)');
      await page.waitForTimeout(2500); // chart entry animations (the treemap's is the longest)
      await page.screenshot({ path: join(outDir, `${name}.png`) });
    };
    await uiLogin(page, con.url, 'admin', con.password);
    await page.getByTestId('node-link').first().waitFor();
    await shot('fleet');
    await page.goto(`${con.url}/#/nodes/${node.id}`);
    await page.getByTestId('node-title').waitFor();
    await shot('node');
    await shot('node-latency', '[data-testid=runqueue-card]');
    const result = async (d: string, name: string, at?: string): Promise<void> => {
      if (!results[d]) return;
      await page.goto('about:blank');
      await page.goto(`${con.url}/#/tasks/${results[d]}`);
      await page.getByTestId('conclusions').waitFor();
      await shot(name, at);
    };
    await result('mem', 'mem-result');
    await result('mem', 'mem-tables', '#processes');
    await result('filecache', 'filecache-result');
    await result('runlatency', 'runlatency-result');
    await result('runlatency', 'runlatency-histograms', '#percpu');
    await result('inspect', 'inspect-result');
    await result('memleak', 'memleak-result');
    await page.goto(`${con.url}/#/alerts`);
    await waitUntil('an alert', async () => ((await page.getByTestId('alert-message').count()) > 0 ? true : undefined), 60_000);
    await shot('alerts');
    await page.getByTestId('lang-switch').click();
    await page.getByText('告警', { exact: true }).first().waitFor();
    await shot('alerts-zh');
    await result('mem', 'mem-result-zh');
    await page.getByTestId('lang-switch').click();
    console.log(`   screenshots in ${outDir}`);
  } finally {
    await ctx?.close().catch(() => undefined);
    if (agent && agent.exitCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    await con.stop();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--screenshots');
  const job = i >= 0 ? screenshots(resolve(process.argv[i + 1] ?? join(REPO, 'docs', 'screenshots'))) : measureResultRender();
  job.then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
