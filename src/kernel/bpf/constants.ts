/** Kernel enum values from include/uapi/linux/bpf.h that the loader and the probes name. Stable ABI. */

export const BPF_PROG_TYPE = {
  SOCKET_FILTER: 1,
  KPROBE: 2,
  TRACEPOINT: 5,
  PERF_EVENT: 7,
  RAW_TRACEPOINT: 17,
  TRACING: 26,
} as const;

export const BPF_MAP_TYPE = {
  HASH: 1,
  ARRAY: 2,
  PERF_EVENT_ARRAY: 4,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  STACK_TRACE: 7,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  RINGBUF: 27,
  TASK_STORAGE: 29,
} as const;

/** enum bpf_func_id values of helpers the probes check. */
export const BPF_FUNC = {
  get_stackid: 27,
  ringbuf_output: 130,
  ringbuf_reserve: 131,
  get_current_task_btf: 158,
  loop: 181,
} as const;

/** bpf_map_update_elem flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

/** perf_event_attr.type / config values used for samplers. */
export const PERF_TYPE_HARDWARE = 0;
export const PERF_TYPE_SOFTWARE = 1;
export const PERF_COUNT_SW_CPU_CLOCK = 0;
export const PERF_COUNT_HW_CPU_CYCLES = 0;

/** Max frames in a BPF stack trace map value (PERF_MAX_STACK_DEPTH). */
export const MAX_STACK_DEPTH = 127;

const mapTypeNames = new Map<number, string>(Object.entries(BPF_MAP_TYPE).map(([k, v]) => [v, k.toLowerCase()]));
export function mapTypeName(type: number): string {
  return mapTypeNames.get(type) ?? `type ${type}`;
}
