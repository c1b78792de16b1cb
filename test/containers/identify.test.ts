import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identifyContainer, identifyPod } from '../../src/containers/identify.js';
import { fixture } from '../helpers.js';

interface Case {
  path: string;
  expect: Record<string, unknown> | null;
}

test('identifyContainer: real-world cgroup path shapes (docker, containerd/CRI, cri-o, podman, kind, systemd)', () => {
  const cases = JSON.parse(fixture('containers', 'cgroup-paths.json')) as Case[];
  assert.ok(cases.length >= 30);
  for (const c of cases) {
    const got = identifyContainer(c.path);
    if (c.expect === null) {
      assert.equal(got, undefined, c.path);
      continue;
    }
    assert.ok(got, `recognised: ${c.path}`);
    const { cgroupPath, ...rest } = got;
    assert.deepEqual(rest, c.expect, c.path);
    assert.ok(c.path.startsWith(cgroupPath), `cgroupPath ${cgroupPath} is a prefix of ${c.path}`);
  }
});

test('identifyContainer: cgroupPath stops at the container segment', () => {
  const id = '2f5a5f8f0c8a2b6e2e7f5a3c1d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b';
  const base = `/kubepods.slice/kubepods-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789.slice/cri-containerd-${id}.scope`;
  assert.equal(identifyContainer(`${base}/init.scope`)?.cgroupPath, base);
});

test('identifyPod: pod cgroups with and without a container segment', () => {
  assert.deepEqual(identifyPod('/kubepods/burstable/pod0a1b2c3d-4e5f-6789-abcd-ef0123456789'), {
    podUid: '0a1b2c3d-4e5f-6789-abcd-ef0123456789',
    qosClass: 'burstable',
    cgroupPath: '/kubepods/burstable/pod0a1b2c3d-4e5f-6789-abcd-ef0123456789',
  });
  assert.equal(identifyPod('/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0a1b2c3d_4e5f_6789_abcd_ef0123456789.slice/crio-abcdefabcdef.scope')?.qosClass, 'besteffort');
  assert.equal(identifyPod('/system.slice/pod0a1b2c3d-4e5f-6789-abcd-ef0123456789'), undefined, 'a pod-looking name outside kubepods');
  assert.equal(identifyPod('/'), undefined);
});
