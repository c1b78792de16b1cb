#!/usr/bin/env bash
# Installs the peers `make bench` compares oscope with, when they are missing (root only; else says what
# to install): fio (the I/O workload), libbpf-tools (biolatency, runqslower, runqlat), sysstat (pidstat,
# iostat), rt-tests (cyclictest), vmtouch, iperf3 and bpfcc-tools (tcpdrop, tcpretrans: bcc compiles at run
# time and needs the kernel's headers; the net bench says so where it cannot run), iproute2 (ss, nstat). Idempotent and quiet when everything is there. A failed
# install is not fatal: a bench whose peer is missing says so in its table.
set -uo pipefail

# command-or-path:package
NEEDED=(
  fio:fio
  biolatency:libbpf-tools
  runqslower:libbpf-tools
  pidstat:sysstat
  iostat:sysstat
  cyclictest:rt-tests
  vmtouch:vmtouch
  iperf3:iperf3
  tcpdrop-bpfcc:bpfcc-tools
  tcpretrans-bpfcc:bpfcc-tools
  ss:iproute2
  nstat:iproute2
)

have() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 || -x /usr/bin/$1 ]]; }
missing=()
for entry in "${NEEDED[@]}"; do
  cmd=${entry%%:*}
  pkg=${entry#*:}
  if [[ $cmd == /* ]]; then [[ -e $cmd ]] && continue; else have "$cmd" && continue; fi
  [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "oscope: the benchmarks compare with these Debian packages (their rows say 'not installed' without them): ${missing[*]}" >&2
  exit 0
fi
echo "Installing bench peers: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Other people may be installing at the same time: wait for the dpkg lock instead of failing.
if ! { apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null && apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "oscope: could not install ${missing[*]}; the bench rows that need them say so" >&2
fi
exit 0
