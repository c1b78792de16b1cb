/**
 * The agent's memory history survives a restart through its JSON-lines file in the state directory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MemHistory } from '../../src/agent/history.js';
import { testName } from '../helpers.js';

const counters = (i: number) => ({ slabUnreclaimableBytes: 1000 + i, vmallocBytes: 2000 + i, unaccountedBytes: 3000 + i });

test('MemHistory.persistTo: a new ring loads the points of the previous run, skipping malformed and too old ones', () => {
  const dir = mkdtempSync(join(tmpdir(), testName('history')));
  try {
    const file = join(dir, 'history.jsonl');
    const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);
    const first = new MemHistory({ stepS: 60, keepS: 3600 });
    assert.equal(first.persistTo(file, t0), 0, 'nothing to load the first time');
    for (let i = 0; i < 5; i++) first.add(t0 + i * 60_000, counters(i));
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 5);
    // A torn last line (a crash mid-write) and a line that is not a point.
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"tS": 12\n["x"]\n`, { flag: 'w' });

    const second = new MemHistory({ stepS: 60, keepS: 3600 });
    second.add(t0 + 10 * 60_000, counters(10));
    assert.equal(second.persistTo(file, t0 + 10 * 60_000), 5);
    assert.deepEqual(
      second.points().map((p) => p.tS),
      [0, 1, 2, 3, 4, 10].map((i) => Math.round((t0 + i * 60_000) / 1000)),
    );
    assert.deepEqual(second.points()[2], { tS: Math.round((t0 + 120_000) / 1000), ...counters(2) });

    // An hour later only the points of the last hour (keepS) come back.
    const third = new MemHistory({ stepS: 60, keepS: 3600 });
    assert.deepEqual([third.persistTo(file, t0 + 63 * 60_000), third.points().map((p) => p.tS)], [3, [3, 4, 10].map((i) => Math.round((t0 + i * 60_000) / 1000))], 'points older than keepS are dropped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('MemHistory.persistTo: the file is rewritten to the ring once it has grown to twice its size', () => {
  const dir = mkdtempSync(join(tmpdir(), testName('history')));
  try {
    const file = join(dir, 'history.jsonl');
    const t0 = Date.UTC(2026, 10, 23, 12, 0, 0);
    const h = new MemHistory({ stepS: 60, keepS: 600 }); // capacity 10
    h.persistTo(file, t0);
    for (let i = 0; i < 35; i++) h.add(t0 + i * 60_000, counters(i));
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.ok(lines.length <= 2 * h.capacity, `${lines.length} lines for a ring of ${h.capacity}`);
    assert.equal(JSON.parse(lines.at(-1)!).tS, Math.round((t0 + 34 * 60_000) / 1000), 'the newest point is there');
    const again = new MemHistory({ stepS: 60, keepS: 600 });
    again.persistTo(file, t0 + 34 * 60_000);
    assert.deepEqual(again.points(), h.points());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
