import assert from 'node:assert/strict';
import { openSync, closeSync } from 'node:fs';
import { test } from 'node:test';
import { LiveHost } from '../../../../src/host/live.js';
import { parseFdinfo, readFdinfo } from '../../../../src/kernel/procfs/pid/fdinfo.js';
import { fuzzParser } from '../../../helpers.js';

const BPF_MAP = 'pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t2071\nmap_type:\t1\nkey_size:\t4\nvalue_size:\t8\nmax_entries:\t1024\nmap_flags:\t0x0\nmap_extra:\t0x0\nmemlock:\t90112\nmap_id:\t42\nfrozen:\t0\n';

test('fdinfo: common fields and BPF map fields', () => {
  const f = parseFdinfo(BPF_MAP);
  assert.equal(f.pos, 0);
  assert.equal(f.flags, 0o2000002);
  assert.equal(f.mntId, 15);
  assert.equal(f.fields.get('memlock'), '90112');
  assert.equal(f.fields.get('map_id'), '42');
});

test('fdinfo: fuzzed input never crashes', () => {
  fuzzParser((t) => parseFdinfo(t, '/proc/1/fdinfo/3'), BPF_MAP, '/proc/1/fdinfo/3');
});

test('fdinfo: live, for a file this test opened', async () => {
  const fd = openSync('/proc/self/status', 'r');
  try {
    const f = await readFdinfo(new LiveHost(), process.pid, fd);
    assert.ok(f);
    assert.equal(f.pos, 0);
    assert.ok((f.ino ?? 0) > 0);
    assert.equal(await readFdinfo(new LiveHost(), process.pid, 99999), undefined);
  } finally {
    closeSync(fd);
  }
});
