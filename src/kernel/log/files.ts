/**
 * Kernel log files: the classic syslog files and any file a user names (`--log FILE`). Files can be
 * huge (a 1 GB kern.log), so they are streamed through the Host in chunks and decoded incrementally.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Host } from '../../host/host.js';

/** Classic locations, in order of preference (kern.log and messages overlap; dmesg is the boot log). */
export const CLASSIC_KERNEL_LOGS = ['/var/log/kern.log', '/var/log/messages', '/var/log/dmesg'] as const;
/** mcelog's log of machine-check events (not in the kernel log). */
export const MCELOG_PATH = '/var/log/mcelog';

export const LOG_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Streams a text file as UTF-8 chunks (multi-byte characters are never split). Returns the byte count.
 * Throws HostError when the file cannot be read.
 */
export async function streamTextFile(host: Host, path: string, onText: (chunk: string) => void, chunkBytes = LOG_CHUNK_BYTES): Promise<number> {
  const dec = new StringDecoder('utf8');
  let bytes = 0;
  await host.scanFile(path, chunkBytes, (chunk) => {
    bytes += chunk.length;
    const s = dec.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    if (s) onText(s);
  });
  const tail = dec.end();
  if (tail) onText(tail);
  return bytes;
}

/** Streams a file's raw bytes in chunks (the chunk buffer is reused: copy what you keep). Returns bytes. */
export async function streamFileBytes(host: Host, path: string, onChunk: (chunk: Uint8Array) => void, chunkBytes = LOG_CHUNK_BYTES): Promise<number> {
  let bytes = 0;
  await host.scanFile(path, chunkBytes, (chunk) => {
    bytes += chunk.length;
    onChunk(chunk);
  });
  return bytes;
}

/** The year a BSD-syslog file's lines belong to: its modification year (lines carry no year). */
export async function fileYear(host: Host, path: string): Promise<number | undefined> {
  try {
    return new Date((await host.stat(path)).mtimeMs).getFullYear();
  } catch {
    return undefined;
  }
}
