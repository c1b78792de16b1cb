/* oscope native addon: the syscalls and libbpf calls TypeScript cannot make. Policy stays in TypeScript. */
#include "util.h"

static napi_value init(napi_env env, napi_value exports) {
  ou_init_sys(env, exports);
  ou_init_bpf(env, exports);
  napi_value v;
  napi_create_uint32(env, 1, &v);
  napi_set_named_property(env, exports, "abiVersion", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
