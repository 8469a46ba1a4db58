#!/usr/bin/env bash
# Debian packages the deploy checks (deploy/test) run for real: docker-compose (`config -q`),
# prometheus (promtool, and the server for the live check), haproxy, python3-yaml (reads the YAML
# files; a docker-compose dependency anyway) and redis-server (the live cluster). Installs only
# what is missing, so it costs nothing on a machine that has them. Meant to be called from .ci/run
# next to its other apt installs:  bash deploy/ci-deps.sh
set -euo pipefail

missing=()
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
{ command -v promtool && command -v prometheus; } >/dev/null 2>&1 || missing+=(prometheus)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
# deploy/test/tls.test.ts makes its certificate with scripts/gen-dev-cert.sh.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
python3 -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)

if ((${#missing[@]} > 0)); then
  echo "deploy/ci-deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The prometheus package may start its own server (on :9090) where an init system runs; the live
# check starts its own on a free port, so that one is harmless.
# The first line of each version (sed reads to the end: `head` would close the pipe early, and the
# writer's SIGPIPE fails this script under pipefail).
docker-compose version --short
promtool --version 2>&1 | sed -n 1p
haproxy -v | sed -n 1p
