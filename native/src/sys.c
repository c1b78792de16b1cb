/*
 * Plain syscalls Node cannot make: cachestat(2), mincore(2) on a read-only mapping, pagemap reads,
 * resident-page PFNs of a file without I/O, and perf_event_open(2).
 */
#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_cachestat
#define __NR_cachestat 451 /* same number on every architecture (new syscall table) */
#endif

struct oscope_cachestat_range {
  uint64_t off;
  uint64_t len;
};
struct oscope_cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};

static long page_size(void) {
  static long ps;
  if (!ps) ps = sysconf(_SC_PAGESIZE);
  return ps;
}

struct fd_handle {
  uint32_t kind;
  int fd;
  /* perf events opened with mmapPages: the ring (1 metadata page + 2^n data pages) */
  void *ring;
  size_t ring_len;
};

static void fd_release(struct fd_handle *h) {
  if (h->ring) munmap(h->ring, h->ring_len);
  h->ring = NULL;
  if (h->fd >= 0) close(h->fd);
  h->fd = -1;
}

static void fd_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct fd_handle *h = data;
  fd_release(h);
  free(h);
}

/* Wraps an fd this addon owns; the finalizer closes it if JS forgot to. */
napi_value ou_wrap_fd(napi_env env, int fd) {
  struct fd_handle *h = calloc(1, sizeof *h);
  if (!h) {
    close(fd);
    return ou_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  h->kind = H_FD;
  h->fd = fd;
  napi_value ext;
  if (napi_create_external(env, h, fd_finalize, NULL, &ext) != napi_ok) {
    close(fd);
    free(h);
    ou_throw_napi(env, "napi_create_external");
    return NULL;
  }
  return ext;
}

int ou_fd_of(napi_env env, napi_value v) {
  struct fd_handle *h = ou_handle(env, v, H_FD, "fd handle");
  if (!h) return -2;
  if (h->fd < 0) {
    ou_throw_errno(env, EBADF, "fd", "(the handle was closed)");
    return -2;
  }
  return h->fd;
}

/* cachestat(fd, offset, length) → page counts. length 0 means "to the end of the file". */
static napi_value js_cachestat(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!ou_args(env, info, 3, argv, NULL)) return NULL;
  int64_t fd;
  uint64_t off = 0, len = 0;
  if (!ou_int(env, argv[0], "fd", &fd)) return NULL;
  if (!ou_is_nullish(env, argv[1]) && !ou_u64(env, argv[1], "offset", &off)) return NULL;
  if (!ou_is_nullish(env, argv[2]) && !ou_u64(env, argv[2], "length", &len)) return NULL;
  struct oscope_cachestat_range range = {off, len};
  struct oscope_cachestat cs = {0};
  if (syscall(__NR_cachestat, (int)fd, &range, &cs, 0) != 0) return ou_throw_errno(env, errno, "cachestat", NULL);
  napi_value out;
  napi_create_object(env, &out);
  ou_set_num(env, out, "cache", (double)cs.nr_cache);
  ou_set_num(env, out, "dirty", (double)cs.nr_dirty);
  ou_set_num(env, out, "writeback", (double)cs.nr_writeback);
  ou_set_num(env, out, "evicted", (double)cs.nr_evicted);
  ou_set_num(env, out, "recentlyEvicted", (double)cs.nr_recently_evicted);
  return out;
}

/*
 * Maps [off, off+len) of fd read-only (no I/O: mmap does not read) and runs mincore on it.
 * Returns the number of pages and, on request, the per-page vector (bit 0 = resident).
 */
static int map_range(int fd, uint64_t *off, uint64_t *len, void **addr, size_t *maplen) {
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) return EINVAL;
  uint64_t size = (uint64_t)st.st_size;
  uint64_t ps = (uint64_t)page_size();
  uint64_t start = *off & ~(ps - 1);
  uint64_t end = *len ? *off + *len : size;
  if (end > size) end = size;
  *off = start;
  if (end <= start) {
    *len = 0;
    *addr = NULL;
    *maplen = 0;
    return 0;
  }
  *len = end - start;
  *maplen = (size_t)((*len + ps - 1) & ~(ps - 1));
  void *p = mmap(NULL, *maplen, PROT_READ, MAP_SHARED, fd, (off_t)start);
  if (p == MAP_FAILED) return errno;
  *addr = p;
  return 0;
}

static napi_value js_mincore(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!ou_args(env, info, 4, argv, NULL)) return NULL;
  int64_t fd;
  uint64_t off = 0, len = 0;
  bool want_vec = false;
  if (!ou_int(env, argv[0], "fd", &fd)) return NULL;
  if (!ou_is_nullish(env, argv[1]) && !ou_u64(env, argv[1], "offset", &off)) return NULL;
  if (!ou_is_nullish(env, argv[2]) && !ou_u64(env, argv[2], "length", &len)) return NULL;
  ou_bool(env, argv[3], &want_vec);
  void *addr;
  size_t maplen;
  int err = map_range((int)fd, &off, &len, &addr, &maplen);
  if (err) return ou_throw_errno(env, err, "mmap", "(for mincore)");
  size_t pages = maplen / (size_t)page_size();
  napi_value out, vecbuf = NULL;
  napi_create_object(env, &out);
  unsigned char *vec = NULL;
  if (pages) {
    if (want_vec) {
      if (napi_create_buffer(env, pages, (void **)&vec, &vecbuf) != napi_ok) {
        munmap(addr, maplen);
        ou_throw_napi(env, "napi_create_buffer");
        return NULL;
      }
    } else {
      vec = malloc(pages);
      if (!vec) {
        munmap(addr, maplen);
        return ou_throw_errno(env, ENOMEM, "malloc", NULL);
      }
    }
    if (mincore(addr, maplen, vec) != 0) {
      err = errno;
      munmap(addr, maplen);
      if (!want_vec) free(vec);
      return ou_throw_errno(env, err, "mincore", NULL);
    }
    munmap(addr, maplen);
  }
  size_t resident = 0;
  for (size_t i = 0; i < pages; i++) resident += vec[i] & 1;
  if (!want_vec) free(vec);
  ou_set_num(env, out, "pages", (double)pages);
  ou_set_num(env, out, "resident", (double)resident);
  ou_set_num(env, out, "offset", (double)off);
  if (vecbuf) ou_set_val(env, out, "vector", vecbuf);
  return out;
}

/*
 * cachestatFiles(paths, method, async): the page cache of many files in one call, for walks over
 * 100,000+ files. Only regular files are opened (stat first: opening a device can have side effects);
 * O_NOATIME where permitted. method "cachestat" uses cachestat(2) (ENOSYS before 6.5), "mincore" maps
 * the file read-only and counts resident pages (no I/O). Returns a Float64Array of CACHESTAT_ROW
 * numbers per path:
 *   [errno (0 = ok), sizeBytes, dev, ino, cache, dirty, writeback, evicted, recentlyEvicted]
 * in pages; fields a method cannot know are NaN. With async = true, returns a Promise and runs on the
 * libuv thread pool.
 */
#define CACHESTAT_ROW 9

static void mincore_one(int fd, uint64_t size, double *row) {
  uint64_t off = 0, len = 0;
  void *addr = NULL;
  size_t maplen = 0;
  (void)size;
  int err = map_range(fd, &off, &len, &addr, &maplen);
  if (err) {
    row[0] = err;
    return;
  }
  size_t pages = maplen / (size_t)page_size(), resident = 0;
  if (pages) {
    /* In windows of 4096 pages (16 MiB), so a huge file needs no huge vector. */
    unsigned char vec[4096];
    for (size_t p = 0; p < pages; p += sizeof vec) {
      size_t n = pages - p < sizeof vec ? pages - p : sizeof vec;
      if (mincore((char *)addr + p * (size_t)page_size(), n * (size_t)page_size(), vec) != 0) {
        row[0] = errno;
        break;
      }
      for (size_t i = 0; i < n; i++) resident += vec[i] & 1;
    }
    munmap(addr, maplen);
  }
  row[4] = (double)resident;
}

static void stat_one(const char *path, bool use_mincore, double *row) {
  for (int i = 1; i < CACHESTAT_ROW; i++) row[i] = NAN;
  row[0] = 0;
  struct stat st;
  if (stat(path, &st) != 0) {
    row[0] = errno;
    return;
  }
  row[1] = (double)st.st_size;
  row[2] = (double)st.st_dev;
  row[3] = (double)st.st_ino;
  if (!S_ISREG(st.st_mode)) {
    row[0] = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    return;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME | O_NONBLOCK | O_NOCTTY);
  if (fd < 0 && errno == EPERM) fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    row[0] = errno;
    return;
  }
  if (use_mincore) {
    mincore_one(fd, (uint64_t)st.st_size, row);
  } else {
    struct oscope_cachestat_range range = {0, 0};
    struct oscope_cachestat cs = {0};
    if (syscall(__NR_cachestat, fd, &range, &cs, 0) != 0) {
      row[0] = errno;
    } else {
      row[4] = (double)cs.nr_cache;
      row[5] = (double)cs.nr_dirty;
      row[6] = (double)cs.nr_writeback;
      row[7] = (double)cs.nr_evicted;
      row[8] = (double)cs.nr_recently_evicted;
    }
  }
  close(fd);
}

struct files_work {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref ab_ref;
  char **paths;
  size_t n;
  bool use_mincore;
  double *rows;
};

static void files_execute(napi_env env, void *data) {
  (void)env;
  struct files_work *w = data;
  for (size_t i = 0; i < w->n; i++) stat_one(w->paths[i], w->use_mincore, w->rows + i * CACHESTAT_ROW);
}

static void files_free(struct files_work *w) {
  for (size_t i = 0; i < w->n; i++) free(w->paths[i]);
  free(w->paths);
  free(w);
}

static void files_complete(napi_env env, napi_status status, void *data) {
  struct files_work *w = data;
  napi_value ab, arr;
  napi_get_reference_value(env, w->ab_ref, &ab);
  napi_delete_reference(env, w->ab_ref);
  if (status != napi_ok) {
    napi_value msg, err;
    napi_create_string_utf8(env, "cachestatFiles was cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, w->deferred, err);
  } else {
    napi_create_typedarray(env, napi_float64_array, w->n * CACHESTAT_ROW, ab, 0, &arr);
    napi_resolve_deferred(env, w->deferred, arr);
  }
  napi_delete_async_work(env, w->work);
  files_free(w);
}

static napi_value js_cachestat_files(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!ou_args(env, info, 3, argv, NULL)) return NULL;
  bool is_array = false, async = false;
  napi_is_array(env, argv[0], &is_array);
  if (!is_array) return ou_throw_type(env, "paths must be an array of strings");
  char method[16] = "cachestat";
  if (!ou_is_nullish(env, argv[1]) && !ou_str(env, argv[1], "method", method, sizeof method)) return NULL;
  bool use_mincore = strcmp(method, "mincore") == 0;
  if (!use_mincore && strcmp(method, "cachestat") != 0) return ou_throw_type(env, "method must be \"cachestat\" or \"mincore\"");
  ou_bool(env, argv[2], &async);
  uint32_t n;
  napi_get_array_length(env, argv[0], &n);
  struct files_work *w = calloc(1, sizeof *w);
  if (!w) return ou_throw_errno(env, ENOMEM, "malloc", NULL);
  w->paths = calloc(n ? n : 1, sizeof *w->paths);
  if (!w->paths) {
    free(w);
    return ou_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  w->use_mincore = use_mincore;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    size_t len;
    napi_get_element(env, argv[0], i, &v);
    if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
      files_free(w);
      return ou_throw_type(env, "paths must be an array of strings");
    }
    w->paths[i] = malloc(len + 1);
    if (!w->paths[i]) {
      files_free(w);
      return ou_throw_errno(env, ENOMEM, "malloc", NULL);
    }
    napi_get_value_string_utf8(env, v, w->paths[i], len + 1, &len);
    w->n = i + 1;
  }
  w->n = n;
  napi_value ab;
  if (napi_create_arraybuffer(env, (size_t)n * CACHESTAT_ROW * sizeof(double), (void **)&w->rows, &ab) != napi_ok) {
    files_free(w);
    ou_throw_napi(env, "napi_create_arraybuffer");
    return NULL;
  }
  if (!async) {
    files_execute(env, w);
    napi_value arr;
    napi_create_typedarray(env, napi_float64_array, (size_t)n * CACHESTAT_ROW, ab, 0, &arr);
    files_free(w);
    return arr;
  }
  napi_value promise, name;
  napi_create_reference(env, ab, 1, &w->ab_ref);
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, "oscope:cachestatFiles", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, files_execute, files_complete, w, &w->work);
  napi_queue_async_work(env, w->work);
  return promise;
}

/* pagemapRead(pid|"self", vaddr, count) → BigUint64Array of raw pagemap entries. */
static napi_value js_pagemap_read(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!ou_args(env, info, 3, argv, NULL)) return NULL;
  int64_t pid, count;
  uint64_t vaddr;
  if (!ou_int(env, argv[0], "pid", &pid)) return NULL;
  if (!ou_u64(env, argv[1], "vaddr", &vaddr)) return NULL;
  if (!ou_int(env, argv[2], "count", &count)) return NULL;
  if (count < 0 || count > (1 << 26)) return ou_throw_type(env, "count must be between 0 and 2^26");
  char path[64];
  if (pid <= 0) snprintf(path, sizeof path, "/proc/self/pagemap");
  else snprintf(path, sizeof path, "/proc/%lld/pagemap", (long long)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ou_throw_errno(env, errno, "open", path);
  napi_value ab, arr;
  void *data;
  if (napi_create_arraybuffer(env, (size_t)count * 8, &data, &ab) != napi_ok) {
    close(fd);
    ou_throw_napi(env, "napi_create_arraybuffer");
    return NULL;
  }
  size_t want = (size_t)count * 8, got = 0;
  off_t pos = (off_t)(vaddr / (uint64_t)page_size() * 8);
  while (got < want) {
    ssize_t n = pread(fd, (char *)data + got, want - got, pos + (off_t)got);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return ou_throw_errno(env, err, "pread", path);
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  close(fd);
  napi_create_typedarray(env, napi_biguint64_array, got / 8, ab, 0, &arr);
  return arr;
}

/*
 * residentPfns(fd, offset, length, maxPages, stride): the PFNs of resident page-cache pages of a file,
 * found without I/O: mincore on a read-only mapping, then a read of one byte of each chosen resident
 * page (a minor fault that maps the cached page), then /proc/self/pagemap for those addresses.
 * A page evicted between mincore and the touch is read back (a rare race); pages whose pagemap entry
 * is not present are left out. PFNs are 0 without CAP_SYS_ADMIN.
 * Returns { pages, resident, sampled, index: Float64Array (page index in the file), pfn: Float64Array }.
 */
static napi_value js_resident_pfns(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!ou_args(env, info, 5, argv, NULL)) return NULL;
  int64_t fd, max_pages = 1 << 20, stride = 1;
  uint64_t off = 0, len = 0;
  if (!ou_int(env, argv[0], "fd", &fd)) return NULL;
  if (!ou_is_nullish(env, argv[1]) && !ou_u64(env, argv[1], "offset", &off)) return NULL;
  if (!ou_is_nullish(env, argv[2]) && !ou_u64(env, argv[2], "length", &len)) return NULL;
  if (!ou_is_nullish(env, argv[3]) && !ou_int(env, argv[3], "maxPages", &max_pages)) return NULL;
  if (!ou_is_nullish(env, argv[4]) && !ou_int(env, argv[4], "stride", &stride)) return NULL;
  if (max_pages < 0 || stride < 1) return ou_throw_type(env, "maxPages must be >= 0 and stride >= 1");
  void *addr;
  size_t maplen;
  int err = map_range((int)fd, &off, &len, &addr, &maplen);
  if (err) return ou_throw_errno(env, err, "mmap", "(for residentPfns)");
  size_t ps = (size_t)page_size();
  size_t pages = maplen / ps, resident = 0, chosen = 0;
  unsigned char *vec = NULL;
  size_t *idx = NULL;
  uint64_t *ent = NULL;
  int pm = -1;
  if (pages) {
    vec = malloc(pages);
    if (!vec) { err = ENOMEM; goto fail; }
    if (mincore(addr, maplen, vec) != 0) { err = errno; goto fail; }
    for (size_t i = 0; i < pages; i++) resident += vec[i] & 1;
    size_t cap = resident < (size_t)max_pages ? resident : (size_t)max_pages;
    idx = malloc((cap ? cap : 1) * sizeof *idx);
    ent = malloc((cap ? cap : 1) * sizeof *ent);
    if (!idx || !ent) { err = ENOMEM; goto fail; }
    size_t seen = 0;
    for (size_t i = 0; i < pages && chosen < cap; i++) {
      if (!(vec[i] & 1)) continue;
      if (seen++ % (size_t)stride) continue;
      idx[chosen++] = i;
    }
    for (size_t k = 0; k < chosen; k++) {
      volatile const char *p = (const char *)addr + idx[k] * ps;
      (void)*p;
    }
    pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (pm < 0) { err = errno; goto fail; }
    for (size_t k = 0; k < chosen; k++) {
      uint64_t va = (uint64_t)(uintptr_t)addr + idx[k] * ps;
      if (pread(pm, &ent[k], 8, (off_t)(va / ps * 8)) != 8) { err = errno ? errno : EIO; goto fail; }
    }
    close(pm);
    pm = -1;
  }
  size_t present = 0;
  for (size_t k = 0; k < chosen; k++)
    if (ent[k] >> 63) present++;
  napi_value out, ab1, ab2, a1, a2;
  double *d1, *d2;
  napi_create_object(env, &out);
  napi_create_arraybuffer(env, present * 8, (void **)&d1, &ab1);
  napi_create_arraybuffer(env, present * 8, (void **)&d2, &ab2);
  size_t j = 0;
  for (size_t k = 0; k < chosen; k++) {
    if (!(ent[k] >> 63)) continue;
    d1[j] = (double)(idx[k] + off / ps);
    d2[j] = (double)(ent[k] & ((1ULL << 55) - 1));
    j++;
  }
  napi_create_typedarray(env, napi_float64_array, present, ab1, 0, &a1);
  napi_create_typedarray(env, napi_float64_array, present, ab2, 0, &a2);
  ou_set_num(env, out, "pages", (double)pages);
  ou_set_num(env, out, "resident", (double)resident);
  ou_set_num(env, out, "sampled", (double)present);
  ou_set_val(env, out, "index", a1);
  ou_set_val(env, out, "pfn", a2);
  free(vec);
  free(idx);
  free(ent);
  if (addr) munmap(addr, maplen);
  return out;
fail:
  if (pm >= 0) close(pm);
  free(vec);
  free(idx);
  free(ent);
  if (addr) munmap(addr, maplen);
  return ou_throw_errno(env, err, "residentPfns", NULL);
}

/*
 * perfEventOpen({ type, config, cpu, pid, samplePeriod | sampleFreq, sampleType, disabled,
 *                 wakeupEvents, excludeKernel, excludeUser, excludeIdle, pinned }) → fd handle.
 */
static bool opt_u64(napi_env env, napi_value o, const char *k, uint64_t *out) {
  napi_value v;
  if (!ou_get_prop(env, o, k, &v)) return true;
  return ou_u64(env, v, k, out);
}
static bool opt_i64(napi_env env, napi_value o, const char *k, int64_t *out) {
  napi_value v;
  if (!ou_get_prop(env, o, k, &v)) return true;
  return ou_int(env, v, k, out);
}
static bool opt_bool(napi_env env, napi_value o, const char *k, bool def) {
  napi_value v;
  bool b = def;
  if (ou_get_prop(env, o, k, &v)) ou_bool(env, v, &b);
  return b;
}

static napi_value js_perf_event_open(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  napi_value o = argv[0];
  uint64_t type = PERF_TYPE_SOFTWARE, config = PERF_COUNT_SW_CPU_CLOCK, period = 0, freq = 0, stype = 0,
           wakeup = 1, mmap_pages = 0;
  int64_t cpu = -1, pid = -1;
  if (!opt_u64(env, o, "type", &type) || !opt_u64(env, o, "config", &config) ||
      !opt_u64(env, o, "samplePeriod", &period) || !opt_u64(env, o, "sampleFreq", &freq) ||
      !opt_u64(env, o, "sampleType", &stype) || !opt_u64(env, o, "wakeupEvents", &wakeup) ||
      !opt_i64(env, o, "cpu", &cpu) || !opt_i64(env, o, "pid", &pid) || !opt_u64(env, o, "mmapPages", &mmap_pages))
    return NULL;
  if (mmap_pages & (mmap_pages - 1)) return ou_throw_type(env, "mmapPages must be a power of two");
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = (uint32_t)type;
  attr.config = config;
  if (freq) {
    attr.freq = 1;
    attr.sample_freq = freq;
  } else {
    attr.sample_period = period;
  }
  attr.sample_type = stype;
  attr.wakeup_events = (uint32_t)wakeup;
  attr.disabled = opt_bool(env, o, "disabled", false);
  attr.exclude_kernel = opt_bool(env, o, "excludeKernel", false);
  attr.exclude_user = opt_bool(env, o, "excludeUser", false);
  attr.exclude_idle = opt_bool(env, o, "excludeIdle", false);
  attr.pinned = opt_bool(env, o, "pinned", false);
  int fd = (int)syscall(__NR_perf_event_open, &attr, (pid_t)pid, (int)cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    char d[64];
    snprintf(d, sizeof d, "(type %llu config %llu cpu %lld)", (unsigned long long)type,
             (unsigned long long)config, (long long)cpu);
    return ou_throw_errno(env, errno, "perf_event_open", d);
  }
  void *ring = NULL;
  size_t ring_len = 0;
  if (mmap_pages) {
    ring_len = (size_t)(mmap_pages + 1) * (size_t)page_size();
    ring = mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ring == MAP_FAILED) {
      int err = errno;
      close(fd);
      return ou_throw_errno(env, err, "mmap", "(perf event ring)");
    }
  }
  napi_value ext = ou_wrap_fd(env, fd);
  if (!ext) {
    if (ring) munmap(ring, ring_len);
    return NULL;
  }
  struct fd_handle *h;
  napi_get_value_external(env, ext, (void **)&h);
  h->ring = ring;
  h->ring_len = ring_len;
  return ext;
}

/*
 * perfEventReadRing(handle) → Buffer of the records written since the last read (each starts with a
 * struct perf_event_header), copied out of the mmap ring and acknowledged (data_tail). Non-blocking:
 * call it from a timer. Records the kernel could not write are reported by PERF_RECORD_LOST records.
 */
static napi_value js_perf_read_ring(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct fd_handle *h = ou_handle(env, argv[0], H_FD, "fd handle");
  if (!h) return NULL;
  if (!h->ring) return ou_throw_errno(env, h->fd < 0 ? EBADF : EINVAL, "perfEventReadRing", "(opened without mmapPages)");
  struct perf_event_mmap_page *meta = h->ring;
  char *data = (char *)h->ring + page_size();
  uint64_t size = h->ring_len - (size_t)page_size();
  uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
  uint64_t tail = meta->data_tail;
  uint64_t avail = head - tail;
  if (avail > size) avail = size; /* cannot happen with a well-behaved kernel; never read past the ring */
  void *dst;
  if (napi_create_buffer(env, (size_t)avail, &dst, &out) != napi_ok) {
    ou_throw_napi(env, "napi_create_buffer");
    return NULL;
  }
  uint64_t off = tail & (size - 1);
  uint64_t first = avail < size - off ? avail : size - off;
  memcpy(dst, data + off, (size_t)first);
  if (avail > first) memcpy((char *)dst + first, data, (size_t)(avail - first));
  __atomic_store_n(&meta->data_tail, tail + avail, __ATOMIC_RELEASE);
  return out;
}

static napi_value perf_ioctl(napi_env env, napi_callback_info info, unsigned long req, const char *what) {
  napi_value argv[1];
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  int fd = ou_fd_of(env, argv[0]);
  if (fd < 0) return NULL;
  if (ioctl(fd, req, 0) != 0) return ou_throw_errno(env, errno, what, NULL);
  return NULL;
}
static napi_value js_perf_enable(napi_env env, napi_callback_info info) {
  return perf_ioctl(env, info, PERF_EVENT_IOC_ENABLE, "ioctl(PERF_EVENT_IOC_ENABLE)");
}
static napi_value js_perf_disable(napi_env env, napi_callback_info info) {
  return perf_ioctl(env, info, PERF_EVENT_IOC_DISABLE, "ioctl(PERF_EVENT_IOC_DISABLE)");
}

/* fdClose(handle): idempotent. */
static napi_value js_fd_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct fd_handle *h = ou_handle(env, argv[0], H_FD, "fd handle");
  if (!h) return NULL;
  fd_release(h);
  return NULL;
}

static napi_value js_fd_number(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct fd_handle *h = ou_handle(env, argv[0], H_FD, "fd handle");
  if (!h) return NULL;
  napi_create_int32(env, h->fd, &out);
  return out;
}

static napi_value js_page_size(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_double(env, (double)page_size(), &out);
  return out;
}

napi_value ou_init_sys(napi_env env, napi_value exports) {
  ou_export(env, exports, "cachestat", js_cachestat);
  ou_export(env, exports, "mincore", js_mincore);
  ou_export(env, exports, "cachestatFiles", js_cachestat_files);
  ou_export(env, exports, "pagemapRead", js_pagemap_read);
  ou_export(env, exports, "residentPfns", js_resident_pfns);
  ou_export(env, exports, "perfEventOpen", js_perf_event_open);
  ou_export(env, exports, "perfEventEnable", js_perf_enable);
  ou_export(env, exports, "perfEventDisable", js_perf_disable);
  ou_export(env, exports, "perfEventReadRing", js_perf_read_ring);
  ou_export(env, exports, "fdClose", js_fd_close);
  ou_export(env, exports, "fdNumber", js_fd_number);
  ou_export(env, exports, "pageSize", js_page_size);
  return exports;
}
