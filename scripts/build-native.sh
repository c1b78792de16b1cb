#!/usr/bin/env bash
# Builds the optional native addon (native/ → native/build/Release/oscope_native.node) with the
# node-gyp pinned in devDependencies, against the Node headers installed with Node itself
# (/usr/include/node), so that no header tarball is downloaded.
#
# The addon is optional at run time: when its build prerequisites are missing this says so and exits 0
# (every procfs-based feature works without it); set OSCOPE_REQUIRE_NATIVE=1 to make that an error.
# A compile error in the addon's own sources always fails.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "oscope: native addon not built: $1" >&2
  [[ ${OSCOPE_REQUIRE_NATIVE:-0} == 1 ]] && exit 1
  exit 0
}

gyp=node_modules/node-gyp/bin/node-gyp.js
[[ -f $gyp ]] || skip "node-gyp is not installed (run npm ci)"
command -v pkg-config >/dev/null || skip "pkg-config is missing (apt install pkg-config)"
pkg-config --exists libbpf || skip "libbpf headers are missing (apt install libbpf-dev libelf-dev zlib1g-dev)"
command -v make >/dev/null || skip "make is missing"
command -v cc >/dev/null || skip "a C compiler is missing (apt install gcc)"

args=()
nodeinc="$(dirname "$(dirname "$(command -v node)")")"
if [[ -f $nodeinc/include/node/node_api.h ]]; then
  args+=("--nodedir=$nodeinc")
elif [[ -n ${npm_config_nodedir:-} ]]; then
  args+=("--nodedir=$npm_config_nodedir")
fi

out=native/build/Release/oscope_native.node
# Rebuild only when a source is newer than the addon (node-gyp's own make is incremental too).
if [[ -f $out && -f native/build/Makefile ]] &&
  [[ -z $(find native/src native/binding.gyp -newer "$out" -print -quit) ]]; then
  exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! node "$gyp" rebuild --directory native "${args[@]}" >"$log" 2>&1; then
  grep -v '^gyp info' "$log" >&2 || true
  echo "oscope: native addon build failed (see above)" >&2
  exit 1
fi
grep -iE 'warning|error' "$log" | grep -v '^gyp info' >&2 || true
echo "oscope: built $out"
