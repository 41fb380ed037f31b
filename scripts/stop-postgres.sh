#!/usr/bin/env bash
# Stop the throwaway PostgreSQL server that scripts/start-postgres.sh started (its data folder is
# $JUDGELOOP_PG_STARTED, or the first argument) and remove its data. Does nothing when none was started.
set -euo pipefail
dir=${1:-${JUDGELOOP_PG_STARTED:-}}
if [ -z "$dir" ] || [ ! -d "$dir" ]; then exit 0; fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
"${as[@]}" "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
rm -rf "$dir"
