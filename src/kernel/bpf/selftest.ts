/**
 * The self-test program (bpf/selftest.bpf.c): the TypeScript mirror of bpf/selftest.h and the names
 * the tests and `probeBpf()` use. Keep SELFTEST_EVENT_LAYOUT in step with struct selftest_event.
 */

export const SELFTEST_OBJECT = 'selftest';

export const SELFTEST_PROGRAMS = {
  tracepoint: 'oscope_st_tp',
  rawTracepoint: 'oscope_st_raw',
  tpBtf: 'oscope_st_btf',
  perfEvent: 'oscope_st_perf',
  iterator: 'oscope_st_iter',
} as const;

/** enum selftest_source */
export const SELFTEST_SOURCE = { tracepoint: 1, rawTracepoint: 2, tpBtf: 3 } as const;
export type SelftestSource = keyof typeof SELFTEST_SOURCE;

/** Offsets of struct selftest_event (104 bytes). */
export const SELFTEST_EVENT_LAYOUT = {
  pid: 0,
  ppid: 4,
  source: 8,
  stackId: 12,
  tsNs: 16,
  comm: 24,
  commLen: 16,
  filename: 40,
  filenameLen: 64,
  size: 104,
} as const;

export interface SelftestEvent {
  pid: number;
  ppid: number;
  source: SelftestSource | 'unknown';
  /** Kernel stack id in the `stacks` map; negative when not recorded. */
  stackId: number;
  tsNs: bigint;
  comm: string;
  filename: string;
}

/** A NUL-terminated C string of a fixed-size field. */
export function cString(b: Buffer, offset: number, len: number): string {
  const s = b.subarray(offset, offset + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul < 0 ? s.length : nul).toString('utf8');
}

export function decodeSelftestEvent(b: Buffer): SelftestEvent {
  const L = SELFTEST_EVENT_LAYOUT;
  if (b.length < L.size) throw new Error(`selftest event is ${b.length} bytes, expected ${L.size}`);
  const src = b.readUInt32LE(L.source);
  const source = (Object.keys(SELFTEST_SOURCE) as SelftestSource[]).find((k) => SELFTEST_SOURCE[k] === src) ?? 'unknown';
  return {
    pid: b.readUInt32LE(L.pid),
    ppid: b.readUInt32LE(L.ppid),
    source,
    stackId: b.readInt32LE(L.stackId),
    tsNs: b.readBigUInt64LE(L.tsNs),
    comm: cString(b, L.comm, L.commLen),
    filename: cString(b, L.filename, L.filenameLen),
  };
}

/** Parses the task iterator's output: "tgid pid comm" lines. */
export function parseTaskIterOutput(text: string): Array<{ tgid: number; pid: number; comm: string }> {
  const out: Array<{ tgid: number; pid: number; comm: string }> = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\d+) (.*)$/.exec(line);
    if (m) out.push({ tgid: Number(m[1]), pid: Number(m[2]), comm: m[3]! });
  }
  return out;
}
