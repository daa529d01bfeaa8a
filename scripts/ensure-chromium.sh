#!/usr/bin/env bash
# Make Debian's Chromium available for the browser tests (Playwright drives /usr/bin/chromium; no
# browser download ever happens). Installs the `chromium` package only when it is missing.
# Idempotent; needs root (or sudo) to install.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "ensure-chromium: found /usr/bin/chromium; nothing to do"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: no /usr/bin/chromium and no apt-get; install Chromium with your package manager" >&2
  exit 1
fi
SUDO=""
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "ensure-chromium: installing chromium needs root (run as root, or install sudo)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
echo "ensure-chromium: installing Debian's chromium package"
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends chromium
echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
