import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { ParseError } from '../../../src/kernel/errors.js';
import { listBlockDevices, parseInflight, parseModel, parseRotational, parseScheduler, readBlockDevice } from '../../../src/kernel/sysfs/block.js';
import { fuzzParser } from '../../helpers.js';

test('queue/scheduler: the bracketed one is active', () => {
  assert.deepEqual(parseScheduler('none [mq-deadline] kyber\n'), { active: 'mq-deadline', available: ['none', 'mq-deadline', 'kyber'] });
  assert.deepEqual(parseScheduler('[none] mq-deadline kyber bfq\n'), { active: 'none', available: ['none', 'mq-deadline', 'kyber', 'bfq'] });
  // A device without a choice prints one name without brackets (older kernels) or `none`.
  assert.equal(parseScheduler('none\n').active, 'none');
  assert.throws(() => parseScheduler('[none] [kyber]\n', '/sys/block/x/queue/scheduler'), (e: unknown) => e instanceof ParseError && e.file === '/sys/block/x/queue/scheduler');
  fuzzParser((t) => parseScheduler(t, 'F'), 'none [mq-deadline] kyber\n', 'F');
});

test('queue/rotational, device/model, inflight', () => {
  assert.equal(parseRotational('1\n'), true);
  assert.equal(parseRotational('0\n'), false);
  assert.throws(() => parseRotational('2\n'), ParseError);
  assert.equal(parseModel('Samsung SSD 860 EVO 500GB                \n'), 'Samsung SSD 860 EVO 500GB');
  assert.equal(parseModel('\n'), undefined);
  assert.deepEqual(parseInflight('       3        1\n'), { reads: 3, writes: 1 });
  assert.throws(() => parseInflight('3\n', 'I'), (e: unknown) => e instanceof ParseError && e.file === 'I');
  fuzzParser((t) => parseInflight(t, 'I'), '       3        1\n', 'I');
});

test('/sys/block: live host', async () => {
  const host = new LiveHost();
  const names = await listBlockDevices(host);
  assert.ok(names.length > 0);
  for (const n of names) {
    const d = await readBlockDevice(host, n);
    assert.equal(d.name, n);
    if (d.inflight) assert.ok(d.inflight.reads >= 0 && d.inflight.writes >= 0);
  }
});
