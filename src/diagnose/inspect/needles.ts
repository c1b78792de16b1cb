/**
 * Multi-pattern literal search (Wu–Manber over ASCII needles) used to jump from one candidate report header
 * to the next in big logs: a window slides by up to the shortest needle's length per table lookup,
 * whatever the number of rules. (A regex alternation of every header, or a per-character JavaScript
 * loop, is several times slower in V8.)
 */
const ALPHA = 128;

export class NeedleScanner {
  /** Newlines passed over by the last find. */
  newlines = 0;
  private readonly minLen: number;
  private readonly shift: Uint8Array;
  private readonly buckets: Map<number, Uint8Array[]>;

  constructor(needles: string[]) {
    for (const n of needles) {
      if (n.length < 3 || !/^[\x20-\x7e]+$/.test(n)) throw new Error(`header needle ${JSON.stringify(n)} must be 3 or more printable ASCII characters`);
    }
    this.minLen = needles.length ? Math.min(...needles.map((n) => n.length)) : 3;
    const m = this.minLen;
    this.shift = new Uint8Array(ALPHA * ALPHA).fill(Math.min(255, m - 1));
    this.buckets = new Map();
    for (const n of needles) {
      const bytes = Buffer.from(n, 'latin1');
      for (let j = 0; j + 1 < m; j++) {
        const h = (bytes[j]! << 7) | bytes[j + 1]!;
        this.shift[h] = Math.min(this.shift[h]!, m - 2 - j);
      }
      const h0 = (bytes[0]! << 7) | bytes[1]!;
      const list = this.buckets.get(h0) ?? [];
      list.push(bytes);
      this.buckets.set(h0, list);
    }
  }

  /**
   * From `from` (a line start), the start of the first line containing a needle, or -1; `newlines` is
   * set to the newlines in [from, result) (or [from, end)). Works on UTF-8 bytes (needles are ASCII),
   * so the lines that are skipped are never decoded. Wu–Manber: a window of the shortest needle's length slides by the shift its last two bytes allow,
   * so most bytes are never looked at; newlines are counted with the native indexOf.
   */
  findBytes(buf: Uint8Array, from: number, end = buf.length): number {
    const m = this.minLen;
    const shift = this.shift;
    const buckets = this.buckets;
    let pos = from + m - 1;
    let found = -1;
    while (pos < end) {
      const b1 = buf[pos - 1]!;
      const b2 = buf[pos]!;
      const sh = b1 < ALPHA && b2 < ALPHA ? shift[(b1 << 7) | b2]! : m - 1;
      if (sh > 0) {
        pos += sh;
        continue;
      }
      const start = pos - m + 1;
      const list = buckets.get((buf[start]! << 7) | buf[start + 1]!);
      if (list) {
        for (const nd of list) {
          if (start + nd.length > end) continue;
          let k = 2;
          while (k < nd.length && buf[start + k] === nd[k]) k++;
          if (k === nd.length) {
            found = start;
            break;
          }
        }
      }
      if (found >= 0) break;
      pos++;
    }
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
    let lineStart = -1;
    if (found >= 0) lineStart = found === from ? from : b.lastIndexOf(10, found - 1) + 1;
    if (lineStart >= 0 && lineStart < from) lineStart = from;
    let nl = 0;
    const stop = lineStart >= 0 ? lineStart : end;
    for (let i = b.indexOf(10, from); i >= 0 && i < stop; i = b.indexOf(10, i + 1)) nl++;
    this.newlines = nl;
    return lineStart;
  }

}
