# Shared by deploy/stack/*.sh (sourced, not run): the pinned versions, where things live, and the
# podman settings this environment needs. Everything here is about running docker-compose.yml on a
# machine with no Docker engine and no container registry; docker-compose.yml and the Dockerfile
# stay what a Docker user runs.

STACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$STACK_DIR/../.." && pwd)

# Docker Compose v2 and k6, built from source with the Go toolchain (tools.sh). k6 >= 1.0 runs
# TypeScript scenarios and has k6/websockets.
COMPOSE_MODULE=github.com/docker/compose/v2
COMPOSE_VERSION=v2.40.3
K6_MODULE=go.k6.io/k6
K6_VERSION=v1.8.1
# Node's official Linux x64 build as the npm registry ships it, and the npm Node 20 bundles
# (images.sh checks both against these sha512 digests).
NODE_VERSION=20.20.2
NODE_INTEGRITY=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
NPM_VERSION=10.8.2
NPM_INTEGRITY=sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w==
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# Built tools, one folder per pinned version, gitignored (.cache/). Kept between runs.
TOOLS_DIR=${PARLEY_TOOLS_DIR:-$REPO_ROOT/.cache/tools}
COMPOSE_BIN=$TOOLS_DIR/compose-$COMPOSE_VERSION/docker-compose
K6_BIN=$TOOLS_DIR/k6-$K6_VERSION/k6

# The compose project name, so the stack's containers, network and volumes are easy to find.
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-parley-stack}
# The services CI brings up (grafana has no Debian package, so no local image; k6 runs on the host).
STACK_SERVICES=(redis gateway haproxy prometheus)

# Podman as root with this machine's quirks, for every podman command and the API service:
# runc (crun refuses the hybrid cgroup layout), cgroupfs (there is no systemd), events in a file.
PODMAN_STATE=${PARLEY_PODMAN_STATE:-/run/parley-stack}
export CONTAINERS_CONF=$PODMAN_STATE/containers.conf
export DOCKER_HOST=unix://$PODMAN_STATE/podman.sock

say() { printf '[stack %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { say "FAILED: $*" >&2; exit 1; }

# Containers get this host's hard limits: podman's defaults (a million descriptors as root) are
# above them here, and no container may raise a limit past the host's. Processes: at most 32768,
# the most runc was seen to be allowed to set here (the shell's own 96370 was refused).
hard_limit() { local v; v=$(ulimit -H "$1"); [ "$v" = unlimited ] && v=1048576; echo "$v"; }
nproc_limit() { local v; v=$(hard_limit -u); ((v > 32768)) && v=32768; echo "$v"; }

write_podman_conf() {
  mkdir -p "$PODMAN_STATE"
  cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=$(hard_limit -n):$(hard_limit -n)", "nproc=$(nproc_limit):$(nproc_limit)"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
}

# `docker compose` when the Docker CLI is there (the built Compose as its plugin, through a private
# DOCKER_CONFIG), else the same Compose binary on its own: the same program either way.
compose() {
  if command -v docker >/dev/null 2>&1; then
    local config=$TOOLS_DIR/docker-config
    mkdir -p "$config/cli-plugins"
    ln -sf "$COMPOSE_BIN" "$config/cli-plugins/docker-compose"
    DOCKER_CONFIG=$config docker compose "$@"
  else
    "$COMPOSE_BIN" "$@"
  fi
}
