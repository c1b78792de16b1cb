import assert from 'node:assert/strict';
import { test } from 'node:test';
import { netParamsFrom } from '../../../src/cli/commands/net.js';
import { UserError } from '../../../src/cli/errors.js';

test('oscope net flags: defaults, and one sentence with the usage exit code for bad input', () => {
  assert.deepEqual(netParamsFrom({}), { intervalS: 5, netns: 'all', top: 20, bpf: true });
  assert.deepEqual(netParamsFrom({ interval: '2', port: '443', netns: '/run/netns/x', pid: '7' }), { intervalS: 2, port: 443, netns: '/run/netns/x', pid: 7, top: 20, bpf: true });
  for (const bad of [{ port: '0' }, { port: '65536' }, { port: 'http' }, { interval: '0' }, { interval: 'x' }, { pid: '-1' }, { netns: 'foo' }, { container: 'ab' }, { pid: '1', pod: 'p' }, { top: '0' }]) {
    assert.throws(
      () => netParamsFrom(bad),
      (e: unknown) => e instanceof UserError && e.exitCode === 2 && !e.message.includes('\n'),
      JSON.stringify(bad),
    );
  }
});
