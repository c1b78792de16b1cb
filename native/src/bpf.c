/*
 * libbpf over node-api: objects (open, globals, load), programs (attach as tracepoint, raw tracepoint,
 * tp_btf/fentry, perf event, iterator), maps (lookup, update, delete, dump in batches), ring buffers
 * consumed by a thread of their own, and feature probes.
 *
 * Lifetime rules: programs and maps are reached by name through their object handle (never by a raw
 * pointer JS could keep after close); links and map fds are handles of their own. Every handle's
 * finalizer releases what JS did not close. Nothing is pinned: closing the last fd (or the process
 * dying) detaches everything.
 */
#define _GNU_SOURCE
#include "util.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- objects ----------------------------------------------------------------------------------- */

struct obj_handle {
  uint32_t kind;
  struct bpf_object *obj;
  bool loaded;
};

static void obj_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct obj_handle *h = data;
  if (h->obj) bpf_object__close(h->obj);
  free(h);
}

static struct obj_handle *get_obj(napi_env env, napi_value v) {
  struct obj_handle *h = ou_handle(env, v, H_OBJ, "object handle");
  if (h && !h->obj) {
    ou_throw_errno(env, EBADF, "bpf_object", "(the object was closed)");
    return NULL;
  }
  return h;
}

static struct bpf_program *get_prog(napi_env env, struct obj_handle *h, napi_value name_v) {
  char name[256];
  if (!ou_str(env, name_v, "program name", name, sizeof name)) return NULL;
  struct bpf_program *p = bpf_object__find_program_by_name(h->obj, name);
  if (!p) ou_throw_errno(env, ENOENT, "bpf_object__find_program_by_name", name);
  return p;
}

/* objOpen(path, { btfCustomPath? }) → object handle */
static napi_value js_obj_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!ou_args(env, info, 2, argv, NULL)) return NULL;
  char path[4096], btf[4096] = "";
  if (!ou_str(env, argv[0], "path", path, sizeof path)) return NULL;
  napi_value v;
  if (ou_get_prop(env, argv[1], "btfCustomPath", &v) && !ou_str(env, v, "btfCustomPath", btf, sizeof btf))
    return NULL;
  LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = btf[0] ? btf : NULL);
  ou_libbpf_log_clear();
  struct bpf_object *obj = bpf_object__open_file(path, &opts);
  if (!obj) return ou_throw_errno(env, errno, "bpf_object__open_file", path);
  struct obj_handle *h = calloc(1, sizeof *h);
  if (!h) {
    bpf_object__close(obj);
    return ou_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  h->kind = H_OBJ;
  h->obj = obj;
  napi_value ext;
  if (napi_create_external(env, h, obj_finalize, NULL, &ext) != napi_ok) {
    bpf_object__close(obj);
    free(h);
    ou_throw_napi(env, "napi_create_external");
    return NULL;
  }
  return ext;
}

static napi_value js_obj_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct obj_handle *h = ou_handle(env, argv[0], H_OBJ, "object handle");
  if (!h) return NULL;
  if (h->obj) bpf_object__close(h->obj);
  h->obj = NULL;
  return NULL;
}

static napi_value js_obj_load(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct obj_handle *h = get_obj(env, argv[0]);
  if (!h) return NULL;
  ou_libbpf_log_clear();
  int err = bpf_object__load(h->obj);
  if (err) return ou_throw_errno(env, err, "bpf_object__load", bpf_object__name(h->obj));
  h->loaded = true;
  return NULL;
}

static napi_value js_obj_programs(napi_env env, napi_callback_info info) {
  napi_value argv[1], arr;
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct obj_handle *h = get_obj(env, argv[0]);
  if (!h) return NULL;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  struct bpf_program *p;
  bpf_object__for_each_program(p, h->obj) {
    napi_value o;
    napi_create_object(env, &o);
    ou_set_str(env, o, "name", bpf_program__name(p));
    ou_set_str(env, o, "section", bpf_program__section_name(p));
    ou_set_num(env, o, "type", bpf_program__type(p));
    ou_set_bool(env, o, "autoload", bpf_program__autoload(p));
    napi_set_element(env, arr, i++, o);
  }
  return arr;
}

static napi_value js_obj_maps(napi_env env, napi_callback_info info) {
  napi_value argv[1], arr;
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct obj_handle *h = get_obj(env, argv[0]);
  if (!h) return NULL;
  napi_create_array(env, &arr);
  uint32_t i = 0;
  struct bpf_map *m;
  bpf_object__for_each_map(m, h->obj) {
    napi_value o;
    napi_create_object(env, &o);
    ou_set_str(env, o, "name", bpf_map__name(m));
    ou_set_num(env, o, "type", bpf_map__type(m));
    ou_set_num(env, o, "keySize", bpf_map__key_size(m));
    ou_set_num(env, o, "valueSize", bpf_map__value_size(m));
    ou_set_num(env, o, "maxEntries", bpf_map__max_entries(m));
    napi_set_element(env, arr, i++, o);
  }
  return arr;
}

/* The variables of the object's data sections (.rodata, .data, .bss, and .rodata.* etc.) from its BTF. */
typedef bool (*var_visit)(const char *sec, const char *var, uint32_t off, uint32_t size, void *ctx);

static void for_each_global(struct bpf_object *obj, var_visit visit, void *ctx) {
  struct btf *btf = bpf_object__btf(obj);
  if (!btf) return;
  uint32_t n = btf__type_cnt(btf);
  for (uint32_t id = 1; id < n; id++) {
    const struct btf_type *t = btf__type_by_id(btf, id);
    if (!btf_is_datasec(t)) continue;
    const char *sec = btf__name_by_offset(btf, t->name_off);
    if (!sec || (strncmp(sec, ".rodata", 7) != 0 && strncmp(sec, ".data", 5) != 0 && strncmp(sec, ".bss", 4) != 0))
      continue; /* .maps, license, .kconfig: not globals one sets */
    const struct btf_var_secinfo *vi = btf_var_secinfos(t);
    for (uint16_t k = 0; k < btf_vlen(t); k++, vi++) {
      const struct btf_type *vt = btf__type_by_id(btf, vi->type);
      if (!btf_is_var(vt)) continue;
      if (!visit(sec, btf__name_by_offset(btf, vt->name_off), vi->offset, vi->size, ctx)) return;
    }
  }
}

struct globals_ctx {
  napi_env env;
  napi_value arr;
  uint32_t i;
};
static bool list_global(const char *sec, const char *var, uint32_t off, uint32_t size, void *c) {
  struct globals_ctx *g = c;
  napi_value o;
  napi_create_object(g->env, &o);
  ou_set_str(g->env, o, "section", sec);
  ou_set_str(g->env, o, "name", var);
  ou_set_num(g->env, o, "offset", off);
  ou_set_num(g->env, o, "size", size);
  napi_set_element(g->env, g->arr, g->i++, o);
  return true;
}

static napi_value js_obj_globals(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct obj_handle *h = get_obj(env, argv[0]);
  if (!h) return NULL;
  struct globals_ctx g = {env, NULL, 0};
  napi_create_array(env, &g.arr);
  for_each_global(h->obj, list_global, &g);
  return g.arr;
}

struct find_ctx {
  const char *name;
  char sec[128];
  uint32_t off, size;
  bool found;
};
static bool find_global(const char *sec, const char *var, uint32_t off, uint32_t size, void *c) {
  struct find_ctx *f = c;
  if (strcmp(var, f->name) != 0) return true;
  snprintf(f->sec, sizeof f->sec, "%s", sec);
  f->off = off;
  f->size = size;
  f->found = true;
  return false;
}

/* objSetGlobal(obj, name, bytes): sets a global (`const volatile` in .rodata included) before load. */
static napi_value js_obj_set_global(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!ou_args(env, info, 3, argv, NULL)) return NULL;
  struct obj_handle *h = get_obj(env, argv[0]);
  if (!h) return NULL;
  char name[256];
  void *data;
  size_t len;
  if (!ou_str(env, argv[1], "name", name, sizeof name)) return NULL;
  if (!ou_buffer(env, argv[2], "value", &data, &len)) return NULL;
  if (h->loaded) return ou_throw_errno(env, EBUSY, "bpf_map__set_initial_value", "(globals are set before load)");
  struct find_ctx f = {.name = name};
  for_each_global(h->obj, find_global, &f);
  if (!f.found) return ou_throw_errno(env, ENOENT, "bpf_object global lookup", name);
  if (len != f.size) {
    char msg[512];
    snprintf(msg, sizeof msg, "global %s is %u bytes, got %zu", name, f.size, len);
    return ou_throw_type(env, msg);
  }
  struct bpf_map *m = bpf_object__find_map_by_name(h->obj, f.sec);
  if (!m) return ou_throw_errno(env, ENOENT, "bpf_object__find_map_by_name", f.sec);
  size_t sz = 0;
  const void *cur = bpf_map__initial_value(m, &sz);
  if (!cur || f.off + len > sz) return ou_throw_errno(env, EINVAL, "bpf_map__initial_value", f.sec);
  char *copy = malloc(sz);
  if (!copy) return ou_throw_errno(env, ENOMEM, "malloc", NULL);
  memcpy(copy, cur, sz);
  memcpy(copy + f.off, data, len);
  int err = bpf_map__set_initial_value(m, copy, sz);
  free(copy);
  if (err) return ou_throw_errno(env, err, "bpf_map__set_initial_value", f.sec);
  return NULL;
}

/* objSetMaxEntries(obj, mapName, n): resizes a map before load (bpf_map__set_max_entries). */
static napi_value js_obj_set_max_entries(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!ou_args(env, info, 3, argv, NULL)) return NULL;
  struct obj_handle *h = get_obj(env, argv[0]);
  if (!h) return NULL;
  char name[256];
  int64_t n;
  if (!ou_str(env, argv[1], "map name", name, sizeof name) || !ou_int(env, argv[2], "max entries", &n)) return NULL;
  if (h->loaded) return ou_throw_errno(env, EBUSY, "bpf_map__set_max_entries", "(maps are sized before load)");
  if (n < 1 || n > UINT32_MAX) return ou_throw_type(env, "max entries must be between 1 and 4294967295");
  struct bpf_map *m = bpf_object__find_map_by_name(h->obj, name);
  if (!m) return ou_throw_errno(env, ENOENT, "bpf_object__find_map_by_name", name);
  int err = bpf_map__set_max_entries(m, (uint32_t)n);
  if (err) return ou_throw_errno(env, err, "bpf_map__set_max_entries", name);
  return NULL;
}

static napi_value js_prog_set_autoload(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!ou_args(env, info, 3, argv, NULL)) return NULL;
  struct obj_handle *h = get_obj(env, argv[0]);
  if (!h) return NULL;
  struct bpf_program *p = get_prog(env, h, argv[1]);
  if (!p) return NULL;
  bool on = false;
  ou_bool(env, argv[2], &on);
  int err = bpf_program__set_autoload(p, on);
  if (err) return ou_throw_errno(env, err, "bpf_program__set_autoload", bpf_program__name(p));
  return NULL;
}

/* progInfo(obj, name) → { name, id, tag, type, loaded } (the kernel's view; id is how bpftool names it). */
static napi_value js_prog_info(napi_env env, napi_callback_info info) {
  napi_value argv[2], o;
  if (!ou_args(env, info, 2, argv, NULL)) return NULL;
  struct obj_handle *h = get_obj(env, argv[0]);
  if (!h) return NULL;
  struct bpf_program *p = get_prog(env, h, argv[1]);
  if (!p) return NULL;
  napi_create_object(env, &o);
  ou_set_str(env, o, "name", bpf_program__name(p));
  int fd = bpf_program__fd(p);
  ou_set_bool(env, o, "loaded", fd >= 0);
  if (fd >= 0) {
    struct bpf_prog_info pi;
    memset(&pi, 0, sizeof pi);
    uint32_t len = sizeof pi;
    if (bpf_obj_get_info_by_fd(fd, &pi, &len) != 0) return ou_throw_errno(env, errno, "bpf_obj_get_info_by_fd", NULL);
    char tag[2 * BPF_TAG_SIZE + 1];
    for (int i = 0; i < BPF_TAG_SIZE; i++) snprintf(tag + 2 * i, 3, "%02x", pi.tag[i]);
    ou_set_num(env, o, "id", pi.id);
    ou_set_str(env, o, "tag", tag);
    ou_set_num(env, o, "type", pi.type);
    ou_set_str(env, o, "kernelName", pi.name);
  }
  return o;
}

/* progExists(id) → whether the kernel still has a program with this id. */
static napi_value js_prog_exists(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  int64_t id;
  if (!ou_int(env, argv[0], "id", &id)) return NULL;
  int fd = bpf_prog_get_fd_by_id((uint32_t)id);
  int err = errno;
  if (fd >= 0) close(fd);
  else if (err != ENOENT) return ou_throw_errno(env, err, "bpf_prog_get_fd_by_id", NULL);
  napi_get_boolean(env, fd >= 0, &out);
  return out;
}

/* ---- links ------------------------------------------------------------------------------------- */

struct link_handle {
  uint32_t kind;
  struct bpf_link *link;
};

static void link_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct link_handle *h = data;
  if (h->link) bpf_link__destroy(h->link);
  free(h);
}

static napi_value wrap_link(napi_env env, struct bpf_link *link, const char *what, const char *detail) {
  if (!link) return ou_throw_errno(env, errno, what, detail);
  struct link_handle *h = calloc(1, sizeof *h);
  if (!h) {
    bpf_link__destroy(link);
    return ou_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  h->kind = H_LINK;
  h->link = link;
  napi_value ext;
  if (napi_create_external(env, h, link_finalize, NULL, &ext) != napi_ok) {
    bpf_link__destroy(link);
    free(h);
    ou_throw_napi(env, "napi_create_external");
    return NULL;
  }
  return ext;
}

static struct link_handle *get_link(napi_env env, napi_value v) {
  struct link_handle *h = ou_handle(env, v, H_LINK, "link handle");
  if (h && !h->link) {
    ou_throw_errno(env, EBADF, "bpf_link", "(the link was destroyed)");
    return NULL;
  }
  return h;
}

#define PROG_ARGS(n)                                              \
  napi_value argv[n];                                             \
  if (!ou_args(env, info, n, argv, NULL)) return NULL;            \
  struct obj_handle *h = get_obj(env, argv[0]);                   \
  if (!h) return NULL;                                            \
  struct bpf_program *p = get_prog(env, h, argv[1]);              \
  if (!p) return NULL;                                            \
  ou_libbpf_log_clear();

/* progAttach(obj, name): attaches as its SEC() says (tracepoint/..., raw_tp/..., tp_btf/..., iter/...). */
static napi_value js_prog_attach(napi_env env, napi_callback_info info) {
  PROG_ARGS(2)
  return wrap_link(env, bpf_program__attach(p), "bpf_program__attach", bpf_program__name(p));
}

static napi_value js_prog_attach_tracepoint(napi_env env, napi_callback_info info) {
  PROG_ARGS(4)
  char cat[128], tp[128], d[300];
  if (!ou_str(env, argv[2], "category", cat, sizeof cat) || !ou_str(env, argv[3], "tracepoint", tp, sizeof tp))
    return NULL;
  snprintf(d, sizeof d, "(%s:%s)", cat, tp);
  return wrap_link(env, bpf_program__attach_tracepoint(p, cat, tp), "bpf_program__attach_tracepoint", d);
}

static napi_value js_prog_attach_raw_tracepoint(napi_env env, napi_callback_info info) {
  PROG_ARGS(3)
  char tp[128];
  if (!ou_str(env, argv[2], "tracepoint", tp, sizeof tp)) return NULL;
  return wrap_link(env, bpf_program__attach_raw_tracepoint(p, tp), "bpf_program__attach_raw_tracepoint", tp);
}

/* A kprobe or kretprobe on a kernel function (perf-based or multi-link, as libbpf picks): fd-scoped. */
static napi_value js_prog_attach_kprobe(napi_env env, napi_callback_info info) {
  PROG_ARGS(4)
  bool retprobe = false;
  if (napi_get_value_bool(env, argv[2], &retprobe) != napi_ok) return ou_throw_type(env, "retprobe must be a boolean");
  char fn[128];
  if (!ou_str(env, argv[3], "function", fn, sizeof fn)) return NULL;
  return wrap_link(env, bpf_program__attach_kprobe(p, retprobe, fn), retprobe ? "bpf_program__attach_kprobe (kretprobe)" : "bpf_program__attach_kprobe", fn);
}

static napi_value js_prog_attach_trace(napi_env env, napi_callback_info info) {
  PROG_ARGS(2)
  return wrap_link(env, bpf_program__attach_trace(p), "bpf_program__attach_trace", bpf_program__name(p));
}

static napi_value js_prog_attach_perf_event(napi_env env, napi_callback_info info) {
  PROG_ARGS(3)
  int pfd = ou_fd_of(env, argv[2]);
  if (pfd < 0) return NULL;
  /* The link owns (and closes) the fd it is given: give it a dup so the JS handle stays valid. */
  int dup_fd = fcntl(pfd, F_DUPFD_CLOEXEC, 3);
  if (dup_fd < 0) return ou_throw_errno(env, errno, "dup", "(perf event fd)");
  struct bpf_link *l = bpf_program__attach_perf_event(p, dup_fd);
  if (!l) {
    int err = errno;
    close(dup_fd);
    errno = err;
  }
  return wrap_link(env, l, "bpf_program__attach_perf_event", bpf_program__name(p));
}

static napi_value js_prog_attach_iter(napi_env env, napi_callback_info info) {
  PROG_ARGS(2)
  return wrap_link(env, bpf_program__attach_iter(p, NULL), "bpf_program__attach_iter", bpf_program__name(p));
}

static napi_value js_link_destroy(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct link_handle *h = ou_handle(env, argv[0], H_LINK, "link handle");
  if (!h) return NULL;
  if (h->link) bpf_link__destroy(h->link);
  h->link = NULL;
  return NULL;
}

/* ---- iterators --------------------------------------------------------------------------------- */

struct readbuf {
  char *data;
  size_t len, cap;
  int err;
};

static void read_all(int fd, struct readbuf *b) {
  for (;;) {
    if (b->cap - b->len < 65536) {
      size_t cap = b->cap ? b->cap * 2 : 262144;
      char *d = realloc(b->data, cap);
      if (!d) {
        b->err = ENOMEM;
        return;
      }
      b->data = d;
      b->cap = cap;
    }
    ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
    if (n < 0) {
      if (errno == EINTR) continue;
      b->err = errno;
      return;
    }
    if (n == 0) return;
    b->len += (size_t)n;
  }
}

static void free_readbuf(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value readbuf_to_buffer(napi_env env, struct readbuf *b) {
  napi_value out;
  if (b->len == 0) {
    free(b->data);
    void *p;
    napi_create_buffer(env, 0, &p, &out);
    return out;
  }
  if (napi_create_external_buffer(env, b->len, b->data, free_readbuf, NULL, &out) != napi_ok) {
    /* Some runtimes forbid external buffers: copy instead. */
    napi_create_buffer_copy(env, b->len, b->data, NULL, &out);
    free(b->data);
  }
  return out;
}

/* iterRead(link) → Buffer: one full pass of the iterator (runs on the calling thread). */
static napi_value js_iter_read(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct link_handle *h = get_link(env, argv[0]);
  if (!h) return NULL;
  int fd = bpf_iter_create(bpf_link__fd(h->link));
  if (fd < 0) return ou_throw_errno(env, errno, "bpf_iter_create", NULL);
  struct readbuf b = {0};
  read_all(fd, &b);
  close(fd);
  if (b.err) {
    free(b.data);
    return ou_throw_errno(env, b.err, "read", "(bpf iterator)");
  }
  return readbuf_to_buffer(env, &b);
}

struct iter_work {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  struct readbuf b;
};

static void iter_execute(napi_env env, void *data) {
  (void)env;
  struct iter_work *w = data;
  read_all(w->fd, &w->b);
  close(w->fd);
}

static void iter_complete(napi_env env, napi_status status, void *data) {
  struct iter_work *w = data;
  if (status != napi_ok || w->b.err) {
    free(w->b.data);
    napi_value msg, code, err, n;
    int e = w->b.err ? w->b.err : ECANCELED;
    char text[256];
    snprintf(text, sizeof text, "read (bpf iterator) failed: %s (%s)", strerror(e), strerrorname_np(e));
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, strerrorname_np(e), NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &err);
    napi_create_int32(env, -e, &n);
    napi_set_named_property(env, err, "errno", n);
    napi_reject_deferred(env, w->deferred, err);
  } else {
    napi_resolve_deferred(env, w->deferred, readbuf_to_buffer(env, &w->b));
  }
  napi_delete_async_work(env, w->work);
  free(w);
}

/* iterReadAsync(link) → Promise<Buffer>: the same, read on the libuv thread pool. */
static napi_value js_iter_read_async(napi_env env, napi_callback_info info) {
  napi_value argv[1], promise, name;
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct link_handle *h = get_link(env, argv[0]);
  if (!h) return NULL;
  int fd = bpf_iter_create(bpf_link__fd(h->link));
  if (fd < 0) return ou_throw_errno(env, errno, "bpf_iter_create", NULL);
  struct iter_work *w = calloc(1, sizeof *w);
  if (!w) {
    close(fd);
    return ou_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  w->fd = fd;
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, "oscope:bpf_iter", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, iter_execute, iter_complete, w, &w->work);
  napi_queue_async_work(env, w->work);
  return promise;
}

/* ---- maps -------------------------------------------------------------------------------------- */

struct map_handle {
  uint32_t kind;
  int fd;
  uint32_t type, key_size, value_size, max_entries;
  uint32_t value_stride; /* bytes per value as user space sees it (per-CPU maps: rounded × CPUs) */
};

static void map_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct map_handle *h = data;
  if (h->fd >= 0) close(h->fd);
  free(h);
}

static struct map_handle *get_map(napi_env env, napi_value v) {
  struct map_handle *h = ou_handle(env, v, H_MAP, "map handle");
  if (h && h->fd < 0) {
    ou_throw_errno(env, EBADF, "bpf_map", "(the map handle was closed)");
    return NULL;
  }
  return h;
}

static bool is_percpu(uint32_t t) {
  return t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
         t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

/* mapOpen(obj, name) → map handle (a dup of the loaded map's fd: valid after the object closes). */
static napi_value js_map_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!ou_args(env, info, 2, argv, NULL)) return NULL;
  struct obj_handle *o = get_obj(env, argv[0]);
  if (!o) return NULL;
  char name[256];
  if (!ou_str(env, argv[1], "map name", name, sizeof name)) return NULL;
  struct bpf_map *m = bpf_object__find_map_by_name(o->obj, name);
  if (!m) return ou_throw_errno(env, ENOENT, "bpf_object__find_map_by_name", name);
  int fd = bpf_map__fd(m);
  if (fd < 0) return ou_throw_errno(env, EBADF, "bpf_map__fd", "(load the object first)");
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return ou_throw_errno(env, errno, "dup", "(map fd)");
  struct map_handle *h = calloc(1, sizeof *h);
  if (!h) {
    close(d);
    return ou_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  h->kind = H_MAP;
  h->fd = d;
  h->type = bpf_map__type(m);
  h->key_size = bpf_map__key_size(m);
  h->value_size = bpf_map__value_size(m);
  h->max_entries = bpf_map__max_entries(m);
  h->value_stride = h->value_size;
  if (is_percpu(h->type)) h->value_stride = ((h->value_size + 7) & ~7u) * (uint32_t)libbpf_num_possible_cpus();
  napi_value ext;
  if (napi_create_external(env, h, map_finalize, NULL, &ext) != napi_ok) {
    close(d);
    free(h);
    ou_throw_napi(env, "napi_create_external");
    return NULL;
  }
  return ext;
}

static napi_value js_map_info(napi_env env, napi_callback_info info) {
  napi_value argv[1], o;
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct map_handle *h = get_map(env, argv[0]);
  if (!h) return NULL;
  napi_create_object(env, &o);
  ou_set_num(env, o, "type", h->type);
  ou_set_num(env, o, "keySize", h->key_size);
  ou_set_num(env, o, "valueSize", h->value_size);
  ou_set_num(env, o, "valueStride", h->value_stride);
  ou_set_num(env, o, "maxEntries", h->max_entries);
  struct bpf_map_info mi;
  memset(&mi, 0, sizeof mi);
  uint32_t len = sizeof mi;
  if (bpf_obj_get_info_by_fd(h->fd, &mi, &len) == 0) {
    ou_set_num(env, o, "id", mi.id);
    ou_set_str(env, o, "name", mi.name);
  }
  return o;
}

static napi_value js_map_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct map_handle *h = ou_handle(env, argv[0], H_MAP, "map handle");
  if (!h) return NULL;
  if (h->fd >= 0) close(h->fd);
  h->fd = -1;
  return NULL;
}

static bool key_arg(napi_env env, struct map_handle *h, napi_value v, void **key) {
  size_t len;
  if (!ou_buffer(env, v, "key", key, &len)) return false;
  if (len != h->key_size) {
    char msg[128];
    snprintf(msg, sizeof msg, "key must be %u bytes, got %zu", h->key_size, len);
    ou_throw_type(env, msg);
    return false;
  }
  return true;
}

/* mapLookup(map, key) → Buffer | null */
static napi_value js_map_lookup(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  if (!ou_args(env, info, 2, argv, NULL)) return NULL;
  struct map_handle *h = get_map(env, argv[0]);
  if (!h) return NULL;
  void *key = NULL, *val;
  if (h->key_size && !key_arg(env, h, argv[1], &key)) return NULL;
  if (napi_create_buffer(env, h->value_stride, &val, &out) != napi_ok) {
    ou_throw_napi(env, "napi_create_buffer");
    return NULL;
  }
  if (bpf_map_lookup_elem(h->fd, key, val) != 0) {
    if (errno == ENOENT) {
      napi_get_null(env, &out);
      return out;
    }
    return ou_throw_errno(env, errno, "bpf_map_lookup_elem", NULL);
  }
  return out;
}

/* mapUpdate(map, key, value, flags) */
static napi_value js_map_update(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!ou_args(env, info, 4, argv, NULL)) return NULL;
  struct map_handle *h = get_map(env, argv[0]);
  if (!h) return NULL;
  void *key = NULL, *val;
  size_t vlen;
  int64_t flags = 0;
  if (h->key_size && !key_arg(env, h, argv[1], &key)) return NULL;
  if (!ou_buffer(env, argv[2], "value", &val, &vlen)) return NULL;
  if (vlen != h->value_stride) {
    char msg[128];
    snprintf(msg, sizeof msg, "value must be %u bytes, got %zu", h->value_stride, vlen);
    return ou_throw_type(env, msg);
  }
  if (!ou_is_nullish(env, argv[3]) && !ou_int(env, argv[3], "flags", &flags)) return NULL;
  if (bpf_map_update_elem(h->fd, key, val, (uint64_t)flags) != 0)
    return ou_throw_errno(env, errno, "bpf_map_update_elem", NULL);
  return NULL;
}

/* mapDelete(map, key) → true if it was there */
static napi_value js_map_delete(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  if (!ou_args(env, info, 2, argv, NULL)) return NULL;
  struct map_handle *h = get_map(env, argv[0]);
  if (!h) return NULL;
  void *key;
  if (!key_arg(env, h, argv[1], &key)) return NULL;
  bool ok = bpf_map_delete_elem(h->fd, key) == 0;
  if (!ok && errno != ENOENT) return ou_throw_errno(env, errno, "bpf_map_delete_elem", NULL);
  napi_get_boolean(env, ok, &out);
  return out;
}

/* mapNextKey(map, key | null) → Buffer | null (null: no more keys) */
static napi_value js_map_next_key(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  if (!ou_args(env, info, 2, argv, NULL)) return NULL;
  struct map_handle *h = get_map(env, argv[0]);
  if (!h) return NULL;
  void *key = NULL, *next;
  if (!ou_is_nullish(env, argv[1]) && !key_arg(env, h, argv[1], &key)) return NULL;
  napi_create_buffer(env, h->key_size, &next, &out);
  if (bpf_map_get_next_key(h->fd, key, next) != 0) {
    if (errno == ENOENT) {
      napi_get_null(env, &out);
      return out;
    }
    return ou_throw_errno(env, errno, "bpf_map_get_next_key", NULL);
  }
  return out;
}

/*
 * mapDump(map, deleteAfterRead) → { keys: Buffer, values: Buffer, count, batched }.
 * Uses BPF_MAP_LOOKUP(_AND_DELETE)_BATCH when the kernel and map type support it, else walks the keys.
 * Entries added while it runs may or may not be seen (the kernel gives no snapshot).
 */
static napi_value js_map_dump(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!ou_args(env, info, 2, argv, NULL)) return NULL;
  struct map_handle *h = get_map(env, argv[0]);
  if (!h) return NULL;
  bool del = false;
  ou_bool(env, argv[1], &del);
  size_t cap = h->max_entries ? h->max_entries : 1;
  size_t ks = h->key_size, vs = h->value_stride;
  char *keys = malloc(cap * (ks ? ks : 1)), *vals = malloc(cap * (vs ? vs : 1));
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return ou_throw_errno(env, ENOMEM, "malloc", NULL);
  }
  size_t total = 0;
  bool batched = true;
  /* Batch tokens are opaque; hash maps use a u32 bucket, arrays a key. */
  char in_tok[64], out_tok[64];
  void *in = NULL;
  int err = 0;
  DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
  while (total < cap) {
    uint32_t count = (uint32_t)(cap - total);
    int r = del ? bpf_map_lookup_and_delete_batch(h->fd, in, out_tok, keys + total * ks, vals + total * vs, &count, &opts)
                : bpf_map_lookup_batch(h->fd, in, out_tok, keys + total * ks, vals + total * vs, &count, &opts);
    int e = r ? errno : 0;
    if (r && e != ENOENT) {
      if (total == 0 && (e == EINVAL || e == ENOTSUP || e == 524 || e == EPERM || e == ENOSYS)) {
        batched = false;
        break;
      }
      err = e;
      break;
    }
    total += count;
    if (e == ENOENT) break;
    memcpy(in_tok, out_tok, sizeof in_tok);
    in = in_tok;
  }
  if (err) {
    free(keys);
    free(vals);
    return ou_throw_errno(env, err, del ? "bpf_map_lookup_and_delete_batch" : "bpf_map_lookup_batch", NULL);
  }
  if (!batched) {
    total = 0;
    void *prev = NULL;
    while (total < cap) {
      if (bpf_map_get_next_key(h->fd, prev, keys + total * ks) != 0) {
        if (errno != ENOENT) err = errno;
        break;
      }
      prev = keys + total * ks;
      total++;
    }
    size_t kept = 0;
    for (size_t i = 0; i < total && !err; i++) {
      if (bpf_map_lookup_elem(h->fd, keys + i * ks, vals + kept * vs) != 0) {
        if (errno == ENOENT) continue; /* deleted meanwhile */
        err = errno;
        break;
      }
      if (kept != i) memmove(keys + kept * ks, keys + i * ks, ks);
      kept++;
    }
    total = kept;
    if (del && !err) {
      for (size_t i = 0; i < total; i++) bpf_map_delete_elem(h->fd, keys + i * ks);
    }
    if (err) {
      free(keys);
      free(vals);
      return ou_throw_errno(env, err, "bpf_map_get_next_key/lookup", NULL);
    }
  }
  napi_value out, kb, vb;
  napi_create_object(env, &out);
  napi_create_buffer_copy(env, total * ks, keys, NULL, &kb);
  napi_create_buffer_copy(env, total * vs, vals, NULL, &vb);
  free(keys);
  free(vals);
  ou_set_val(env, out, "keys", kb);
  ou_set_val(env, out, "values", vb);
  ou_set_num(env, out, "count", (double)total);
  ou_set_bool(env, out, "batched", batched);
  return out;
}

/* mapDeleteBatch(map, keysConcatenated) → number deleted (falls back to one by one). */
static napi_value js_map_delete_batch(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  if (!ou_args(env, info, 2, argv, NULL)) return NULL;
  struct map_handle *h = get_map(env, argv[0]);
  if (!h) return NULL;
  void *keys;
  size_t len;
  if (!ou_buffer(env, argv[1], "keys", &keys, &len)) return NULL;
  if (!h->key_size || len % h->key_size) return ou_throw_type(env, "keys must be a whole number of keys");
  uint32_t count = (uint32_t)(len / h->key_size);
  DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
  uint32_t done = count;
  if (count && bpf_map_delete_batch(h->fd, keys, &done, &opts) != 0) {
    if (errno == ENOENT) {
      /* a key was already gone: the kernel stopped there; delete the rest one by one */
    } else if (errno != EINVAL && errno != ENOTSUP && errno != 524) {
      return ou_throw_errno(env, errno, "bpf_map_delete_batch", NULL);
    } else {
      done = 0;
    }
    for (uint32_t i = done; i < count; i++)
      if (bpf_map_delete_elem(h->fd, (char *)keys + (size_t)i * h->key_size) == 0) done++;
  }
  napi_create_double(env, done, &out);
  return out;
}

/* ---- ring buffers ------------------------------------------------------------------------------ */

/*
 * A thread polls ring_buffer__poll and hands batches to JS through a thread-safe function. Records of
 * one poll travel together as one Buffer of [u32 length][payload][pad to 8]. When JS falls behind
 * (MAX_PENDING batches queued), the thread stops consuming: the kernel ring fills and the BPF side
 * sees bpf_ringbuf_reserve fail, which the program counts — memory here stays bounded.
 */
#define MAX_PENDING 64

struct rb_batch {
  char *data;
  size_t len, cap;
  uint32_t count;
};

struct rb_handle {
  uint32_t kind;
  struct ring_buffer *rb;
  int map_fd;
  pthread_t thread;
  bool started, closed;
  atomic_int stop;
  atomic_int pending;
  atomic_int refs; /* JS external + tsfn */
  int poll_err;
  napi_threadsafe_function tsfn;
  struct rb_batch cur;
  uint64_t delivered;
};

static void rb_unref(struct rb_handle *h) {
  if (atomic_fetch_sub(&h->refs, 1) == 1) free(h);
}

static int rb_sample(void *ctx, void *data, size_t size) {
  struct rb_handle *h = ctx;
  struct rb_batch *b = &h->cur;
  size_t need = 4 + ((size + 7) & ~(size_t)7) + 4;
  if (b->cap - b->len < need) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap - b->len < need) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -ENOMEM;
    b->data = d;
    b->cap = cap;
  }
  uint32_t len32 = (uint32_t)size;
  memcpy(b->data + b->len, &len32, 4);
  memcpy(b->data + b->len + 4, data, size);
  memset(b->data + b->len + 4 + size, 0, ((size + 7) & ~(size_t)7) - size);
  b->len += 4 + ((size + 7) & ~(size_t)7);
  b->count++;
  return 0;
}

static void *rb_thread(void *arg) {
  struct rb_handle *h = arg;
  while (!atomic_load(&h->stop)) {
    if (atomic_load(&h->pending) >= MAX_PENDING) {
      usleep(2000);
      continue;
    }
    int n = ring_buffer__poll(h->rb, 100);
    if (n < 0 && n != -EINTR) {
      h->poll_err = -n;
      break;
    }
    if (h->cur.count) {
      struct rb_batch *b = malloc(sizeof *b);
      if (!b) continue;
      *b = h->cur;
      memset(&h->cur, 0, sizeof h->cur);
      atomic_fetch_add(&h->pending, 1);
      if (napi_call_threadsafe_function(h->tsfn, b, napi_tsfn_nonblocking) != napi_ok) {
        atomic_fetch_sub(&h->pending, 1);
        free(b->data);
        free(b);
        break; /* the function is closing */
      }
    }
  }
  return NULL;
}

static void free_batch_data(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void rb_call_js(napi_env env, napi_value cb, void *context, void *data) {
  struct rb_handle *h = context;
  struct rb_batch *b = data;
  atomic_fetch_sub(&h->pending, 1);
  if (!env || h->closed) {
    free(b->data);
    free(b);
    return;
  }
  napi_value buf, count, undefined, argv[2];
  if (napi_create_external_buffer(env, b->len, b->data, free_batch_data, NULL, &buf) != napi_ok) {
    napi_create_buffer_copy(env, b->len, b->data, NULL, &buf);
    free(b->data);
  }
  h->delivered += b->count;
  napi_create_uint32(env, b->count, &count);
  free(b);
  napi_get_undefined(env, &undefined);
  argv[0] = buf;
  argv[1] = count;
  napi_call_function(env, undefined, cb, 2, argv, NULL);
}

static void rb_stop(struct rb_handle *h) {
  if (h->closed) return;
  h->closed = true;
  atomic_store(&h->stop, 1);
  if (h->started) pthread_join(h->thread, NULL);
  h->started = false;
  if (h->rb) ring_buffer__free(h->rb);
  h->rb = NULL;
  if (h->map_fd >= 0) close(h->map_fd);
  h->map_fd = -1;
  free(h->cur.data);
  memset(&h->cur, 0, sizeof h->cur);
}

static void rb_tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct rb_handle *h = data;
  rb_stop(h); /* environment teardown: no thread may outlive it */
  rb_unref(h);
}

static void rb_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct rb_handle *h = data;
  if (!h->closed) {
    rb_stop(h);
    napi_release_threadsafe_function(h->tsfn, napi_tsfn_release);
  }
  rb_unref(h);
}

/* ringbufOpen(map, callback(buf, count)) → ring buffer handle; keeps the event loop alive until closed. */
static napi_value js_ringbuf_open(napi_env env, napi_callback_info info) {
  napi_value argv[2], name, ext;
  if (!ou_args(env, info, 2, argv, NULL)) return NULL;
  struct map_handle *m = get_map(env, argv[0]);
  if (!m) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_function) return ou_throw_type(env, "callback must be a function");
  if (m->type != BPF_MAP_TYPE_RINGBUF) return ou_throw_errno(env, EINVAL, "ring_buffer__new", "(not a ring buffer map)");
  struct rb_handle *h = calloc(1, sizeof *h);
  if (!h) return ou_throw_errno(env, ENOMEM, "malloc", NULL);
  h->kind = H_RB;
  h->map_fd = fcntl(m->fd, F_DUPFD_CLOEXEC, 3);
  if (h->map_fd < 0) {
    free(h);
    return ou_throw_errno(env, errno, "dup", "(ring buffer map fd)");
  }
  ou_libbpf_log_clear();
  h->rb = ring_buffer__new(h->map_fd, rb_sample, h, NULL);
  if (!h->rb) {
    int err = errno;
    close(h->map_fd);
    free(h);
    return ou_throw_errno(env, err, "ring_buffer__new", NULL);
  }
  atomic_store(&h->refs, 2);
  napi_create_string_utf8(env, "oscope:ringbuf", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, h, rb_tsfn_finalize, h, rb_call_js,
                                      &h->tsfn) != napi_ok) {
    ring_buffer__free(h->rb);
    close(h->map_fd);
    free(h);
    ou_throw_napi(env, "napi_create_threadsafe_function");
    return NULL;
  }
  if (napi_create_external(env, h, rb_finalize, NULL, &ext) != napi_ok) {
    h->closed = true; /* nothing started yet; the tsfn finalizer frees it */
    ring_buffer__free(h->rb);
    h->rb = NULL;
    close(h->map_fd);
    h->map_fd = -1;
    atomic_store(&h->refs, 1);
    napi_release_threadsafe_function(h->tsfn, napi_tsfn_release);
    ou_throw_napi(env, "napi_create_external");
    return NULL;
  }
  int err = pthread_create(&h->thread, NULL, rb_thread, h);
  if (err) {
    rb_stop(h);
    napi_release_threadsafe_function(h->tsfn, napi_tsfn_release);
    return ou_throw_errno(env, err, "pthread_create", NULL);
  }
  h->started = true;
  return ext;
}

/* ringbufClose(rb): stops the thread (within one poll interval) and drops batches not yet delivered. */
static napi_value js_ringbuf_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct rb_handle *h = ou_handle(env, argv[0], H_RB, "ring buffer handle");
  if (!h) return NULL;
  if (h->closed) return NULL;
  rb_stop(h);
  napi_release_threadsafe_function(h->tsfn, napi_tsfn_release);
  return NULL;
}

/* ringbufRef(rb, bool): whether an open ring buffer keeps the process alive (default true). */
static napi_value js_ringbuf_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!ou_args(env, info, 2, argv, NULL)) return NULL;
  struct rb_handle *h = ou_handle(env, argv[0], H_RB, "ring buffer handle");
  if (!h || h->closed) return NULL;
  bool on = true;
  ou_bool(env, argv[1], &on);
  if (on) napi_ref_threadsafe_function(env, h->tsfn);
  else napi_unref_threadsafe_function(env, h->tsfn);
  return NULL;
}

static napi_value js_ringbuf_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1], o;
  if (!ou_args(env, info, 1, argv, NULL)) return NULL;
  struct rb_handle *h = ou_handle(env, argv[0], H_RB, "ring buffer handle");
  if (!h) return NULL;
  napi_create_object(env, &o);
  ou_set_num(env, o, "delivered", (double)h->delivered);
  ou_set_num(env, o, "pendingBatches", atomic_load(&h->pending));
  ou_set_bool(env, o, "closed", h->closed);
  if (h->poll_err) ou_set_str(env, o, "pollError", strerrorname_np(h->poll_err));
  return o;
}

/* ---- probes ------------------------------------------------------------------------------------ */

static napi_value probe_result(napi_env env, int r) {
  napi_value out;
  if (r < 0) {
    napi_create_int32(env, r, &out); /* -errno: could not tell */
  } else {
    napi_get_boolean(env, r > 0, &out);
  }
  return out;
}

/* probeProgType(type) / probeMapType(type) / probeHelper(progType, helperId) → true | false | -errno */
static napi_value js_probe_prog_type(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t t;
  if (!ou_args(env, info, 1, argv, NULL) || !ou_int(env, argv[0], "type", &t)) return NULL;
  return probe_result(env, libbpf_probe_bpf_prog_type((enum bpf_prog_type)t, NULL));
}
static napi_value js_probe_map_type(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int64_t t;
  if (!ou_args(env, info, 1, argv, NULL) || !ou_int(env, argv[0], "type", &t)) return NULL;
  return probe_result(env, libbpf_probe_bpf_map_type((enum bpf_map_type)t, NULL));
}
static napi_value js_probe_helper(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int64_t t, f;
  if (!ou_args(env, info, 2, argv, NULL) || !ou_int(env, argv[0], "progType", &t) ||
      !ou_int(env, argv[1], "helper", &f))
    return NULL;
  return probe_result(env, libbpf_probe_bpf_helper((enum bpf_prog_type)t, (enum bpf_func_id)f, NULL));
}

/*
 * probeFentry(kernelFunction) → undefined when an fentry program attaches to it (and is detached at
 * once), else throws the kernel's error (ENOTSUPP without ftrace direct calls, ESRCH without BTF, ...).
 */
static napi_value js_probe_fentry(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  char fn[128];
  if (!ou_args(env, info, 1, argv, NULL) || !ou_str(env, argv[0], "function", fn, sizeof fn)) return NULL;
  ou_libbpf_log_clear();
  struct btf *vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return ou_throw_errno(env, errno, "btf__load_vmlinux_btf", NULL);
  int id = btf__find_by_name_kind(vmlinux, fn, BTF_KIND_FUNC);
  btf__free(vmlinux);
  if (id < 0) return ou_throw_errno(env, ESRCH, "btf__find_by_name_kind", fn);
  struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY, .attach_btf_id = (uint32_t)id);
  int pfd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "oscope_probe", "GPL", insns, 2, &opts);
  if (pfd < 0) return ou_throw_errno(env, errno, "bpf_prog_load", "(fentry probe)");
  int lfd = bpf_link_create(pfd, 0, BPF_TRACE_FENTRY, NULL);
  int err = errno;
  if (lfd >= 0) close(lfd);
  close(pfd);
  if (lfd < 0) return ou_throw_errno(env, err, "bpf_link_create", "(fentry probe)");
  return NULL;
}

static napi_value js_num_possible_cpus(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  int n = libbpf_num_possible_cpus();
  if (n < 0) return ou_throw_errno(env, n, "libbpf_num_possible_cpus", NULL);
  napi_create_int32(env, n, &out);
  return out;
}

static napi_value js_libbpf_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  char v[32];
  snprintf(v, sizeof v, "%u.%u", libbpf_major_version(), libbpf_minor_version());
  napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value ou_init_bpf(napi_env env, napi_value exports) {
  ou_libbpf_log_init();
  ou_export(env, exports, "objOpen", js_obj_open);
  ou_export(env, exports, "objClose", js_obj_close);
  ou_export(env, exports, "objLoad", js_obj_load);
  ou_export(env, exports, "objPrograms", js_obj_programs);
  ou_export(env, exports, "objMaps", js_obj_maps);
  ou_export(env, exports, "objGlobals", js_obj_globals);
  ou_export(env, exports, "objSetGlobal", js_obj_set_global);
  ou_export(env, exports, "objSetMaxEntries", js_obj_set_max_entries);
  ou_export(env, exports, "progSetAutoload", js_prog_set_autoload);
  ou_export(env, exports, "progInfo", js_prog_info);
  ou_export(env, exports, "progExists", js_prog_exists);
  ou_export(env, exports, "progAttach", js_prog_attach);
  ou_export(env, exports, "progAttachTracepoint", js_prog_attach_tracepoint);
  ou_export(env, exports, "progAttachRawTracepoint", js_prog_attach_raw_tracepoint);
  ou_export(env, exports, "progAttachTrace", js_prog_attach_trace);
  ou_export(env, exports, "progAttachKprobe", js_prog_attach_kprobe);
  ou_export(env, exports, "progAttachPerfEvent", js_prog_attach_perf_event);
  ou_export(env, exports, "progAttachIter", js_prog_attach_iter);
  ou_export(env, exports, "linkDestroy", js_link_destroy);
  ou_export(env, exports, "iterRead", js_iter_read);
  ou_export(env, exports, "iterReadAsync", js_iter_read_async);
  ou_export(env, exports, "mapOpen", js_map_open);
  ou_export(env, exports, "mapInfo", js_map_info);
  ou_export(env, exports, "mapClose", js_map_close);
  ou_export(env, exports, "mapLookup", js_map_lookup);
  ou_export(env, exports, "mapUpdate", js_map_update);
  ou_export(env, exports, "mapDelete", js_map_delete);
  ou_export(env, exports, "mapNextKey", js_map_next_key);
  ou_export(env, exports, "mapDump", js_map_dump);
  ou_export(env, exports, "mapDeleteBatch", js_map_delete_batch);
  ou_export(env, exports, "ringbufOpen", js_ringbuf_open);
  ou_export(env, exports, "ringbufClose", js_ringbuf_close);
  ou_export(env, exports, "ringbufRef", js_ringbuf_ref);
  ou_export(env, exports, "ringbufStats", js_ringbuf_stats);
  ou_export(env, exports, "probeProgType", js_probe_prog_type);
  ou_export(env, exports, "probeMapType", js_probe_map_type);
  ou_export(env, exports, "probeHelper", js_probe_helper);
  ou_export(env, exports, "probeFentry", js_probe_fentry);
  ou_export(env, exports, "numPossibleCpus", js_num_possible_cpus);
  ou_export(env, exports, "libbpfVersion", js_libbpf_version);
  return exports;
}
