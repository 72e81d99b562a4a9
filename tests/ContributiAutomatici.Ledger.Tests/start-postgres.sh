#!/usr/bin/env bash
# A throwaway PostgreSQL for the ledger tests: Debian's postgresql package (installed when missing, as root), a cluster
# initialised in a temporary folder as the postgres user, listening on 127.0.0.1 only, trust authentication for local
# connections. Prints the connection string for CONTRIBUTI_LEDGER_POSTGRES on its last line; the server runs until
# `start-postgres.sh --stop DIR` (DIR: the first word of the line before it) or the machine's end.
set -euo pipefail
run() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "${1:-}" = --stop ]; then
  run "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/pg_ctl" -D "$2" -m fast stop >/dev/null
  exit 0
fi
port="${1:-54329}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then echo "postgresql is not installed and this is not root" >&2; exit 1; fi
  echo "installing postgresql (apt-get) for the ledger tests" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
dir="$(mktemp -d /tmp/contributi-ledger-pg.XXXXXX)"
if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
run "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >/dev/null
run "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200 -c fsync=on" start >/dev/null
echo "$dir/data postgres $port"
echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Pooling=true;Maximum Pool Size=100"
