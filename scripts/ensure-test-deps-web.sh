#!/usr/bin/env bash
# Installs Debian's chromium for the web UI's end-to-end test (test/web/) when it is missing (root only;
# else says what to install). Idempotent and quiet when it is there. A failed install is not fatal: the
# browser test skips with a reason instead.
set -uo pipefail

command -v chromium >/dev/null 2>&1 && [[ -x /usr/bin/chromium ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "oscope: the web UI browser test needs the Debian package chromium (it will skip without it)" >&2
  exit 0
fi
echo "Installing test package: chromium"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null; }; then
  echo "oscope: could not install chromium; the web UI browser test will skip" >&2
fi
exit 0
