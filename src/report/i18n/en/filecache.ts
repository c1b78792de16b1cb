import type { Catalog } from '../index.js';

/** Messages of `oscope filecache` and the file cache parts of `oscope mem`. */
export const filecache: Catalog = {
  findings: {
    'filecache.summary': {
      title: 'Page cache of {scope}: {listedBytes} in the top {files} files',
      conclusion: 'The files listed ({files}) hold {listedBytes}, {sharePct} of the {scopeBytes} of page cache of {scope}; the largest is {topFile} with {topFileBytes}.',
      suggestions: [
        'Page cache is reclaimed on demand. To release clean cache at once, and only as a last resort: `sync; echo 1 > /proc/sys/vm/drop_caches` (every file is read from disk again afterwards).',
      ],
    },
    'filecache.deleted.cached': {
      title: 'Deleted files still hold {deletedBytes} of page cache',
      conclusion:
        'Deleted files are still cached in {scope}: {files} of them, {deletedBytes} (the largest {topFile} with {topFileBytes}), because a process keeps them open or mapped: {holders}. Their cache and their disk space come back only when the last holder closes them.',
      suggestions: [
        'List them with `lsof +L1` (or `ls -l /proc/PID/fd | grep deleted` for one process).',
        'If a log rotation deleted them, make the program reopen its logs (a reload signal, or copytruncate) instead of deleting files it has open.',
      ],
    },
    'filecache.dirty.high': {
      title: 'Much of the page cache is dirty',
      conclusion:
        '{dirtyBytes} of the {listedBytes} of cache in the listed files ({dirtyPct}) is dirty or under writeback, the most in {topFile} ({topFileBytes}): it cannot be reclaimed until it is written to disk, and writers stall when the dirty limits are reached.',
      suggestions: [
        'Watch it drain: `grep -E "^(Dirty|Writeback):" /proc/meminfo`; a slow or saturated disk shows in `iostat -x 1`.',
        'Start writeback earlier with lower dirty limits: `sysctl -w vm.dirty_background_bytes=268435456 vm.dirty_bytes=1073741824`.',
        'A writer that does not read its data back can flush as it goes (fdatasync, sync_file_range); `sync` flushes everything now.',
      ],
    },
    'filecache.container.dominant': {
      title: '{container} holds most of the page cache',
      conclusion: '{container} holds {containerBytes} of the {listedBytes} of cache in the listed files ({sharePct}; {files} of them, the largest {topFile}).',
      suggestions: [
        'List its files: `oscope filecache {scopeFlag}`.',
        'Compare with its memory limit and working set in `oscope mem` (the cgroups table): page cache charged to a container counts against its limit.',
        'If it writes logs or data it does not read again, rotate and delete old files, or write with posix_fadvise(POSIX_FADV_DONTNEED).',
      ],
    },
    'filecache.shmem.unreclaimable': {
      title: 'Shared memory files hold {shmemBytes}',
      conclusion:
        'Files listed on tmpfs, /dev/shm, memfd or SysV shared memory hold {shmemBytes} ({files} of them, {shmemPct} of the listed cache; the largest {topFile} with {topFileBytes}). This is Shmem, not reclaimable page cache: it stays in RAM (or swap) until the file is deleted, and drop_caches does not free it.',
      suggestions: [
        'See who creates them: `ls -lt /dev/shm | head`, `df -h -t tmpfs` and `fuser -v FILE`.',
        'Delete the files nobody needs; cap a mount with `mount -o remount,size=1G /dev/shm` (or the container\'s shm size).',
        'memfd and SysV segments are freed when their holders release them: `ipcs -m -p` lists SysV segments with their creator.',
      ],
    },
  },
  text: {
    'filecache.summary': 'Page cache of {scope}: {cachedBytes} in the files found; the top {files} files:',
    'filecache.scope.host': 'the host',
    'filecache.scope.container': 'container',
    'filecache.scope.pod': 'pod',
    'filecache.scope.cgroup': 'cgroup',
    'filecache.section.files': 'Files holding page cache',
    'filecache.flag.deleted': 'deleted',
    'filecache.flag.shmem': 'shmem',
    'filecache.topFiles': 'Its largest cached files: {files}.',
    'filecache.suggest.narrow': 'See one container\'s, pod\'s or cgroup\'s files: `oscope filecache --container ID` (or `--pod NAME`, `--cgroup PATH`); `oscope mem` shows which cgroups hold the most cache.',
    'filecache.suggest.scoped': 'Compare with the scope\'s limit and working set in `oscope mem`: its page cache counts against its memory limit and is reclaimed before an OOM kill, except active, dirty and shared memory pages.',
    'filecache.suggest.restartHolder': 'Restart or reload {comm} (pid {pid}) so that it closes the deleted files: `ls -l /proc/{pid}/fd | grep deleted` shows which.',
    'filecache.suggest.deletedNoHolder': 'No process holds them: a loop device (`losetup -a`) or a kernel user may keep the inode; they are freed when it lets go.',
    'mem.section.filecache': 'Files holding page cache (top {top})',
  },
};
