import assert from 'node:assert/strict';
import { test } from 'node:test';
import { identifyContainerWithTasks, listContainerdTasks, resolveContainerNames } from '../../src/containers/runtime.js';
import { FixtureDirHost } from '../../src/host/dir.js';
import { LiveHost } from '../../src/host/live.js';
import { fixturePath } from '../helpers.js';

const ID = '2f5a5f8f0c8a2b6e2e7f5a3c1d9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b';
const SANDBOX = '5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5c0ffee5';
const DOCKER = '9d4e1c2b3a495867f8e9d0c1b2a39485766554433221100ffeeddccbbaa99887';
const DOCKER_K8S = 'a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90';
const CRIO = 'c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0';
const host = new FixtureDirHost(fixturePath('containers', 'state'));

test('resolveContainerNames: containerd CRI annotations, docker config.v2.json, cri-o; unknown and broken ids absent', async () => {
  const names = await resolveContainerNames(host, [ID, SANDBOX, DOCKER, DOCKER_K8S, CRIO, 'f'.repeat(64), 'b'.repeat(64), '../etc']);
  const c = names.get(ID)!;
  assert.equal(c.runtime, 'containerd');
  assert.equal(c.namespace, 'k8s.io');
  assert.equal(c.name, 'web');
  assert.equal(c.podName, 'web-7d9f8b6c5-x2x9k');
  assert.equal(c.podNamespace, 'shop');
  assert.equal(c.podUid, '0a1b2c3d-4e5f-6789-abcd-ef0123456789');
  assert.equal(c.containerType, 'container');
  assert.equal(c.image, 'docker.io/library/nginx:1.25');
  assert.equal(c.rootfs, 'rootfs');
  assert.equal(c.stateFile, `/run/containerd/io.containerd.runtime.v2.task/k8s.io/${ID}/config.json`);
  assert.equal(names.get(SANDBOX)!.containerType, 'sandbox');
  assert.equal(names.get(SANDBOX)!.name, undefined);
  const d = names.get(DOCKER)!;
  assert.deepEqual(
    { runtime: d.runtime, name: d.name, image: d.image, podName: d.podName },
    { runtime: 'docker', name: 'cache-redis-1', image: 'redis:7', podName: undefined },
  );
  const dk = names.get(DOCKER_K8S)!;
  assert.deepEqual(
    { name: dk.name, podName: dk.podName, podNamespace: dk.podNamespace, podUid: dk.podUid, containerType: dk.containerType },
    { name: 'sidecar', podName: 'api-0', podNamespace: 'prod', podUid: '11111111-2222-3333-4444-555555555555', containerType: 'container' },
  );
  const o = names.get(CRIO)!;
  assert.equal(o.runtime, 'cri-o');
  assert.equal(o.podName, 'db-0');
  assert.equal(o.name, 'db');
  assert.equal(names.has('f'.repeat(64)), false);
  assert.equal(names.has('b'.repeat(64)), false, 'a malformed config.v2.json is skipped');
  assert.equal(names.has('../etc'), false);
  assert.equal((await resolveContainerNames(host, [])).size, 0);
});

test('identifyContainerWithTasks: ctr-style /<namespace>/<name> paths and cgroupfs-driver runtime refinement', async () => {
  const tasks = await listContainerdTasks(host);
  assert.equal(tasks.get('oscope-demo'), 'default');
  assert.deepEqual(identifyContainerWithTasks('/default/oscope-demo', tasks), { runtime: 'containerd', containerId: 'oscope-demo', cgroupPath: '/default/oscope-demo' });
  assert.equal(identifyContainerWithTasks('/other/oscope-demo', tasks), undefined);
  assert.equal(identifyContainerWithTasks(`/kubepods/burstable/pod0a1b2c3d-4e5f-6789-abcd-ef0123456789/${ID}`, tasks)?.runtime, 'containerd');
  assert.equal(identifyContainerWithTasks('/system.slice/nginx.service', tasks)?.serviceName, 'nginx');
});

test('resolveContainerNames: live host without runtimes answers nothing, never throws', async () => {
  const names = await resolveContainerNames(new LiveHost(), [ID]);
  assert.ok(names.size <= 1);
  assert.ok((await listContainerdTasks(new LiveHost())) instanceof Map);
});
