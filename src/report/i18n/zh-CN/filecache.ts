import type { Catalog } from '../index.js';

/** `oscope filecache` 及 `oscope mem` 中文件缓存部分的消息。 */
export const filecache: Catalog = {
  findings: {},
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
    'mem.section.filecache': '占用页缓存的文件（前 {top} 个）',
  },
};
