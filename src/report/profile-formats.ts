/**
 * The formats other tools read, rendered from an `oscope.profile/v1` document:
 *
 *   folded      Brendan Gregg's collapsed stacks, `root;…;leaf COUNT` per line (flamegraph.pl, inferno,
 *               speedscope and most flame graph tools read it); kernel frames carry `_[k]` as
 *               stackcollapse-perf.pl --kernel writes them.
 *   pprof       gzipped profile.proto (github.com/google/pprof/proto/profile.proto) through DataDog's
 *               pprof-format encoder: `go tool pprof -top FILE` reads it. One location per (function,
 *               module), since addresses are not kept.
 *   speedscope  the speedscope file format (https://www.speedscope.app/file-format-schema.json): one
 *               "sampled" profile with shared frames; weights are samples (or µs off-CPU).
 *   svg         a standalone interactive flame graph: click a frame to zoom into it, the search box
 *               highlights matching frames and shows their share, Escape/reset zooms out. The data
 *               and a small script are embedded; nothing is loaded from elsewhere.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { Function as PFunction, Line, Location, Mapping, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { ProfileDocument } from '../contract/profile.js';

export const PROFILE_FORMATS = ['text', 'folded', 'pprof', 'speedscope', 'svg'] as const;
export type ProfileFormat = (typeof PROFILE_FORMATS)[number];

/** name → module, from the document's functions (frames are names; kernel ones have a kernel module). */
function moduleIndex(doc: Pick<ProfileDocument, 'functions'>): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of doc.functions) if (!m.has(f.name)) m.set(f.name, f.module);
  return m;
}

/** Kernel frames are those whose module is `kernel` or a kernel module in brackets-free kallsyms naming. */
function kernelNames(doc: ProfileDocument): Set<string> {
  return new Set(doc.functions.filter((f) => f.module === 'kernel' || f.module.startsWith('kernel:')).map((f) => f.name));
}

/** Folded stacks: one line per stack, `;`-joined root first, a space and the count. */
export function toFolded(doc: ProfileDocument): string {
  const k = kernelNames(doc);
  const clean = (s: string): string => s.replace(/;/g, ':').replace(/\s+$/g, '').replace(/\n/g, ' ');
  return doc.stacks.map((s) => `${s.frames.map((f) => clean(f) + (k.has(f) ? '_[k]' : '')).join(';')} ${s.count}`).join('\n') + (doc.stacks.length > 0 ? '\n' : '');
}

/** Parses folded stacks (for tests, and `diff` of folded files): `_[k]` suffixes are kept as written. */
export function parseFolded(text: string): Array<{ frames: string[]; count: number }> {
  const out: Array<{ frames: string[]; count: number }> = [];
  for (const line of text.split('\n')) {
    const m = /^(.*) (\d+)$/.exec(line);
    if (!m) continue;
    out.push({ frames: m[1] === '' ? [] : m[1]!.split(';'), count: Number(m[2]) });
  }
  return out;
}

/** The pprof profile (not yet gzipped). */
export function toPprofProfile(doc: ProfileDocument, now = Date.now()): Profile {
  const st = new StringTable();
  const mods = moduleIndex(doc);
  const mappings = new Map<string, Mapping>();
  const functions = new Map<string, PFunction>();
  const locations = new Map<string, Location>();
  const mappingOf = (module: string): Mapping => {
    let m = mappings.get(module);
    if (!m) {
      m = new Mapping({ id: mappings.size + 1, filename: st.dedup(module), hasFunctions: true });
      mappings.set(module, m);
    }
    return m;
  };
  const locationOf = (name: string): Location => {
    const module = mods.get(name) ?? '';
    const key = `${module}\0${name}`;
    let l = locations.get(key);
    if (!l) {
      let f = functions.get(key);
      if (!f) {
        f = new PFunction({ id: functions.size + 1, name: st.dedup(name), systemName: st.dedup(name), filename: st.dedup(module) });
        functions.set(key, f);
      }
      l = new Location({ id: locations.size + 1, mappingId: mappingOf(module).id, line: [new Line({ functionId: f.id })] });
      locations.set(key, l);
    }
    return l;
  };
  const offCpu = doc.mode === 'off-cpu';
  const sampleType = offCpu
    ? [new ValueType({ type: st.dedup('off-cpu'), unit: st.dedup('microseconds') })]
    : [new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') }), new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') })];
  const periodNs = doc.hz > 0 ? Math.round(1e9 / doc.hz) : 1000;
  const sample = doc.stacks.map(
    (s) =>
      new Sample({
        // pprof keeps the leaf first.
        locationId: [...s.frames].reverse().map((f) => locationOf(f).id),
        value: offCpu ? [s.count] : [s.count, s.count * periodNs],
      }),
  );
  const comment = [st.dedup(`oscope profile: ${doc.event}, ${doc.intervalS} s${doc.hz ? ` at ${doc.hz} Hz` : ''}`)];
  return new Profile({
    sampleType,
    sample,
    mapping: [...mappings.values()],
    location: [...locations.values()],
    function: [...functions.values()],
    stringTable: st,
    timeNanos: BigInt(now) * 1_000_000n,
    durationNanos: Math.round(doc.intervalS * 1e9),
    periodType: offCpu ? new ValueType({ type: st.dedup('off-cpu'), unit: st.dedup('microseconds') }) : new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }),
    period: offCpu ? 1 : periodNs,
    comment,
  });
}

/** gzipped profile.proto bytes. */
export function toPprof(doc: ProfileDocument, now = Date.now()): Buffer {
  return gzipSync(Buffer.from(toPprofProfile(doc, now).encode()));
}

/** Decodes a (gzipped or plain) pprof file back into stacks root first with their first value (tests, diff). */
export function decodePprof(bytes: Uint8Array): { stacks: Array<{ frames: string[]; count: number }>; sampleTypes: string[] } {
  const raw = bytes.length > 2 && bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const p = Profile.decode(raw);
  const str = (i: number | bigint): string => p.stringTable.strings[Number(i)] ?? '';
  const fn = new Map(p.function.map((f) => [Number(f.id), str(f.name)]));
  const loc = new Map(p.location.map((l) => [Number(l.id), l.line.map((ln) => fn.get(Number(ln.functionId)) ?? '?')]));
  return {
    sampleTypes: p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`),
    stacks: p.sample.map((s) => ({ frames: s.locationId.flatMap((id) => [...(loc.get(Number(id)) ?? [])].reverse()).reverse(), count: Number(s.value[0] ?? 0) })),
  };
}

export interface SpeedscopeFile {
  $schema: 'https://www.speedscope.app/file-format-schema.json';
  shared: { frames: Array<{ name: string; file?: string }> };
  profiles: Array<{ type: 'sampled'; name: string; unit: 'none' | 'microseconds'; startValue: number; endValue: number; samples: number[][]; weights: number[] }>;
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

export function toSpeedscope(doc: ProfileDocument, exporter = 'oscope'): SpeedscopeFile {
  const mods = moduleIndex(doc);
  const index = new Map<string, number>();
  const frames: Array<{ name: string; file?: string }> = [];
  const id = (name: string): number => {
    let i = index.get(name);
    if (i === undefined) {
      i = frames.length;
      index.set(name, i);
      const file = mods.get(name);
      frames.push(file ? { name, file } : { name });
    }
    return i;
  };
  const samples = doc.stacks.map((s) => s.frames.map(id));
  const weights = doc.stacks.map((s) => s.count);
  const total = weights.reduce((a, b) => a + b, 0);
  const name = `oscope profile (${doc.mode === 'off-cpu' ? 'off-CPU' : doc.event}, ${doc.intervalS} s)`;
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    shared: { frames },
    profiles: [{ type: 'sampled', name, unit: doc.mode === 'off-cpu' ? 'microseconds' : 'none', startValue: 0, endValue: total, samples, weights }],
    name,
    activeProfileIndex: 0,
    exporter,
  };
}

/** A flame graph node: children by name, in insertion order. */
interface Node {
  name: string;
  value: number;
  children: Map<string, Node>;
}

function tree(stacks: ReadonlyArray<{ frames: readonly string[]; count: number }>): Node {
  const root: Node = { name: 'all', value: 0, children: new Map() };
  for (const s of stacks) {
    root.value += s.count;
    let n = root;
    for (const f of s.frames) {
      let c = n.children.get(f);
      if (!c) {
        c = { name: f, value: 0, children: new Map() };
        n.children.set(f, c);
      }
      c.value += s.count;
      n = c;
    }
  }
  return root;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Warm colours for user code, orange-red for the kernel, grey for unknown frames (flamegraph.pl palette). */
function colour(name: string, kernel: boolean): string {
  if (name.startsWith('[unknown')) return 'rgb(190,190,190)';
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  const v = (h % 1000) / 1000;
  if (kernel) return `rgb(${200 + Math.round(55 * v)},${90 + Math.round(60 * v)},${40 + Math.round(30 * v)})`;
  return `rgb(${205 + Math.round(50 * v)},${Math.round(230 * ((h >> 10) % 100) / 100) % 200},${Math.round(55 * v)})`;
}

/**
 * A standalone interactive flame graph (SVG 1.1 with an embedded script). Frames narrower than
 * `minWidthPx` at full width are merged away, as flamegraph.pl does, to keep the file small.
 */
export function toFlameGraphSvg(doc: ProfileDocument, opts: { title?: string; width?: number; minWidthPx?: number } = {}): string {
  const width = opts.width ?? 1200;
  const frameH = 16;
  const pad = 10;
  const top = 50;
  const minW = opts.minWidthPx ?? 0.1;
  const root = tree(doc.stacks);
  const k = kernelNames(doc);
  const mods = moduleIndex(doc);
  const unit = doc.mode === 'off-cpu' ? 'µs' : 'samples';
  const total = Math.max(root.value, 1);
  const scale = (width - 2 * pad) / total;
  interface Rect {
    x: number;
    d: number;
    w: number;
    n: Node;
  }
  const rects: Rect[] = [];
  let maxDepth = 0;
  const walk = (n: Node, x: number, d: number): void => {
    if (n.value * scale < minW) return;
    rects.push({ x, d, w: n.value, n });
    maxDepth = Math.max(maxDepth, d);
    let cx = x;
    const kids = [...n.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const c of kids) {
      walk(c, cx, d + 1);
      cx += c.value;
    }
  };
  walk(root, 0, 0);
  const height = top + (maxDepth + 1) * frameH + 3 * pad;
  const title = opts.title ?? (doc.mode === 'off-cpu' ? 'Off-CPU flame graph' : 'CPU flame graph');
  const sub = `${doc.event}, ${doc.intervalS} s${doc.hz ? `, ${doc.hz} Hz` : ''}, ${doc.samples} ${unit}`;
  const g = rects
    .map((r) => {
      const name = r.n.name;
      const pct = ((r.w / total) * 100).toFixed(2);
      const mod = mods.get(name);
      const info = `${name}${mod ? ` [${mod}]` : ''} (${r.w} ${unit}, ${pct}%)`;
      // y: the root at the bottom (a flame graph, not an icicle).
      const y = height - 2 * pad - (r.d + 1) * frameH;
      return `<g class="f" data-x="${r.x}" data-w="${r.w}" data-d="${r.d}" data-n="${esc(name)}"><title>${esc(info)}</title><rect x="${(pad + r.x * scale).toFixed(2)}" y="${y}" width="${Math.max(r.w * scale - 0.5, 0.1).toFixed(2)}" height="${frameH - 1}" rx="2" fill="${r.d === 0 ? 'rgb(230,230,230)' : colour(name, k.has(name))}"/><text x="${(pad + r.x * scale + 3).toFixed(2)}" y="${y + frameH - 4}"></text></g>`;
    })
    .join('\n');
  const script = `
var W=${width},P=${pad},T=${total},FH=${frameH},H=${height};
var gs=[].slice.call(document.querySelectorAll('g.f'));
var zx=0,zw=T,zd=0;
function fit(t,name,w){var c=Math.floor((w-6)/7);if(c<3){t.textContent='';return}t.textContent=name.length>c?name.slice(0,c-2)+'..':name}
function draw(){var s=(W-2*P)/zw;gs.forEach(function(g){var x=+g.dataset.x,w=+g.dataset.w,d=+g.dataset.d;var r=g.firstElementChild.nextElementSibling,t=r.nextElementSibling;
var vis=x+w>zx&&x<zx+zw&&(d>=zd||(x<=zx&&x+w>=zx+zw));if(!vis){g.style.display='none';return}g.style.display='';
var nx=Math.max(x,zx),nw=Math.min(x+w,zx+zw)-nx;r.setAttribute('x',(P+(nx-zx)*s).toFixed(2));r.setAttribute('width',Math.max(nw*s-0.5,0.1).toFixed(2));
t.setAttribute('x',(P+(nx-zx)*s+3).toFixed(2));fit(t,g.dataset.n,nw*s);g.style.opacity=d<zd?0.6:1})}
gs.forEach(function(g){g.addEventListener('click',function(){zx=+g.dataset.x;zw=+g.dataset.w;zd=+g.dataset.d;draw()})});
function reset(){zx=0;zw=T;zd=0;draw()}
document.getElementById('reset').addEventListener('click',reset);
document.addEventListener('keydown',function(e){if(e.key==='Escape')reset()});
function search(q){var m=0,seen=[];var re=null;try{re=q?new RegExp(q):null}catch(e){re=null}
gs.forEach(function(g){var r=g.firstElementChild.nextElementSibling;var hit=!!q&&(re?re.test(g.dataset.n):g.dataset.n.indexOf(q)>=0);
if(!r.dataset.fill)r.dataset.fill=r.getAttribute('fill');r.setAttribute('fill',hit?'rgb(230,0,230)':r.dataset.fill);
if(hit){var x=+g.dataset.x,w=+g.dataset.w;if(!seen.some(function(s){return x>=s[0]&&x+w<=s[0]+s[1]})){seen.push([x,w]);m+=w}}});
document.getElementById('matched').textContent=q?('Matched: '+(100*m/T).toFixed(2)+'%'):''}
document.getElementById('search').addEventListener('click',function(){var q=prompt('Search (regular expression)','');search(q||'')});
draw();`;
  return `<?xml version="1.0" standalone="no"?>
<svg version="1.1" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<style>text{font:12px Verdana,sans-serif;fill:#000;pointer-events:none}g.f{cursor:pointer}g.f:hover rect{stroke:#000;stroke-width:0.5}#title{font-size:17px}.ui{fill:#06c;cursor:pointer;pointer-events:all}</style>
<rect width="100%" height="100%" fill="#f8f8f8"/>
<text id="title" x="${width / 2}" y="22" text-anchor="middle">${esc(title)}</text>
<text x="${width / 2}" y="40" text-anchor="middle" style="fill:#555">${esc(sub)}</text>
<text id="reset" class="ui" x="${pad}" y="22">Reset zoom</text>
<text id="search" class="ui" x="${width - pad}" y="22" text-anchor="end">Search</text>
<text id="matched" x="${width - pad}" y="${height - 8}" text-anchor="end"></text>
${g}
<script type="text/ecmascript"><![CDATA[${script}]]></script>
</svg>
`;
}
