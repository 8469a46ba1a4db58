#!/usr/bin/env bash
# The bench's peers that are not workspace packages, for CI's bench smoke and the loadtest tests:
# Centrifugo (pinned in peers/versions.env), built from source with the Go toolchain, and soketi
# (peers/soketi/package.json + its lockfile), installed with pnpm outside the workspace. Both go
# to the gitignored .cache/tools/, exactly where loadtest/src/peer-tools.ts (which `pnpm bench`
# runs too) looks for them; safe to run again (does only what is missing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools="$here/../.cache/tools"
# shellcheck source=peers/versions.env
. "$here/peers/versions.env"

centrifugo="$tools/centrifugo-$CENTRIFUGO_VERSION"
if [ ! -x "$centrifugo/centrifugo" ]; then
  go=go
  command -v go >/dev/null 2>&1 || go=/usr/local/go/bin/go
  echo "building $CENTRIFUGO_MODULE@$CENTRIFUGO_VERSION ($("$go" version | cut -d' ' -f3))"
  rm -rf "$centrifugo.partial"
  mkdir -p "$centrifugo.partial"
  GOBIN="$centrifugo.partial" CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$go" install -trimpath "$CENTRIFUGO_MODULE@$CENTRIFUGO_VERSION" </dev/null
  rm -rf "$centrifugo"
  mv "$centrifugo.partial" "$centrifugo"
fi

soketi="$tools/soketi-$SOKETI_VERSION"
if [ ! -f "$soketi/node_modules/@soketi/soketi/bin/server.js" ]; then
  echo "installing soketi $SOKETI_VERSION"
  mkdir -p "$soketi"
  cp "$here/peers/soketi/package.json" "$here/peers/soketi/pnpm-lock.yaml" "$soketi/"
  CI=true pnpm install --frozen-lockfile --ignore-workspace --reporter=silent --dir "$soketi" </dev/null
fi
# (sed, not head: head closing the pipe early would fail this script under pipefail)
echo "bench peers: centrifugo $("$centrifugo/centrifugo" version </dev/null 2>&1 | sed -n 1p), soketi $SOKETI_VERSION"
