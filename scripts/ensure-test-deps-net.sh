#!/usr/bin/env bash
# Installs what the network tests and the net-drop simulation need when it is missing (root only; else
# says what to install): nftables for the drop rule (iproute2's ip and tc come with the base system).
# Idempotent and quiet when everything is there. A failed install is not fatal: the tests that need nft
# skip with a reason instead.
set -uo pipefail

command -v nft >/dev/null 2>&1 && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "oscope: the network tests need nftables (apt install nftables); the drop test will skip without it" >&2
  exit 0
fi
echo "Installing test packages: nftables"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 nftables >/dev/null; }; then
  echo "oscope: could not install nftables; the net-drop test will skip" >&2
fi
exit 0
