# Sourced by the contract tests' run.sh (tests/contract-node, tests/contract-python): what they share to run the server
# already built. Sets server_dll (exits 2 when there is none), work (a temp folder) and server_pid (set by the caller
# when it starts the server), and stops the server and removes work on exit.
# Usage: root=REPOSITORY_ROOT; name=contract-xxx; . "$root/tests/contract-server.sh"

server_dll=""
for config in Debug Release; do
  candidate="$root/src/ContributiAutomatici.Server/bin/$config/net10.0/ContributiAutomatici.Server.dll"
  if [ -f "$candidate" ]; then server_dll="$candidate"; break; fi
done
if [ -z "$server_dll" ]; then
  echo "$name: no built server under src/ContributiAutomatici.Server/bin: build the solution first" >&2
  exit 2
fi

work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_server EXIT
trap 'exit 130' INT TERM
