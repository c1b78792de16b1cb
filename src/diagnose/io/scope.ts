/**
 * The scope of `oscope io` (--pid, --cgroup, --container, --pod) as a pure predicate over a process's
 * pid, cgroup path (in the io hierarchy) and container. Containers and pods are matched the way
 * `oscope filecache` and `oscope mem` match them (src/diagnose/filecache/analyze.ts resolveScope): a
 * container by id prefix or name, a pod by name[/namespace] or uid.
 */
import type { ContainerRef } from '../../contract/common.js';

export interface IoScope {
  pid?: number;
  /** A cgroup path in the io hierarchy: processes in it or below. */
  cgroup?: string;
  /** Container id prefix or name (systemd services by their unit name too). */
  container?: string;
  /** Pod name[/namespace] or pod uid. */
  pod?: string;
}

export interface ScopedTask {
  pid: number;
  cgroup: string;
  container?: ContainerRef | undefined;
}

export function cgroupWithin(path: string, root: string): boolean {
  return root === '/' || path === root || path.startsWith(`${root}/`);
}

export function podMatches(ref: ContainerRef | undefined, query: string): boolean {
  if (!ref) return false;
  const [name, ns] = query.split('/', 2);
  return (ref.podName !== undefined && ref.podName === name && (ns === undefined || ref.podNamespace === ns)) || (ref.podUid !== undefined && ref.podUid === name);
}

export function containerMatches(ref: ContainerRef | undefined, query: string): boolean {
  return ref !== undefined && (ref.id.startsWith(query) || ref.name === query);
}

export function inScope(t: ScopedTask, s: IoScope): boolean {
  if (s.pid !== undefined && t.pid !== s.pid) return false;
  if (s.cgroup !== undefined && !cgroupWithin(t.cgroup, s.cgroup)) return false;
  if (s.container !== undefined && !containerMatches(t.container, s.container)) return false;
  if (s.pod !== undefined && !podMatches(t.container, s.pod)) return false;
  return true;
}

/** How the scope reads in a sentence ("container abc", "pod web/prod"). */
export function scopeText(s: IoScope): string | undefined {
  if (s.pid !== undefined) return `process ${s.pid}`;
  if (s.cgroup !== undefined) return `cgroup ${s.cgroup}`;
  if (s.container !== undefined) return `container ${s.container}`;
  if (s.pod !== undefined) return `pod ${s.pod}`;
  return undefined;
}
