#!/usr/bin/env bash
# Make sure Debian's chromium is installed at /usr/bin/chromium: the browser
# tests drive it with Playwright (never `playwright install`, which downloads
# a browser build of its own).
set -euo pipefail

CHROMIUM="${SPP_CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$CHROMIUM" ]]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ERROR: $CHROMIUM is missing and apt-get is not available." >&2
    echo "Install Chromium and set SPP_CHROMIUM=/path/to/chromium." >&2
    exit 1
fi

if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
elif command -v sudo >/dev/null 2>&1 && [[ -t 0 ]]; then
    SUDO=(sudo)
else
    cat >&2 <<MSG
ERROR: the browser tests need Debian's chromium ($CHROMIUM), which is not
installed, and this user cannot install packages (not root, no sudo).
Ask an administrator to run:
    sudo apt-get install -y chromium
MSG
    exit 1
fi

echo "Installing Debian's chromium for the browser tests ..."
export DEBIAN_FRONTEND=noninteractive
if ! "${SUDO[@]}" apt-get install -y --no-install-recommends chromium fonts-liberation; then
    # The package lists may be missing or stale on a fresh machine.
    "${SUDO[@]}" apt-get update
    "${SUDO[@]}" apt-get install -y --no-install-recommends chromium fonts-liberation
fi
if [[ ! -x "$CHROMIUM" ]]; then
    echo "ERROR: chromium was installed but $CHROMIUM is still missing." >&2
    exit 1
fi
