#!/usr/bin/env bash
# System packages the web app's end-to-end tests need (services/web/test): Debian's Chromium
# (driven by playwright-core, which downloads no browser of its own) and HAProxy (the load
# balancer in front of the test cluster). The emoji font only makes screenshots show emoji.
# Meant for .ci/run, next to the other apt installs; safe to run again (installs what is missing).
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
if [ "${#need[@]}" -gt 0 ]; then
  echo "installing ${need[*]} for the browser tests"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi
