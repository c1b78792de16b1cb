#!/usr/bin/env bash
# The commands `make test-kernels` runs inside the second kernel (test/kernels/kernels.test.ts boots it
# with scripts/kernel-guest.sh). Also runnable on any host as root, which is how the README's method
# matrix gets its column for the development VM:  bash test/kernels/commands.sh REPO OUTDIR
#
# Every command writes OUTDIR/NAME.{json,err,rc,ms}. Faults are injected with what this kernel offers:
# null_blk with a timer completion (a known device-stage latency), dm-delay over a second null_blk
# (a known delay the device-mapper adds), and a crafted kernel-log line for `inspect --follow`.
# Nothing here outlives the guest (it powers off); on a host, everything is removed at the end.
set -u
repo=${1:?REPO}
out=${2:?OUTDIR}
mkdir -p "$out"
cd "$repo" || exit 1
osc=("$repo/bin/oscope")
uname -r >"$out/kernel"

# run NAME CMD...: one command, its JSON on stdout, its stderr, exit code and wall time in ms.
run() {
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s%N)
  "$@" >"$out/$name.json" 2>"$out/$name.err"
  echo $? >"$out/$name.rc"
  t1=$(date +%s%N)
  echo $(((t1 - t0) / 1000000)) >"$out/$name.ms"
}

modprobe_ok() { modprobe "$@" 2>>"$out/modprobe.err"; }

run doctor "${osc[@]}" doctor --json
run mem "${osc[@]}" mem --json
run filecache "${osc[@]}" filecache --json --top 5

# leak_then_watch TYPE SCENARIO: the simulation leaks at 1 MiB/s for far longer than the watches (node
# starts slowly under TCG: the leak must still be going when the watch begins), the watch with tracing
# starts once `simulate list` shows the run, and Ctrl-C ends the simulation, which removes what it made.
leak_then_watch() {
  local type=$1 scen=$2 size=$3
  "${osc[@]}" simulate "$scen" --size "$size" --rate 1M --duration 0 >"$out/sim-$type.log" 2>&1 &
  local sim=$!
  # The run is listed as soon as it starts leaking. (Waiting for a --json start document instead, the
  # slab watch saw nothing grow in a CI run: the watch must begin while the leak is still going.)
  for _ in $(seq 1 40); do
    kill -0 "$sim" 2>/dev/null || break # it failed: its log says why
    "${osc[@]}" simulate list 2>/dev/null | grep -q "$scen" && break
    sleep 0.5
  done
  sleep 1
  run "memleak-$type" "${osc[@]}" memleak -t "$type" -i 10 --json
  # vmalloc: the best method there is fentry; the kprobe method it replaced must still work when asked for.
  [[ $type == vmalloc ]] && run "memleak-$type-kprobe" env OSCOPE_MEMLEAK_ATTACH=kprobe "${osc[@]}" memleak -t "$type" -i 6 --json
  kill -INT "$sim" 2>/dev/null
  wait "$sim" 2>/dev/null
}
# slab: 64 MiB of epoll items is what fs.epoll.max_user_watches allows at 3 GiB; vmalloc has two watches.
leak_then_watch slab slab-leak 64M
leak_then_watch vmalloc vmalloc-leak 128M

run runlatency "${osc[@]}" runlatency -i 3 --json
run load "${osc[@]}" load -i 2 --json
run profile "${osc[@]}" profile -i 3 --json
run net "${osc[@]}" net -i 2 --json

# net with a real netem hold: simulate net-delay puts `netem delay 30ms` on the client's veth (its own
# namespace) when sch_netem loads, and `oscope net` watches that namespace's port.
# No module autoloading in the guest (the kernel's modprobe helper runs outside the chroot): load them.
modprobe_ok veth
modprobe_ok sch_netem
"${osc[@]}" simulate net-delay --ms 30 --port 5304 --duration 0 --json >"$out/sim-net.json" 2>"$out/sim-net.log" &
sim=$!
# Its JSON document is printed once the qdisc and both helpers are up.
for _ in $(seq 1 120); do
  kill -0 "$sim" 2>/dev/null || break
  cli=$(ls /run/netns 2>/dev/null | grep -m1 -- '-c$')
  [[ -n $cli ]] && ip netns exec "$cli" tc qdisc show dev osc-c0 2>/dev/null | grep -qE 'netem|tbf' && grep -q '"clientPid"' "$out/sim-net.json" 2>/dev/null && break
  sleep 0.5
done
ip netns exec "$cli" tc qdisc show dev osc-c0 >"$out/net-delay.qdisc" 2>&1
sleep 1
run net-delay "${osc[@]}" net -i 2 --port 5304 --netns "/run/netns/$cli" --json
kill -INT "$sim" 2>/dev/null
wait "$sim" 2>/dev/null


# io: null_blk whose every request completes after 20 ms (timer mode), read with O_DIRECT meanwhile.
if [[ ! -e /dev/nullb0 ]] && modprobe_ok null_blk nr_devices=2 irqmode=2 completion_nsec=20000000 queue_mode=2 gb=1; then
  udevadm settle 2>/dev/null || sleep 1
fi
if [[ -e /dev/nullb0 ]]; then
  echo none >/sys/block/nullb0/queue/scheduler 2>/dev/null
  dd if=/dev/nullb0 of=/dev/null bs=4k count=100000 iflag=direct status=none &
  dd1=$!
  run io-nullblk "${osc[@]}" io -i 3 --disk nullb0 --json
  kill "$dd1" 2>/dev/null
  wait "$dd1" 2>/dev/null
fi
# dm-delay: 30 ms added to every read of a device-mapper target over nullb1 (whose own completions are 20 ms).
if [[ -e /dev/nullb1 ]] && modprobe_ok dm-delay; then
  size=$(blockdev --getsz /dev/nullb1)
  if echo "0 $size delay /dev/nullb1 0 30" | dmsetup create oscope-test-delay 2>>"$out/dmsetup.err"; then
    dev=dm-$(dmsetup info -c --noheadings -o minor oscope-test-delay | tr -d ' ')
    echo "$dev" >"$out/dm-delay.dev"
    # Without udev there is no /dev/mapper link; devtmpfs has the node under the kernel's name.
    node=/dev/mapper/oscope-test-delay
    [[ -e $node ]] || node=/dev/$dev
    dd if="$node" of=/dev/null bs=4k count=100000 iflag=direct status=none &
    dd2=$!
    run io-dmdelay "${osc[@]}" io -i 3 --disk "$dev" --json
    kill "$dd2" 2>/dev/null
    wait "$dd2" 2>/dev/null
    # inspect --follow on a crafted kernel report. A line written to /dev/kmsg from user space carries
    # facility 1 (the kernel forces it) and inspect ignores it as a possible spoof, so the crafted line
    # must come from the kernel: a task of our own naming (a copy of dd called oscope-t-hang) stuck in
    # D state, which the hung-task detector (2 s here) reports as "INFO: task oscope-t-hang:PID blocked
    # for more than 2 seconds." with its stack. It is a write with fsync behind the suspended dm device:
    # the fsync waits for writeback in TASK_UNINTERRUPTIBLE with no timeout. (An O_DIRECT read waits in
    # blk_io_schedule(), which wakes every half timeout; a buffered read waits TASK_KILLABLE, which the
    # 6.1 detector skips: neither is ever reported.)
    # The spoofed user-space line goes in first: it must not come out.
    echo 2 >/proc/sys/kernel/hung_task_timeout_secs
    cp /bin/dd /tmp/oscope-t-hang
    "${osc[@]}" inspect --follow --json >"$out/follow.json" 2>"$out/follow.err" &
    fol=$!
    # The follower reads from its start (the log before it is not followed): wait until it has /dev/kmsg open.
    for _ in $(seq 1 60); do
      ls -l "/proc/$fol/fd" 2>/dev/null | grep -q /dev/kmsg && break
      sleep 0.5
    done
    sleep 1
    echo '<3>INFO: task oscope-t-spoof:4242 blocked for more than 120 seconds.' >/dev/kmsg
    dmsetup suspend oscope-test-delay
    /tmp/oscope-t-hang if=/dev/zero of="$node" bs=4k count=1 seek=4099 conv=fsync status=none &
    dd3=$!
    sleep 9
    dmsetup resume oscope-test-delay
    wait "$dd3" 2>/dev/null
    sleep 4
    kill "$fol" 2>/dev/null
    wait "$fol" 2>/dev/null
    echo 120 >/proc/sys/kernel/hung_task_timeout_secs
    dmesg >"$out/dmesg.txt" 2>/dev/null
    dmsetup remove oscope-test-delay 2>/dev/null
  fi
fi
[[ $(cat /proc/modules 2>/dev/null | grep -c '^null_blk ') -gt 0 ]] && modprobe -r null_blk 2>/dev/null
exit 0
