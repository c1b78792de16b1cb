/*
 * Shared helpers of the oscope addon: argument parsing, errors (JS Errors with errno, code, syscall
 * and a sentence), and handles (napi externals whose finalizers release what JS forgot to close).
 */
#ifndef OSCOPE_UTIL_H
#define OSCOPE_UTIL_H

#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every handle starts with its kind, so that a handle of the wrong kind is refused, not misused. */
enum handle_kind {
  H_FD = 0x6f730001,   /* a plain fd: perf event, iterator output */
  H_OBJ = 0x6f730002,  /* struct bpf_object */
  H_LINK = 0x6f730003, /* struct bpf_link */
  H_MAP = 0x6f730004,  /* a dup of a map fd with its geometry */
  H_RB = 0x6f730005,   /* ring buffer consumer thread */
};

#define CHECK(call)                                                                 \
  do {                                                                              \
    if ((call) != napi_ok) {                                                        \
      ou_throw_napi(env, #call);                                                    \
      return NULL;                                                                  \
    }                                                                               \
  } while (0)

/* Throws a JS Error { errno: -err (Node's convention), code: 'EPERM', syscall: what } with a sentence. */
napi_value ou_throw_errno(napi_env env, int err, const char *what, const char *detail);
napi_value ou_throw_type(napi_env env, const char *msg);
void ou_throw_napi(napi_env env, const char *what);

/* Argument helpers: on failure they throw and return false. */
bool ou_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, size_t *argc);
bool ou_int(napi_env env, napi_value v, const char *name, int64_t *out);
bool ou_u64(napi_env env, napi_value v, const char *name, uint64_t *out); /* number or bigint */
bool ou_str(napi_env env, napi_value v, const char *name, char *buf, size_t len);
bool ou_bool(napi_env env, napi_value v, bool *out);
bool ou_buffer(napi_env env, napi_value v, const char *name, void **data, size_t *len);
void *ou_handle(napi_env env, napi_value v, enum handle_kind kind, const char *name);
bool ou_is_nullish(napi_env env, napi_value v);

/* Object building helpers. */
void ou_set_num(napi_env env, napi_value obj, const char *key, double v);
void ou_set_str(napi_env env, napi_value obj, const char *key, const char *v);
void ou_set_bool(napi_env env, napi_value obj, const char *key, bool v);
void ou_set_val(napi_env env, napi_value obj, const char *key, napi_value v);
bool ou_get_prop(napi_env env, napi_value obj, const char *key, napi_value *out); /* false: absent/undefined */

/* libbpf's log: captured (not printed), the recent part attached to errors as `log`. */
void ou_libbpf_log_init(void);
void ou_libbpf_log_clear(void);
const char *ou_libbpf_log(void);

/* fd handles (sys.c): the finalizer closes the fd. ou_fd_of throws and returns -2 on a bad handle. */
napi_value ou_wrap_fd(napi_env env, int fd);
int ou_fd_of(napi_env env, napi_value v);

/* Module parts. */
napi_value ou_init_sys(napi_env env, napi_value exports);
napi_value ou_init_bpf(napi_env env, napi_value exports);
void ou_export(napi_env env, napi_value exports, const char *name, napi_callback cb);

#endif
