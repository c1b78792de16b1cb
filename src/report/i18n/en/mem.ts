import type { Catalog } from '../index.js';

/** Messages of `oscope mem`. Placeholders: see src/diagnose/memory/findings.ts. */
export const mem: Catalog = {
  findings: {
    'mem.usage.high': {
      title: 'Memory is running out',
      conclusion:
        'Only {availableBytes} of {totalBytes} ({availablePct}) is available; the largest use is {biggest} ({biggestBytes}), the largest process {topProcess} with {topProcessBytes}.',
      suggestions: [
        'Look at the breakdown and the top processes below to see which group grows; compare with an earlier `oscope mem --json`.',
        'If the largest use is a process, check it for a leak (its RSS over time: `ps -o pid,rss,cmd -p PID`) or lower its limits.',
        'If file cache is large but MemAvailable is still low, memory is pinned elsewhere: read the shared memory, slab and unaccounted sections.',
      ],
    },
    'mem.filecache.high': {
      title: 'Page cache dominates {place}',
      conclusion: '{place} holds {fileBytes} of page cache, {filePct} of {totalBytes}.',
      suggestions: [
        'See which files hold it: `oscope filecache` (add `--cgroup PATH` or `--container ID` for one container).',
        'Page cache is reclaimable, but active file pages count in the working set Kubernetes evicts on; for a log-heavy container, rotate and delete old logs or write with O_DIRECT / posix_fadvise(DONTNEED).',
        'To release clean cache of one cgroup on cgroup v2: `echo SIZE > memory.reclaim`; host-wide as a last resort: `sync; echo 1 > /proc/sys/vm/drop_caches`.',
      ],
    },
    'mem.shmem.leak': {
      title: 'Shared memory is growing in {place}',
      conclusion:
        '{place} holds {shmemBytes} of shared memory in {files} files (about {avgFileBytes} each); all shared memory is {totalShmemBytes}. Files in tmpfs stay in RAM until they are deleted.',
      suggestions: [
        'Find who writes there: `ls -lt PLACE | head` and `fuser -v PLACE/*`; fix the program that creates these files and never removes them.',
        'Delete stale files to free the memory at once (shared memory cannot be reclaimed otherwise, only swapped).',
        'Cap the mount: `mount -o remount,size=1G /dev/shm`, or set a size limit on the container\'s /dev/shm.',
      ],
    },
    'mem.sysv.orphan': {
      title: 'Orphaned SysV shared memory',
      conclusion: '{segments} SysV shared memory segments (shmid {shmids}) hold {orphanBytes} while no process is attached to them.',
      suggestions: [
        'List them with `ipcs -m -p` (creator and last user pids) and confirm their owner is gone.',
        'Remove one with `ipcrm -m SHMID`; the memory is freed at once.',
        'For databases (PostgreSQL, Oracle), restart the owning service cleanly instead of killing it with SIGKILL, which leaves segments behind.',
      ],
    },
    'mem.slab.reclaimable-high': {
      title: 'Reclaimable slab is large',
      conclusion: 'Kernel caches hold {reclaimableBytes} ({reclaimablePct} of RAM) of reclaimable slab; the largest cache is {topCache} with {topCacheBytes}.',
      suggestions: [
        'This memory is freed under pressure, but reclaiming it costs latency; find what creates so many dentries/inodes (a job walking many files, a leak of temporary files).',
        'To release it now: `echo 2 > /proc/sys/vm/drop_caches` (dentries and inodes; brief CPU cost).',
        'Raise `vm.vfs_cache_pressure` (for example to 200) so the kernel reclaims these caches earlier.',
      ],
    },
    'mem.dentry.negative-high': {
      title: 'Too many negative dentries',
      conclusion: 'The dentry cache holds {negative} negative dentries (names looked up that do not exist), {negativePct} of {total} dentries, using about {negativeBytes}.',
      suggestions: [
        'Find the program looking up missing files: `strace -f -e trace=%file -p PID` on suspects, or a PATH/LD_LIBRARY_PATH search repeated in a loop.',
        'Release them now: `echo 2 > /proc/sys/vm/drop_caches`.',
        'On kernels that have it, bound them with `sysctl fs.negative-dentry-limit`.',
      ],
    },
    'mem.cgroup.zombie': {
      title: 'Zombie memory cgroups',
      conclusion:
        '{zombies} memory cgroups were removed but still live in the kernel ({visible} live ones), holding about {zombieBytes}; most under {place} ({placeBytes}).',
      suggestions: [
        'Zombie cgroups are kept alive by page cache charged to them (files a deleted container read or wrote); they go away when that cache is reclaimed.',
        'Release them now: `echo 1 > /proc/sys/vm/drop_caches` (page cache), or on cgroup v2 write to the parent\'s memory.reclaim.',
        'Long-term: avoid per-job cgroups that read large files, or use a kernel with memcg reparenting (5.19+ reparents LRU pages).',
      ],
    },
    'mem.unaccounted.high': {
      title: 'Memory that no counter shows',
      conclusion: '{unaccountedBytes} ({unaccountedPct} of RAM) is used but not shown by any kernel counter; socket buffers explain {socketBytes} of it.',
      suggestions: [
        'Such memory is taken straight from the page allocator by drivers (GPU, RDMA, virtio balloon), the network stack, or a kernel leak.',
        'Check the trend: `oscope memleak -t page` tells whether it grows and which call stacks allocate it.',
        'On kernels with memory allocation profiling, /proc/allocinfo names the call sites; enable it with `sysctl vm.mem_profiling=1`.',
      ],
    },
    'mem.kernel.leak-suspect': {
      title: 'Possible kernel memory leak ({kind})',
      conclusion: 'Unreclaimable {kind} memory is {suspectBytes} ({suspectPct} of RAM); the largest is {suspect} with {suspectTopBytes}.',
      suggestions: [
        'Confirm with a growth watch and allocation tracing: `oscope memleak -t {type}`.',
        'Note the kernel version and loaded drivers; a known leak may be fixed in a later stable kernel.',
      ],
    },
    'mem.cgroup.near-limit': {
      title: '{place} is near its memory limit',
      conclusion: 'The working set of {place} is {workingsetBytes}, {workingsetPct} of its {limitBytes} limit (anon {anonBytes}, active file {activeFileBytes}).',
      suggestions: [
        'Raise the limit or lower the usage before the OOM killer or eviction acts.',
        'If active file cache makes up much of the working set, see which files with `oscope filecache --cgroup PATH`.',
      ],
    },
  },
  text: {
    'mem.section.breakdown': 'Memory breakdown',
    'mem.section.processes': 'Top processes by RSS',
    'mem.section.cgroups': 'Memory cgroups and containers',
    'mem.section.shmem': 'Shared memory',
    'mem.section.slab': 'Slab caches',
    'mem.section.memcg': 'Zombie memory cgroups',
    'mem.section.unaccounted': 'Unaccounted memory',
    'mem.group.free': 'free',
    'mem.group.user': 'user',
    'mem.group.kernel': 'kernel',
    'mem.group.reserved': 'reserved',
    'mem.group.unaccounted': 'unaccounted',
    'mem.item.free': 'free',
    'mem.item.anon': 'anonymous',
    'mem.item.filecache': 'file cache',
    'mem.item.shmem': 'shared memory (tmpfs, shm, memfd)',
    'mem.item.swapcache': 'swap cache',
    'mem.item.hugetlb': 'hugetlb pool',
    'mem.item.lruUnmapped': 'LRU pages no mapping counter shows',
    'mem.item.mlocked': 'of which mlocked',
    'mem.item.slabReclaimable': 'slab, reclaimable',
    'mem.item.slabUnreclaimable': 'slab, unreclaimable',
    'mem.item.kernelStack': 'kernel stacks',
    'mem.item.pageTables': 'page tables',
    'mem.item.percpu': 'per-CPU',
    'mem.item.vmalloc': 'vmalloc',
    'mem.item.kernelReclaimableOther': 'other reclaimable kernel',
    'mem.item.zswap': 'zswap pool',
    'mem.item.unaccepted': 'unaccepted',
    'mem.item.bounce': 'bounce/writeback buffers',
    'mem.item.unaccounted': 'unaccounted (no counter)',
    'mem.item.reserved': 'firmware/boot reserved',
    'mem.total': 'physical RAM {totalBytes}, MemTotal {memTotalBytes}, available {availableBytes}',
    'mem.kpage.crosscheck': 'kpageflags cross-check: {otherBytes} in pages with no flags beyond free, vmalloc, stacks and percpu (counters say {unaccountedBytes})',
    'mem.shmem.residual': 'shared memory none of the above explains: {residualBytes}',
    'mem.memcg.summary': '{total} memory cgroups in the kernel, {visible} live, {zombies} zombies holding about {zombieBytes}',
    'mem.slab.dentry': 'dentries: {total} total, {unused} unused, {negative} negative',
    'mem.none': '(none)',
  },
};
