import type { Catalog } from '../index.js';

/**
 * Messages of `oscope io`. Placeholders come from src/diagnose/io/analyze.ts (params of each finding).
 */
export const io: Catalog = {
  findings: {
    'io.latency.device': {
      title: 'I/O on {disk} is slow in the device: {meanMs} per request',
      conclusion:
        '{requests} requests on {disk} took {meanMs} on average (threshold {thresholdMs}); {sharePct} of it is in the device (mean {deviceMs}, p50 ~{deviceP50Ms}, p99 ~{deviceP99Ms}), not in the OS queue ({queueMs}) or the I/O scheduler ({schedMs}): the latency is in the device, or on a VM in the hypervisor\'s storage.',
      suggestions: [
        'The OS hands requests over quickly; look below it: the device\'s health (`smartctl -a /dev/{disk}`, `nvme smart-log`), its firmware, or on a VM the host\'s storage backend and any IOPS/bandwidth limit of the volume.',
        'Compare with the device\'s rated latency; if it is saturated (see %util and queue depth), spread the load ({comm} [{pid}] issued the slowest request) or move it to faster storage.',
      ],
    },
    'io.latency.queue': {
      title: 'I/O on {disk} waits in the OS: {meanMs} per request',
      conclusion:
        '{requests} requests on {disk} took {meanMs} on average (threshold {thresholdMs}); {sharePct} of it was spent before the driver got them (queue {queueMs}, p50 ~{queueP50Ms}; I/O scheduler {schedMs}), while the device itself took {deviceMs}: requests wait in the OS queue/scheduler.',
      suggestions: [
        'Requests wait for a tag or in the scheduler: check the queue depth (`cat /sys/block/{disk}/queue/nr_requests`) and the scheduler (`cat /sys/block/{disk}/queue/scheduler`; `none` or `mq-deadline` suit fast devices).',
        'A cgroup I/O limit (blkio.throttle.*, io.max) or io.latency/io.cost control also holds requests back before the driver: check the limits of the cgroup of {comm} [{pid}].',
      ],
    },
    'io.latency.wake': {
      title: 'Tasks waiting for I/O on {disk} are woken late: {wakeMs}',
      conclusion:
        '{wakeups} times a task waiting for I/O on {disk} ran again {wakeMs} on average after its request completed (p99 ~{wakeP99Ms}; threshold {thresholdMs}), while the device took {deviceMs}: the task is woken late, the CPU is the bottleneck, not the disk.',
      suggestions: [
        'The CPUs are busy or the waiting task has low priority: run `oscope runlatency` to see what delays it on the run queue.',
        'Move interrupt handling and completions closer to the task (irqbalance, /sys/block/{disk}/queue/rq_affinity = 2) or give the task dedicated CPUs.',
      ],
    },
    'io.traffic.dominant': {
      title: '{who} does {sharePct} of the I/O',
      conclusion:
        'Of {totalBytes} read and written over the interval ({totalBytesPerS}/s), {who} ({kind}, cgroup {cgroup}) did {sharePct} (threshold {thresholdPct}): {readBytes} read, {writeBytes} written (writeback counted for the task that dirtied the pages).',
      suggestions: [
        'If this is not expected, see what it does: `cat /proc/{pid}/io`, `ls -l /proc/{pid}/fd`, `pidstat -d 1`.',
        'To protect others, cap it with a cgroup I/O limit (cgroup v2 io.max, v1 blkio.throttle.read_bps_device/write_bps_device on its cgroup {cgroup}) or lower its I/O priority (`ionice -c3 -p {pid}`).',
      ],
    },
    'io.hang': {
      title: 'I/O on {disk} has been stuck for {ageS} s',
      conclusion:
        '{requests} requests on {disk} have been in flight for at least {ageS} s (threshold {thresholdS} s; oldest at sector {sector}, issued by {comm} [{pid}]); {dTasks} tasks are in D state waiting for I/O, near {frame}.',
      suggestions: [
        'Look at the device and its driver: `dmesg | tail -50` for timeouts and resets, and on a VM the host\'s storage (a hung NFS/iSCSI/cloud volume looks the same).',
        'The D-state tasks cannot be killed until the I/O completes; their stacks (below) show where they wait. If the device is gone, fail it out (`echo 1 > /sys/block/{disk}/device/delete` for SCSI) only once you know what holds it.',
      ],
    },
    'io.util.saturated': {
      title: '{disk} is busy {utilPct} of the time',
      conclusion:
        '{disk} ({rotational}) had requests in flight {utilPct} of the interval (threshold {thresholdPct}), {iops} requests/s, {readBytesPerS}/s read and {writeBytesPerS}/s written, mean queue depth {queueDepth}, await {awaitMs}.',
      suggestions: [
        'On a rotational disk this means saturation; on SSD/NVMe and virtual disks, which serve many requests at once, %util alone does not: look at await and the device stage latency too.',
        'Find who does the I/O (the traffic table), spread it over time or disks, or move it to faster storage.',
      ],
    },
    'io.iowait.high': {
      title: 'Tasks spend a lot of time waiting for I/O',
      conclusion:
        '{comm} [{pid}] slept in iowait {iowaitPct} of the interval ({iowaitMs}), near {frame}; PSI io: some {psiSomePct}, full {psiFullPct} over the last 10 s (threshold {thresholdPct}).',
      suggestions: [
        'The stack shows what it waits for: a read it needs (page cache too small: see `oscope mem`), a sync/fsync, or a lock held across I/O.',
        'If the disk is slow, see the latency findings; if it is busy, the traffic table names who keeps it busy.',
      ],
    },
  },
  text: {
    'io.title': 'I/O over {intervalS} s',
    'io.section.disks': 'Disks (iostat -x over the interval)',
    'io.section.latency': 'Request latency by stage',
    'io.section.slow': 'Slow requests',
    'io.section.processes': 'Traffic by process',
    'io.section.cgroups': 'Traffic by cgroup (each with its descendants)',
    'io.section.files': 'Traffic by file',
    'io.files.note': 'READ: bytes read from disk into its page cache; WRITE: bytes of it dirtied (written back later), by the WRITERS. A /dev/NAME row is the disk\'s own cache: file system metadata and journal, dirtied by whoever changed them (often a kworker or jbd2).',
    'io.section.hangs': 'Hung requests',
    'io.section.dtasks': 'Tasks in D state, by stack',
    'io.section.iowait': 'I/O wait by task',
    'io.verdict.device': 'verdict: the latency of {disk} is in the device (or the hypervisor\'s storage)',
    'io.verdict.queue': 'verdict: requests on {disk} wait in the OS queue',
    'io.verdict.sched': 'verdict: requests on {disk} wait in the I/O scheduler',
    'io.verdict.wake': 'verdict: tasks waiting on {disk} are woken late',
    'io.psi': 'PSI io: some {someAvg10} %, full {fullAvg10} % (avg10); stalled {someMs} (some) over the interval',
    'io.lost': '{count} slow-request events were lost (ring buffer full).',
    'io.none': '(none)',
    'io.watching': 'measuring I/O for {intervalS} s: Ctrl-C to stop early',
  },
};
