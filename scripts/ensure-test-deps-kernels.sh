#!/usr/bin/env bash
# Installs what `make test-kernels` (test/kernels/) needs to boot a second kernel under QEMU: the
# emulator, kmod (depmod/modprobe for the unpacked modules), cpio (the initramfs), busybox-static (its
# userland) and dmsetup (the dm-delay injection). Not fatal: without them the kernel tests skip with the reason.
set -uo pipefail
NEEDED=(qemu-system-x86_64:qemu-system-x86 depmod:kmod cpio:cpio /bin/busybox:busybox-static dmsetup:dmsetup)
missing=()
for entry in "${NEEDED[@]}"; do
  cmd=${entry%%:*}
  pkg=${entry#*:}
  if [[ $cmd == /* ]]; then [[ -e $cmd ]] && continue; else command -v "$cmd" >/dev/null 2>&1 && continue; fi
  [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "oscope: the second-kernel tests need these Debian packages (they will skip without them): ${missing[*]}" >&2
  exit 0
fi
echo "Installing second-kernel test packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null && apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}" >/dev/null; }; then
  echo "oscope: could not install ${missing[*]}; the second-kernel tests will skip" >&2
fi
exit 0
