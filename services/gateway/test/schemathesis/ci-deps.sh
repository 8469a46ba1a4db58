#!/usr/bin/env bash
# schemathesis (PyPI) for the server API check (schemathesis.test.ts beside this file): a Python
# venv in the gitignored .cache/tools/schemathesis-<version>/ at the repository root, where the
# test looks for it, with the versions pinned in requirements.txt. Installs Debian's python3-venv
# when Python cannot make a venv. Safe to run again (does only what is missing).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../../.." && pwd)
version=$(sed -n 's/^schemathesis==//p' "$here/requirements.txt")
venv="$root/.cache/tools/schemathesis-$version"

if [ ! -f "$venv/.installed" ]; then
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "installing python3-venv for schemathesis"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  echo "installing schemathesis $version into $venv"
  # A venv records its own path: it is made where it stays, and marked complete only at the end.
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$here/requirements.txt" </dev/null
  touch "$venv/.installed"
fi
echo "schemathesis: $("$venv/bin/schemathesis" --version </dev/null)"
