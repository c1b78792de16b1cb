/**
 * The web UI end to end, in a real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * start the real console (`oscope console`) on a free port with a temporary SQLite file, start a real
 * agent for this host (`oscope agent`) with one alert rule that fires at once, then in the browser: log
 * in, see the node, run the memory panorama with one click, see the conclusions and the top-30 table
 * (sort and filter it), switch to Simplified Chinese, see the alert. Screenshots of every page go to
 * a temporary directory (OSCOPE_SCREENSHOTS=DIR keeps them there).
 *
 * Against a console that is already running: OSCOPE_E2E_URL=http://host:port OSCOPE_E2E_PASSWORD=...
 * (user OSCOPE_E2E_USER, default admin); then the test starts nothing and uses the first online node.
 *
 * Skips with a reason when chromium, the built UI (web/dist) or the console/agent commands are missing.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Socket, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { REPO_ROOT, testName } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const BIN = join(REPO_ROOT, 'bin', 'oscope');
const WEB_DIST = join(REPO_ROOT, 'web', 'dist', 'index.html');
// The README's screenshots come from `node dist/bench/web.js --screenshots` (docs/screenshots/); this
// test keeps its own in a temporary directory, or in OSCOPE_SCREENSHOTS=DIR to look at them.
const SHOTS = process.env.OSCOPE_SCREENSHOTS && process.env.OSCOPE_SCREENSHOTS !== '' ? process.env.OSCOPE_SCREENSHOTS : join(tmpdir(), 'oscope-test-web-screenshots');
/** A memory panorama with the kpageflags cross-check takes a few seconds here; allow for slow hosts. */
const RUN_TIMEOUT_MS = 5 * 60_000;

let skipCache: string | false | undefined;
/** Worked out once for both tests (it runs the CLI, which is slow on a loaded machine). */
function skipReason(): string | false {
  return (skipCache ??= computeSkipReason());
}

function computeSkipReason(): string | false {
  if (process.env.OSCOPE_E2E_URL) return existsSync(CHROMIUM) ? false : `needs ${CHROMIUM} (apt install chromium; scripts/ensure-test-deps-web.sh)`;
  if (!existsSync(CHROMIUM)) return `needs ${CHROMIUM} (apt install chromium; scripts/ensure-test-deps-web.sh)`;
  if (!existsSync(WEB_DIST)) return 'the web UI is not built (npx vite build --config web/vite.config.mjs)';
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8', timeout: 120_000 });
  if (help.error || help.signal) return `\`oscope --help\` did not answer (${help.error?.message ?? help.signal})`;
  const out = `${help.stdout ?? ''}`;
  for (const cmd of ['console', 'agent']) {
    if (!new RegExp(`^\\s+${cmd}\\b`, 'm').test(out)) return `\`oscope ${cmd}\` is not available yet in this build`;
  }
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolveP, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolveP(port));
    });
  });
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs: number, logs?: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastErr = '';
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${lastErr ? ` (${lastErr})` : ''}${logs ? `\n--- logs ---\n${logs()}` : ''}`);
}

/** A child process whose output is kept for the failure message. */
function start(args: string[], env: NodeJS.ProcessEnv = {}): { proc: ChildProcess; logs: () => string } {
  let buf = '';
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const keep = (d: Buffer): void => {
    buf = (buf + d.toString('utf8')).slice(-20_000);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  return { proc, logs: () => buf };
}

async function stop(p: ChildProcess | undefined): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A TCP server on a free loopback port and a client that keeps writing to it (for the net scope by port). */
async function localTalk(): Promise<{ port: number; close: () => void }> {
  const peers: Socket[] = [];
  const server = createServer((c) => {
    peers.push(c);
    c.on('data', () => undefined);
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  const client = connect(port, '127.0.0.1');
  client.on('error', () => undefined);
  const chunk = Buffer.alloc(16 * 1024, 1);
  const timer = setInterval(() => client.write(chunk), 20);
  return {
    port,
    close: () => {
      clearInterval(timer);
      client.destroy();
      for (const c of peers) c.destroy();
      server.close();
    },
  };
}

/** A laptop-screen picture of the page, from the top or from `at` (a selector scrolled to the top). */
async function shot(page: Page, name: string, at?: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  if (at) await page.evaluate(`document.querySelector(${JSON.stringify(at)}).scrollIntoView({ block: 'start' }); window.scrollBy(0, -60);`);
  else await page.evaluate('window.scrollTo(0, 0)');
  // Let charts finish their entry animation before the picture.
  await page.waitForTimeout(900);
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

test('web UI: log in, see the node, run the memory panorama, read it in two languages, see an alert', { skip: skipReason(), timeout: 10 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oscope-test-web-'));
  const userDataDir = join(dir, 'chromium-profile');
  let consoleProc: { proc: ChildProcess; logs: () => string } | undefined;
  let agentProc: { proc: ChildProcess; logs: () => string } | undefined;
  let browser: BrowserContext | undefined;
  const logs = (): string => `console:\n${consoleProc?.logs() ?? ''}\nagent:\n${agentProc?.logs() ?? ''}`;
  try {
    let url: string;
    let username = 'admin';
    let password: string;
    let nodeName: string | undefined;
    const ruleId = testName('rule').toLowerCase();

    if (process.env.OSCOPE_E2E_URL) {
      url = process.env.OSCOPE_E2E_URL.replace(/\/$/, '');
      username = process.env.OSCOPE_E2E_USER ?? 'admin';
      password = process.env.OSCOPE_E2E_PASSWORD ?? '';
    } else {
      const port = await freePort();
      const db = join(dir, 'console.db');
      url = `http://127.0.0.1:${port}`;
      consoleProc = start(['console', '--listen', `127.0.0.1:${port}`, '--db', db]);
      await waitFor('the console to answer /healthz', async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined), 60_000, logs);
      password = await waitFor('the admin password file', () => (existsSync(`${db}.admin-password`) ? readFileSync(`${db}.admin-password`, 'utf8').trim() : undefined), 10_000, logs);

      // A real agent for this host, registered through the API, with a rule that fires on its first sample.
      const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
      assert.equal(login.status, 200, 'the admin can log in through the API');
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      nodeName = testName('web');
      const created = await fetch(`${url}/api/nodes`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ name: nodeName }) });
      assert.equal(created.status, 201, 'a node can be registered');
      const { token } = (await created.json()) as { token: string };
      const config = join(dir, 'agent.json');
      writeFileSync(config, JSON.stringify({ rules: [{ id: ruleId, kind: 'memory_usage', thresholdPct: 0, forS: 0, severity: 'warning' }] }));
      agentProc = start(['agent', '--console', url, '--interval', '2s', '--no-metrics', '--config', config], { OSCOPE_AGENT_TOKEN: token });
    }

    // A fresh profile (playwright passes it as --user-data-dir) and a laptop screen.
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1440, height: 900 },
      locale: 'en-US',
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    // Log in.
    await page.goto(url);
    await page.getByTestId('login-form').waitFor();
    await page.locator('input[name=username]').fill(username);
    await page.locator('input[name=password]').fill(password);
    await shot(page, '01-login');
    await page.locator('button[type=submit]').click();

    // The fleet, with this host's node online.
    await page.getByTestId('fleet-table').waitFor();
    const link = nodeName ? page.getByTestId('node-link').filter({ hasText: nodeName }) : page.getByTestId('node-link').first();
    await link.waitFor({ timeout: 60_000 });
    const row = page.locator('tr', { has: link });
    await waitFor('the node to show online with its memory', async () => ((await row.innerText()).match(/online/) && (await row.innerText()).match(/GiB|MiB/) ? true : undefined), 60_000, logs);
    await page.reload();
    await link.waitFor();
    await shot(page, '02-fleet');

    // The node page: one click runs the memory panorama; progress shows while it runs; the result opens.
    await link.click();
    await page.getByTestId('node-title').waitFor();
    const runMem = page.getByTestId('run-mem');
    await waitFor('the memory panorama button to be enabled', async () => ((await runMem.isEnabled()) ? true : undefined), 30_000, logs);
    await runMem.click();
    await page.getByTestId('task-progress').waitFor({ timeout: 30_000 });
    await shot(page, '03-node-running');
    await page.waitForURL(/#\/tasks\//, { timeout: RUN_TIMEOUT_MS });

    // The result leads with the conclusions, then the charts and tables.
    await page.getByTestId('result-title').waitFor();
    const conclusions = page.locator('.conclusions');
    await conclusions.waitFor();
    const findingCount = await page.locator('[data-testid=findings] > li').count();
    if (findingCount === 0) await page.getByTestId('no-findings').waitFor();
    else assert.ok((await page.locator('.finding-conclusion').first().innerText()).length > 10, 'each finding has a one-sentence conclusion');
    const cardOrder = await page.locator('.page > .card h2').allInnerTexts();
    assert.equal(cardOrder[0], 'Conclusions', `the conclusions come first (cards: ${cardOrder.join(', ')})`);
    await page.getByTestId('chart-donut').locator('canvas').waitFor();

    // The top-30 process table: at most 30 rows, sorted by RSS, filterable.
    const procRows = page.getByTestId('processes-table').locator('tbody tr');
    const n = await procRows.count();
    assert.ok(n >= 1 && n <= 30, `the process table shows the top 30 (shows ${n})`);
    const firstComm = (await procRows.first().locator('td').nth(1).innerText()).trim();
    await page.getByTestId('processes-table').locator('input.filter').fill(firstComm);
    const filtered = await procRows.allInnerTexts();
    assert.ok(filtered.length >= 1 && filtered.every((r) => r.toLowerCase().includes(firstComm.toLowerCase())), 'the filter keeps only matching rows');
    await page.getByTestId('processes-table').locator('input.filter').fill('');
    await page.getByTestId('processes-table').locator('th', { hasText: 'PID' }).click();
    const pids = (await procRows.locator('td:first-child').allInnerTexts()).map(Number);
    assert.deepEqual(pids, [...pids].sort((x, y) => y - x), 'a click on PID sorts by PID');
    await page.getByTestId('processes-table').locator('th', { hasText: 'RSS' }).click();
    await shot(page, '04-result');
    await shot(page, '05-result-tables', '#processes');

    // Switch language: the UI labels change (findings stay in the language the run was made in).
    await page.getByTestId('lang-switch').click();
    await page.getByText('结论', { exact: true }).waitFor();
    assert.equal(await page.getByTestId('nav-fleet').innerText(), '集群');
    assert.equal(await page.evaluate('document.documentElement.lang'), 'zh-CN');
    // The run was made in English; "run again" gets the conclusions in Chinese.
    const firstResult = page.url();
    await page.getByTestId('rerun').click();
    await page.waitForURL((u) => u.toString() !== firstResult && /#\/tasks\//.test(u.toString()), { timeout: RUN_TIMEOUT_MS });
    await page.locator('.conclusions').waitFor();
    if ((await page.locator('.finding-conclusion').count()) > 0) {
      assert.match(await page.locator('.finding-title').first().innerText(), /[\u4e00-\u9fff]/, 'the findings come in Chinese');
    }
    await shot(page, '06-result-zh');

    // The alert the agent's rule raised, on the alerts page.
    await page.getByTestId('nav-alerts').click();
    await page.getByTestId('alerts-table').waitFor();
    const alertRow = nodeName ? page.getByTestId('alerts-table').locator('tbody tr', { hasText: ruleId }) : page.getByTestId('alerts-table').locator('tbody tr').first();
    await waitFor('the alert to show', async () => {
      await page.reload();
      await page.getByTestId('alerts-table').waitFor();
      return (await alertRow.count()) > 0 ? true : undefined;
    }, 60_000, logs);
    assert.match(await alertRow.first().innerText(), /触发中|已恢复/);
    await shot(page, '07-alerts-zh');
    await page.getByTestId('lang-switch').click();
    await page.getByText('firing').first().waitFor();
    await shot(page, '08-alerts');

    // A second run, then the two runs from the node's history side by side.
    await page.getByTestId('nav-fleet').click();
    await link.click();
    await page.getByTestId('node-title').waitFor();
    await waitFor('the memory panorama button to be enabled again', async () => ((await runMem.isEnabled()) ? true : undefined), 30_000, logs);
    await runMem.click();
    await page.waitForURL(/#\/tasks\//, { timeout: RUN_TIMEOUT_MS });
    await page.getByTestId('result-title').locator('xpath=..').locator('a').first().click();
    const picks = page.getByTestId('history-table').locator('tbody input[type=checkbox]');
    await waitFor('two finished runs in the history', async () => ((await picks.count()) >= 2 ? true : undefined), 30_000, logs);
    await shot(page, '09-node-history', '[data-testid=history-table]');
    await picks.nth(0).check();
    await picks.nth(1).check();
    await page.getByTestId('compare-button').click();
    const cmpRows = page.getByTestId('compare-table').locator('tbody tr');
    await cmpRows.first().waitFor();
    assert.ok((await cmpRows.count()) >= 5, 'the comparison lists the breakdown groups and counters');
    await shot(page, '10-compare');

    // I/O from the node page: the disks over the hour, then one click runs `io` (5 s) while this test
    // writes with O_DIRECT to a file of its own, and the I/O view renders.
    await page.getByTestId('nav-fleet').click();
    await link.click();
    await page.getByTestId('node-title').waitFor();
    await waitFor(
      'the node page to chart the disks',
      async () => {
        if ((await page.getByTestId('chart-disk-latency').locator('canvas').count()) > 0) return true;
        await page.reload();
        await page.getByTestId('node-title').waitFor();
        return undefined;
      },
      90_000,
      logs,
    );
    await page.getByTestId('chart-disk-throughput').locator('canvas').waitFor();
    assert.ok((await page.getByTestId('io-disk-select').locator('option').count()) >= 2, 'the I/O disk scope lists the node’s disks');
    const runIo = page.getByTestId('run-io');
    await waitFor('the I/O button to be enabled', async () => ((await runIo.isEnabled()) ? true : undefined), 30_000, logs);
    await page.getByTestId('opt-io').selectOption({ label: 'measure 5 s' });
    const ioFile = join('/var/tmp', testName('web-io'));
    const writer = spawn('sh', ['-c', `while :; do dd if=/dev/zero of=${ioFile} bs=4k count=2000 oflag=direct 2>/dev/null; done`], { stdio: 'ignore', detached: true });
    try {
      await runIo.click();
      await page.waitForURL(/#\/tasks\//, { timeout: RUN_TIMEOUT_MS });
      await page.getByTestId('conclusions').waitFor();
    } finally {
      if (writer.pid) process.kill(-writer.pid, 'SIGKILL');
      rmSync(ioFile, { force: true });
    }
    assert.match(await page.getByTestId('result-title').innerText(), /I\/O/);
    await page.getByTestId('io-disks-table').locator('tbody tr').first().waitFor();
    await page.getByTestId('io-talkers').waitFor();
    await page.getByTestId('io-hangs').waitFor();
    if (process.geteuid?.() === 0) {
      // As root the agent traces: the stacked stage bar per disk and the stage histograms.
      await page.getByTestId('chart-io-stages').locator('canvas').waitFor();
      await page.getByTestId('chart-io-hist').locator('canvas').waitFor();
      assert.match(await page.getByTestId('io-stages').innerText(), /mostly (queue|scheduler|device|wake-up)/);
    }
    await shot(page, '13-io', '[data-testid=io-stages]');

    // Load and Profile from the node page (5 s and 10 s): the load view's charts and tables, then the
    // flame graph (hover shows a share, search highlights frames, a click zooms) while a busy loop of
    // this test's own runs.
    const runFromNode = async (name: string, option: string): Promise<void> => {
      await page.getByTestId('nav-fleet').click();
      await link.click();
      await page.getByTestId('node-title').waitFor();
      const button = page.getByTestId(`run-${name}`);
      await waitFor(`the ${name} button to be enabled`, async () => ((await button.isEnabled()) ? true : undefined), 30_000, logs);
      await page.getByTestId(`opt-${name}`).selectOption({ label: option });
      await button.click();
      // The task either opens its result or fails with a sentence on the node page.
      const outcome = await waitFor(
        `the ${name} result`,
        async () => {
          if (/#\/tasks\//.test(page.url())) return 'done';
          const err = page.locator('.card p.error');
          return (await err.count()) > 0 ? `failed: ${await err.first().innerText()}` : undefined;
        },
        RUN_TIMEOUT_MS,
        logs,
      );
      assert.equal(outcome, 'done', `the ${name} task ${outcome}`);
      await page.getByTestId('conclusions').waitFor();
    };
    await runFromNode('load', 'sample 5 s');
    assert.match(await page.getByTestId('result-title').innerText(), /Load/);
    await page.getByTestId('chart-load-loadavg').locator('canvas').waitFor();
    await page.getByTestId('chart-load-cpu').locator('canvas').waitFor();
    await page.getByTestId('load-tasks-table').waitFor();
    await page.getByTestId('load-dstacks-table').waitFor();
    await page.getByTestId('load-queues-table').locator('tbody tr').first().waitFor();
    await shot(page, '14-load');

    // Network from the node page: the agent's samples chart drops and retransmits over the hour; one
    // click runs `net` (5 s) narrowed to the port of a TCP server this test runs and talks to, and the
    // Network view shows this process's sockets on it.
    await page.getByTestId('nav-fleet').click();
    await link.click();
    await page.getByTestId('node-title').waitFor();
    await page.getByTestId('chart-net-drops-trend').locator('canvas').waitFor();
    await page.getByTestId('chart-net-retrans-trend').locator('canvas').waitFor();
    assert.match(await page.getByTestId('net-hour').innerText(), /\d+ drops · \d+ retransmits in the hour/);
    const talk = await localTalk();
    try {
      const runNet = page.getByTestId('run-net');
    await waitFor('the net button to be enabled', async () => ((await runNet.isEnabled()) ? true : undefined), 30_000, logs);
    await page.getByTestId('net-port').fill('70000');
      await page.getByTestId('run-net').click();
      await page.getByText('A port is a whole number from 1 to 65535.').waitFor();
      await page.getByTestId('net-port').fill(String(talk.port));
      await page.getByTestId('opt-net').selectOption({ label: 'measure 5 s' });
      await page.getByTestId('run-net').click();
      await waitFor('the net result', async () => (/#\/tasks\//.test(page.url()) ? true : undefined), RUN_TIMEOUT_MS, logs);
      await page.getByTestId('conclusions').waitFor();
    } finally {
      talk.close();
    }
    assert.match(await page.getByTestId('result-title').innerText(), /Network/);
    for (const id of ['net-stages', 'net-drops', 'net-tcp', 'net-sockets', 'net-counters']) await page.getByTestId(id).waitFor();
    assert.match(await page.getByTestId('net-sockets-processes').innerText(), new RegExp(`\\(${process.pid}\\)`), 'the view lists this test’s sockets on its port');
    if (process.geteuid?.() === 0) await page.getByTestId('chart-net-stages').locator('canvas').waitFor();
    await shot(page, '14-net', '[data-testid=net-stages]');

    if (process.geteuid?.() === 0) {
      const spinner = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore', detached: true });
      try {
        await runFromNode('profile', 'on-CPU 10 s at 49 Hz');
      } finally {
        if (spinner.pid) process.kill(-spinner.pid, 'SIGKILL');
      }
      assert.match(await page.getByTestId('result-title').innerText(), /Profile/);
      const flame = page.getByTestId('flame-graph');
      await flame.waitFor();
      const frames = flame.locator('g.flame-frame');
      assert.ok((await frames.count()) >= 2, 'the flame graph draws the root and frames under it');
      await frames.nth(1).hover();
      assert.match(await page.getByTestId('flame-hover').innerText(), /of all/);
      const fnRows = page.getByTestId('profile-functions-table').locator('tbody tr');
      await fnRows.first().waitFor();
      const top = (await fnRows.first().locator('td').first().innerText()).trim();
      await page.getByTestId('flame-search').fill(top);
      assert.match(await page.getByTestId('flame-matched').innerText(), /matched: [\d.]+%/);
      assert.ok((await flame.locator('g.flame-hit').count()) >= 1, `searching "${top}" highlights its frames`);
      await shot(page, '15-profile', '[data-testid=profile-flame]');
      await page.getByTestId('flame-search').fill('');
      await frames.nth(1).click();
      assert.equal(await page.getByTestId('flame-reset').isEnabled(), true, 'a click zooms in');
      await page.getByTestId('flame-reset').click();
    }

    assert.deepEqual(pageErrors, [], 'no script errors in the page');
  } catch (err) {
    // Keep what the browser showed, for the failure message.
    const page = browser?.pages()[0];
    if (page) {
      const file = join(tmpdir(), 'oscope-test-web-failure.png');
      await page.screenshot({ path: file }).catch(() => undefined);
      const text = await page.locator('body').innerText().catch(() => '');
      (err as Error).message += `\n--- page ${page.url()} (screenshot ${file}) ---\n${text.slice(0, 2000)}`;
    }
    throw err;
  } finally {
    await browser?.close().catch(() => undefined);
    await stop(agentProc?.proc);
    await stop(consoleProc?.proc);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A real document from the CLI on this host (`oscope <args> --json`). */
function cliDocument(args: string[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [BIN, ...args, '--json'], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20, timeout: 5 * 60_000 });
  if (r.status !== 0) throw new Error(`oscope ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** A finding as a document carries it (src/contract/common.ts FindingSchema): what the page must show. */
interface DocFinding {
  id: string;
  title: string;
  conclusion: string;
}

function docFindings(doc: Record<string, unknown>): DocFinding[] {
  return Array.isArray(doc.findings) ? (doc.findings as DocFinding[]) : [];
}

/**
 * The conclusions are the document's findings as the diagnosis made them: the same ids in the same order,
 * each with its title and conclusion word for word (the UI draws none of its own).
 */
async function assertShowsDocumentFindings(page: Page, doc: Record<string, unknown>, what: string): Promise<void> {
  const want = docFindings(doc);
  const items = page.getByTestId('conclusions').locator('li.finding');
  const ids = await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-finding')));
  assert.deepEqual(ids, want.map((f) => f.id), `${what}: the page shows the document's findings, in its order`);
  for (const [i, f] of want.entries()) {
    assert.equal((await items.nth(i).locator('.finding-title').innerText()).trim(), f.title, `${what}: the title of ${f.id}`);
    // Backticks mark commands, shown as code.
    assert.equal((await items.nth(i).locator('.finding-conclusion').innerText()).trim(), f.conclusion.replaceAll('`', '').trim(), `${what}: the conclusion of ${f.id}`);
  }
}

function viewsSkipReason(): string | false {
  if (process.env.OSCOPE_E2E_URL) return 'starts its own console';
  if (typeof process.geteuid === 'function' && process.geteuid() !== 0) return 'needs root (real file cache and run-latency documents from this host)';
  return skipReason();
}

test('web UI: file cache and run latency views, language switch on a result, a localized alert with filters, user management', { skip: viewsSkipReason(), timeout: 10 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oscope-test-web-views-'));
  let consoleProc: { proc: ChildProcess; logs: () => string } | undefined;
  let browser: BrowserContext | undefined;
  const logs = (): string => `console:\n${consoleProc?.logs() ?? ''}`;
  try {
    const port = await freePort();
    const db = join(dir, 'console.db');
    const url = `http://127.0.0.1:${port}`;
    consoleProc = start(['console', '--listen', `127.0.0.1:${port}`, '--db', db]);
    await waitFor('the console to answer /healthz', async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined), 60_000, logs);
    const password = await waitFor('the admin password file', () => (existsSync(`${db}.admin-password`) ? readFileSync(`${db}.admin-password`, 'utf8').trim() : undefined), 10_000, logs);
    const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const P = { cookie, 'content-type': 'application/json' };
    const nodeName = testName('views');
    const created = (await (await fetch(`${url}/api/nodes`, { method: 'POST', headers: P, body: JSON.stringify({ name: nodeName }) })).json()) as { node: { id: string }; token: string };
    const A = { authorization: `Bearer ${created.token}`, 'content-type': 'application/json' };
    // Real documents from this host, stored through the console's own agent endpoints.
    const store = async (diagnosis: string, params: Record<string, unknown>, doc: unknown): Promise<string> => {
      const { task } = (await (await fetch(`${url}/api/nodes/${created.node.id}/tasks`, { method: 'POST', headers: P, body: JSON.stringify({ diagnosis, params }) })).json()) as { task: { id: string } };
      await fetch(`${url}/api/agent/tasks/claim`, { method: 'POST', headers: A, body: '{}' });
      const r = await fetch(`${url}/api/agent/tasks/${task.id}/result`, { method: 'POST', headers: A, body: JSON.stringify({ status: 'done', report: doc }) });
      assert.equal(r.status, 200, await r.text());
      return task.id;
    };
    const fcDoc = cliDocument(['filecache', '--lang', 'en']);
    const fcTask = await store('filecache', {}, fcDoc);
    // The same diagnosis run in Chinese: its findings come worded in Chinese by the diagnosis' catalogs.
    const fcDocZh = cliDocument(['filecache', '--lang', 'zh-CN']);
    const fcTaskZh = await store('filecache', {}, fcDocZh);
    const rlDoc = cliDocument(['runlatency', '-i', '3', '--lang', 'en']);
    const rlTask = await store('runlatency', { durationS: 3 }, rlDoc);
    // Network documents made while `oscope simulate net-drop` drops 20 % of one port's packets (in
    // namespaces of its own): drops attributed to NETFILTER_DROP, retransmits, stage latencies.
    const netPort = await freePort();
    const sim = start(['simulate', 'net-drop', '--pct', '20', '--port', String(netPort), '--duration', '60']);
    let netDoc: Record<string, unknown>;
    let netDocZh: Record<string, unknown>;
    try {
      await waitFor('the net-drop simulation', () => (/holding for/.test(sim.logs()) ? true : undefined), 60_000, sim.logs);
      netDoc = cliDocument(['net', '-i', '3', '--port', String(netPort), '--lang', 'en']);
      netDocZh = cliDocument(['net', '-i', '3', '--port', String(netPort), '--lang', 'zh-CN']);
    } finally {
      // Ctrl-C: the simulation removes its namespaces, rule and processes.
      if (sim.proc.exitCode === null) {
        const exited = new Promise<void>((r) => sim.proc.once('exit', () => r()));
        sim.proc.kill('SIGINT');
        await exited;
      }
    }
    const netTask = await store('net', { intervalS: 3, port: netPort }, netDoc);
    const netTaskZh = await store('net', { intervalS: 3, port: netPort, lang: 'zh-CN' }, netDocZh);
    // An alert in both languages (what agents that localize send), and one in English only.
    const ev = (id: string, severity: string, extra: Record<string, unknown>) => ({ id, rule: 'oscope-test-rule', severity, state: 'firing', ts: new Date().toISOString(), data: {}, ...extra });
    const sent = await fetch(`${url}/api/agent/alerts`, {
      method: 'POST',
      headers: A,
      body: JSON.stringify({
        events: [
          ev(randomUUID(), 'critical', { message: 'Memory usage is 97% of 24 GiB.', messages: { en: 'Memory usage is 97% of 24 GiB.', 'zh-CN': '内存使用率为 24 GiB 的 97%。' } }),
          ev(randomUUID(), 'info', { message: 'English only.' }),
        ],
      }),
    });
    assert.equal(sent.status, 200, await sent.text());
    // Samples: one from an older agent (no run-queue or log-anomaly fields), then two with them.
    const inf = null; // the last bucket bound, +Inf, as JSON writes it
    const rqSample = (p99Ms: number, total: number) => ({
      memTotalBytes: 2 ** 34,
      memAvailableBytes: 2 ** 33,
      runqueueLatency: { leMs: [0.004, 0.008, 0.016, 1.024, inf], counts: [50, 30, 15, 5, 0], count: 100, p50Ms: 0.006, p99Ms, maxMs: p99Ms * 2 },
      logAnomalies: { total, byRule: total > 0 ? { 'HANG': total } : {} },
      net: { intervalS: 30, drops: total * 30, dropsByCounter: total > 0 ? { 'TcpExt.ListenDrops': total * 20, 'softnet.backlog': total * 10 } : {}, retransSegs: 60 * total, outSegs: 3000, listenOverflows: total, softnetSqueezed: 0, ifErrors: 0, ifDropped: 0, tcpMemBytes: 2 ** 20, tcpSockets: 12 },
    });
    const now = Date.now();
    const samples = await fetch(`${url}/api/agent/samples`, {
      method: 'POST',
      headers: A,
      body: JSON.stringify({
        samples: [
          { ts: new Date(now - 90_000).toISOString(), data: { memTotalBytes: 2 ** 34, memAvailableBytes: 2 ** 33 } },
          { ts: new Date(now - 60_000).toISOString(), data: rqSample(0.5, 2) },
          { ts: new Date(now - 30_000).toISOString(), data: rqSample(1.5, 1) },
        ],
      }),
    });
    assert.equal(samples.status, 200, await samples.text());

    browser = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1440, height: 900 },
      locale: 'en-US',
    });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => void d.accept());
    const logIn = async (user: string, pw: string): Promise<void> => {
      await page.goto(url);
      await page.getByTestId('login-form').waitFor();
      await page.locator('input[name=username]').fill(user);
      await page.locator('input[name=password]').fill(pw);
      await page.locator('button[type=submit]').click();
      await page.getByTestId('fleet-table').waitFor();
    };
    const logOut = async (): Promise<void> => {
      await page.getByRole('button', { name: /Log out|退出登录/ }).click();
      await page.getByTestId('login-form').waitFor();
    };
    await logIn('admin', password);

    // The file cache result: conclusions first, then charts, the top-30 files table, per-container totals.
    await page.goto(`${url}/#/tasks/${fcTask}`);
    await page.getByTestId('conclusions').waitFor();
    const cards = await page.locator('.page > .card h2').allInnerTexts();
    assert.equal(cards[0], 'Conclusions', `the conclusions come first (cards: ${cards.join(', ')})`);
    // The conclusions are the document's own filecache.* findings (made in src/diagnose/, worded in English here).
    assert.ok(docFindings(fcDoc).some((f) => f.id === 'filecache.summary'), `the file cache document carries filecache.summary (findings: ${JSON.stringify(docFindings(fcDoc).map((f) => f.id))})`);
    await assertShowsDocumentFindings(page, fcDoc, 'file cache');
    assert.match(await page.locator('.finding-title').first().innerText(), /[A-Za-z]/);
    await page.getByTestId('chart-fc-files').locator('canvas').waitFor();
    await page.getByTestId('chart-fc-cgroups').locator('canvas').waitFor();
    const fileRows = page.getByTestId('files-table').locator('tbody tr');
    const nFiles = await fileRows.count();
    const docFiles = (fcDoc.files as { path: string }[]).length;
    assert.equal(nFiles, Math.min(30, docFiles), 'the top 30 files');
    if (nFiles > 0) {
      const firstPath = (fcDoc.files as { path: string; cachedBytes: number }[]).sort((a, b) => b.cachedBytes - a.cachedBytes)[0]!.path;
      assert.match(await fileRows.first().innerText(), new RegExp(firstPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'sorted by cache, largest first');
      await page.getByTestId('files-table').locator('input.filter').fill(firstPath);
      assert.ok((await fileRows.allInnerTexts()).every((r) => r.includes(firstPath)), 'the filter keeps only matching rows');
      await page.getByTestId('files-table').locator('input.filter').fill('');
      await page.getByTestId('fc-cgroups-table').locator('tbody tr').first().waitFor();
    }
    await shot(page, '11-filecache');

    // Switch language on the result: the UI's labels come in Chinese at once, the findings stay the
    // document's (the language it was run in); the run made in Chinese has them in Chinese.
    await page.getByTestId('lang-switch').click();
    await page.getByText('结论', { exact: true }).waitFor();
    await assertShowsDocumentFindings(page, fcDoc, 'file cache, UI in Chinese');
    assert.match(await page.getByTestId('files-table').locator('th').first().innerText(), /文件/);
    await page.goto(`${url}/#/tasks/${fcTaskZh}`);
    await page.getByTestId('conclusions').waitFor();
    await assertShowsDocumentFindings(page, fcDocZh, 'file cache run in Chinese');
    assert.match(await page.locator('.finding-title').first().innerText(), /[\u4e00-\u9fff]/);
    assert.match(await page.locator('.finding-conclusion').first().innerText(), /[\u4e00-\u9fff]/);

    // The run latency result (UI in Chinese now): the document's findings, led by its lat.summary, then
    // per-CPU and per-cgroup histograms, events.
    await page.goto(`${url}/#/tasks/${rlTask}`);
    await page.getByTestId('conclusions').waitFor();
    assert.ok(docFindings(rlDoc).some((f) => f.id === 'lat.summary'), `the run latency document carries lat.summary (findings: ${JSON.stringify(docFindings(rlDoc).map((f) => f.id))})`);
    await assertShowsDocumentFindings(page, rlDoc, 'run latency');
    await page.getByTestId('lat-percpu-hist').locator('canvas').waitFor();
    await page.getByTestId('lat-percpu-pct').locator('canvas').waitFor();
    await page.getByTestId('lat-percgroup-hist').locator('canvas').waitFor();
    await page.getByTestId('events-table').waitFor();
    await page.getByTestId('lang-switch').click();
    await page.getByText('Conclusions', { exact: true }).waitFor();
    await assertShowsDocumentFindings(page, rlDoc, 'run latency, UI in English');
    await shot(page, '12-runlatency');

    // The Network result (UI in English): the document's findings, the stage chart and histograms, the
    // drops by reason with the firewall's reason and location, retransmits, sockets, counters; then in Chinese.
    await page.goto(`${url}/#/tasks/${netTask}`);
    await page.getByTestId('conclusions').waitFor();
    await assertShowsDocumentFindings(page, netDoc, 'net');
    const nd = netDoc as { drops: { reason: string; location: string; count: number }[]; tcp: { retransmits: unknown[] }; latency: { verdict: string | null; tx: Record<string, { count: number }>; rx: Record<string, { count: number }> } };
    assert.ok(nd.drops.some((d) => d.reason === 'NETFILTER_DROP'), `the simulation's drops are NETFILTER_DROP (drops: ${JSON.stringify(nd.drops.map((d) => d.reason))})`);
    await page.getByTestId('chart-net-drops').locator('canvas').waitFor();
    const dropRows = page.getByTestId('net-drops-table').locator('tbody tr');
    assert.equal(await dropRows.count(), Math.min(100, nd.drops.length), 'one row per drop group');
    const topDrop = [...nd.drops].sort((a, b) => b.count - a.count)[0]!;
    const firstDrop = (await dropRows.first().innerText()).replaceAll(',', '');
    assert.ok(firstDrop.includes(String(topDrop.count)) && firstDrop.includes(topDrop.reason) && firstDrop.includes(topDrop.location), `the largest group first, with its reason and location (${firstDrop})`);
    await dropRows.first().locator('details.stack summary').click();
    assert.match(await dropRows.first().locator('details.stack pre').innerText(), /\+0x/, 'the sample stack opens');
    const stagesMeasured = [...Object.values(nd.latency.tx), ...Object.values(nd.latency.rx)].some((st) => st.count > 0);
    if (stagesMeasured) {
      await page.getByTestId('chart-net-stages').locator('canvas').waitFor();
      await page.getByTestId('chart-net-hist').locator('canvas').waitFor();
      assert.match(await page.getByTestId('net-stage-table').innerText(), /tx qdisc[\s\S]*rx app/);
    }
    if (nd.latency.verdict) assert.equal(await page.getByTestId('net-verdict').innerText(), nd.latency.verdict, 'the verdict as the document words it');
    assert.equal(await page.getByTestId('net-retransmits').locator('tbody tr').filter({ hasNotText: 'No segment' }).count(), Math.min(50, nd.tcp.retransmits.length));
    await page.getByTestId('net-sockets-processes').locator('tbody tr').first().waitFor();
    assert.match(await page.getByTestId('net-namespaces').innerText(), /osc-net-(client|server)/, 'the simulation\u2019s namespaces are named by their holder');
    await shot(page, '15-net-drop', '[data-testid=net-stages]');
    await page.getByTestId('lang-switch').click();
    await page.getByText('按原因和位置的丢包', { exact: true }).waitFor();
    await assertShowsDocumentFindings(page, netDoc, 'net, UI in Chinese');
    if (stagesMeasured) assert.match(await page.getByTestId('net-stage-table').innerText(), /发送 qdisc[\s\S]*接收应用/);
    if (nd.latency.verdict && /application reads late/.test(nd.latency.verdict)) assert.equal(await page.getByTestId('net-verdict').innerText(), '应用读取不及时');
    await page.goto(`${url}/#/tasks/${netTaskZh}`);
    await page.getByTestId('conclusions').waitFor();
    await assertShowsDocumentFindings(page, netDocZh, 'net run in Chinese');
    assert.match(await page.locator('.finding-title').first().innerText(), /[\u4e00-\u9fff]/);
    await page.getByTestId('chart-net-drops').locator('canvas').waitFor();
    await page.getByTestId('lang-switch').click();
    await page.getByText('Conclusions', { exact: true }).waitFor();

    // The alerts page: the localized message in the UI language; filters by severity and node.
    await page.getByTestId('nav-alerts').click();
    await page.getByTestId('alerts-table').waitFor();
    await page.getByTestId('filter-severity').selectOption('critical');
    const msgs = page.getByTestId('alerts-table').getByTestId('alert-message');
    await waitFor('only the critical alert', async () => ((await msgs.allInnerTexts()).join('|') === 'Memory usage is 97% of 24 GiB.' ? true : undefined), 10_000);
    await page.getByTestId('lang-switch').click();
    await waitFor('the alert in Chinese', async () => ((await msgs.allInnerTexts()).join('|') === '内存使用率为 24 GiB 的 97%。' ? true : undefined), 10_000);
    await page.getByTestId('filter-severity').selectOption('info');
    await waitFor('an English-only alert in English', async () => ((await msgs.allInnerTexts()).join('|') === 'English only.' ? true : undefined), 10_000);
    await page.getByTestId('filter-severity').selectOption('');
    await page.getByTestId('filter-node').selectOption({ label: nodeName });
    await waitFor('both alerts of the node', async () => ((await msgs.count()) === 2 ? true : undefined), 10_000);
    await page.getByTestId('lang-switch').click();

    // User management: add a viewer, who can read but not run or manage; they change their password; remove them.
    const viewer = testName('viewer').slice(0, 60);
    await page.getByTestId('nav-users').click();
    await page.getByTestId('users-table').waitFor();
    const addForm = page.getByTestId('add-user-form');
    await addForm.locator('input[name=username]').fill(viewer);
    await addForm.locator('input[name=password]').fill('viewer password 1');
    await addForm.locator('select[name=role]').selectOption('viewer');
    await addForm.locator('button[type=submit]').click();
    const viewerRow = page.getByTestId('users-table').locator('tbody tr', { hasText: viewer });
    await viewerRow.waitFor();
    assert.match(await viewerRow.innerText(), /viewer/);
    await shot(page, '13-users');
    await logOut();
    await logIn(viewer, 'viewer password 1');
    assert.match(await page.getByTestId('whoami').innerText(), /viewer/);
    await page.getByTestId('node-link').filter({ hasText: nodeName }).click();
    await page.getByTestId('node-title').waitFor();
    assert.equal(await page.getByTestId('run-mem').isDisabled(), true, 'a viewer cannot run a diagnosis');
    // The node page's run-queue latency and kernel-log anomalies, an older sample without them ignored.
    assert.match(await page.getByTestId('runqueue-latest').innerText(), /p99 1\.5 ms, max 3 ms, 100 wakeups/);
    await page.getByTestId('chart-runqueue-hist').locator('canvas').waitFor();
    assert.equal(await page.getByTestId('anomaly-count').innerText(), '3 in the last hour');
    assert.match(await page.getByTestId('anomalies-card').innerText(), /HANG\s+3/);
    // The node page's network over the hour: drops by counter and retransmits from the samples that carry them.
    assert.equal(await page.getByTestId('net-hour').innerText(), '90 drops · 180 retransmits in the hour');
    assert.match(await page.getByTestId('net-latest').innerText(), /1 drops\/s, 2 retransmits\/s \(2\.0 % of segments\), TCP memory 1(\.0+)? MiB/);
    await page.getByTestId('chart-net-drops-trend').locator('canvas').waitFor();
    await page.getByTestId('chart-net-retrans-trend').locator('canvas').waitFor();
    await page.getByTestId('lang-switch').click();
    assert.equal(await page.getByTestId('net-hour').innerText(), '一小时内丢包 90 个 · 重传 180 个');
    await page.getByTestId('chart-net-drops-trend').locator('canvas').waitFor();
    await page.getByTestId('lang-switch').click();
    await page.getByTestId('nav-users').click();
    await page.getByTestId('password-form').waitFor();
    assert.equal(await page.getByTestId('users-table').count(), 0, 'a viewer does not see the user list');
    const pwForm = page.getByTestId('password-form');
    await pwForm.locator('input[name=current]').fill('viewer password 1');
    await pwForm.locator('input[name=new]').fill('viewer password 2');
    await pwForm.locator('input[name=repeat]').fill('viewer password 2');
    await pwForm.locator('button[type=submit]').click();
    await pwForm.getByText('Password changed.').waitFor();
    await logOut();
    await logIn(viewer, 'viewer password 2');
    await logOut();
    await logIn('admin', password);
    await page.getByTestId('nav-users').click();
    await viewerRow.waitFor();
    await page.getByTestId(`remove-${viewer}`).click();
    await waitFor('the viewer to be removed', async () => ((await viewerRow.count()) === 0 ? true : undefined), 10_000);
    const gone = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: viewer, password: 'viewer password 2' }) });
    assert.equal(gone.status, 401, 'a removed user cannot log in');

    assert.deepEqual(pageErrors, [], 'no script errors in the page');
  } catch (err) {
    const page = browser?.pages()[0];
    if (page) {
      const file = join(tmpdir(), 'oscope-test-web-views-failure.png');
      await page.screenshot({ path: file }).catch(() => undefined);
      const text = await page.locator('body').innerText().catch(() => '');
      (err as Error).message += `\n--- page ${page.url()} (screenshot ${file}) ---\n${text.slice(0, 2000)}`;
    }
    throw err;
  } finally {
    await browser?.close().catch(() => undefined);
    await stop(consoleProc?.proc);
    rmSync(dir, { recursive: true, force: true });
  }
});
