/**
 * cgroup path → container / pod / systemd service, from the path alone (pure).
 *
 * Shapes recognised (v1 paths are per hierarchy, v2 paths are the unified path; the same strings):
 * - docker, cgroupfs driver:            /docker/<64 hex>
 * - docker, systemd driver:             /system.slice/docker-<id>.scope
 * - Kubernetes, cgroupfs driver:        /kubepods/<qos>/pod<uid>/<id>   (qos: burstable|besteffort;
 *                                        guaranteed pods sit directly under /kubepods) — the runtime is
 *                                        not in the path (containerd, cri-dockerd), except cri-o's
 *                                        `crio-<id>`; resolveContainerNames() tells them apart.
 * - Kubernetes, systemd driver:         /kubepods.slice/kubepods-<qos>.slice/kubepods-<qos>-pod<uid with _>.slice/
 *                                        cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
 *                                        (crio-conmon-<id>.scope is cri-o's monitor process)
 * - podman:                             /machine.slice/libpod-<id>.scope (also under user@UID.service),
 *                                        /libpod_parent/libpod-<id> (cgroupfs), libpod-conmon-<id>.scope
 * - systemd services:                   /system.slice/nginx.service → service "nginx" (only when no
 *                                        container matched deeper in the path)
 * A path nested in a container (docker-in-docker, kind nodes, systemd inside a container) resolves to
 * the deepest container segment; the pod is the nearest pod segment above it.
 * A trailing " (deleted)" (from /proc/PID/cgroup of a process whose cgroup was removed) is ignored.
 */

export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman' | 'systemd-service' | 'unknown';
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

export interface ContainerIdentity {
  runtime: ContainerRuntime;
  /** The runtime's container id (64 hex for docker/containerd/cri-o/podman), or the unit name for a systemd service. */
  containerId: string;
  /** Kubernetes pod UID (with dashes) when the path is under kubepods. */
  podUid?: string;
  qosClass?: QosClass;
  /** systemd-service: the service name without `.service`. */
  serviceName?: string;
  /** A runtime helper process rather than the workload (cri-o's conmon, podman's conmon). */
  monitor?: boolean;
  /** The cgroup path up to and including the container (or service) segment. */
  cgroupPath: string;
}

export interface PodIdentity {
  podUid: string;
  qosClass: QosClass;
  /** The cgroup path of the pod. */
  cgroupPath: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const PREFIXED: { re: RegExp; runtime: ContainerRuntime; monitor?: boolean }[] = [
  { re: /^cri-containerd-([0-9a-f]{12,64})\.scope$/, runtime: 'containerd' },
  { re: /^crio-conmon-([0-9a-f]{12,64})\.scope$/, runtime: 'cri-o', monitor: true },
  { re: /^crio-([0-9a-f]{12,64})(?:\.scope)?$/, runtime: 'cri-o' },
  { re: /^docker-([0-9a-f]{12,64})\.scope$/, runtime: 'docker' },
  { re: /^libpod-conmon-([0-9a-f]{12,64})(?:\.scope)?$/, runtime: 'podman', monitor: true },
  { re: /^libpod-([0-9a-f]{12,64})(?:\.scope)?$/, runtime: 'podman' },
];
const POD_CGROUPFS = /^pod([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/;
const POD_SYSTEMD = /^(?:kubelet-)?kubepods(?:-(burstable|besteffort))?-pod([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}|[0-9a-f]{32})\.slice$/;

function segments(path: string): string[] {
  const p = path.endsWith(' (deleted)') ? path.slice(0, -' (deleted)'.length) : path;
  return p.split('/').filter((s) => s !== '');
}

interface PodAt extends PodIdentity {
  index: number;
}

function podAt(segs: string[], i: number): PodAt | undefined {
  const s = segs[i]!;
  const cgroupPath = '/' + segs.slice(0, i + 1).join('/');
  const sd = POD_SYSTEMD.exec(s);
  if (sd) return { podUid: sd[2]!.replace(/_/g, '-'), qosClass: (sd[1] as QosClass | undefined) ?? 'guaranteed', cgroupPath, index: i };
  const cf = POD_CGROUPFS.exec(s);
  if (cf && i > 0) {
    const parent = segs[i - 1]!;
    const grand = segs[i - 2];
    if (parent === 'kubepods') return { podUid: cf[1]!, qosClass: 'guaranteed', cgroupPath, index: i };
    if ((parent === 'burstable' || parent === 'besteffort') && grand === 'kubepods') {
      return { podUid: cf[1]!, qosClass: parent, cgroupPath, index: i };
    }
  }
  return undefined;
}

/** The Kubernetes pod a cgroup path belongs to (the deepest pod segment), if any. */
export function identifyPod(cgroupPath: string): PodIdentity | undefined {
  const segs = segments(cgroupPath);
  for (let i = segs.length - 1; i >= 0; i--) {
    const p = podAt(segs, i);
    if (p) return { podUid: p.podUid, qosClass: p.qosClass, cgroupPath: p.cgroupPath };
  }
  return undefined;
}

/** The container (or systemd service) a cgroup path belongs to; undefined for host-level cgroups and pods without a container segment. */
export function identifyContainer(cgroupPath: string): ContainerIdentity | undefined {
  const segs = segments(cgroupPath);
  for (let i = segs.length - 1; i >= 0; i--) {
    const s = segs[i]!;
    const cgroupPathHere = '/' + segs.slice(0, i + 1).join('/');
    let found: Omit<ContainerIdentity, 'cgroupPath'> | undefined;
    for (const p of PREFIXED) {
      const m = p.re.exec(s);
      if (m) {
        found = { runtime: p.runtime, containerId: m[1]!, ...(p.monitor ? { monitor: true } : {}) };
        break;
      }
    }
    if (!found && HEX64.test(s) && i > 0) {
      const parent = segs[i - 1]!;
      if (parent === 'docker') found = { runtime: 'docker', containerId: s };
      else if (podAt(segs, i - 1)) found = { runtime: 'unknown', containerId: s };
      else if (parent === 'libpod_parent') found = { runtime: 'podman', containerId: s };
    }
    if (!found) continue;
    for (let j = i - 1; j >= 0; j--) {
      const pod = podAt(segs, j);
      if (pod) return { ...found, podUid: pod.podUid, qosClass: pod.qosClass, cgroupPath: cgroupPathHere };
    }
    return { ...found, cgroupPath: cgroupPathHere };
  }
  // No container: a systemd service (the deepest .service unit that is not a user manager).
  for (let i = segs.length - 1; i >= 0; i--) {
    const m = /^(.+)\.service$/.exec(segs[i]!);
    if (!m || /^user@\d+$/.test(m[1]!)) continue;
    return { runtime: 'systemd-service', containerId: segs[i]!, serviceName: m[1]!, cgroupPath: '/' + segs.slice(0, i + 1).join('/') };
  }
  return undefined;
}
