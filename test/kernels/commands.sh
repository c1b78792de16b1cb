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

# leak_then_watch TYPE SCENARIO: the simulation leaks at 1 MiB/s for far longer than the watch (node
# starts slowly under TCG: the leak must still be going when the watch begins), the watch with tracing
# starts once `simulate list` shows the run, and Ctrl-C ends the simulation, which removes what it made.
leak_then_watch() {
  local type=$1 scen=$2
  "${osc[@]}" simulate "$scen" --size 64M --rate 1M --duration 0 >"$out/sim-$type.log" 2>&1 &
  local sim=$!
  for _ in $(seq 1 40); do
    "${osc[@]}" simulate list 2>/dev/null | grep -q "$scen" && break
    sleep 0.5
  done
  sleep 1
  run "memleak-$type" "${osc[@]}" memleak -t "$type" -i 10 --json
  kill -INT "$sim" 2>/dev/null
  wait "$sim" 2>/dev/null
}
leak_then_watch slab slab-leak
leak_then_watch vmalloc vmalloc-leak

run runlatency "${osc[@]}" runlatency -i 3 --json
run load "${osc[@]}" load -i 2 --json
run profile "${osc[@]}" profile -i 3 --json
run net "${osc[@]}" net -i 2 --json


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
    # inspect --follow on a real kernel report: the dm device suspended, a direct read stuck behind it
    # in D state, and the hung-task detector at 2 s prints "INFO: task dd:N blocked for more than 2 seconds".
    echo 2 >/proc/sys/kernel/hung_task_timeout_secs
    "${osc[@]}" inspect --follow --json >"$out/follow.json" 2>"$out/follow.err" &
    fol=$!
    sleep 4
    dmsetup suspend oscope-test-delay
    dd if="$node" of=/dev/null bs=4k count=1 skip=7 iflag=direct status=none &
    dd3=$!
    sleep 8
    dmsetup resume oscope-test-delay
    wait "$dd3" 2>/dev/null
    sleep 3
    kill "$fol" 2>/dev/null
    wait "$fol" 2>/dev/null
    echo 120 >/proc/sys/kernel/hung_task_timeout_secs
    dmesg >"$out/dmesg.txt" 2>/dev/null
    dmsetup remove oscope-test-delay 2>/dev/null
  fi
fi
[[ $(cat /proc/modules 2>/dev/null | grep -c '^null_blk ') -gt 0 ]] && modprobe -r null_blk 2>/dev/null
exit 0
