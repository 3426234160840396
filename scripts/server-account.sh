#!/usr/bin/env bash
# As root, make sure the `postgres` system user exists: PostgreSQL refuses to run as root, so
# synthgen's local clusters (system or embedded server) run as that account. Not root: nothing
# to do. Exits 1 with a clear message when the account is missing and cannot be created.
set -euo pipefail
[ "$(id -u)" -ne 0 ] && exit 0
id postgres >/dev/null 2>&1 && exit 0
echo "creating the 'postgres' system user that runs local PostgreSQL clusters" >&2
if command -v useradd >/dev/null 2>&1 \
  && useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin postgres; then
  exit 0
fi
echo "error: could not create the 'postgres' system user; create it (adduser --system --group" \
  "postgres) and rerun" >&2
exit 1
