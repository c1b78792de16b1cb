/**
 * ELF symbol tables and user-space symbolisation against fixture binaries built here with `cc` (and
 * strip/objcopy for the stripped and split-debug variants), checked against `nm`; JIT maps against a
 * real `node --perf-basic-prof`. Everything lives in an oscope-test-* temporary directory, removed in
 * `finally`; the processes started are killed there too. No root needed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LiveHost } from '../../../src/host/live.js';
import { readMaps } from '../../../src/kernel/procfs/pid/maps.js';
import { ElfError, debugFileCandidates, fileOffsetToVaddr, lookupSymbol, parseElf } from '../../../src/kernel/syms/elf.js';
import { UserSymbolizer, lookupPerfMap, parsePerfMap, userStackComplete } from '../../../src/kernel/syms/user.js';
import { prng, testName } from '../../helpers.js';

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const noTools = ['cc', 'nm', 'strip', 'objcopy'].find((c) => !has(c));
const skip = noTools ? `needs ${noTools} (apt install gcc binutils)` : false;

const SOURCE = String.raw`
#include <unistd.h>
#include <stdio.h>
__attribute__((noinline)) int oscope_fixture_alpha(int x) { return x * 3 + 1; }
__attribute__((noinline)) int oscope_fixture_beta(int x) { return oscope_fixture_alpha(x) ^ 7; }
static __attribute__((noinline)) int oscope_fixture_local(int x) { return x - 2; }
int main(int argc, char **argv) {
  (void)argv;
  printf("%d\n", oscope_fixture_beta(argc) + oscope_fixture_local(argc));
  fflush(stdout);
  if (argc > 1) pause();
  return 0;
}
`;

function nmFunctions(path: string): Map<string, number> {
  const out = new Map<string, number>();
  const r = spawnSync('nm', ['--defined-only', path], { encoding: 'utf8' });
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]+) [Tt] (\S+)$/.exec(line);
    if (m) out.set(m[2]!, parseInt(m[1]!, 16));
  }
  return out;
}

function withDir<T>(body: (dir: string) => Promise<T> | T): Promise<T> {
  const dir = join(tmpdir(), testName('elf'));
  mkdirSync(dir, { recursive: true });
  return Promise.resolve()
    .then(() => body(dir))
    .finally(() => rmSync(dir, { recursive: true, force: true }));
}

function build(dir: string, name: string, extra: string[] = []): string {
  writeFileSync(join(dir, 'fx.c'), SOURCE);
  const out = join(dir, name);
  const r = spawnSync('cc', ['-O1', '-fno-omit-frame-pointer', ...extra, '-o', out, join(dir, 'fx.c')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return out;
}

/** Starts the fixture (it pauses) and resolves once it printed, i.e. its maps are final. */
async function startPaused(bin: string): Promise<ChildProcess> {
  const child = spawn(bin, ['pause'], { stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`fixture exited ${c}`)));
  });
  return child;
}

/** The run-time address of a symbol at file address `vaddr` in `pid`'s mapping of `bin`. */
async function runtimeAddress(pid: number, bin: string, vaddr: number): Promise<bigint> {
  const elf = parseElf(readFileSync(bin));
  const seg = elf.segments.find((s) => vaddr >= s.vaddr && vaddr < s.vaddr + s.memsz)!;
  const fileOff = vaddr - seg.vaddr + seg.offset;
  const maps = (await readMaps(new LiveHost(), pid)).filter((m) => m.pathname === bin);
  const m = maps.find((x) => BigInt(fileOff) >= x.offset && BigInt(fileOff) < x.offset + (x.end - x.start))!;
  assert.ok(m, `no mapping of ${bin} holds file offset ${fileOff}`);
  return m.start + BigInt(fileOff) - m.offset;
}

test('elf: .symtab functions and addresses agree with nm; build id and segments are read', { skip }, async () => {
  await withDir((dir) => {
    const bin = build(dir, 'fx', ['-Wl,--build-id=sha1']);
    const elf = parseElf(readFileSync(bin), bin);
    assert.equal(elf.hasSymtab, true);
    assert.match(elf.buildId ?? '', /^[0-9a-f]{40}$/);
    assert.ok(elf.segments.some((s) => s.executable));
    const nm = nmFunctions(bin);
    for (const name of ['oscope_fixture_alpha', 'oscope_fixture_beta', 'oscope_fixture_local', 'main']) {
      const s = elf.symbols.find((x) => x.name === name);
      assert.ok(s, `${name} missing`);
      assert.equal(s.address, nm.get(name), name);
      assert.equal(lookupSymbol(elf.symbols, s.address + 1)?.name, name);
    }
    // file offset → vaddr through the executable segment
    const text = elf.segments.find((s) => s.executable)!;
    assert.equal(fileOffsetToVaddr(elf, text.offset + 4), text.vaddr + 4);
  });
});

test('elf: a stripped binary has only .dynsym; its separate debug file (build id and .gnu_debuglink) names the functions', { skip }, async () => {
  await withDir(async (dir) => {
    const bin = build(dir, 'fx', ['-Wl,--build-id=sha1', '-rdynamic']);
    const debugRoot = join(dir, 'debug');
    const dbg = join(dir, 'fx.debug');
    assert.equal(spawnSync('objcopy', ['--only-keep-debug', bin, dbg]).status, 0);
    assert.equal(spawnSync('strip', ['--strip-all', bin]).status, 0);
    assert.equal(spawnSync('objcopy', [`--add-gnu-debuglink=${dbg}`, bin]).status, 0);
    const elf = parseElf(readFileSync(bin), bin);
    assert.equal(elf.hasSymtab, false);
    assert.equal(elf.hasDynsym, true);
    assert.equal(elf.debugLink?.name, 'fx.debug');
    // -rdynamic exports the global functions, never the static one
    assert.ok(elf.symbols.some((s) => s.name === 'oscope_fixture_alpha'));
    assert.ok(!elf.symbols.some((s) => s.name === 'oscope_fixture_local'));
    const cands = debugFileCandidates(bin, elf, debugRoot);
    assert.equal(cands[0], `${debugRoot}/.build-id/${elf.buildId!.slice(0, 2)}/${elf.buildId!.slice(2)}.debug`);
    assert.ok(cands.includes(dbg), 'the debuglink next to the binary is a candidate');

    const child = await startPaused(bin);
    try {
      const pid = child.pid!;
      const nmDbg = nmFunctions(dbg);
      const local = await runtimeAddress(pid, bin, nmDbg.get('oscope_fixture_local')!);
      const alpha = await runtimeAddress(pid, bin, nmDbg.get('oscope_fixture_alpha')!);
      const sym = new UserSymbolizer(new LiveHost(), debugRoot);
      const frames = await sym.symbolize(pid, [local + 1n, alpha + 2n]);
      assert.deepEqual(frames.map((f) => f.name), ['oscope_fixture_local', 'oscope_fixture_alpha']);
      assert.equal(frames[0]!.module, 'fx');
      assert.ok(sym.debugFilesUsed.has(dbg));

      // Without the debug file: exported names only, the static function says why it has none.
      rmSync(dbg);
      const bare = new UserSymbolizer(new LiveHost(), debugRoot);
      const f2 = await bare.symbolize(pid, [local + 1n, alpha + 2n]);
      assert.equal(f2[1]!.name, 'oscope_fixture_alpha');
      assert.notEqual(f2[0]!.name, 'oscope_fixture_local');
      assert.ok(bare.strippedFiles.has(bin));
    } finally {
      child.kill('SIGKILL');
    }
  });
});

test('elf: a fully stripped binary frames say [unknown: stripped]; a gone process says so', { skip }, async () => {
  await withDir(async (dir) => {
    const bin = build(dir, 'fx');
    assert.equal(spawnSync('strip', ['--strip-all', bin]).status, 0);
    const child = await startPaused(bin);
    try {
      const maps = (await readMaps(new LiveHost(), child.pid!)).filter((m) => m.pathname === bin && m.perms.includes('x'));
      const sym = new UserSymbolizer(new LiveHost(), join(dir, 'none'));
      const [f] = await sym.symbolize(child.pid!, [maps[0]!.start + 0x10n]);
      assert.equal(f!.name, '[unknown: stripped]');
      assert.equal(f!.module, 'fx');
    } finally {
      child.kill('SIGKILL');
    }
    const gone = new UserSymbolizer(new LiveHost());
    const [g] = await gone.symbolize(2 ** 22 + 12345, [0x401000n]);
    assert.equal(g!.name, '[unknown: process exited]');
  });
});

test('elf: malformed input gives ElfError, never another exception', () => {
  const good = readFileSync(process.execPath).subarray(0, 64 * 1024);
  const rnd = prng(7);
  const inputs: Buffer[] = [Buffer.alloc(0), Buffer.from('garbage'), Buffer.from([0x7f, 0x45, 0x4c, 0x46]), good.subarray(0, 40)];
  for (let i = 0; i < 300; i++) {
    const b = Buffer.from(good.subarray(0, Math.floor(rnd() * good.length)));
    for (let j = 0; j < 8; j++) b[Math.floor(rnd() * Math.min(b.length, 256))] = Math.floor(rnd() * 256);
    inputs.push(b);
  }
  for (const b of inputs) {
    try {
      parseElf(b, 'fuzz');
    } catch (err) {
      assert.ok(err instanceof ElfError, `unexpected ${String(err)}`);
    }
  }
});

test('perf map: parse, lookup, and a real node --perf-basic-prof JIT frame is named', async () => {
  const entries = parsePerfMap('7f00001000 40 LazyCompile:*hot /x.js:1\nbogus line\n7f00002000 10 Builtin:Add\n');
  assert.equal(entries.length, 2);
  assert.equal(lookupPerfMap(entries, 0x7f00001010), 'LazyCompile:*hot /x.js:1');
  assert.equal(lookupPerfMap(entries, 0x7f00001040), undefined);
  assert.equal(lookupPerfMap(entries, 0x7f0000200f), 'Builtin:Add');

  const script = 'function oscopeHotLoop(n){let s=0;for(let i=0;i<n;i++)s+=i%7;return s}let t=0;for(let k=0;k<400;k++)t+=oscopeHotLoop(20000);process.stdout.write("ready\\n");setInterval(()=>oscopeHotLoop(1000),50);';
  const child = spawn(process.execPath, ['--perf-basic-prof', '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const mapFile = `/tmp/perf-${child.pid}.map`;
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (c) => reject(new Error(`node exited ${c}`)));
    });
    const text = readFileSync(mapFile, 'utf8');
    const e = parsePerfMap(text).find((x) => x.name.includes('oscopeHotLoop'));
    assert.ok(e, 'node wrote the function to its perf map');
    const sym = new UserSymbolizer(new LiveHost());
    const [f] = await sym.symbolize(child.pid!, [BigInt(e.start + 1)]);
    assert.match(f!.name, /oscopeHotLoop/);
    assert.equal(f!.module, '[jit]');
  } finally {
    child.kill('SIGKILL');
    rmSync(mapFile, { force: true });
  }
});

test('user stacks: complete only when they reach a process or thread entry', () => {
  const f = (name: string) => ({ name, module: 'x', known: true });
  assert.equal(userStackComplete([f('work'), f('main'), f('__libc_start_call_main')]), true);
  assert.equal(userStackComplete([f('work'), f('start_thread')]), true);
  assert.equal(userStackComplete([f('work')]), false);
  assert.equal(userStackComplete([]), false);
});
