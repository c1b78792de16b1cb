import type { Catalog } from '../index.js';

/** Messages of `oscope filecache` and the file cache parts of `oscope mem`. */
export const filecache: Catalog = {
  findings: {},
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
    'mem.section.filecache': 'Files holding page cache (top {top})',
  },
};
