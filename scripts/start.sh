#!/usr/bin/env bash
# `make start`: the web console on http://127.0.0.1:8420 with an agent for this host already registered
# (embedded SQLite under ./var/); it prints the URL and how to log in. See scripts/start-console.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
exec ./scripts/start-console.sh
