#!/usr/bin/env bash
# A throwaway Postgres on 127.0.0.1 for tests, from Debian's packages. Trust auth, no fsync: never for real data.
#   bash tools/pg-throwaway.sh [start]      prints PGDATA=… and DATABASE_URL=… (eval them with `sed 's/^/export /'`)
#   PG_THROWAWAY_DURABLE=1 … start          keeps Postgres's durable defaults (fsync, synchronous commit): for benchmarks
#   bash tools/pg-throwaway.sh stop [DIR]   stops the server in DIR (default $PGDATA) and removes DIR
# start exits non-zero, printing nothing on stdout, unless the server answers on DATABASE_URL.
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# initdb refuses to run as root, so root runs the server as the postgres user.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The directory of a start in progress: a failed start stops what it began and removes it (see the EXIT trap).
starting=

fail() {
  echo "pg-throwaway: Postgres did not start: $1" >&2
  exit 1
}

start() {
  if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
    echo "pg-throwaway: initdb not found, installing postgresql with apt-get" >&2
    apt-get update -qq >&2 || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 || fail "apt-get install postgresql failed"
  fi
  local bin port dir output
  bin=$(pg_bin)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || fail "no initdb under /usr/lib/postgresql/*/bin"
  # Several throwaway servers may run at once (parallel test runs): take the first free port.
  port=${PGPORT:-55432}
  while port_in_use "$port"; do port=$((port + 1)); done
  dir=$(mktemp -d /tmp/pgdata.XXXXXX)
  starting=$dir
  trap '[ -z "$starting" ] || (stop "$starting" >/dev/null 2>&1 || true)' EXIT
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
  output=$(as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --no-locale 2>&1) || fail "initdb failed: $output"
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [ "${PG_THROWAWAY_DURABLE:-}" = 1 ]; then durability=""; fi
  as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir $durability" \
    start >/dev/null || fail "pg_ctl start failed on port $port; server log:
$(tail -n 20 "$dir/server.log" 2>/dev/null)"
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres ferry_test || fail "createdb ferry_test failed on port $port"
  starting=
  echo "PGDATA=$dir"
  echo "DATABASE_URL=postgres://postgres@127.0.0.1:$port/ferry_test"
}

stop() {
  local dir=${1:-${PGDATA:-}}
  case "$dir" in
    /tmp/pgdata.*) ;;
    *) echo "pg-throwaway: stop needs the PGDATA directory this script made (/tmp/pgdata.*), got '$dir'" >&2; exit 2 ;;
  esac
  if [ -f "$dir/postmaster.pid" ]; then as_pg "$(pg_bin)/pg_ctl" -D "$dir" -m fast -w stop >/dev/null; fi
  rm -rf "$dir"
}

case "${1:-start}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *) echo "usage: $0 [start] | stop [PGDATA]" >&2; exit 2 ;;
esac
