#!/usr/bin/env bash
# `make start`: until the console exists, shows the memory panorama of this host.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./bin/oscope mem
