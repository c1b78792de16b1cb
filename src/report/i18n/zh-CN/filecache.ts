import type { Catalog } from '../index.js';

/** `oscope filecache` 及 `oscope mem` 中文件缓存部分的消息。 */
export const filecache: Catalog = {
  findings: {
    'filecache.summary': {
      title: '{scope}的页缓存：前 {files} 个文件共 {listedBytes}',
      conclusion: '列出的 {files} 个文件占用 {listedBytes}，是{scope}的 {scopeBytes} 页缓存的 {sharePct}；最大的是 {topFile}，占 {topFileBytes}。',
      suggestions: [
        '页缓存会按需回收。如需立即释放干净的缓存，仅作为最后手段：`sync; echo 1 > /proc/sys/vm/drop_caches`（之后所有文件都要重新从磁盘读取）。',
      ],
    },
    'filecache.deleted.cached': {
      title: '已删除的文件仍占用 {deletedBytes} 页缓存',
      conclusion:
        '{scope}中有 {files} 个已删除的文件仍在缓存中（共 {deletedBytes}；最大的是 {topFile}，占 {topFileBytes}），因为有进程仍打开或映射着它们：{holders}。只有最后一个持有者关闭它们后，缓存和磁盘空间才会释放。',
      suggestions: [
        '用 `lsof +L1` 列出它们（单个进程可用 `ls -l /proc/PID/fd | grep deleted`）。',
        '如果是日志轮转删除了它们，应让程序重新打开日志（发送重载信号，或使用 copytruncate），而不是删除仍在打开的文件。',
      ],
    },
    'filecache.dirty.high': {
      title: '页缓存中脏页较多',
      conclusion:
        '列出文件的 {listedBytes} 缓存中有 {dirtyBytes}（{dirtyPct}）是脏页或正在回写，最多的是 {topFile}（{topFileBytes}）：写回磁盘之前无法回收，达到脏页上限时写入者会被阻塞。',
      suggestions: [
        '观察其回写进度：`grep -E "^(Dirty|Writeback):" /proc/meminfo`；磁盘慢或饱和可在 `iostat -x 1` 中看到。',
        '降低脏页上限，让回写更早开始：`sysctl -w vm.dirty_background_bytes=268435456 vm.dirty_bytes=1073741824`。',
        '不再读回数据的写入者可以边写边刷盘（fdatasync、sync_file_range）；`sync` 可立即刷写全部脏页。',
      ],
    },
    'filecache.container.dominant': {
      title: '{container} 占用了大部分页缓存',
      conclusion: '在列出文件的 {listedBytes} 缓存中，{container} 占 {containerBytes}（{sharePct}），分布在 {files} 个文件中；最大的是 {topFile}。',
      suggestions: [
        '列出它的文件：`oscope filecache {scopeFlag}`。',
        '在 `oscope mem`（cgroup 表）中对比它的内存限制和工作集：计入容器的页缓存会占用其内存限额。',
        '如果它写入的日志或数据不会再读，轮转并删除旧文件，或用 posix_fadvise(POSIX_FADV_DONTNEED) 写入。',
      ],
    },
    'filecache.shmem.unreclaimable': {
      title: '共享内存文件占用 {shmemBytes}',
      conclusion:
        '列出的文件中有 {files} 个位于 tmpfs、/dev/shm、memfd 或 SysV 共享内存，共占用 {shmemBytes}（占列出缓存的 {shmemPct}；最大的是 {topFile}，占 {topFileBytes}）。这是 Shmem，不是可回收的页缓存：在文件被删除前一直占用内存（或交换空间），drop_caches 也无法释放。',
      suggestions: [
        '查看是谁创建的：`ls -lt /dev/shm | head`、`df -h -t tmpfs` 和 `fuser -v FILE`。',
        '删除不再需要的文件；用 `mount -o remount,size=1G /dev/shm` 限制挂载大小（或容器的 shm 大小）。',
        'memfd 和 SysV 段在持有者释放后才会释放：`ipcs -m -p` 列出 SysV 段及其创建者。',
      ],
    },
  },
  text: {
    'filecache.summary': '{scope}的页缓存：已找到的文件共 {cachedBytes}；前 {files} 个文件：',
    'filecache.scope.host': '本机',
    'filecache.scope.container': '容器',
    'filecache.scope.pod': 'Pod',
    'filecache.scope.cgroup': 'cgroup',
    'filecache.section.files': '占用页缓存的文件',
    'filecache.flag.deleted': '已删除',
    'filecache.flag.shmem': '共享内存',
    'filecache.topFiles': '其中缓存最多的文件：{files}。',
    'filecache.suggest.narrow': '查看单个容器、Pod 或 cgroup 的文件：`oscope filecache --container ID`（或 `--pod NAME`、`--cgroup PATH`）；`oscope mem` 显示哪些 cgroup 缓存最多。',
    'filecache.suggest.scoped': '在 `oscope mem` 中对比该范围的内存限制和工作集：它的页缓存计入内存限额，在 OOM 之前会被回收，但活跃页、脏页和共享内存页除外。',
    'filecache.suggest.restartHolder': '重启或重载 {comm}（pid {pid}），让它关闭已删除的文件：`ls -l /proc/{pid}/fd | grep deleted` 可查看是哪些。',
    'filecache.suggest.deletedNoHolder': '没有进程持有它们：可能是 loop 设备（`losetup -a`）或内核在引用该 inode；它释放后缓存才会释放。',
    'mem.section.filecache': '占用页缓存的文件（前 {top} 个）',
  },
};
