import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { parseSysvShm, readSysvShm, SYSVIPC_SHM_PATH } from '../../../src/kernel/procfs/sysvipc-shm.js';
import { fixture, fuzzParser } from '../../helpers.js';

test('sysvipc-shm: fixture from this machine (negative key, rss/swap)', () => {
  const s = parseSysvShm(fixture('proc', 'sysvipc-shm'));
  assert.equal(s.header.length, 16);
  assert.equal(s.segments.length, 1);
  const g = s.segments[0]!;
  assert.equal(g.key, -894768576);
  assert.equal(g.perms, 0o600);
  assert.equal(g.size, 65536);
  assert.equal(g.nattch, 0);
  assert.equal(g.rss, 0);
  assert.equal(g.swap, 0);
});

test('sysvipc-shm: several segments, IPC_PRIVATE and SHM_DEST perms (hand-written)', () => {
  const s = parseSysvShm(fixture('proc', 'sysvipc-shm-multi'));
  assert.deepEqual(s.segments.map((g) => [g.key, g.shmid, g.perms, g.nattch]), [[0, 3, 0o1600, 2], [92011234, 4, 0o600, 0], [-894768576, 5, 0o666, 0]]);
  assert.equal(s.segments[1]!.rss, 536870912);
  assert.equal(s.segments[1]!.swap, 4194304);
});

test('sysvipc-shm: old kernel without rss/swap columns (hand-written)', () => {
  const s = parseSysvShm(fixture('proc', 'sysvipc-shm-2.6'));
  assert.equal(s.segments.length, 2);
  assert.equal(s.segments[1]!.size, 134217728);
  assert.equal(s.segments[1]!.rss, undefined);
  assert.equal(s.segments[1]!.swap, undefined);
  assert.equal(s.segments[1]!.ctime, 1577836100);
});

test('sysvipc-shm: malformed input', () => {
  assert.throws(() => parseSysvShm('key shmid\n'), (e: unknown) => e instanceof ParseError && e.line === 1 && e.file === SYSVIPC_SHM_PATH);
  const head = fixture('proc', 'sysvipc-shm-2.6').split('\n')[0]!;
  assert.throws(() => parseSysvShm(`${head}\n1 2 999 4 5 6 7 8 9 10 11 12 13 14\n`), (e: unknown) => e instanceof ParseError && e.line === 2 && /octal/.test(e.message));
  assert.throws(() => parseSysvShm(`${head}\n1 2 600\n`), (e: unknown) => e instanceof ParseError && e.line === 2);
});

test('sysvipc-shm: fuzzed input never crashes', () => {
  fuzzParser((t) => parseSysvShm(t), fixture('proc', 'sysvipc-shm-multi'), SYSVIPC_SHM_PATH);
  fuzzParser((t) => parseSysvShm(t), fixture('proc', 'sysvipc-shm-2.6'), SYSVIPC_SHM_PATH);
});

test('sysvipc-shm: live host sees a segment the test creates', async (t) => {
  const host = new LiveHost();
  if (!(await host.exists(SYSVIPC_SHM_PATH))) return t.skip('no /proc/sysvipc/shm (CONFIG_SYSVIPC off)');
  // ipcmk (util-linux) creates a segment with a random key; we remove exactly that shmid.
  const mk = spawnSync('ipcmk', ['-M', '131072', '-p', '0600'], { encoding: 'utf8' });
  if (mk.error || mk.status !== 0) return t.skip('ipcmk (util-linux) is not available');
  const shmid = Number(/(\d+)\s*$/.exec(mk.stdout)?.[1]);
  assert.ok(Number.isInteger(shmid), mk.stdout);
  try {
    const s = await readSysvShm(host);
    const g = s.segments.find((x) => x.shmid === shmid);
    assert.ok(g, `shmid ${shmid} is listed`);
    assert.equal(g.size, 131072);
    assert.equal(g.nattch, 0);
    assert.equal(g.perms & 0o777, 0o600);
  } finally {
    spawnSync('ipcrm', ['-m', String(shmid)]);
  }
  assert.ok(!(await readSysvShm(host)).segments.some((x) => x.shmid === shmid), 'segment removed');
});
