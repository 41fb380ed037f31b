#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the test suite and print its URL.
# Usage: eval "$(scripts/start-postgres.sh)"   -> exports JUDGELOOP_TEST_PG, and JUDGELOOP_PG_STARTED
# (the data folder) when this call started the server, so that the caller can stop it with
# scripts/stop-postgres.sh; a server that was already running is left alone.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ]; then echo "echo 'start-postgres: PostgreSQL is not installed' >&2"; exit 0; fi
port=${JUDGELOOP_PG_PORT:-55432}
dir=${JUDGELOOP_PG_DIR:-/tmp/judgeloop-pg-$port}
as=()
if [ "$(id -u)" -eq 0 ]; then as=(runuser -u postgres --); fi
if ! "${as[@]}" "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  rm -rf "$dir"; mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  "${as[@]}" "$bin/initdb" -D "$dir" -A trust -U postgres >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k /tmp -c fsync=off -c max_connections=200" start >/dev/null
  echo "export JUDGELOOP_PG_STARTED=$dir"
fi
"$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='judgeloop_test'" \
  | grep -q 1 || "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres judgeloop_test
echo "export JUDGELOOP_TEST_PG=postgresql+psycopg://postgres@127.0.0.1:$port/judgeloop_test"
