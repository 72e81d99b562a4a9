#!/usr/bin/env bash
# The Python contract test (see README.md): generates the stubs from protos/ with Debian's protoc and grpc_python_plugin
# into a temp folder, starts the already-built server on a free loopback port with a private rules cache, waits for
# health SERVING, runs test_contract.py with Debian's python3 (python3-grpcio), always stops the server, exits with the
# test's code. Its last line is 'contract-python: N passed, N failed'.
# Usage: bash tests/contract-python/run.sh REPOSITORY_ROOT   (after `dotnet build` or `dotnet test` of the solution)
set -euo pipefail
root="$(cd "${1:?usage: run.sh REPOSITORY_ROOT}" && pwd)"
here="$root/tests/contract-python"
python=/usr/bin/python3 # Debian's, where python3-grpcio and python3-protobuf are installed (not a pyenv or venv one)

for tool in protoc grpc_python_plugin "$python"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "contract-python: $tool missing (apt-get install python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc)" >&2
    exit 2
  fi
done

name=contract-python
. "$root/tests/contract-server.sh" # server_dll, work, server_pid, stop_server on exit

# Everything from protos/ alone: the contract, the google.rpc and google.type protos it uses, the health protocol.
# The well-known google/protobuf ones come with protoc (/usr/include). The health proto is generated from its own folder
# so its module is health_pb2 (under grpc/ it would be shadowed by the grpc package itself).
stubs="$work/stubs"
mkdir -p "$stubs"
(cd "$root/protos" && protoc -I . -I /usr/include --python_out="$stubs" --grpc_out="$stubs" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" \
  $(find contributi google/rpc google/type google/api -name '*.proto' | sort))
protoc -I "$root/protos/grpc/health/v1" --python_out="$stubs" --grpc_out="$stubs" \
  --plugin=protoc-gen-grpc="$(command -v grpc_python_plugin)" health.proto

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
address="127.0.0.1:$port"
echo "contract-python: starting $(basename "$server_dll") on $address"
CONTRIBUTI_RULES_CACHE="$work/rules-cache" Contributi__Address=127.0.0.1 Contributi__Port="$port" Contributi__HttpPort=off \
  DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
  dotnet "$server_dll" >"$work/server.log" 2>&1 </dev/null &
server_pid=$!

# SERVING within the wait (compiling the rules on a cold cache takes seconds), or the server's log.
if ! CONTRIBUTI_STUBS="$stubs" "$python" - "$address" "${CONTRIBUTI_CONTRACT_WAIT_SECONDS:-90}" "$server_pid" <<'PY'
import os, sys, time
sys.path.insert(0, os.environ["CONTRIBUTI_STUBS"])
import grpc, health_pb2, health_pb2_grpc
address, seconds, pid = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
until = time.time() + seconds
while time.time() < until:
    try:
        os.kill(pid, 0)
    except OSError:
        sys.exit("the server exited")
    try:
        with grpc.insecure_channel(address) as channel:
            if health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2).status == health_pb2.HealthCheckResponse.SERVING:
                sys.exit(0)
    except grpc.RpcError:
        pass
    time.sleep(0.3)
sys.exit("not SERVING in time")
PY
then
  echo "contract-python: the server did not become SERVING; its log:" >&2
  tail -n 40 "$work/server.log" >&2
  exit 1
fi

set +e
CONTRIBUTI_ADDRESS="$address" CONTRIBUTI_STUBS="$stubs" CONTRIBUTI_REPO="$root" "$python" "$here/test_contract.py"
status=$?
set -e
exit "$status"
