#!/usr/bin/env bash
# Make PostgreSQL server binaries available for the test suite (tests/fixtures_db.py starts its own
# throwaway server from them). Installs Debian's `postgresql` package only when no
# /usr/lib/postgresql/*/bin/initdb exists; never starts (and stops again) the system cluster.
# Idempotent: a second run finds the binaries and does nothing. Needs root (or sudo) to install.
set -euo pipefail

find_initdb() {
  compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1 || true
}

if [[ -n "${SIGNAL_FACTORY_TEST_PG_URL:-}" ]]; then
  echo "ensure-postgres: SIGNAL_FACTORY_TEST_PG_URL is set; tests use that server"
  exit 0
fi

found="$(find_initdb)"
if [[ -n "$found" ]]; then
  echo "ensure-postgres: found $found; nothing to do"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-postgres: no /usr/lib/postgresql/*/bin/initdb and no apt-get; install the PostgreSQL server" \
       "binaries with your package manager, or set SIGNAL_FACTORY_TEST_PG_URL=postgresql://... " >&2
  exit 1
fi

SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ensure-postgres: installing postgresql needs root (run as root, or install sudo)" >&2
    exit 1
  fi
fi

# Debian's maintainer scripts start the new cluster unless policy-rc.d forbids it (exit 101 = "not
# allowed"). Install a temporary policy only if none exists, and remove it afterwards.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [[ ! -e "$policy" ]]; then
  $SUDO sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
  own_policy=1
fi
cleanup() { if [[ -n "$own_policy" ]]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

echo "ensure-postgres: no PostgreSQL server binaries found; installing Debian's postgresql package"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql

found="$(find_initdb)"
if [[ -z "$found" ]]; then
  echo "ensure-postgres: installed postgresql, but still no /usr/lib/postgresql/*/bin/initdb" >&2
  exit 1
fi
echo "ensure-postgres: installed; server binaries in $(dirname "$found") (system cluster not started)"
