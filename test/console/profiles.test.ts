/**
 * Profiles in the console: windows an agent sends in its samples go to their own table (the sample
 * keeps the rest), any time range merges into one flame graph with its triggers, and
 * retention drops the old windows and bounds each node's bytes (oldest first).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { compactProfile } from '../../src/agent/profiler.js';
import type { MergedProfile, NodeSample } from '../../src/contract/console.js';
import { buildServer, ensureAdmin, SESSION_COOKIE } from '../../src/console/server.js';
import { openStore } from '../../src/console/store/index.js';

test('profiles: stored apart, merged for any range, triggers listed, retention and size bound', async () => {
  const dir = mkdtempSync('/var/tmp/oscope-test-profiles-');
  const store = await openStore(join(dir, 'console.db'));
  const app = await buildServer({ store, registry: defaultRegistry(), webDir: join(dir, 'none') });
  try {
    const pw = await ensureAdmin(store);
    const login = await app.inject({ method: 'POST', url: '/auth/login', payload: { username: 'admin', password: pw } });
    const cookie = `${SESSION_COOKIE}=${login.cookies.find((c) => c.name === SESSION_COOKIE)!.value}`;
    const created = (await app.inject({ method: 'POST', url: '/api/nodes', headers: { cookie }, payload: { name: 'oscope-test-p1' } })).json<{ node: { id: string }; token: string }>();
    const agent = { authorization: `Bearer ${created.token}` };
    const t0 = Date.now() - 3 * 3600_000;
    const iso = (ms: number): string => new Date(ms).toISOString();
    const win = (i: number, hot: string, n: number, trigger?: string) =>
      compactProfile({ startTs: iso(t0 + i * 60_000), intervalS: 60, hz: 19, samples: n + 10, stacks: [{ frames: ['main', hot], count: n }, { frames: ['main', 'idle'], count: 10 }], ...(trigger ? { trigger } : {}) });
    // Hour 1: `parse` is hot; hour 2: `compress` is, with one triggered window.
    const samples: { ts: string; data: Record<string, unknown> }[] = [];
    for (let i = 0; i < 120; i++) samples.push({ ts: iso(t0 + i * 60_000 + 59_000), data: { memTotalBytes: 1, profiles: [i === 90 ? win(i, 'compress', 40, 'cpu-sys-high') : win(i, i < 60 ? 'parse' : 'compress', 30)] } });
    for (let i = 0; i < samples.length; i += 40) {
      const r = await app.inject({ method: 'POST', url: '/api/agent/samples', headers: agent, payload: { samples: samples.slice(i, i + 40) } });
      assert.equal(r.statusCode, 200, r.body);
    }
    const hist = (await app.inject({ url: `/api/nodes/${created.node.id}/samples?since=${iso(t0)}&until=${iso(t0 + 2 * 3600_000)}`, headers: { cookie } })).json<{ samples: NodeSample[] }>().samples;
    assert.equal(hist.length, 120);
    assert.ok(hist.every((s) => s.data.profiles === undefined), 'the sample no longer carries the windows');
    const get = async (from: number, to: number): Promise<MergedProfile> => {
      const r = await app.inject({ url: `/api/nodes/${created.node.id}/profiles?since=${iso(from)}&until=${iso(to)}`, headers: { cookie } });
      assert.equal(r.statusCode, 200, r.body);
      return r.json<MergedProfile>();
    };
    const a = await get(t0, t0 + 3600_000 - 1);
    const b = await get(t0 + 3600_000, t0 + 2 * 3600_000);
    assert.equal(a.windows, 60);
    assert.equal(a.samples, 60 * 40);
    assert.deepEqual(a.stacks, [{ frames: ['main', 'parse'], count: 1800 }, { frames: ['main', 'idle'], count: 600 }]);
    assert.equal(b.windows, 60);
    assert.deepEqual(b.triggers, [{ rule: 'cpu-sys-high', startTs: iso(t0 + 90 * 60_000) }]);
    assert.equal(b.stacks[0]!.frames.at(-1), 'compress');
    assert.equal(b.stacks[0]!.count, 59 * 30 + 40);
    const bad = await app.inject({ url: `/api/nodes/${created.node.id}/profiles?since=${iso(t0 + 1000)}&until=${iso(t0)}`, headers: { cookie } });
    assert.equal(bad.statusCode, 400);
    // Retention: windows before t0 + 30 min go; then the node is bounded to ~10 windows' bytes, the newest kept.
    const one = JSON.stringify(win(0, 'parse', 30)).length;
    assert.equal(await store.pruneProfiles(t0 + 30 * 60_000, 1e12), 30);
    const removed = await store.pruneProfiles(0, 10 * one + 5);
    assert.ok(removed >= 80 && removed <= 81, `${removed}`);
    const left = await get(t0, t0 + 3 * 3600_000);
    assert.equal(left.windows, 90 - removed, 'at most ~10 windows of bytes left');
    assert.deepEqual(left.triggers, [], 'the triggered window was older than the newest 10');
    assert.ok((await get(t0 + 119 * 60_000, t0 + 120 * 60_000)).windows === 1, 'the newest kept');
  } finally {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
