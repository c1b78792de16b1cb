/**
 * `oscope inspect --boots`: why each previous boot ended, from journal exports (list-boots and per-boot
 * kernel messages), pstore records (efi in two parts, ramoops) and kdump vmcore-dmesg files of several
 * kernel versions; the titles are inspect's; and this host's real journal is read without failing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { classifyBoot, collectBoots, joinPstore, pstoreRecords, textLines } from '../../../src/diagnose/inspect/boots.js';
import { runInspect } from '../../../src/diagnose/inspect/inspect.js';
import { loadRules } from '../../../src/diagnose/inspect/rules.js';
import { InspectDocumentSchema } from '../../../src/contract/inspect.js';
import { LiveHost } from '../../../src/host/live.js';
import { inspectDocument } from '../../../src/report/inspect.js';
import { fixturePath } from '../../helpers.js';

const rules = loadRules([]);
const fx = (f: string): string => readFileSync(fixturePath('inspect', 'boots', f), 'utf8');

test('boots: kdump vmcore-dmesg files → hung-task panic, watchdog, OOM panic, with inspect\'s titles', () => {
  const hung = classifyBoot(textLines(fx('vmcore-dmesg-hung-task-6.1.txt')), rules, [], true);
  assert.equal(hung.cause, 'hung-task-panic');
  assert.match(hung.title ?? '', /INFO: task hung in/);
  assert.ok((hung.stack ?? []).length > 0);
  const soft = classifyBoot(textLines(fx('vmcore-dmesg-softlockup-5.15.txt')), rules, [], true);
  assert.equal(soft.cause, 'watchdog');
  assert.match(soft.title ?? '', /soft lockup in demo_ioctl/);
  const oom = classifyBoot(textLines(fx('vmcore-dmesg-oom-4.19.txt')), rules, [], true);
  assert.equal(oom.cause, 'oom-panic');
});

test('boots: pstore records (efi parts joined newest-last, ramoops) → MCE and oops panics', () => {
  const names = ['dmesg-efi-177001234501001', 'dmesg-efi-177001234501002', 'dmesg-ramoops-0', 'console-ramoops-0'];
  const recs = pstoreRecords(names);
  assert.equal(recs.length, 2);
  const efi = recs.find((r) => r.id.startsWith('efi'))!;
  assert.deepEqual(efi.files, ['dmesg-efi-177001234501001', 'dmesg-efi-177001234501002']);
  const joined = joinPstore(efi.files.map((f) => ({ name: f, text: fx(`pstore-${f}`) })));
  assert.ok(joined.indexOf('Machine Check Exception') < joined.indexOf('Fatal machine check'), 'part 2 (older) comes first');
  assert.equal(classifyBoot(textLines(joined), rules, [], true).cause, 'mce');
  const oops = classifyBoot(textLines(joinPstore([{ name: 'dmesg-ramoops-0', text: fx('pstore-dmesg-ramoops-0') }])), rules, [], true);
  assert.equal(oops.cause, 'panic');
  assert.match(oops.title ?? '', /NULL pointer dereference in demo_probe/);
  assert.ok(oops.stack?.some((f) => f.includes('do_init_module')));
});

test('boots: journal exports → clean shutdown, unclean end, hung-task panic; in inspect\'s JSON', async () => {
  const files: Record<string, string> = {
    '--list-boots': 'list-boots.json',
    '-k aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2': 'journal-k-boot-2.json',
    'tail aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2': 'journal-tail-boot-2.json',
    '-k aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1': 'journal-k-boot-1-hung.json',
  };
  const journal = async (args: string[]): Promise<string | undefined> => {
    if (args[0] === '--list-boots') return fx(files['--list-boots']!);
    const id = args[args.indexOf('-b') + 1]!;
    const key = args[0] === '-k' ? `-k ${id}` : `tail ${id}`;
    return files[key] ? fx(files[key]) : '';
  };
  const boots = await collectBoots(new LiveHost(), rules, { journal });
  const j = boots.filter((b) => b.source === 'journal');
  assert.equal(j.length, 2, 'the running boot is not a previous one');
  const b1 = j.find((b) => b.id.endsWith('1'))!;
  const b2 = j.find((b) => b.id.endsWith('2'))!;
  assert.equal(b1.cause, 'hung-task-panic');
  assert.equal(b2.cause, 'clean-shutdown');
  assert.equal(b2.startedAt, new Date(1764000000000).toISOString());
  // Without a shutdown marker, the log just stops: an unclean end.
  files['-k aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1'] = 'journal-k-boot-1-unclean.json';
  const again = await collectBoots(new LiveHost(), rules, { journal });
  assert.equal(again.find((b) => b.id.endsWith('1'))!.cause, 'unclean');
  const r = await runInspect(new LiveHost(), { logFiles: [fixturePath('inspect', 'clean.log')], boots: true, journal });
  const doc = InspectDocumentSchema.parse(inspectDocument(r, 'en'));
  assert.ok(doc.boots && doc.boots.length >= 2);
});

test('boots: this host\'s real journal, pstore and /var/crash are read without failing', async () => {
  const boots = await collectBoots(new LiveHost(), rules);
  for (const b of boots) assert.ok(['journal', 'pstore', 'kdump'].includes(b.source));
});

test('crash signature: same frames on different builds give one signature; ? frames, offsets and panic machinery do not count', async () => {
  const { crashSignature, bootKernel } = await import('../../../src/diagnose/inspect/boots.js');
  const a = ['Call Trace:', ' dump_stack_lvl+0x44/0x5c', ' panic+0x10f/0x2e0', ' ? printk+0x48/0x4a', ' ext4_da_write_end+0x1a/0x30 [ext4]', ' __x64_sys_write+0x19/0x20'];
  const b = ['Call Trace:', ' <TASK>', ' ext4_da_write_end+0x2b/0x40 [ext4]', ' ? foo+0x1/0x2', ' __se_sys_write+0x21/0x30'];
  assert.match(crashSignature(a), /^[0-9a-f]{12}$/);
  assert.equal(crashSignature(a), crashSignature(b));
  assert.notEqual(crashSignature(a), crashSignature([' ext4_writepages+0x1/0x2']));
  assert.equal(crashSignature([]), '');
  assert.equal(crashSignature(undefined), '');
  assert.equal(bootKernel(textLines('[    0.000000] Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc 12)\n')), '6.1.0-18-amd64');
  assert.equal(bootKernel(textLines('<4>[  300.000003] CPU: 0 PID: 1234 Comm: modprobe Not tainted 5.15.0-91-generic #101-Ubuntu\n')), '5.15.0-91-generic');
  assert.equal(bootKernel(textLines('[  1.0] nothing here\n')), undefined);
});
