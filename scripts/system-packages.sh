#!/usr/bin/env bash
# Install the Debian packages `make test` needs when they are missing (apt-get, as root).
# Usage: scripts/system-packages.sh PACKAGE...
set -euo pipefail
missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
fail() {
  echo "error: system packages missing: ${missing[*]}; $1" >&2
  echo "       install them (Debian/Ubuntu: apt-get install -y ${missing[*]}) and rerun" >&2
  exit 1
}
command -v apt-get >/dev/null || fail "apt-get is not available on this machine"
[ "$(id -u)" -eq 0 ] || fail "not root, so they cannot be installed here"
echo "installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q "${missing[@]}" >/dev/null; then
  # a fresh machine has no package lists yet
  apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null \
    || fail "apt-get install failed"
fi
