import type { Catalog } from '../index.js';

/** `oscope mem` 的简体中文文案；键与占位符与英文版一一对应。 */
export const mem: Catalog = {
  findings: {
    'mem.usage.high': {
      title: '可用内存不足',
      conclusion:
        '{totalBytes} 中仅剩 {availableBytes}（{availablePct}）可用；占用最多的是 {biggest}（{biggestBytes}），最大的进程是 {topProcess}，占用 {topProcessBytes}。',
      suggestions: [
        '查看下方的内存分布和进程排行，找出增长的部分；可与之前保存的 `oscope mem --json` 结果对比。',
        '如果占用最多的是某个进程，检查它是否存在内存泄漏（观察 RSS 变化：`ps -o pid,rss,cmd -p PID`），或收紧其内存限制。',
        '如果文件缓存很大而 MemAvailable 仍然很低，说明内存被其他部分占住：请查看共享内存、slab 和未统计内存部分。',
      ],
    },
    'mem.filecache.high': {
      title: '{place} 的页缓存占比过高',
      conclusion: '{place} 持有 {fileBytes} 页缓存，占 {totalBytes} 的 {filePct}。',
      suggestions: [
        '查看是哪些文件占用了缓存：`oscope filecache`（单个容器可加 `--cgroup PATH` 或 `--container ID`）。',
        '页缓存可回收，但活跃文件页会计入 Kubernetes 驱逐依据的 workingset；日志量大的容器应及时轮转并删除旧日志，或使用 O_DIRECT / posix_fadvise(DONTNEED) 写入。',
        '在 cgroup v2 上可释放单个 cgroup 的干净缓存：`echo SIZE > memory.reclaim`；主机级最后手段：`sync; echo 1 > /proc/sys/vm/drop_caches`。',
      ],
    },
    'mem.shmem.leak': {
      title: '{place} 中的共享内存持续增长',
      conclusion:
        '{place} 在 {files} 个文件中占用 {shmemBytes} 共享内存（平均每个约 {avgFileBytes}）；共享内存总量为 {totalShmemBytes}。tmpfs 中的文件在被删除前一直占用内存。',
      suggestions: [
        '找出写入者：`ls -lt PLACE | head` 和 `fuser -v PLACE/*`；修复只创建不删除这些文件的程序。',
        '删除过期文件即可立即释放内存（共享内存无法被回收，只能被换出）。',
        '限制挂载大小：`mount -o remount,size=1G /dev/shm`，或为容器的 /dev/shm 设置大小上限。',
      ],
    },
    'mem.sysv.orphan': {
      title: '孤儿 SysV 共享内存',
      conclusion: '{segments} 个 SysV 共享内存段（shmid {shmids}）在没有任何进程挂接的情况下占用 {orphanBytes}。',
      suggestions: [
        '用 `ipcs -m -p` 列出它们（创建者和最后使用者的 pid），确认其所有者已经退出。',
        '用 `ipcrm -m SHMID` 删除，内存会立即释放。',
        '对于数据库（PostgreSQL、Oracle），请正常重启服务，而不是用 SIGKILL 杀掉，否则会遗留共享内存段。',
      ],
    },
    'mem.slab.reclaimable-high': {
      title: '可回收 slab 过大',
      conclusion: '内核缓存占用 {reclaimableBytes}（内存的 {reclaimablePct}）可回收 slab；最大的缓存是 {topCache}，占用 {topCacheBytes}。',
      suggestions: [
        '这部分内存在内存紧张时会被回收，但回收会带来延迟；请找出产生大量 dentry/inode 的来源（遍历大量文件的任务、临时文件泄漏）。',
        '立即释放：`echo 2 > /proc/sys/vm/drop_caches`（释放 dentry 和 inode，会有短暂的 CPU 开销）。',
        '调高 `vm.vfs_cache_pressure`（例如 200），让内核更早回收这些缓存。',
      ],
    },
    'mem.dentry.negative-high': {
      title: '负 dentry 过多',
      conclusion: 'dentry 缓存中有 {negative} 个负 dentry（查找过但不存在的文件名），占全部 {total} 个 dentry 的 {negativePct}，约占用 {negativeBytes}。',
      suggestions: [
        '找出反复查找不存在文件的程序：对可疑进程执行 `strace -f -e trace=%file -p PID`，或检查循环中的 PATH/LD_LIBRARY_PATH 搜索。',
        '立即释放：`echo 2 > /proc/sys/vm/drop_caches`。',
        '若内核支持，可用 `sysctl fs.negative-dentry-limit` 限制其数量。',
      ],
    },
    'mem.cgroup.zombie': {
      title: '僵尸内存 cgroup',
      conclusion: '{zombies} 个内存 cgroup 已被删除但仍存在于内核中（存活的有 {visible} 个），约占用 {zombieBytes}；主要位于 {place}（{placeBytes}）。',
      suggestions: [
        '僵尸 cgroup 是被计费到它们名下的页缓存（已删除容器读写过的文件）拖住的；这些缓存被回收后它们就会消失。',
        '立即释放：`echo 1 > /proc/sys/vm/drop_caches`（页缓存），或在 cgroup v2 上写父 cgroup 的 memory.reclaim。',
        '长期方案：避免为读取大文件的短任务创建独立 cgroup，或使用支持 memcg 页面重新归属的内核（5.19+ 会重新归属 LRU 页）。',
      ],
    },
    'mem.unaccounted.high': {
      title: '没有任何计数器显示的内存',
      conclusion: '{unaccountedBytes}（内存的 {unaccountedPct}）已被使用，但没有任何内核计数器体现；其中 socket 缓冲区可解释 {socketBytes}。',
      suggestions: [
        '这类内存由驱动（GPU、RDMA、virtio balloon）、网络协议栈直接从页分配器申请，也可能是内核泄漏。',
        '观察趋势：`oscope memleak -t page` 可判断它是否在增长以及由哪些调用栈分配。',
        '在支持内存分配剖析的内核上，/proc/allocinfo 会给出调用点；用 `sysctl vm.mem_profiling=1` 开启。',
      ],
    },
    'mem.kernel.leak-suspect': {
      title: '疑似内核内存泄漏（{kind}）',
      conclusion: '不可回收的 {kind} 内存为 {suspectBytes}（内存的 {suspectPct}）；最大的是 {suspect}，占用 {suspectTopBytes}。',
      suggestions: [
        '用增长观察和分配追踪确认：`oscope memleak -t {type}`。',
        '记录内核版本和已加载的驱动；已知的泄漏可能在更新的稳定版内核中已修复。',
      ],
    },
    'mem.cgroup.near-limit': {
      title: '{place} 接近内存上限',
      conclusion: '{place} 的 workingset 为 {workingsetBytes}，达到其上限 {limitBytes} 的 {workingsetPct}（匿名页 {anonBytes}，活跃文件页 {activeFileBytes}）。',
      suggestions: [
        '在 OOM killer 或驱逐发生之前，提高上限或降低使用量。',
        '如果活跃文件缓存占了 workingset 的大部分，用 `oscope filecache --cgroup PATH` 查看是哪些文件。',
      ],
    },
  },
  text: {
    'mem.section.breakdown': '内存分布',
    'mem.section.processes': '按 RSS 排序的进程',
    'mem.section.cgroups': '内存 cgroup 与容器',
    'mem.section.shmem': '共享内存',
    'mem.section.slab': 'Slab 缓存',
    'mem.section.memcg': '僵尸内存 cgroup',
    'mem.section.unaccounted': '未统计内存',
    'mem.group.free': '空闲',
    'mem.group.user': '用户态',
    'mem.group.kernel': '内核',
    'mem.group.reserved': '预留',
    'mem.group.unaccounted': '未统计',
    'mem.item.free': '空闲',
    'mem.item.anon': '匿名页',
    'mem.item.filecache': '文件缓存',
    'mem.item.shmem': '共享内存（tmpfs、shm、memfd）',
    'mem.item.swapcache': '交换缓存',
    'mem.item.hugetlb': 'hugetlb 大页池',
    'mem.item.lruUnmapped': '映射计数器未体现的 LRU 页面',
    'mem.item.mlocked': '其中 mlock 锁定',
    'mem.item.slabReclaimable': 'slab（可回收）',
    'mem.item.slabUnreclaimable': 'slab（不可回收）',
    'mem.item.kernelStack': '内核栈',
    'mem.item.pageTables': '页表',
    'mem.item.percpu': 'per-CPU',
    'mem.item.vmalloc': 'vmalloc',
    'mem.item.kernelReclaimableOther': '其他可回收内核内存',
    'mem.item.zswap': 'zswap 池',
    'mem.item.unaccepted': '未接受内存',
    'mem.item.bounce': 'bounce/回写缓冲',
    'mem.item.unaccounted': '未统计（无计数器）',
    'mem.item.reserved': '固件/启动预留',
    'mem.total': '物理内存 {totalBytes}，MemTotal {memTotalBytes}，可用 {availableBytes}',
    'mem.kpage.crosscheck': 'kpageflags 交叉校验：除空闲、vmalloc、内核栈和 per-CPU 外，无标志页面共 {otherBytes}（计数器显示 {unaccountedBytes}）',
    'mem.shmem.residual': '以上都无法解释的共享内存：{residualBytes}',
    'mem.memcg.summary': '内核中有 {total} 个内存 cgroup，存活 {visible} 个，僵尸 {zombies} 个，约占用 {zombieBytes}',
    'mem.slab.dentry': 'dentry：共 {total} 个，未使用 {unused} 个，负 dentry {negative} 个',
    'mem.none': '（无）',
  },
};
