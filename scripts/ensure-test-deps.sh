#!/usr/bin/env bash
# Installs the Debian packages only the tests need when they are missing (root only; else says what to
# install): a containerd + runc pair and a static busybox for the real-container tests
# (test/support/containerd.ts); binutils, golang-go and linux-perf for the profile tests and bench. Idempotent and quiet when everything is there. A failed install is not
# fatal: the tests that need these packages skip with a reason instead.
set -uo pipefail

# command-or-path:package
NEEDED=(
  containerd:containerd
  ctr:containerd
  runc:runc
  /bin/busybox:busybox-static
  # oscope profile: fixture ELF files (nm, strip, objcopy), `go tool pprof` reading our pprof output,
  # and `perf record` as the peer in bench/profile.ts
  nm:binutils
  objcopy:binutils
  go:golang-go
  perf:linux-perf
)

missing=()
for entry in "${NEEDED[@]}"; do
  cmd=${entry%%:*}
  pkg=${entry#*:}
  if [[ $cmd == /* ]]; then [[ -e $cmd ]] && continue; else command -v "$cmd" >/dev/null 2>&1 && continue; fi
  [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "oscope: the real-container tests need these Debian packages (they will skip without them): ${missing[*]}" >&2
  exit 0
fi
echo "Installing test packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# --no-install-recommends: containerd's recommends pull in nothing the tests use. The packages ship
# systemd units; with no systemd as PID 1 nothing is started (policy-rc.d is not needed).
if ! { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "oscope: could not install ${missing[*]}; the real-container tests will skip" >&2
fi
exit 0
