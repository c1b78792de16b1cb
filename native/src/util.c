#define _GNU_SOURCE
#include "util.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *libbpf_errno_names[] = {
    "LIBELF", "FORMAT", "KVERSION", "ENDIAN", "INTERNAL", "RELOC", "LOAD",
    "VERIFY", "PROG2BIG", "KVER", "PROGTYPE", "WRNGPID", "INVSEQ", "NLPARSE",
};

napi_value ou_throw_errno(napi_env env, int err, const char *what, const char *detail) {
  if (err < 0) err = -err;
  const char *name = strerrorname_np(err);
  char code[32], text[256];
  snprintf(code, sizeof code, "%s", name ? name : "EUNKNOWN");
  snprintf(text, sizeof text, "%s", strerror(err));
  if (!name && err == 524) {
    /* a kernel-internal code (ENOTSUPP) that libc has no name for */
    snprintf(code, sizeof code, "ENOTSUPP");
    snprintf(text, sizeof text, "operation not supported by this kernel");
  } else if (err >= 4000 && err < 4000 + (int)(sizeof libbpf_errno_names / sizeof *libbpf_errno_names)) {
    /* libbpf's own codes (LIBBPF_ERRNO__*) */
    snprintf(code, sizeof code, "LIBBPF_ERRNO__%s", libbpf_errno_names[err - 4000]);
    libbpf_strerror(err, text, sizeof text);
  }
  char msg[1024];
  snprintf(msg, sizeof msg, "%s%s%s failed: %s (%s)", what, detail ? " " : "", detail ? detail : "", text, code);
  napi_value jmsg, jcode, error, n;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode);
  napi_create_error(env, jcode, jmsg, &error);
  napi_create_int32(env, -err, &n);
  napi_set_named_property(env, error, "errno", n);
  ou_set_str(env, error, "syscall", what);
  const char *log = ou_libbpf_log();
  if (log && *log && (strncmp(what, "bpf", 3) == 0 || strncmp(what, "ring_buffer", 11) == 0))
    ou_set_str(env, error, "log", log);
  napi_throw(env, error);
  return NULL;
}

napi_value ou_throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

void ou_throw_napi(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  char msg[512];
  snprintf(msg, sizeof msg, "node-api call failed: %s (%s)", what,
           info && info->error_message ? info->error_message : "unknown");
  napi_throw_error(env, "ERR_NAPI", msg);
}

bool ou_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, size_t *argc) {
  size_t n = want;
  if (napi_get_cb_info(env, info, &n, argv, NULL, NULL) != napi_ok) {
    ou_throw_napi(env, "napi_get_cb_info");
    return false;
  }
  for (size_t i = n; i < want; i++) napi_get_undefined(env, &argv[i]);
  if (argc) *argc = n;
  return true;
}

bool ou_is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return true;
  return t == napi_undefined || t == napi_null;
}

bool ou_int(napi_env env, napi_value v, const char *name, int64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (d != (double)(int64_t)d) goto bad;
    *out = (int64_t)d;
    return true;
  }
  if (t == napi_bigint) {
    bool lossless;
    napi_get_value_bigint_int64(env, v, out, &lossless);
    if (!lossless) goto bad;
    return true;
  }
bad : {
  char msg[256];
  snprintf(msg, sizeof msg, "%s must be an integer", name);
  ou_throw_type(env, msg);
  return false;
}
}

bool ou_u64(napi_env env, napi_value v, const char *name, uint64_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_bigint) {
    bool lossless;
    napi_get_value_bigint_uint64(env, v, out, &lossless);
    if (lossless) return true;
  } else if (t == napi_number) {
    double d;
    napi_get_value_double(env, v, &d);
    if (d >= 0 && d <= 9007199254740991.0 && d == (double)(uint64_t)d) {
      *out = (uint64_t)d;
      return true;
    }
  }
  char msg[256];
  snprintf(msg, sizeof msg, "%s must be a non-negative integer (number or bigint)", name);
  ou_throw_type(env, msg);
  return false;
}

bool ou_str(napi_env env, napi_value v, const char *name, char *buf, size_t len) {
  size_t got;
  if (napi_get_value_string_utf8(env, v, buf, len, &got) != napi_ok) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s must be a string", name);
    ou_throw_type(env, msg);
    return false;
  }
  if (got >= len - 1) {
    char msg[256];
    snprintf(msg, sizeof msg, "%s is too long", name);
    ou_throw_type(env, msg);
    return false;
  }
  return true;
}

bool ou_bool(napi_env env, napi_value v, bool *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_boolean) {
    *out = false;
    return true;
  }
  napi_get_value_bool(env, v, out);
  return true;
}

bool ou_buffer(napi_env env, napi_value v, const char *name, void **data, size_t *len) {
  bool is = false;
  napi_is_buffer(env, v, &is);
  if (is) {
    napi_get_buffer_info(env, v, data, len);
    return true;
  }
  napi_is_typedarray(env, v, &is);
  if (is) {
    napi_typedarray_type type;
    size_t n, off;
    napi_value ab;
    void *p;
    napi_get_typedarray_info(env, v, &type, &n, &p, &ab, &off);
    size_t el = 1;
    switch (type) {
      case napi_int16_array: case napi_uint16_array: el = 2; break;
      case napi_int32_array: case napi_uint32_array: case napi_float32_array: el = 4; break;
      case napi_float64_array: case napi_bigint64_array: case napi_biguint64_array: el = 8; break;
      default: el = 1;
    }
    *data = p;
    *len = n * el;
    return true;
  }
  char msg[256];
  snprintf(msg, sizeof msg, "%s must be a Buffer or typed array", name);
  ou_throw_type(env, msg);
  return false;
}

void *ou_handle(napi_env env, napi_value v, enum handle_kind kind, const char *name) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  void *p = NULL;
  if (t == napi_external && napi_get_value_external(env, v, &p) == napi_ok && p && *(uint32_t *)p == (uint32_t)kind)
    return p;
  char msg[256];
  snprintf(msg, sizeof msg, "%s is not a handle of the expected kind", name);
  ou_throw_type(env, msg);
  return NULL;
}

void ou_set_num(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, key, n);
}

void ou_set_str(napi_env env, napi_value obj, const char *key, const char *v) {
  napi_value s;
  napi_create_string_utf8(env, v ? v : "", NAPI_AUTO_LENGTH, &s);
  napi_set_named_property(env, obj, key, s);
}

void ou_set_bool(napi_env env, napi_value obj, const char *key, bool v) {
  napi_value b;
  napi_get_boolean(env, v, &b);
  napi_set_named_property(env, obj, key, b);
}

void ou_set_val(napi_env env, napi_value obj, const char *key, napi_value v) {
  napi_set_named_property(env, obj, key, v);
}

bool ou_get_prop(napi_env env, napi_value obj, const char *key, napi_value *out) {
  napi_valuetype t;
  napi_typeof(env, obj, &t);
  if (t != napi_object) return false;
  bool has = false;
  napi_has_named_property(env, obj, key, &has);
  if (!has) return false;
  napi_get_named_property(env, obj, key, out);
  return !ou_is_nullish(env, *out);
}

/* ---- libbpf log capture ------------------------------------------------------------------------ */

#define LOG_CAP 16384
static char log_buf[LOG_CAP];
static size_t log_len;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static bool log_echo;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
  if (level == LIBBPF_DEBUG && !log_echo) return 0;
  char line[4096];
  int n = vsnprintf(line, sizeof line, fmt, ap);
  if (n < 0) return 0;
  if ((size_t)n >= sizeof line) n = sizeof line - 1;
  if (log_echo) fputs(line, stderr);
  if (level == LIBBPF_DEBUG) return 0;
  pthread_mutex_lock(&log_mu);
  if (log_len + (size_t)n >= LOG_CAP) {
    /* Keep the tail: the verifier's verdict is at the end of its log. */
    size_t keep = LOG_CAP / 2 > (size_t)n ? LOG_CAP / 2 - (size_t)n : 0;
    if (keep > log_len) keep = log_len;
    memmove(log_buf, log_buf + log_len - keep, keep);
    log_len = keep;
  }
  memcpy(log_buf + log_len, line, (size_t)n);
  log_len += (size_t)n;
  log_buf[log_len] = 0;
  pthread_mutex_unlock(&log_mu);
  return 0;
}

void ou_libbpf_log_init(void) {
  const char *e = getenv("OSCOPE_LIBBPF_DEBUG");
  log_echo = e && *e && strcmp(e, "0") != 0;
  libbpf_set_print(libbpf_print);
}

void ou_libbpf_log_clear(void) {
  pthread_mutex_lock(&log_mu);
  log_len = 0;
  log_buf[0] = 0;
  pthread_mutex_unlock(&log_mu);
}

const char *ou_libbpf_log(void) { return log_buf; }

void ou_export(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}
