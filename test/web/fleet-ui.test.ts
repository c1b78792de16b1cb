/**
 * The fleet parts of the console in the real browser: node labels and the label/kernel filters, the
 * crashes page (boots reported through the agent endpoint, grouped across nodes, in two languages), and
 * the API-token page (issue with a scope, the secret works on /mcp, revoke and it stops working).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type BrowserContext, chromium } from 'playwright-core';
import { REPO_ROOT, testName } from '../helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const BIN = join(REPO_ROOT, 'bin', 'oscope');
const WEB_DIST = join(REPO_ROOT, 'web', 'dist', 'index.html');
const skip = !existsSync(CHROMIUM) ? `needs ${CHROMIUM} (scripts/ensure-test-deps-web.sh)` : !existsSync(WEB_DIST) ? 'the web UI is not built (npx vite build --config web/vite.config.mjs)' : false;

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

async function waitFor<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs: number, logs: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}\n--- logs ---\n${logs()}`);
}

test('web UI: node labels and filters, crashes grouped across the fleet, API tokens issued and revoked', { skip, timeout: 5 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oscope-test-web-fleet-'));
  let proc: ChildProcess | undefined;
  let buf = '';
  const logs = (): string => buf;
  let browser: BrowserContext | undefined;
  try {
    const port = await freePort();
    const db = join(dir, 'console.db');
    const url = `http://127.0.0.1:${port}`;
    proc = spawn(process.execPath, [BIN, 'console', '--listen', `127.0.0.1:${port}`, '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer): void => void (buf = (buf + d.toString('utf8')).slice(-20_000));
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    await waitFor('the console', async () => ((await fetch(`${url}/healthz`)).ok ? true : undefined), 60_000, logs);
    const password = await waitFor('the admin password file', () => (existsSync(`${db}.admin-password`) ? readFileSync(`${db}.admin-password`, 'utf8').trim() : undefined), 10_000, logs);
    const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    const P = { cookie: (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '', 'content-type': 'application/json' };

    // Three nodes: two in rack r1 that crashed in the same place, one in r2 that shut down cleanly.
    const stack = ['Call Trace:', ' <TASK>', ' ext4_da_write_end+0x1a/0x30', ' generic_perform_write+0x10f/0x200', ' ext4_buffered_write_iter+0x6b/0x120', ' vfs_write+0x232/0x3e0'];
    const day = 86_400_000;
    const now = Date.now();
    const names: string[] = [];
    for (const [i, rack] of ['r1', 'r1', 'r2'].entries()) {
      const name = testName(`fleet${i}`);
      names.push(name);
      const c = (await (await fetch(`${url}/api/nodes`, { method: 'POST', headers: P, body: JSON.stringify({ name }) })).json()) as { token: string };
      const A = { authorization: `Bearer ${c.token}`, 'content-type': 'application/json' };
      const kernel = i === 1 ? '5.15.0-91-generic' : '6.1.0-18-amd64';
      const hello = await fetch(`${url}/api/agent/hello`, { method: 'POST', headers: A, body: JSON.stringify({ hostname: name, kernel, labels: { rack, env: 'prod' } }) });
      assert.equal(hello.status, 200, await hello.text());
      const prev =
        i < 2
          ? { id: `b${i}`, startedAt: new Date(now - 3 * day).toISOString(), endedAt: new Date(now - (2 - i) * day).toISOString(), cause: 'panic', title: 'BUG: unable to handle page fault in ext4_da_write_end', stack, source: 'journal', kernel }
          : { id: `b${i}`, startedAt: null, endedAt: new Date(now - day).toISOString(), cause: 'clean-shutdown', source: 'journal' };
      const boots = await fetch(`${url}/api/agent/boots`, { method: 'POST', headers: A, body: JSON.stringify({ boots: [{ id: `cur${i}`, startedAt: new Date(now - 3600_000).toISOString(), endedAt: null, cause: 'running', source: 'proc', kernel }, prev] }) });
      const bootsText = await boots.text();
      assert.equal(boots.status, 200, bootsText);
      assert.deepEqual(JSON.parse(bootsText), { stored: 2 });
    }
    const api = (await (await fetch(`${url}/api/crashes`, { headers: P })).json()) as { crashes: { nodes: number; count: number; signature: string | null; first: { nodeName: string }; last: { nodeName: string } }[] };
    assert.equal(api.crashes.length, 1);
    assert.equal(api.crashes[0]!.nodes, 2);
    assert.match(api.crashes[0]!.signature ?? '', /^[0-9a-f]{12}$/);
    assert.deepEqual([api.crashes[0]!.first.nodeName, api.crashes[0]!.last.nodeName], [names[0], names[1]]);

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
    await page.goto(url);
    await page.getByTestId('login-form').waitFor();
    await page.locator('input[name=username]').fill('admin');
    await page.locator('input[name=password]').fill(password);
    await page.locator('button[type=submit]').click();
    await page.getByTestId('fleet-table').waitFor();

    // Labels: shown per node, and the filter keeps the rack's nodes only; the kernel filter one node.
    await page.getByTestId('node-labels').first().waitFor();
    assert.equal(await page.getByTestId('node-link').count(), 3);
    await page.getByTestId('filter-label').selectOption('rack=r1');
    await waitFor('the label filter', async () => ((await page.getByTestId('node-link').count()) === 2 ? true : undefined), 10_000, logs);
    await page.getByTestId('filter-kernel').selectOption('5.15.0-91-generic');
    await waitFor('the kernel filter', async () => ((await page.getByTestId('node-link').count()) === 1 ? true : undefined), 10_000, logs);
    assert.equal(await page.getByTestId('node-link').first().textContent(), names[1]);

    // Crashes: one group, 2 nodes, the stack on click; in Chinese too.
    await page.getByTestId('nav-crashes').click();
    await page.getByTestId('crash-title').first().waitFor();
    assert.equal(await page.getByTestId('crash-title').count(), 1);
    assert.equal(await page.getByTestId('crash-nodes').first().textContent(), '2');
    await page.getByTestId('crash-title').first().click();
    await page.getByTestId('crash-detail').waitFor();
    assert.match((await page.getByTestId('crash-detail').textContent()) ?? '', /Hit 2 nodes \(2 crashes\).*ext4_da_write_end\+0x1a/s);
    await page.getByTestId('lang-switch').click();
    await page.getByRole('heading', { name: '全集群崩溃' }).waitFor();
    assert.match((await page.getByTestId('crash-detail').textContent()) ?? '', /影响 2 个节点/);
    await page.getByTestId('lang-switch').click();

    // Tokens: issue a read token, it opens /mcp; revoke it, it no longer does.
    await page.getByTestId('nav-tokens').click();
    await page.getByTestId('token-form').waitFor();
    await page.getByTestId('token-name-input').fill('assistant');
    await page.getByTestId('token-scope').selectOption('read');
    await page.getByTestId('token-issue').click();
    const secret = ((await page.getByTestId('token-secret-value').textContent({ timeout: 10_000 })) ?? '').trim();
    assert.match(secret, /^oscope_/);
    await waitFor('the token row', async () => ((await page.getByTestId('token-name').count()) === 1 ? true : undefined), 10_000, logs);
    const mcp = (token: string): Promise<Response> =>
      fetch(`${url}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_crashes', arguments: {} } }),
      });
    const r1 = await mcp(secret);
    assert.equal(r1.status, 200);
    assert.match(await r1.text(), /1 crash group\(s\).*2 crash\(es\) on 2 node\(s\)/s);
    await page.getByTestId('token-revoke').first().click();
    await waitFor('the revoked token to go', async () => ((await page.getByTestId('token-name').count()) === 0 ? true : undefined), 10_000, logs);
    assert.equal((await mcp(secret)).status, 401);
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser?.close().catch(() => undefined);
    if (proc && proc.exitCode === null) {
      const exited = new Promise<void>((r) => proc!.once('exit', () => r()));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
