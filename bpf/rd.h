/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One function body for the tp_btf program and its raw_tp fallback, with the cheaper read in each.
 *
 * A tp_btf program's arguments are typed kernel pointers: it may load through them directly (the
 * verifier turns each load into a checked one that reads 0 on a fault, as bpf_probe_read_kernel does),
 * which costs one instruction instead of a helper call per field. A raw_tp program's arguments are plain
 * numbers: it must use bpf_probe_read_kernel (BPF_CORE_READ). The shared functions take `btf`, a
 * constant at every call site: after inlining, the compiler keeps one branch per program, so the raw_tp
 * program never contains a direct load the verifier would reject.
 */
#ifndef OSCOPE_RD_H
#define OSCOPE_RD_H

#include <bpf/bpf_core_read.h>

/* RD(btf, src, a, b, ...) is src->a->b... : a direct load chain in tp_btf, BPF_CORE_READ in raw_tp. */
#define RD(btf, src, a, ...) ((btf) ? (___arrow((src), a, ##__VA_ARGS__)) : BPF_CORE_READ(src, a, ##__VA_ARGS__))
/* The same for one bitfield. */
#define RD_BITFIELD(btf, s, field) ((btf) ? BPF_CORE_READ_BITFIELD(s, field) : BPF_CORE_READ_BITFIELD_PROBED(s, field))

#endif
