#!/usr/bin/env bash
# Installs the Debian packages oscope needs when they are missing (root only; else says what to install).
# Kept idempotent and quiet when everything is there.
set -euo pipefail

# command-to-check:package
NEEDED=(
  # native addon (scripts/build-native.sh): node-gyp compiles C against libbpf
  make:make
  cc:gcc
  pkg-config:pkg-config
  /usr/include/bpf/libbpf.h:libbpf-dev
  /usr/include/libelf.h:libelf-dev
  /usr/include/zlib.h:zlib1g-dev
  # BPF programs (scripts/build-bpf.sh): clang -target bpf, vmlinux.h from bpftool
  clang:clang
  llvm-strip:llvm
  /usr/sbin/bpftool:bpftool
)

missing=()
for entry in "${NEEDED[@]}"; do
  cmd=${entry%%:*}
  pkg=${entry#*:}
  if [[ $cmd == /* ]]; then [[ -e $cmd ]] || missing+=("$pkg"); else command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg"); fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "oscope: please install these Debian packages first: ${missing[*]}" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
