/**
 * cgroup path → container reference, with names from the runtime's state files when they exist.
 * Built once per report for every cgroup path the report mentions.
 *
 * A Kubernetes cgroupfs-driver path (`/kubepods/burstable/pod<uid>/<id>`) does not say which runtime
 * made it; the containerd task list resolves that, and otherwise the container is kept with runtime
 * "unknown" (its id and pod uid are still right).
 */
import type { Host } from '../../host/host.js';
import { type ContainerIdentity, type ContainerNames, identifyContainerWithTasks, listContainerdTasks, resolveContainerNames } from '../../containers/index.js';
import type { ContainerRef } from './types.js';

export type ContainerLookup = (cgroupPath: string) => ContainerRef | undefined;

export async function containerLookup(host: Host, cgroupPaths: Iterable<string>): Promise<ContainerLookup> {
  const tasks = await listContainerdTasks(host).catch(() => new Map<string, string>());
  const idents = new Map<string, ContainerIdentity>();
  for (const p of cgroupPaths) {
    const id = identifyContainerWithTasks(p, tasks);
    if (id) idents.set(p, id);
  }
  const ids = new Set([...idents.values()].filter((i) => i.runtime !== 'systemd-service').map((i) => i.containerId));
  let names = new Map<string, ContainerNames>();
  try {
    names = await resolveContainerNames(host, ids);
  } catch {
    /* no runtime state: ids only */
  }
  return (path) => {
    const id = idents.get(path) ?? identifyContainerWithTasks(path, tasks);
    if (!id) return undefined;
    const n = names.get(id.containerId);
    const ref: ContainerRef = { runtime: id.runtime === 'unknown' && n ? n.runtime : id.runtime, id: id.containerId };
    if (id.serviceName) ref.name = id.serviceName;
    if (id.podUid) ref.podUid = id.podUid;
    if (n) {
      if (n.name) ref.name = n.name;
      if (n.podName) ref.podName = n.podName;
      if (n.podNamespace) ref.podNamespace = n.podNamespace;
      if (n.podUid) ref.podUid = n.podUid;
    }
    return ref;
  };
}
