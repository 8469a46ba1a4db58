#!/usr/bin/env bash
# Builds the pinned Docker Compose v2 and k6 from source with the Go toolchain into the tools cache
# (deploy/stack/lib.sh: .cache/tools/compose-<version>, k6-<version>), unless already there. The Go
# module proxy brings the sources; `go build` checks them against go.sum.
#
#   bash deploy/stack/tools.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v go >/dev/null 2>&1 || die "the Go toolchain (go) is needed to build Compose and k6"

# A module's source from the module proxy, copied somewhere writable.
module_source() {
  local dir
  dir=$(go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "go mod download $1@$2 gave no source"
  local work
  work=$(mktemp -d)
  cp -R "$dir/." "$work"
  chmod -R u+w "$work"
  echo "$work"
}

# Built inside the module's own folder (not `go install module@version`): Compose's go.mod has
# exclude directives, which `go install` refuses.
build() { # name module version package binary ldflags
  local name=$1 module=$2 version=$3 package=$4 binary=$5 ldflags=$6
  if [ -x "$binary" ]; then
    say "$name $version: cached at $binary"
    return
  fi
  local started=$SECONDS work
  say "$name $version: building from source (Go $(go env GOVERSION))"
  work=$(module_source "$module" "$version")
  mkdir -p "$(dirname "$binary")"
  # Quiet unless it fails: the module downloads alone are a few hundred lines.
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$binary.partial" "$package") >"$work.log" 2>&1 ||
    { tail -40 "$work.log"; die "go build of $name $version"; }
  rm -f "$work.log"
  mv "$binary.partial" "$binary"
  rm -rf "$work"
  say "$name $version: built in $((SECONDS - started)) s"
}

build "Docker Compose" "$COMPOSE_MODULE" "$COMPOSE_VERSION" ./cmd "$COMPOSE_BIN" "-s -w -X $COMPOSE_MODULE/internal.Version=$COMPOSE_VERSION"
build k6 "$K6_MODULE" "$K6_VERSION" . "$K6_BIN" "-s -w"
"$COMPOSE_BIN" version
"$K6_BIN" version | sed -n 1p
