#!/usr/bin/env bash
# `make start`: the console on http://127.0.0.1:8420 with an agent for this host already registered,
# storing in an embedded SQLite file under ./var/ (override: OSCOPE_DATA_DIR, OSCOPE_LISTEN,
# OSCOPE_AGENT_LISTEN). The first start creates the user "admin" and prints its password once; it is
# also kept in var/console.db.admin-password (mode 0600) until admin first logs in, then removed.
# Ctrl-C stops the console and its agent.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${OSCOPE_DATA_DIR:-./var}"
mkdir -p "$data"
chmod 700 "$data"
exec ./bin/oscope console \
  --listen "${OSCOPE_LISTEN:-127.0.0.1:8420}" \
  --db "$data/console.db" \
  --local-agent \
  --agent-listen "${OSCOPE_AGENT_LISTEN:-127.0.0.1:9464}"
