import type { Catalog } from '../index.js';

/**
 * Messages of `oscope memleak`. `mem.kernel.leak-suspect` lives in ./mem.ts (shared with `oscope mem`);
 * placeholders: see src/diagnose/memleak/analyze.ts.
 */
export const memleak: Catalog = {
  findings: {
    'mem.kernel.leak': {
      title: 'Kernel memory leak in {name} ({kind})',
      conclusion:
        '{name} grew by {growthBytes} in {durationS} s ({rateBytes}/s, steadily); {count} allocations ({outstandingBytes}) older than {minAgeS} s are still live, most from {symbol}. At this rate the available memory lasts about {hoursLeft} hours.',
      suggestions: [
        'Read the call stacks below: the caller that allocates and never frees is the leak; find the process or driver that drives it (socket, fd, BPF object or device it keeps creating).',
        'Stopping or restarting that process or unloading that module returns the memory if the objects are still referenced; a true kernel bug needs a fixed kernel: search the stable changelog for the function name.',
        'Watch it over a longer window: `oscope memleak -t {type} -i 300`.',
      ],
    },
    // The verdict as a finding (src/diagnose/memleak/analyze.ts verdictFinding). The document's
    // conclusion is the verdict reason (memleak.reason.*) itself; these conclusions are for other uses.
    'memleak.verdict.leaking': {
      title: 'Kernel memory leak: {kind} ({confidence} confidence)',
      conclusion: '{name} grew steadily over {durationS} s ({rateBytes}/s).',
      suggestions: ['Find what keeps creating these objects (a process, driver or module opening sockets, fds, BPF objects or devices): stopping it returns the memory if the objects are still referenced.'],
    },
    'memleak.verdict.clean': {
      title: 'No kernel memory leak confirmed ({confidence} confidence)',
      conclusion: 'Nothing was found leaking ({type}, {durationS} s).',
      suggestions: [],
    },
  },
  text: {
    'memleak.title': 'Kernel memory leak check ({type}, {durationS} s)',
    'memleak.title.check': 'Kernel memory instant check (counters only)',
    'memleak.verdict': 'Verdict',
    'memleak.verdict.leaking': 'LEAKING ({kind}, confidence {confidence})',
    'memleak.verdict.suspect': 'not confirmed ({kind} counters high, confidence {confidence})',
    'memleak.verdict.ok': 'no leak seen (confidence {confidence})',
    'memleak.section.growth': 'Growth (sustained first)',
    'memleak.section.callsites': 'Outstanding allocations by call site',
    'memleak.countdown': 'watching {type}: {left} s left',
    'memleak.reason.no-growth': 'No {type} cache, caller or counter grew steadily over {durationS} s (fastest: {name} at {rateBytes}/s).',
    'memleak.reason.named-flat': '{name} did not grow steadily over {durationS} s ({rateBytes}/s).',
    'memleak.reason.growth': '{name} grew steadily by {growthBytes} in {durationS} s ({rateBytes}/s, fit {fitPct}, {monotonicPct} of changes upward); allocation tracing was not available to confirm it.',
    'memleak.reason.growth-untraced': '{name} grew steadily by {growthBytes} in {durationS} s ({rateBytes}/s), but tracing found no allocation older than {minAgeS} s still live: it may be a cache that will shrink, or allocations outside what was traced.',
    'memleak.reason.confirmed': '{name} grew steadily by {growthBytes} in {durationS} s ({rateBytes}/s), and {outstandingBytes} allocated more than {minAgeS} s ago is still live, most from {symbol}.',
    'memleak.reason.check-ok': 'Unreclaimable slab, vmalloc and unaccounted kernel memory are all under their thresholds.',
    'memleak.reason.check-high': '{type} memory is {counterBytes} ({counterPct} of RAM): watch its growth with `oscope memleak -t {type}` to tell a leak from a large but steady user.',
    'memleak.suggest.growth': '{name} grew by {growthBytes} in {durationS} s ({rateBytes}/s); allocation tracing (BPF) would name the call stacks.',
    'memleak.suggest.trend': 'Over the recorded history it grows by {rateBytes}/s.',
    'memleak.suggest.verdict.slab': 'Watch {cache} with its allocation stacks: `oscope memleak -t slab --cache {cache} -i 300`; `grep {cache} /proc/slabinfo` shows its objects.',
    'memleak.suggest.verdict.vmalloc': 'Watch the caller with its allocation stacks: `oscope memleak -t vmalloc --cache "{cache}" -i 300`; `grep {cache} /proc/vmallocinfo` lists its areas.',
    'memleak.suggest.verdict.page': 'Watch the page counters with allocation stacks: `oscope memleak -t page -i 300`; `oscope mem` shows how much memory no counter explains.',
    'memleak.suggest.verdict.longer': 'A slow leak needs a longer window: `oscope memleak -t {type} -i {longerS}`.',
    'memleak.suggest.verdict.check': 'The instant check reads counters only: watch their growth with `oscope memleak -t slab -i 300` (or `-t page`, `-t vmalloc`).',
    'memleak.suggest.verdict.check-high': 'One reading cannot tell a leak from a large but steady user: watch it grow with `oscope memleak -t {kind} -i 300`.',
  },
};
