#!/usr/bin/env bash
# docker-compose.yml for real on a machine with no Docker engine and no container registry (CI,
# and this project's development machines): podman as the engine, behind its Docker-compatible API,
# driven by the pinned Docker Compose v2; every image built locally (images.sh); k6 built from
# source (tools.sh).
#
#   bash deploy/stack/run.sh test [--json FILE]   # the stack suite (deploy/stack/test)
#   bash deploy/stack/run.sh bench [ARGS]         # pnpm bench:k6: every k6 scenario at full scale
#   bash deploy/stack/run.sh build                # only the tools and images
#
# PARLEY_STACK_PREBUILT=1 skips the tools and images (built by an earlier `run.sh build`), so a
# long build and the suite can run as two shorter commands.
#
# Needs root (podman as root, apt-get for missing packages) and the ports the compose file publishes
# (8080, 8443, 127.0.0.1:8404, 127.0.0.1:9090). Prints how long each part took. With a Docker engine,
# none of this is needed: `docker compose up -d --build` (docs/OPERATIONS.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

mode=${1:-}
shift || true
json=""
case "$mode" in
  test) [ "${1:-}" = --json ] && json=${2:?--json needs a file} ;;
  bench) ;; # the rest goes to deploy/stack/dist/bench-k6.js (scenario files, -e NAME=VALUE)
  build) ;;
  *) die "usage: run.sh test [--json FILE] | bench [scenario.ts ...] [-e NAME=VALUE ...] | build" ;;
esac
[ "$(id -u)" -eq 0 ] || die "run as root (podman as root, apt-get)"

# One stack per machine: it publishes fixed host ports and has one project name and image tags, so
# a second run (another checkout's CI, a bench) waits here for the first instead of colliding.
exec 9>"${PARLEY_STACK_LOCK:-/tmp/parley-stack.lock}"
if ! flock -n 9; then
  say "another deploy/stack run holds ${PARLEY_STACK_LOCK:-/tmp/parley-stack.lock}; waiting (at most 30 min)"
  flock -w 1800 9 || die "the other deploy/stack run did not finish within 30 min"
fi

started=$SECONDS
timings=()
part() { # label command...: runs a part and records how long it took
  local label=$1 t=$SECONDS
  shift
  say "== $label"
  local status=0
  "$@" || status=$?
  timings+=("$(printf '%-22s %4d s%s' "$label" "$((SECONDS - t))" "$([ "$status" -eq 0 ] || echo "  FAILED (exit $status)")")")
  return "$status"
}

system_packages() {
  # podman with runc (crun refuses this machine's hybrid cgroup layout), its network stack, and
  # debootstrap for the base image; iptables for netavark's port forwarding.
  local wanted=(podman runc netavark aardvark-dns slirp4netns fuse-overlayfs uidmap debootstrap iptables) missing=()
  for package in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  if ((${#missing[@]} > 0)); then
    say "installing ${missing[*]}"
    apt-get update -qq || return
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return
  fi
  podman --version
}

# ---------------------------------------------------------------- the engine

service_pid=""
health_pid=""

# Containers may not raise rlimits above this host's hard limits, which are below what
# docker-compose.yml asks for (200,000 / 400,000 descriptors): an override lowers them to the
# host's. It names the process limit too: for a container with any `ulimits`, podman sets the
# ones not named to 1,048,576, which runc may not set here.
write_compose_wrapper() {
  local nofile nproc
  nofile=$(hard_limit -n)
  nproc=$(nproc_limit)
  # It also gives the services that name no stop_grace_period Docker's default of 10 s: through
  # podman's API such a container gets a stop timeout of 0, so `docker compose stop` would SIGKILL
  # it at once (exit 137) instead of sending its stop signal and waiting.
  cat >"$PODMAN_STATE/compose.override.yml" <<EOF
services:
  redis:
    stop_grace_period: 10s
  gateway:
    ulimits:
      nofile: { soft: $nofile, hard: $nofile }
      nproc: { soft: $nproc, hard: $nproc }
  haproxy:
    stop_grace_period: 10s
    ulimits:
      nofile: { soft: $nofile, hard: $nofile }
      nproc: { soft: $nproc, hard: $nproc }
  prometheus:
    stop_grace_period: 10s
EOF
  local files=(-f "$REPO_ROOT/docker-compose.yml" -f "$PODMAN_STATE/compose.override.yml")
  if [ "$mode" = bench ]; then
    # k6 runs every virtual user from this one host, i.e. one client address behind HAProxy: the
    # per-address and per-user limits (50 messages/s and 1,000 sockets per address by default)
    # would refuse the load itself. Raised as the Node bench raises them (loadtest/src/systems.ts,
    # BENCH_GATEWAY_ENV): still enforced, far above what a scenario offers. The suite runs with
    # the defaults.
    cat >"$PODMAN_STATE/compose.bench.yml" <<EOF
services:
  gateway:
    environment:
      LOG_LEVEL: warn
      PARLEY_RATE_PER_SECOND: "100000"
      PARLEY_RATE_BURST: "200000"
      PARLEY_USER_RATE_PER_SECOND: "200000"
      PARLEY_USER_RATE_BURST: "400000"
      PARLEY_IP_RATE_PER_SECOND: "1000000"
      PARLEY_IP_RATE_BURST: "10000000"
      PARLEY_MAX_CONNECTIONS_PER_IP: "10000000"
EOF
    files+=(-f "$PODMAN_STATE/compose.bench.yml")
  fi
  # An executable that is `docker compose` on docker-compose.yml plus those overrides.
  cat >"$PODMAN_STATE/compose" <<EOF
#!/usr/bin/env bash
source "$STACK_DIR/lib.sh"
compose ${files[*]@Q} --project-directory "$REPO_ROOT" "\$@"
EOF
  chmod +x "$PODMAN_STATE/compose"
}

start_engine() {
  write_podman_conf
  rm -f "$PODMAN_STATE/podman.sock"
  # Through the Docker API, podman gives each container the service's own process limit (96370
  # here), which runc may not set here: start the service with at most 32768 (lib.sh, nproc_limit).
  (ulimit -u "$(nproc_limit)" && exec podman system service --time=0 "$DOCKER_HOST") >"$PODMAN_STATE/service.log" 2>&1 &
  service_pid=$!
  local i
  for i in $(seq 1 100); do
    [ -S "$PODMAN_STATE/podman.sock" ] && break
    kill -0 "$service_pid" 2>/dev/null || { cat "$PODMAN_STATE/service.log"; die "podman system service exited"; }
    sleep 0.1
  done
  [ -S "$PODMAN_STATE/podman.sock" ] || die "podman's API socket did not appear within 10 s"
  say "podman API on $DOCKER_HOST (pid $service_pid)"

  # There is no systemd to run health checks on their timers: run every container's check here,
  # every 3 s, for at most an hour (compose's `service_healthy` and the gateways' health wait on it).
  # The check reads nothing from stdin (</dev/null): inside `while read` it would otherwise swallow
  # the rest of the container list, and only the first container would ever be checked.
  (
    for _ in $(seq 1 1200); do
      podman ps --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME" --format '{{.ID}} {{.Status}}' 2>/dev/null |
        while read -r id status; do
          case "$status" in *"(healthy)"* | *"(starting)"* | *"(unhealthy)"*) timeout 20 podman healthcheck run "$id" </dev/null >/dev/null 2>&1 || true ;; esac
        done
      sleep 3
    done
  ) &
  health_pid=$!

  write_compose_wrapper
  export PARLEY_STACK_COMPOSE=$PODMAN_STATE/compose PARLEY_STACK_K6=$K6_BIN
  # The suite keeps every container's log here before it takes the stack down (the last run's only).
  export PARLEY_STACK_LOG=${PARLEY_STACK_LOG:-$PODMAN_STATE/compose.log}
}

stack_down() {
  [ -x "$PODMAN_STATE/compose" ] && [ -n "$service_pid" ] || return 0
  if [ -n "$("$PODMAN_STATE/compose" ps --all --quiet 2>/dev/null)" ]; then
    say "taking the stack down"
    timeout 120 "$PODMAN_STATE/compose" down --volumes --remove-orphans --timeout 20 >/dev/null 2>&1 || say "compose down failed"
  fi
}

cleanup() {
  local status=$?
  set +e
  stack_down
  [ -n "$health_pid" ] && kill "$health_pid" 2>/dev/null
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  say "== timings"
  for line in "${timings[@]}"; do echo "  $line"; done
  echo "  $(printf '%-22s %4d s' total "$((SECONDS - started))")"
  exit "$status"
}
trap cleanup EXIT

# Another program on the ports the compose file publishes (a `pnpm start` cluster uses 8080) gets
# 3 minutes to let them go, then the run fails naming them.
ports_free() {
  local busy i
  for i in $(seq 1 36); do
    busy=$(ss -Hltn 2>/dev/null | awk '{print $4}' | grep -E ':(8080|8443|8404|9090)$' || true)
    [ -z "$busy" ] && return 0
    [ "$i" -eq 1 ] && say "waiting (at most 3 min) for ports the compose file publishes: $(echo $busy)"
    sleep 5
  done
  die "ports the compose file publishes are taken: $(echo $busy)"
}

# ---------------------------------------------------------------- the run

part "system packages" system_packages
if [ "${PARLEY_STACK_PREBUILT:-}" = 1 ]; then
  [ -x "$COMPOSE_BIN" ] && [ -x "$K6_BIN" ] || die "PARLEY_STACK_PREBUILT=1 but the tools are not built: run.sh build"
else
  part "tools (compose, k6)" bash "$STACK_DIR/tools.sh"
  part "images" bash "$STACK_DIR/images.sh"
fi
[ "$mode" = build ] && exit 0
part "podman service" start_engine
# A stack left over by an interrupted run would hold the ports.
stack_down
ports_free

if [ "$mode" = test ]; then
  reporters=(--reporter=default)
  [ -n "$json" ] && reporters+=(--reporter=json "--outputFile.json=$json")
  part "stack suite" timeout --kill-after=30s 15m pnpm exec vitest run --config deploy/stack/vitest.config.ts "${reporters[@]}"
else
  [ -f deploy/stack/dist/bench-k6.js ] || die "deploy/stack/dist is not built: pnpm build"
  part "k6 at full scale" node deploy/stack/dist/bench-k6.js "$@"
fi
