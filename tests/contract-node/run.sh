#!/usr/bin/env bash
# The Node.js contract test (see README.md): starts the already-built server on a free loopback port with a private
# rules cache, waits for health SERVING, runs `node --test`, always stops the server, exits with the runner's code.
# Usage: bash tests/contract-node/run.sh REPOSITORY_ROOT   (after `dotnet build` or `dotnet test` of the solution)
set -euo pipefail
root="$(cd "${1:?usage: run.sh REPOSITORY_ROOT}" && pwd)"
here="$root/tests/contract-node"
cd "$here"

if [ ! -d node_modules ]; then
  echo "contract-node: npm install"
  npm install --no-audit --no-fund
fi

name=contract-node
. "$root/tests/contract-server.sh" # server_dll, work, server_pid, stop_server on exit

# A free port: the kernel picks one, preferring 50071 when it is free.
port="$(node -e '
  const net = require("net");
  const probe = (p) => new Promise((ok) => { const s = net.createServer().once("error", () => ok(null))
    .listen(p, "127.0.0.1", () => { const got = s.address().port; s.close(() => ok(got)); }); });
  probe(50071).then((p) => p || probe(0)).then((p) => console.log(p));')"
address="127.0.0.1:$port"

log="$work/server.log"

echo "contract-node: starting $(basename "$server_dll") on $address"
CONTRIBUTI_RULES_CACHE="$work/rules-cache" Contributi__Address=127.0.0.1 Contributi__Port="$port" Contributi__HttpPort=off \
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
  dotnet "$server_dll" >"$log" 2>&1 </dev/null &
server_pid=$!

if ! node lib/wait-serving.js "$address" "${CONTRIBUTI_CONTRACT_WAIT_SECONDS:-60}" "$server_pid"; then
  echo "contract-node: the server did not become SERVING; its log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi

set +e
CONTRIBUTI_ADDRESS="$address" node --test --test-reporter=spec test/
status=$?
set -e

errors="$(grep -cE '^(fail|crit|warn):' "$log" || true)"
echo "contract-node: server log has ${errors} warning/error entries"
if [ "$errors" -gt 0 ]; then grep -E -A3 '^(fail|crit|warn):' "$log" | head -n 40; fi
exit "$status"
