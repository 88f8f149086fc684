#!/usr/bin/env bash
# Install the sao web client (npm package tryton-sao, 8.0 series) into ./sao.
#
# sao ships built files: unpack the npm tarball and install its runtime
# libraries inside the package directory, where index.html looks for them
# (a plain `npm install tryton-sao` hoists them elsewhere). The install goes
# to a temporary directory renamed into place, so an interrupted run leaves
# no half-installed client behind.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${SAO_DIR:-$ROOT/sao}"
SERIES="${SAO_SERIES:-8.0}"
STAMP="$DEST/.spp-sao-installed"

if [[ -f "$STAMP" && -f "$DEST/index.html" && -d "$DEST/node_modules" ]]; then
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    cat >&2 <<MSG
ERROR: npm is needed to install the sao web client (npm package tryton-sao@$SERIES).
Install it, then run the command again:
    sudo apt-get install -y npm        # Debian / Ubuntu
or get Node.js (with npm) from https://nodejs.org/
MSG
    exit 1
fi

echo "Installing the sao web client (tryton-sao@$SERIES) into $DEST ..."
WORK="$(mktemp -d "$(dirname "$DEST")/.sao-install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
(
    cd "$WORK"
    npm pack --silent "tryton-sao@$SERIES" >/dev/null
    tar -xzf tryton-sao-*.tgz
    cd package
    npm install --omit=dev --legacy-peer-deps --no-audit --no-fund \
        --loglevel=error
)
VERSION="$(cd "$WORK/package" && node -p 'require("./package.json").version' 2>/dev/null || echo unknown)"
echo "tryton-sao $VERSION" > "$WORK/package/.spp-sao-installed"
rm -rf "$DEST"
mv "$WORK/package" "$DEST"
echo "sao $VERSION installed in $DEST"
