#!/usr/bin/env bash
# Test dependencies of the console: a PostgreSQL server (Debian package) for the store tests, which
# start their own private instance under /var/tmp/oscope-test-pg-* (the distro's cluster is not used).
# Idempotent and quiet when everything is there. Needs root (apt) only when something is missing.
set -euo pipefail
have_pg() { compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null && compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }
if have_pg; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-test-deps-console: PostgreSQL is missing and installing it needs root (apt-get install postgresql); the PostgreSQL store tests will skip" >&2
  exit 0
fi
echo "ensure-test-deps-console: installing PostgreSQL from apt" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The package's own cluster is not needed by the tests; policy-rc.d keeps apt from starting it.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
have_pg || { echo "ensure-test-deps-console: PostgreSQL did not install" >&2; exit 1; }
