/**
 * Runs scanKpages on the live host in a worker thread, so the ~1 s the kernel spends producing
 * /proc/kpageflags overlaps with the rest of a report's reads on another CPU. Returns the plain,
 * cloneable part of the scan (no per-cgroup map unless asked, no methods).
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { LiveHost } from '../../host/live.js';
import { type KpageScan, scanKpages } from './scan.js';

export type KpageSummaryScan = Pick<KpageScan, 'pfns' | 'pageSizeBytes' | 'classes' | 'counters' | 'method' | 'durationMs'> & {
  byCgroup?: [number, NonNullable<KpageScan['byCgroup']> extends Map<number, infer V> ? V : never][];
};

interface Request {
  cgroups: boolean;
}

export function scanKpagesInWorker(opts: { cgroups?: boolean } = {}): Promise<KpageSummaryScan> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { cgroups: opts.cgroups === true } satisfies Request });
    w.once('message', (m: { ok: KpageSummaryScan } | { error: { message: string; code?: string; path?: string } }) => {
      if ('ok' in m) resolve(m.ok);
      else reject(Object.assign(new Error(m.error.message), { code: m.error.code, path: m.error.path }));
    });
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`kpage worker exited with ${code}`));
    });
  });
}

if (!isMainThread && parentPort && (workerData as Request | undefined)?.cgroups !== undefined) {
  const req = workerData as Request;
  scanKpages(new LiveHost(), { cgroups: req.cgroups })
    .then((s) => {
      const out: KpageSummaryScan = { pfns: s.pfns, pageSizeBytes: s.pageSizeBytes, classes: s.classes, counters: s.counters, method: s.method, durationMs: s.durationMs };
      if (s.byCgroup) out.byCgroup = [...s.byCgroup.entries()];
      parentPort!.postMessage({ ok: out });
    })
    .catch((err: unknown) => {
      const e = err as { message?: string; code?: string; path?: string };
      parentPort!.postMessage({ error: { message: e.message ?? String(err), code: e.code, path: e.path } });
    });
}
