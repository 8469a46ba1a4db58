#!/usr/bin/env bash
# A self-signed certificate for local wss:// and https:// through HAProxy (docker-compose.yml
# and the TLS test). For local use only: browsers and clients must be told to trust it, e.g.
# `ws` with `{ ca: readFileSync("deploy/haproxy/certs/parley.crt") }` or `curl --cacert`.
#
#   scripts/gen-dev-cert.sh [OUT_DIR] [--force]
#
# Writes OUT_DIR (default deploy/haproxy/certs, git-ignored) /parley.key, /parley.crt and
# /parley.pem (certificate then key: the one file HAProxy's `crt` wants). Valid for localhost,
# 127.0.0.1 and ::1 for 30 days; an existing certificate is kept unless --force is given.
set -euo pipefail

out="deploy/haproxy/certs"
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) out="$arg" ;;
  esac
done

command -v openssl >/dev/null 2>&1 || { echo "gen-dev-cert: openssl is not installed (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$out"
if [[ -s "$out/parley.pem" && $force -eq 0 ]]; then
  echo "gen-dev-cert: $out/parley.pem exists (use --force to replace it)"
  exit 0
fi

umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 -days 30 \
  -subj "/CN=localhost/O=Parley local development" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$out/parley.key" -out "$out/parley.crt" 2>/dev/null
cat "$out/parley.crt" "$out/parley.key" > "$out/parley.pem"
# Readable by the unprivileged haproxy user of the container image; a development key only.
chmod 644 "$out/parley.crt" "$out/parley.pem"
echo "gen-dev-cert: wrote $out/parley.pem (certificate + key) and $out/parley.crt (trust this one)"
