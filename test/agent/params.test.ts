/**
 * One parameter schema per diagnosis (src/diagnose/<area>/params.ts): the CLI's effective defaults (its
 * commander flags with nothing given, mapped onto the schema) equal the agent's (`{}` validated by the
 * registry), and the agent's own caps and window are the documented constants, nothing else.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { defaultRegistry } from '../../src/agent/diagnoses/index.js';
import { AGENT_INSPECT_DEFAULT_SINCE_H, AGENT_INSPECT_MAX_SINCE_H } from '../../src/agent/diagnoses/inspect.js';
import { AGENT_MEM_MAX_TOP } from '../../src/agent/diagnoses/mem.js';
import { AGENT_FILECACHE_MAX_TOP, AGENT_MEMLEAK_MAX_DURATION_S, AGENT_RUNLATENCY_MAX_DURATION_S } from '../../src/agent/diagnoses/more.js';
import { commands } from '../../src/cli/commands/index.js';
import { type FilecacheFlags, filecacheParams } from '../../src/cli/commands/filecache.js';
import { type InspectCliOptions, inspectParams } from '../../src/cli/commands/inspect.js';
import { type MemFlags, memParams } from '../../src/cli/commands/mem.js';
import { type MemleakFlags, memleakParams } from '../../src/cli/commands/memleak.js';
import { type LatencyFlags, runlatencyParams } from '../../src/cli/commands/runlatency.js';
import type { CliContext } from '../../src/cli/context.js';
import { EXIT, UserError } from '../../src/cli/errors.js';
import { inspectChecks } from '../../src/diagnose/inspect/params.js';
import { type MemleakParams, memleakSettings } from '../../src/diagnose/memleak/params.js';
import { resolveThresholds } from '../../src/diagnose/thresholds.js';

/** The options commander gives a subcommand when none is typed (its defaults). */
function cliDefaults(name: string): Record<string, unknown> {
  const program = new Command();
  const ctx = (): CliContext => {
    throw new Error('not run');
  };
  for (const register of commands) register(program, ctx);
  const cmd = program.commands.find((c) => c.name() === name);
  assert.ok(cmd, `no ${name} command`);
  return cmd.opts();
}

/** Thresholds resolved (the CLI passes the resolved table, the agent the overrides), undefined keys dropped. */
function normal(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
  delete out.lang;
  out.thresholds = resolveThresholds((p.thresholds as Record<string, number> | undefined) ?? {});
  return out;
}

function agent(name: string, params: unknown = {}): Record<string, unknown> {
  const v = defaultRegistry().validate(name, params);
  assert.ok(v.ok, v.ok ? '' : v.reason);
  return v.params as Record<string, unknown>;
}

function refused(name: string, params: unknown, why: RegExp): void {
  const v = defaultRegistry().validate(name, params);
  assert.equal(v.ok, false, `${name} ${JSON.stringify(params)} accepted`);
  if (!v.ok) assert.match(v.reason, why);
}

function usage(f: () => unknown, message: string | RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof UserError, String(e));
    assert.equal(e.exitCode, EXIT.usage);
    if (typeof message === 'string') assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

test('params: the CLI and the agent have the same effective defaults, diagnosis by diagnosis', () => {
  assert.deepEqual(normal(memParams(cliDefaults('mem') as unknown as MemFlags)), normal(agent('mem')));
  const fc = normal(filecacheParams(cliDefaults('filecache') as unknown as FilecacheFlags));
  assert.deepEqual(fc, normal(agent('filecache')));
  assert.equal(fc.walk, undefined, 'walk: the same automatic default on both sides');
  const ml = memleakParams(cliDefaults('memleak') as unknown as MemleakFlags);
  const mla = agent('memleak') as unknown as MemleakParams;
  assert.deepEqual(normal(ml), normal(mla));
  assert.deepEqual(memleakSettings(ml), memleakSettings(mla));
  assert.deepEqual(normal(runlatencyParams(cliDefaults('runlatency') as unknown as LatencyFlags)), normal(agent('runlatency')));
  // inspect: the one documented difference is the agent's window (the CLI reads the whole log).
  const ic = inspectParams(cliDefaults('inspect') as unknown as InspectCliOptions);
  const ia = agent('inspect');
  assert.equal(ic.sinceH, undefined);
  assert.equal(ia.sinceH, AGENT_INSPECT_DEFAULT_SINCE_H);
  assert.equal(inspectChecks(ic), ia.checks);
  const { sinceH: _a, checks: _b, ...restA } = normal(ia);
  const { checks: _c, ...restC } = normal(ic);
  assert.deepEqual(restC, restA);
});

test('params: the agent caps are explicit, the CLI allows what a person may ask for', () => {
  const ml = cliDefaults('memleak') as unknown as MemleakFlags;
  assert.equal(memleakParams({ ...ml, interval: '3600' }).durationS, 3600);
  assert.equal(memleakParams({ ...ml, interval: '2.5' }).durationS, 2.5);
  assert.equal(agent('memleak', { durationS: AGENT_MEMLEAK_MAX_DURATION_S }).durationS, AGENT_MEMLEAK_MAX_DURATION_S);
  refused('memleak', { durationS: AGENT_MEMLEAK_MAX_DURATION_S + 1 }, /durationS: at most 600 s of watch on the agent \(the agent's cap/);
  assert.equal(agent('memleak', { check: true, durationS: 3600 }).check, true, 'the instant check does not watch: no cap');
  // The bounds of the schema itself are the same on both sides.
  refused('memleak', { durationS: 0 }, /durationS: a number of seconds from 1 to 86400/);
  usage(() => memleakParams({ ...ml, interval: '0' }), '-i takes a number of seconds from 1 to 86400, got "0"');
  usage(() => memleakParams({ ...ml, interval: '100000' }), '-i takes a number of seconds from 1 to 86400, got "100000"');
  usage(() => memleakParams({ ...ml, interval: 'soon' }), '-i takes a number of seconds from 1 to 86400, got "soon"');
  usage(() => memleakParams({ ...ml, type: 'heap' }), '-t takes slab, page or vmalloc, got "heap"');
  usage(() => memleakParams({ ...ml, interval: '10', minAge: '10' }), /--min-age.*must be shorter than the watch \(-i/);
  refused('memleak', { durationS: 10, minAgeS: 10 }, /minAgeS: the minimum age/);
  usage(() => memleakParams({ ...ml, maxLive: '10' }), '--max-live takes a whole number from 1024 to 16777216, got "10"');
  // A vmalloc caller of a module, as the growth table names it, is a valid --cache on both sides.
  assert.equal(memleakParams({ ...ml, cache: 'nf_ct_alloc_hashtable [nf_conntrack]' }).cache, 'nf_ct_alloc_hashtable [nf_conntrack]');
  refused('memleak', { cache: 'x; rm -rf /' }, /cache/);
  // -i 1 works (the default minimum age is half of so short a watch).
  assert.equal(memleakSettings(memleakParams({ ...ml, interval: '1' })).minAgeS, 0.5);

  const rl = cliDefaults('runlatency') as unknown as LatencyFlags;
  assert.equal(runlatencyParams({ ...rl, interval: '3600' }).durationS, 3600);
  refused('runlatency', { durationS: AGENT_RUNLATENCY_MAX_DURATION_S + 1 }, /durationS: at most 600 s of tracing on the agent/);
  usage(() => runlatencyParams({ ...rl, interval: '0' }), /^-i takes a number of seconds above 0, at most 86400, got "0"$/);
  usage(() => runlatencyParams({ ...rl, pid: '-1' }), '--pid takes a non-negative integer, got "-1"');
  assert.deepEqual(runlatencyParams({ ...rl, threshold: ['runqueue=30ms'] }).thresholds?.['lat.runqueueMs'], 30);
  assert.equal(agent('runlatency', { thresholds: { 'lat.runqueueMs': 30 }, cpu: 1 }).cpu, 1);

  const mem = cliDefaults('mem') as unknown as MemFlags;
  assert.equal(memParams({ ...mem, top: '5000' }).top, 5000);
  refused('mem', { top: AGENT_MEM_MAX_TOP + 1 }, /top: at most 1000 rows on the agent/);
  usage(() => memParams({ ...mem, top: '0' }), '--top takes a whole number from 1 to 100000, got "0"');

  const fc = cliDefaults('filecache') as unknown as FilecacheFlags;
  assert.equal(filecacheParams({ ...fc, top: '5000' }).top, 5000);
  refused('filecache', { top: AGENT_FILECACHE_MAX_TOP + 1 }, /top: at most 1000 rows on the agent/);
  usage(() => filecacheParams({ ...fc, container: 'abc', pod: 'web' }), /^give only one of --container, --pod and --cgroup/);
  usage(() => filecacheParams({ ...fc, discovery: 'magic' }), '--discovery takes auto, bpf-inode-walk or procfs, got "magic"');
  refused('filecache', { roots: ['/etc'] }, /Unrecognized key/);
  assert.equal(agent('filecache', { cgroup: '/kubepods' }).cgroup, '/kubepods');

  const ins = cliDefaults('inspect') as unknown as InspectCliOptions;
  const now = Date.parse('2026-12-07T00:00:00Z');
  assert.equal(inspectParams({ ...ins, since: '365d' }, now).sinceH, 365 * 24, 'the CLI reads as far back as asked');
  assert.equal(inspectParams({ ...ins, since: '2026-12-06T00:00:00Z' }, now).sinceH, 24);
  usage(() => inspectParams({ ...ins, since: '2027-01-01T00:00:00Z' }, now), /^--since takes a time in the past/);
  refused('inspect', { sinceH: AGENT_INSPECT_MAX_SINCE_H + 1 }, /sinceH: at most 2160 hours back on the agent/);
  assert.equal(inspectChecks(inspectParams({ ...ins, log: ['/var/log/kern.log'] })), false, '--log: no host checks unless asked');
  assert.equal(agent('inspect', { thresholds: { 'inspect.diskUsedPct': 85 } }).checks, true);
  refused('inspect', { thresholds: { 'inspect.nope': 1 } }, /unknown threshold "inspect.nope"/);
});
