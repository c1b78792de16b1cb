/**
 * What this kernel offers, probed through the Host (no version guessing). Each probe answers
 * yes/no with the evidence it looked at, so `oscope doctor` can say why.
 *
 * Probes that need the BPF syscall or the native addon (loading a program, ring buffer, bpf_loop)
 * live in src/kernel/bpf/ and are merged in by the caller when available.
 */
import type { Host } from '../host/host.js';
import { discoverMemoryHierarchy } from './cgroup/discover.js';

export interface Feature {
  id: string;
  available: boolean;
  detail: string;
}

const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

async function firstExisting(host: Host, paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await host.exists(p)) return p;
  return undefined;
}

async function readable(host: Host, path: string): Promise<{ ok: boolean; why: string }> {
  try {
    // Reading a few bytes is enough; scanFile with a tiny chunk reads once and stops at EOF or the first chunk.
    let got = false;
    await host.scanFile(path, 8, () => {
      got = true;
      throw new StopScan();
    }).catch((err: unknown) => {
      if (!(err instanceof StopScan)) throw err;
    });
    return { ok: got, why: got ? `${path} readable` : `${path} is empty` };
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
}

class StopScan extends Error {}

export function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

export async function probeKernelFeatures(host: Host): Promise<Feature[]> {
  const out: Feature[] = [];
  const add = (id: string, available: boolean, detail: string): void => {
    out.push({ id, available, detail });
  };
  const info = host.info();

  add('root', info.uid === 0, info.uid === 0 ? 'running as root' : `running as uid ${info.uid}: most kernel files are hidden`);
  const btf = await host.exists('/sys/kernel/btf/vmlinux');
  add('btf', btf, btf ? '/sys/kernel/btf/vmlinux present (CO-RE BPF works)' : 'no /sys/kernel/btf/vmlinux: CO-RE BPF programs cannot load');

  const tracefs = await firstExisting(host, TRACEFS.map((p) => `${p}/events`));
  add('tracepoints', tracefs !== undefined, tracefs ? `${tracefs.replace(/\/events$/, '')} mounted` : 'tracefs not mounted');
  const tdir = tracefs?.replace(/\/events$/, '');
  const kprobes = tdir ? await host.exists(`${tdir}/kprobe_events`) : false;
  add('kprobes', kprobes, kprobes ? `${tdir}/kprobe_events present` : 'no kprobe_events in tracefs (CONFIG_KPROBE_EVENTS off)');
  if (tdir) {
    const tracers = (await host.tryReadText(`${tdir}/available_tracers`))?.trim().split(/\s+/) ?? [];
    add('osnoise', tracers.includes('osnoise'), `available_tracers: ${tracers.join(' ') || '(unreadable)'}`);
    add('timerlat', tracers.includes('timerlat'), tracers.includes('timerlat') ? 'timerlat tracer available' : 'no timerlat tracer');
  }
  const kcore = await readable(host, '/proc/kcore');
  add('kcore', kcore.ok, kcore.why);
  const kpf = await readable(host, '/proc/kpageflags');
  add('kpageflags', kpf.ok, kpf.why);
  const kpc = await readable(host, '/proc/kpagecgroup');
  add('kpagecgroup', kpc.ok, kpc.why);
  const allocinfo = await host.exists('/proc/allocinfo');
  add('allocinfo', allocinfo, allocinfo ? '/proc/allocinfo present (memory allocation profiling)' : 'no /proc/allocinfo (CONFIG_MEM_ALLOC_PROFILING off or kernel < 6.10)');
  const pageOwner = await host.exists('/sys/kernel/debug/page_owner');
  add('page_owner', pageOwner, pageOwner ? '/sys/kernel/debug/page_owner present' : 'no page_owner (needs page_owner=on and debugfs)');
  const slab = await readable(host, '/proc/slabinfo');
  add('slabinfo', slab.ok, slab.why);
  const vmi = await readable(host, '/proc/vmallocinfo');
  add('vmallocinfo', vmi.ok, vmi.why);
  add('cachestat', kernelAtLeast(info.kernel, 6, 5), kernelAtLeast(info.kernel, 6, 5) ? `kernel ${info.kernel} has cachestat(2) (6.5+)` : `kernel ${info.kernel} predates cachestat(2): mincore fallback`);
  const psi = await host.exists('/proc/pressure/memory');
  add('psi', psi, psi ? '/proc/pressure present' : 'no /proc/pressure (psi=0 or kernel < 4.20)');

  const hier = await discoverMemoryHierarchy(host).catch(() => undefined);
  add('memcg-v1', hier?.version === 1, hier?.version === 1 ? `memory controller on cgroup v1 at ${hier.mountPoint}` : 'memory controller not on cgroup v1');
  add('memcg-v2', hier?.version === 2, hier?.version === 2 ? `memory controller on cgroup v2 at ${hier.mountPoint}` : 'memory controller not on cgroup v2');
  const kmsg = await host.exists('/dev/kmsg');
  add('kmsg', kmsg, kmsg ? '/dev/kmsg present' : 'no /dev/kmsg');
  return out;
}
