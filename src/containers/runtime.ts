/**
 * Container names from the runtimes' own state files (read through the Host, so this works on bundles).
 *
 * - containerd (incl. CRI): each running task has a bundle directory
 *   /run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/ holding the OCI runtime spec
 *   config.json. The CRI plugin puts Kubernetes identity into its annotations:
 *   io.kubernetes.cri.container-type (sandbox|container), io.kubernetes.cri.container-name,
 *   io.kubernetes.cri.sandbox-name, io.kubernetes.cri.sandbox-namespace, io.kubernetes.cri.sandbox-uid,
 *   io.kubernetes.cri.sandbox-id, io.kubernetes.cri.image-name. Kubernetes namespace "k8s.io" is the
 *   CRI's containerd namespace.
 * - docker: /var/lib/docker/containers/<id>/config.v2.json: `Name` ("/web"), `Config.Image`,
 *   `Config.Labels` (cri-dockerd / dockershim put io.kubernetes.pod.name, io.kubernetes.pod.namespace,
 *   io.kubernetes.pod.uid, io.kubernetes.container.name there), `State.Pid`.
 * - cri-o: /run/containers/storage/overlay-containers/<id>/userdata/config.json (OCI spec) with
 *   annotations io.kubernetes.pod.name, io.kubernetes.pod.namespace, io.kubernetes.pod.uid,
 *   io.kubernetes.container.name (also used by podman for its own metadata when present).
 * Unreadable or malformed state files are skipped: names are a nicety, never a reason to fail.
 *
 * containerd's state directory is /run/containerd by default, /run/k3s/containerd on k3s, and anything
 * a node's config.toml says (`state = ...`): OSCOPE_CONTAINERD_STATE (colon-separated state dirs) adds
 * more, looked at first.
 */
import type { Host } from '../host/host.js';
import { type ContainerIdentity, type ContainerRuntime, identifyContainer } from './identify.js';

export const CONTAINERD_TASK_DIR = '/run/containerd/io.containerd.runtime.v2.task';
/** containerd state directories looked at by default (containerd's own default, k3s). */
export const CONTAINERD_STATE_DIRS: readonly string[] = ['/run/containerd', '/run/k3s/containerd'];
export const DOCKER_CONTAINERS_DIR = '/var/lib/docker/containers';
export const CRIO_CONTAINERS_DIR = '/run/containers/storage/overlay-containers';

export interface ContainerNames {
  containerId: string;
  runtime: ContainerRuntime;
  /** The container's name (Kubernetes container name, or docker's name without the leading "/"). */
  name?: string;
  podName?: string;
  podNamespace?: string;
  podUid?: string;
  /** CRI: `sandbox` for the pod's pause container, `container` for workloads. */
  containerType?: 'sandbox' | 'container';
  image?: string;
  /** containerd namespace (k8s.io for the CRI, default/moby/...). */
  namespace?: string;
  /** Where the state was read from. */
  stateFile: string;
  /** The OCI spec's root.path (absolute, or relative to the bundle as written there). */
  rootfs?: string;
}

type Json = Record<string, unknown>;

export interface RuntimeStateOptions {
  /** containerd task bundle directories (`<state>/io.containerd.runtime.v2.task`); default containerdTaskDirs(). */
  containerdTaskDirs?: readonly string[];
}

/** The task bundle directories to look in: OSCOPE_CONTAINERD_STATE's state dirs first, then the defaults. */
export function containerdTaskDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = (env.OSCOPE_CONTAINERD_STATE ?? '').split(':').filter((d) => d.startsWith('/'));
  const states = [...new Set([...extra, ...CONTAINERD_STATE_DIRS].map((d) => d.replace(/\/+$/, '') || '/'))];
  return states.map((d) => `${d === '/' ? '' : d}/io.containerd.runtime.v2.task`);
}

/** [task dir, namespace] pairs of every containerd state dir that exists, in lookup order. */
async function containerdNamespaces(host: Host, opts: RuntimeStateOptions): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const dir of opts.containerdTaskDirs ?? containerdTaskDirs()) {
    try {
      for (const ns of (await host.readDir(dir)).sort()) out.push([dir, ns]);
    } catch {
      /* no such state dir */
    }
  }
  return out;
}

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

async function readJson(host: Host, path: string): Promise<Json | undefined> {
  const text = await host.tryReadText(path);
  if (text === undefined) return undefined;
  try {
    return obj(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function fromAnnotations(a: Json): Omit<ContainerNames, 'containerId' | 'runtime' | 'stateFile'> {
  const type = str(a['io.kubernetes.cri.container-type']) ?? str(a['io.kubernetes.docker.type']) ?? str(a['io.kubernetes.cri-o.ContainerType']);
  return {
    name: str(a['io.kubernetes.cri.container-name']) ?? str(a['io.kubernetes.container.name']),
    podName: str(a['io.kubernetes.cri.sandbox-name']) ?? str(a['io.kubernetes.pod.name']),
    podNamespace: str(a['io.kubernetes.cri.sandbox-namespace']) ?? str(a['io.kubernetes.pod.namespace']),
    podUid: str(a['io.kubernetes.cri.sandbox-uid']) ?? str(a['io.kubernetes.pod.uid']),
    containerType: type === 'sandbox' || type === 'podsandbox' ? 'sandbox' : type === 'container' ? 'container' : undefined,
    image: str(a['io.kubernetes.cri.image-name']),
  };
}

function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Parses an OCI runtime spec (config.json) into names; pure. */
export function namesFromOciSpec(spec: Json, containerId: string, runtime: ContainerRuntime, stateFile: string): ContainerNames {
  const a = obj(spec['annotations']) ?? {};
  return compact({ containerId, runtime, stateFile, ...fromAnnotations(a), rootfs: str(obj(spec['root'])?.['path']) });
}

/** Parses docker's config.v2.json into names; pure. */
export function namesFromDockerConfig(cfg: Json, containerId: string, stateFile: string): ContainerNames {
  const config = obj(cfg['Config']) ?? {};
  const labels = obj(config['Labels']) ?? {};
  const k8s = fromAnnotations(labels);
  const name = str(cfg['Name'])?.replace(/^\//, '');
  return compact({ containerId, runtime: 'docker' as const, stateFile, ...k8s, name: k8s.name ?? name, image: str(config['Image']) ?? k8s.image });
}

/**
 * Looks the ids up in every runtime's state; ids not found are absent from the map. Ids are the full ids
 * identifyContainer() returns (or any task id, for containerd tasks started with a custom name).
 */
export async function resolveContainerNames(host: Host, ids: Iterable<string>, opts: RuntimeStateOptions = {}): Promise<Map<string, ContainerNames>> {
  const out = new Map<string, ContainerNames>();
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return out;
  const namespaces = await containerdNamespaces(host, opts);
  for (const id of wanted) {
    if (id.includes('/') || id === '.' || id === '..') continue;
    for (const [dir, ns] of namespaces) {
      const file = `${dir}/${ns}/${id}/config.json`;
      const spec = await readJson(host, file);
      if (spec) {
        out.set(id, { ...namesFromOciSpec(spec, id, 'containerd', file), namespace: ns });
        break;
      }
    }
    if (out.has(id)) continue;
    const dockerFile = `${DOCKER_CONTAINERS_DIR}/${id}/config.v2.json`;
    const docker = await readJson(host, dockerFile);
    if (docker) {
      out.set(id, namesFromDockerConfig(docker, id, dockerFile));
      continue;
    }
    const crioFile = `${CRIO_CONTAINERS_DIR}/${id}/userdata/config.json`;
    const crio = await readJson(host, crioFile);
    if (crio) out.set(id, namesFromOciSpec(crio, id, 'cri-o', crioFile));
  }
  return out;
}

/** Running containerd tasks: task id → containerd namespace, from the task bundle directories. */
export async function listContainerdTasks(host: Host, opts: RuntimeStateOptions = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const [dir, ns] of await containerdNamespaces(host, opts)) {
    try {
      for (const id of await host.readDir(`${dir}/${ns}`)) if (!out.has(id)) out.set(id, ns);
    } catch {
      /* a namespace removed meanwhile, or not a directory */
    }
  }
  return out;
}

/**
 * identifyContainer(), plus containerd tasks whose cgroup path carries no recognisable id: a task started
 * with `ctr run` gets the cgroup `/<namespace>/<task id>` (any name), and a path whose runtime the
 * shape does not tell ('unknown', e.g. the Kubernetes cgroupfs driver) is containerd when a task of that
 * id exists. Pure given `tasks` (from listContainerdTasks).
 */
export function identifyContainerWithTasks(cgroupPath: string, tasks: ReadonlyMap<string, string>): ContainerIdentity | undefined {
  const id = identifyContainer(cgroupPath);
  if (id && id.runtime === 'unknown' && tasks.has(id.containerId)) return { ...id, runtime: 'containerd' };
  if (id && id.runtime !== 'systemd-service') return id;
  const segs = cgroupPath.replace(/ \(deleted\)$/, '').split('/').filter((x) => x !== '');
  for (let i = segs.length - 1; i >= 1; i--) {
    if (tasks.get(segs[i]!) === segs[i - 1]) {
      return { runtime: 'containerd', containerId: segs[i]!, cgroupPath: '/' + segs.slice(0, i + 1).join('/') };
    }
  }
  return id;
}
