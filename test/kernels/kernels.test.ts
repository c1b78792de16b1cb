/**
 * A second kernel: Debian bookworm's own 6.1 (linux-image-amd64's current package), booted under QEMU
 * with the host's / shared read-only (scripts/kernel-guest.sh), so the paths this VM's kernel cannot
 * take run once per suite: kprobes and fentry are there, /proc/kcore is there, modules load (null_blk,
 * dm-delay), and the memory controller is on cgroup v2. test/kernels/commands.sh runs the commands in
 * the guest; this file checks what they wrote, as the live tests check the same commands here.
 *
 * One boot for all the commands (about 10 s to a shell under TCG, then 5–10 s per command). The
 * kernel, modules and initramfs live in a temporary directory removed at the end. `make test-kernels`
 * runs this file alone; `make test` runs it with the rest when qemu can run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { REPO_ROOT, needsRoot } from '../helpers.js';
import { DOCUMENT_SCHEMA_BY_NAME, type InspectItem, InspectItemSchema, type NetDocument } from '../../src/contract/index.js';

const GUEST = join(REPO_ROOT, 'scripts', 'kernel-guest.sh');
const COMMANDS = join(REPO_ROOT, 'test', 'kernels', 'commands.sh');

function why(): string | false {
  if (needsRoot) return needsRoot;
  if (process.env.OSCOPE_SKIP_KERNELS) return `OSCOPE_SKIP_KERNELS is set (${process.env.OSCOPE_SKIP_KERNELS})`;
  const r = spawnSync('bash', [GUEST, 'check'], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot boot a second kernel here: ${(r.stdout + r.stderr).trim()}`;
  return false;
}
const skip = why();

let work = '';
let out = '';
let bootError = '';

function readOut(name: string): string {
  const p = join(out, name);
  return existsSync(p) ? readFileSync(p, 'utf8') : '';
}
/** One command's result in the guest: exit code, stderr, the parsed JSON document (or undefined). */
function result(name: string): { rc: number; err: string; doc: Record<string, unknown> | undefined; ms: number } {
  const rc = Number(readOut(`${name}.rc`).trim() || '-1');
  const text = readOut(`${name}.json`);
  let doc: Record<string, unknown> | undefined;
  try {
    doc = text.trim() ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    doc = undefined;
  }
  return { rc, err: readOut(`${name}.err`), doc, ms: Number(readOut(`${name}.ms`).trim() || '0') };
}
function ok(name: string): Record<string, unknown> {
  assert.equal(bootError, '', bootError);
  const r = result(name);
  assert.equal(r.rc, 0, `${name} exited ${r.rc} in the guest: ${r.err.slice(0, 800)}`);
  assert.ok(r.doc, `${name} printed no JSON document`);
  const schema = String(r.doc.schema ?? '');
  const zod = DOCUMENT_SCHEMA_BY_NAME[schema as keyof typeof DOCUMENT_SCHEMA_BY_NAME];
  if (zod) {
    const parsed = zod.safeParse(r.doc);
    assert.ok(parsed.success, `${name}: the document does not match ${schema}: ${parsed.success ? '' : parsed.error.message.slice(0, 800)}`);
  }
  return r.doc;
}
const methodText = (doc: Record<string, unknown>): string => JSON.stringify(doc.method ?? {});

describe('a second kernel (Debian 6.1 under QEMU)', { skip }, () => {
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'oscope-test-kernels-'));
    out = join(work, 'out');
    const prep = spawnSync('bash', [GUEST, 'prepare', work], { encoding: 'utf8', timeout: 300_000 });
    if (prep.status !== 0) {
      bootError = `prepare failed: ${(prep.stdout + prep.stderr).trim().slice(-800)}`;
      return;
    }
    // The guest runs commands.sh with the repository (read-only in the guest) and writes to its
    // /oscope-out, which is WORKDIR/out here.
    const wrapper = join(work, 'run.sh');
    spawnSync('bash', ['-c', `printf 'bash %q %q /oscope-out/results\\n' "$1" "$2" > "$3"`, '_', COMMANDS, REPO_ROOT, wrapper]);
    const run = spawnSync('bash', [GUEST, 'run', work, wrapper], { encoding: 'utf8', timeout: 960_000 });
    if (run.status !== 0) bootError = `the guest run failed (exit ${run.status}): ${(run.stdout + run.stderr).trim().slice(-1200)}`;
    out = join(work, 'out', 'results');
  });
  after(() => {
    if (work && !process.env.OSCOPE_KEEP_KERNELS) rmSync(work, { recursive: true, force: true });
  });

  test('the guest runs Debian 6.1, not this kernel', () => {
    assert.equal(bootError, '', bootError);
    assert.match(readOut('kernel'), /^6\.1\./);
  });

  test('doctor: kprobes, fentry and /proc/kcore are available there', () => {
    const doc = ok('doctor');
    const text = JSON.stringify(doc);
    for (const f of ['kprobes', 'fentry', 'kcore', 'btf', 'tp_btf']) {
      assert.match(text, new RegExp(`"${f}"`), `doctor names ${f}`);
    }
    const features = (doc.features ?? []) as { id: string; available: boolean }[];
    const get = (n: string): boolean | undefined => features.find((x) => x.id === n)?.available;
    if (features.length) {
      assert.equal(get('kprobes'), true);
      assert.equal(get('fentry'), true);
      assert.equal(get('kcore'), true);
    }
  });

  test('mem: the memory controller on cgroup v2, kpageflags cross-check', () => {
    const doc = ok('mem');
    assert.match(methodText(doc), /v2/);
  });

  test('filecache: runs and names files', () => {
    const doc = ok('filecache');
    const files = (doc.files ?? []) as unknown[];
    assert.ok(Array.isArray(files));
  });

  test('memleak -t slab: the epoll leak is found and traced', () => {
    const doc = ok('memleak-slab');
    assert.equal((doc.verdict as { leaking: boolean }).leaking, true, JSON.stringify(doc.verdict));
    assert.match(JSON.stringify(doc), /eventpoll_epi/);
    // Debian 6.1's verifier rejects the tp_btf kmem_cache_alloc program (an argument access it does not
    // allow there); the raw_tp fallback must take over and still trace the suspect cache.
    assert.match(methodText(doc), /BPF (tp_btf|raw_tp)/);
    assert.ok(((doc.callsites ?? []) as unknown[]).length > 0 || /still live/.test(JSON.stringify(doc.verdict)), 'outstanding allocations traced');
  });

  test('memleak -t vmalloc: the BPF-map leak is found and traced with fentry/fexit (6.1 has no vmap-area tracepoints)', () => {
    const doc = ok('memleak-vmalloc');
    assert.match(JSON.stringify(doc), /array_map_alloc|bpf_map_area_alloc/);
    assert.match(methodText(doc), /BPF fentry .*on alloc_vmap_area \(fexit\), free_vmap_area_noflush \(fentry\)/);
    const callsites = (doc.callsites ?? []) as { symbol: string; stack: string[] }[];
    assert.ok(callsites.length > 0, 'outstanding allocations grouped by stack');
    assert.ok(callsites.some((c) => c.stack.some((f) => /bpf_map_area_alloc|array_map_alloc/.test(f))), 'the leaking caller is in a stack');
  });

  test('memleak -t vmalloc: the kprobe method still works there when fentry is skipped (OSCOPE_MEMLEAK_ATTACH=kprobe)', () => {
    const doc = ok('memleak-vmalloc-kprobe');
    assert.match(methodText(doc), /BPF kprobe .*__vmalloc_node_range/);
    const callsites = (doc.callsites ?? []) as { symbol: string; stack: string[] }[];
    assert.ok(callsites.some((c) => c.stack.some((f) => /bpf_map_area_alloc|array_map_alloc/.test(f))), 'the leaking caller is in a stack');
  });

  test('runlatency: runs with the tracepoint methods', () => {
    const doc = ok('runlatency');
    assert.match(methodText(doc), /tp_btf|raw_tp/);
  });

  test('load, profile and net run there and say how', () => {
    for (const name of ['load', 'profile', 'net']) {
      const doc = ok(name);
      assert.ok(Object.keys((doc.method ?? {}) as object).length > 0, `${name} names its method`);
    }
  });

  test('inspect --follow: a crafted hung task (oscope-t-hang behind a suspended dm device) is reported with its title; a spoofed user-space line is not', () => {
    assert.equal(bootError, '', bootError);
    const lines = readOut('follow.json').trim().split('\n').filter(Boolean);
    assert.ok(lines.length > 0, `no events: ${readOut('follow.err').slice(0, 400)} / dmesg: ${readOut('dmesg.txt').slice(-600)}`);
    const items = lines.map((l) => (JSON.parse(l) as { schema: string; item: InspectItem }));
    for (const e of items) assert.equal(e.schema, 'oscope.inspect.event/v1');
    const hang = items.map((e) => e.item).find((it) => it.kind === 'HANG' && it.evidence.some((x) => /INFO: task oscope-t-hang:\d+ blocked for more than 2 seconds/.test(x)));
    assert.ok(hang, `no HANG event for oscope-t-hang among: ${items.map((e) => `${e.item.kind} ${e.item.title}`).join(' | ')}`);
    assert.ok(InspectItemSchema.safeParse(hang).success, 'the event item matches the contract');
    assert.match(hang.title, /^INFO: task hung in \S+/);
    assert.ok(hang.stack.length > 0, 'the blocked task\'s stack is kept');
    assert.doesNotMatch(lines.join('\n'), /oscope-t-spoof/, 'a line user space wrote to /dev/kmsg is not taken for a kernel report');
  });

  test('net: a real netem delay of 30 ms on a veth is named as the qdisc stage, its p50 within 20 %', () => {
    assert.equal(bootError, '', bootError);
    assert.match(readOut('net-delay.qdisc'), /netem .*delay 30(\.0)?ms/, `the simulation put netem on the veth: ${readOut('net-delay.qdisc')} ${readOut('sim-net.log').slice(0, 400)} ${readOut('modprobe.err')}`);
    const doc = ok('net-delay') as unknown as NetDocument;
    const q = doc.latency.tx.qdisc;
    assert.ok(q.count >= 20, `only ${q.count} packets through the qdisc stage`);
    assert.ok(Math.abs(q.p50Ms - 30) <= 0.2 * 30, `qdisc p50 ${q.p50Ms} ms, injected 30 ms`);
    assert.match(doc.latency.verdict ?? '', /qdisc/);
    const f = doc.findings.find((x) => x.id === 'net.latency.qdisc');
    assert.ok(f, `net.latency.qdisc among ${doc.findings.map((x) => x.id).join(', ')}`);
    assert.ok(doc.latency.slowest.some((s) => s.stage === 'qdisc' && s.dport === 5304), 'the slowest flows name the port');
  });

  test('io: null_blk with a 20 ms timer completion is named as device latency', () => {
    const doc = ok('io-nullblk');
    const per = ((doc.latency as { perDisk: { disk: string; dominant: string | null; stages: Record<string, { p50Ms: number; count: number }> }[] }).perDisk ?? []).find((d) => d.disk === 'nullb0');
    assert.ok(per, 'nullb0 has a latency row');
    assert.equal(per.dominant, 'device');
    const p50 = per.stages.device!.p50Ms;
    // log2 buckets: the bucket of 20 ms is [16.4, 32.8) ms, its middle 24.6 ms; the issue's 20 % holds
    // against the mean of a bucket, so the check is on the bucket the injection falls into.
    assert.ok(p50 >= 16 && p50 <= 33, `device p50 ${p50} ms for a 20 ms injection`);
  });

  test('io: dm-delay adds 30 ms that the dm disk\'s await shows', () => {
    assert.equal(bootError, '', bootError);
    if (!readOut('dm-delay.dev')) {
      assert.fail(`dm-delay could not be set up in the guest: ${readOut('dmsetup.err')}${readOut('modprobe.err')}`);
    }
    const doc = ok('io-dmdelay');
    const dev = readOut('dm-delay.dev').trim();
    const disk = ((doc.disks ?? []) as { name: string; awaitMs: number; iops: number }[]).find((d) => d.name === dev);
    assert.ok(disk, `${dev} is listed`);
    assert.ok(disk.awaitMs >= 40 && disk.awaitMs <= 70, `await ${disk.awaitMs} ms for 30 ms delay + 20 ms device`);
  });

  test('the method matrix (printed for the README)', (t) => {
    assert.equal(bootError, '', bootError);
    const rows: string[] = [];
    for (const name of ['mem', 'filecache', 'memleak-slab', 'memleak-vmalloc', 'memleak-vmalloc-kprobe', 'runlatency', 'io-nullblk', 'io-dmdelay', 'load', 'profile', 'net', 'net-delay']) {
      const r = result(name);
      rows.push(`${name}: rc=${r.rc} ${r.ms} ms ${r.doc ? methodText(r.doc).slice(0, 600) : '(no document)'}`);
    }
    const doctor = result('doctor').doc as { commands?: { command: string; method: string }[] } | undefined;
    for (const c of doctor?.commands ?? []) rows.push(`doctor plan ${c.command}: ${c.method}`);
    for (const r of rows) t.diagnostic(r);
  });
});
