/**
 * Captures this node's configuration (`oscope.config/v1` body) through the Host: sysctls, kernel command
 * line, kernel release/build/config, loaded modules, transparent hugepages, cgroup layout, CPU and memory
 * topology. Reads only; each part that cannot be read is named in `missing`, never guessed.
 */
import type { ConfigDocument } from '../../contract/config.js';
import type { Host } from '../../host/host.js';
import { memoryHierarchyOf } from '../../kernel/cgroup/discover.js';
import { readCgroupHierarchies } from '../../kernel/cgroup/hierarchies.js';
import { readKernelConfig } from '../../kernel/config/kconfig.js';
import { readCmdline } from '../../kernel/procfs/cmdline.js';
import { readMeminfo } from '../../kernel/procfs/meminfo.js';
import { readModules } from '../../kernel/procfs/modules.js';
import { readSysctls } from '../../kernel/procfs/sysctl.js';
import { readThp } from '../../kernel/sysfs/thp.js';
import { readTopology } from '../../kernel/sysfs/topology.js';

export type ConfigCapture = Omit<ConfigDocument, 'schema' | 'host'>;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** "model name\t: Intel(R) Xeon(R) …" of the first CPU (x86), or "CPU part"/"Hardware" elsewhere. */
export function cpuModelOf(cpuinfo: string): string | undefined {
  const m = /^(?:model name|Model|Hardware|cpu model)\s*:\s*(.+)$/m.exec(cpuinfo);
  return m?.[1]?.trim();
}

export async function collectConfig(host: Host, onProgress: (step: string) => void = () => {}): Promise<ConfigCapture> {
  const missing: string[] = [];
  onProgress('sysctl');
  const sysctls = await readSysctls(host);
  const release = sysctls.values['kernel.osrelease'] ?? host.info().kernel;
  const kernel: ConfigCapture['kernel'] = { release };
  if (sysctls.values['kernel.version'] !== undefined) kernel.version = sysctls.values['kernel.version'];
  if (sysctls.values['kernel.arch'] !== undefined) kernel.arch = sysctls.values['kernel.arch'];

  onProgress('cmdline');
  let cmdline: ConfigCapture['cmdline'] = null;
  try {
    const c = await readCmdline(host);
    cmdline = { raw: c.raw, params: c.params.map((p) => (p.value === undefined ? { key: p.key } : { key: p.key, value: p.value })) };
  } catch (err) {
    missing.push(`kernel command line: ${message(err)}`);
  }

  onProgress('kernel-config');
  let kernelConfig: ConfigCapture['kernelConfig'] = null;
  let kernelConfigMissing: string[] | undefined;
  try {
    const k = await readKernelConfig(host, release);
    if ('missing' in k) {
      kernelConfigMissing = k.missing;
      missing.push(`kernel config: neither ${k.missing.join(' nor ')} exists (install the kernel's config file, or build with CONFIG_IKCONFIG_PROC=y)`);
    } else kernelConfig = k;
  } catch (err) {
    missing.push(`kernel config: ${message(err)}`);
  }

  onProgress('modules');
  let modules: ConfigCapture['modules'] = null;
  try {
    modules = (await readModules(host)) ?? null;
    if (modules === null) missing.push('loaded modules: /proc/modules does not exist (kernel built without module support)');
  } catch (err) {
    missing.push(`loaded modules: ${message(err)}`);
  }

  onProgress('thp');
  const thp = (await readThp(host)) ?? null;
  if (thp === null) missing.push('transparent hugepages: /sys/kernel/mm/transparent_hugepage does not exist (kernel built without THP)');

  onProgress('cgroup');
  let cgroup: ConfigCapture['cgroup'] = { mode: 'none', hierarchies: [], memory: null, controllers: {} };
  try {
    const layout = await readCgroupHierarchies(host);
    const mem = memoryHierarchyOf(layout);
    cgroup = {
      mode: layout.mode,
      hierarchies: layout.hierarchies.map((h) => ({ version: h.version, controllers: [...h.controllers].sort(), ...(h.name !== undefined ? { name: h.name } : {}), mountPoint: h.mountPoint })),
      memory: mem ? { version: mem.version, mountPoint: mem.mountPoint } : null,
      controllers: Object.fromEntries([...layout.controllers.values()].map((c) => [c.name, c.enabled])),
    };
  } catch (err) {
    missing.push(`cgroup layout: ${message(err)}`);
  }

  onProgress('topology');
  const topo = await readTopology(host);
  const topology: ConfigCapture['topology'] = {
    numaNodes: topo.nodes.map((n) => (n.memTotalBytes === undefined ? { id: n.id, cpus: n.cpus } : { id: n.id, cpus: n.cpus, memTotalBytes: n.memTotalBytes })),
    hugepages: topo.hugepages,
  };
  const cpuinfo = await host.tryReadText('/proc/cpuinfo');
  const model = cpuinfo !== undefined ? cpuModelOf(cpuinfo) : undefined;
  if (model !== undefined) topology.cpuModel = model;
  if (topo.cpusPossible !== undefined) topology.cpusPossible = topo.cpusPossible;
  if (topo.cpusOnline !== undefined) topology.cpusOnline = topo.cpusOnline;
  if (topo.cpusOnlineCount !== undefined) topology.cpusOnlineCount = topo.cpusOnlineCount;
  if (topo.smtActive !== undefined) topology.smtActive = topo.smtActive;
  try {
    const mi = await readMeminfo(host);
    const total = mi.bytes('MemTotal');
    const swap = mi.bytes('SwapTotal');
    if (total !== undefined) topology.memTotalBytes = total;
    if (swap !== undefined) topology.swapTotalBytes = swap;
  } catch (err) {
    missing.push(`memory size: ${message(err)}`);
  }

  return {
    kernel,
    cmdline,
    kernelConfig,
    ...(kernelConfigMissing ? { kernelConfigMissing } : {}),
    sysctls: sysctls.values,
    sysctlsUnreadable: sysctls.unreadable,
    modules,
    thp,
    cgroup,
    topology,
    missing,
  };
}
