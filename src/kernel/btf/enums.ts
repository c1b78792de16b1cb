/**
 * A minimal reader of the kernel's BTF (/sys/kernel/btf/vmlinux, format: include/uapi/linux/btf.h):
 * just enough to name the values of an enum (skb_drop_reason, sk_rst_reason) as the RUNNING kernel
 * defines them, so reasons added by newer kernels are named too. Pure parse over the bytes; the read
 * goes through the Host.
 *
 *   struct btf_header { u16 magic (0xeB9F); u8 version; u8 flags; u32 hdr_len;
 *                       u32 type_off; u32 type_len; u32 str_off; u32 str_len; }   offsets after hdr_len
 *   struct btf_type   { u32 name_off; u32 info (vlen 0-15, kind 24-28, kind_flag 31); u32 size|type; }
 *   followed by kind-specific data (sizes below). ENUM: vlen × { u32 name_off; s32 val };
 *   ENUM64: vlen × { u32 name_off; u32 val_lo32; u32 val_hi32 }.
 */
import type { Host } from '../../host/host.js';
import { ParseError } from '../errors.js';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

const BTF_MAGIC = 0xeb9f;

/** Bytes after struct btf_type for each kind (vlen-multiplied where noted). */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1: // INT
    case 14: // VAR
    case 17: // DECL_TAG
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
    case 15: // DATASEC
    case 19: // ENUM64
      return 12 * vlen;
    case 6: // ENUM
    case 13: // FUNC_PROTO
      return 8 * vlen;
    case 2: // PTR
    case 7: // FWD
    case 8: // TYPEDEF
    case 9: // VOLATILE
    case 10: // CONST
    case 11: // RESTRICT
    case 12: // FUNC
    case 16: // FLOAT
    case 18: // TYPE_TAG
      return 0;
    default:
      return -1;
  }
}

/** value → name of each named enum asked for; an enum the BTF does not have is absent from the result. */
export function parseBtfEnums(buf: Uint8Array, want: readonly string[], file = VMLINUX_BTF): Map<string, Map<number, string>> {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 24) throw new ParseError(file, 1, 'too short for a BTF header');
  let le = true;
  if (b.readUInt16LE(0) !== BTF_MAGIC) {
    if (b.readUInt16BE(0) !== BTF_MAGIC) throw new ParseError(file, 1, 'not BTF (bad magic)');
    le = false;
  }
  const u32 = (o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const s32 = (o: number): number => (le ? b.readInt32LE(o) : b.readInt32BE(o));
  const hdrLen = u32(4);
  const typeOff = hdrLen + u32(8);
  const typeLen = u32(12);
  const strOff = hdrLen + u32(16);
  const strLen = u32(20);
  if (typeOff + typeLen > b.length || strOff + strLen > b.length) throw new ParseError(file, 1, 'BTF sections run past the end of the file');
  const str = (off: number): string => {
    if (off >= strLen) return '';
    const start = strOff + off;
    const end = b.indexOf(0, start);
    return b.toString('latin1', start, end < 0 || end > strOff + strLen ? strOff + strLen : end);
  };
  const wanted = new Set(want);
  const out = new Map<string, Map<number, string>>();
  let p = typeOff;
  const end = typeOff + typeLen;
  while (p + 12 <= end) {
    const nameOff = u32(p);
    const info = u32(p + 4);
    const vlen = info & 0xffff;
    const kind = (info >>> 24) & 0x1f;
    const extra = extraBytes(kind, vlen);
    if (extra < 0) throw new ParseError(file, 1, `unknown BTF kind ${kind} at offset ${p}`);
    if ((kind === 6 || kind === 19) && nameOff !== 0) {
      const name = str(nameOff);
      if (wanted.has(name) && !out.has(name)) {
        const values = new Map<number, string>();
        const size = kind === 6 ? 8 : 12;
        for (let i = 0; i < vlen; i++) {
          const o = p + 12 + i * size;
          if (o + size > end) throw new ParseError(file, 1, `enum ${name} runs past the type section`);
          const v = kind === 6 ? s32(o + 4) >>> 0 : u32(o + 4) + u32(o + 8) * 2 ** 32;
          values.set(v, str(u32(o)));
        }
        out.set(name, values);
        if (out.size === wanted.size) break;
      }
    }
    p += 12 + extra;
  }
  return out;
}

/** Reads the running kernel's BTF through the Host and names the enums asked for. */
export async function readKernelEnums(host: Host, want: readonly string[]): Promise<Map<string, Map<number, string>>> {
  const chunks: Buffer[] = [];
  await host.scanFile(VMLINUX_BTF, 1 << 20, (c) => chunks.push(Buffer.from(c)));
  return parseBtfEnums(Buffer.concat(chunks), want);
}

/**
 * Whether the BTF's string section holds `name` (a type, function or member name). tp_btf programs
 * need their tracepoint's `btf_trace_<name>` type at load time: this says beforehand whether a kernel
 * has it, so an optional program is left out instead of failing the whole object's load.
 */
export function btfHasString(buf: Uint8Array, name: string): boolean {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 24 || b.readUInt16LE(0) !== BTF_MAGIC) return false;
  const hdrLen = b.readUInt32LE(4);
  const strOff = hdrLen + b.readUInt32LE(16);
  const strLen = b.readUInt32LE(20);
  const strings = b.subarray(strOff, strOff + strLen);
  return strings.indexOf(Buffer.from(`\0${name}\0`, 'latin1')) >= 0;
}
