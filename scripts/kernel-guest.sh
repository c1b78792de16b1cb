#!/usr/bin/env bash
# Boots a second kernel (Debian bookworm's own linux-image-6.1, never installed into /boot) under QEMU
# and runs one host script inside it, with the host's / shared read-only over 9p. Used by
# `make test-kernels` (test/kernels/).
#
#   scripts/kernel-guest.sh prepare WORKDIR          fetch + unpack the kernel, build the initramfs
#   scripts/kernel-guest.sh run WORKDIR SCRIPT       boot, run SCRIPT (a host path) in the guest, power off
#   scripts/kernel-guest.sh check                    exit 0 when qemu can run here, else print why, exit 3
#
# Everything lives under WORKDIR (a temporary directory the caller makes and removes): the .deb, the
# unpacked kernel and modules, the initramfs, the guest's console log and the script's output. No disk
# image of the host is made: the guest mounts the host's / read-only (9p) under an overlay whose writes
# stay in guest memory, chroots into it, and has the unpacked modules on /lib/modules/VERSION.
# WORKDIR/out is shared read-write at /oscope-out: the script writes its results there.
#
# TCG, not KVM: this VM's KVM is paravirtual and /dev/kvm is absent; a stock kernel boots under TCG in
# about 10 s to a shell. KVM is used when /dev/kvm is there.
set -euo pipefail

cmd=${1:-}
case "$cmd" in
check)
  command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 is not installed (apt qemu-system-x86)"; exit 3; }
  [[ -x /bin/busybox ]] || { echo "/bin/busybox is missing (apt busybox-static)"; exit 3; }
  command -v depmod >/dev/null || { echo "depmod is missing (apt kmod)"; exit 3; }
  [[ $(id -u) -eq 0 ]] || { echo "needs root (the guest chroots into the host's / as root)"; exit 3; }
  exit 0
  ;;
prepare)
  work=${2:?WORKDIR}
  mkdir -p "$work/deb" "$work/out"
  cd "$work/deb"
  # The kernel linux-image-amd64 points at today (one Debian package, about 70 MB).
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  [[ -n $pkg ]] || { echo "no linux-image-amd64 candidate in apt (apt-get update?)" >&2; exit 3; }
  if ! ls ./*.deb >/dev/null 2>&1; then
    apt-get download -q "$pkg" 2>&1 | grep -v 'unsandboxed' >&2 || true
  fi
  ls ./*.deb >/dev/null 2>&1 || { echo "apt-get download $pkg failed" >&2; exit 3; }
  rm -rf "$work/root" && dpkg-deb -x ./*.deb "$work/root"
  ver=$(ls "$work/root/lib/modules")
  depmod -b "$work/root" "$ver"
  echo "$ver" >"$work/version"
  # initramfs: busybox, the modules the 9p share needs (in dependency order), /init.
  ir="$work/initramfs"
  rm -rf "$ir" && mkdir -p "$ir"/{bin,proc,sys,dev,host,lower,rw,out,mods}
  cp /bin/busybox "$ir/bin/busybox"
  for m in virtio_pci 9pnet_virtio 9p overlay; do
    modprobe -d "$work/root" -S "$ver" --show-depends "$m" | awk '$1=="insmod"{print $2}'
  done | awk '!seen[$0]++' >"$work/modlist"
  i=0
  while read -r ko; do
    i=$((i + 1))
    cp "$ko" "$ir/mods/$(printf %02d "$i")-$(basename "$ko")"
  done <"$work/modlist"
  cat >"$ir/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in /mods/*.ko; do insmod "$m" || echo "oscope-guest: insmod $m failed"; done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose host /lower || { echo "oscope-guest: 9p host mount failed"; poweroff -f; }
# A writable view of the host's / whose writes stay in the guest's memory: overlayfs, tmpfs upper.
mount -t tmpfs -o size=75% rw /rw && mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /host || { echo "oscope-guest: overlay mount failed"; poweroff -f; }
ver=$(uname -r)
script=$(sed -n 's/.*oscope.script=\([^ ]*\).*/\1/p' /proc/cmdline)
workdir=$(sed -n 's/.*oscope.work=\([^ ]*\).*/\1/p' /proc/cmdline)
# The chroot: the host's / (copy-on-write in guest memory), with the guest's own kernel file systems.
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm 2>/dev/null
mount -t devpts devpts /host/dev/pts 2>/dev/null
mount -t tmpfs tmpfs /host/dev/shm
mount -t tracefs tracefs /host/sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs /host/sys/kernel/debug 2>/dev/null
mount -t bpf bpf /host/sys/fs/bpf 2>/dev/null
mount -t cgroup2 cgroup2 /host/sys/fs/cgroup 2>/dev/null
mount -t tmpfs tmpfs /host/run
# The shared out directory (WORKDIR/out on the host) at /oscope-out: the script and its results. Not on
# /tmp, which stays the host's (read-only below the overlay): a checkout may live there.
mkdir -p /host/oscope-out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 out /host/oscope-out || { echo "oscope-guest: out mount failed"; poweroff -f; }
mkdir -p /host/lib/modules/$ver
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 mods /host/lib/modules/$ver
echo "oscope-guest: up, running $script"
chroot /host /bin/bash -c "cd /; export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp; bash $script >/oscope-out/guest.stdout 2>/oscope-out/guest.stderr; echo \$? >/oscope-out/guest.rc"
echo "oscope-guest: done rc=$(cat /host/oscope-out/guest.rc 2>/dev/null)"
sync
poweroff -f
EOF
  chmod +x "$ir/init"
  (cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"
  echo "prepared $ver in $work"
  ;;
run)
  work=${2:?WORKDIR}
  script=${3:?SCRIPT}
  ver=$(cat "$work/version")
  accel=tcg
  [[ -w /dev/kvm ]] && accel=kvm
  mem=${OSCOPE_GUEST_MEM:-3072}
  cpus=${OSCOPE_GUEST_CPUS:-2}
  timeout=${OSCOPE_GUEST_TIMEOUT:-900}
  rm -f "$work/out/guest.rc" "$work/out/guest.stdout" "$work/out/guest.stderr"
  # In the guest WORKDIR/out is /oscope-out, so the script goes there.
  cp "$script" "$work/out/guest-script.sh"
  set +e
  # --foreground: timeout stays in the caller's process group, so killing the test run (Ctrl-C, a CI
  # timeout) takes qemu with it instead of leaving a guest running until its own timeout.
  timeout --foreground --kill-after=10 "$timeout" qemu-system-x86_64 \
    -machine q35,accel=$accel -cpu max -smp "$cpus" -m "$mem" \
    -nographic -no-reboot -nodefaults -serial stdio \
    -kernel "$work/root/boot/vmlinuz-$ver" -initrd "$work/initramfs.gz" \
    -append "console=ttyS0 quiet panic=-1 oscope.script=/oscope-out/guest-script.sh oscope.work=$work" \
    -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
    -virtfs local,path="$work/out",mount_tag=out,security_model=none,multidevs=remap \
    -virtfs local,path="$work/root/lib/modules/$ver",mount_tag=mods,security_model=none,readonly=on \
    >"$work/console.log" 2>&1
  qrc=$?
  set -e
  if [[ ! -f $work/out/guest.rc ]]; then
    echo "the guest did not finish (qemu exit $qrc); last console lines:" >&2
    tail -20 "$work/console.log" >&2
    exit 4
  fi
  exit "$(cat "$work/out/guest.rc")"
  ;;
*)
  echo "usage: $0 check | prepare WORKDIR | run WORKDIR SCRIPT" >&2
  exit 2
  ;;
esac
