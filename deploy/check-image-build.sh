#!/usr/bin/env bash
# Where no container engine runs (as on our machines), CI replays the Dockerfile's build stage without one: its COPY
# instructions into a temp folder (what .dockerignore leaves out: bin/, obj/), its RUN commands exactly as written (the
# same restore and publish arguments) with /src and /app under that folder; then the published server is started as the
# image starts it (its ENTRYPOINT, its ENV with free loopback ports) and the image's HEALTHCHECK command is run against
# it: exit 0 (SERVING). The published rules must load precompiled (the image's first start loads no Roslyn).
# Usage: bash deploy/check-image-build.sh REPOSITORY_ROOT   Last line: 'image build: passed' or 'image build: failed (...)'.
set -euo pipefail
root="$(cd "${1:?usage: check-image-build.sh REPOSITORY_ROOT}" && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "image build: failed ($*)"; exit 1; }

# The build stage: from its FROM to the next FROM, continuation lines joined, comments dropped.
mapfile -t stage < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$root/Dockerfile" | grep -vE '^\s*(#|$)' |
  awk '/^FROM /{n++} n==1')
[ "${#stage[@]}" -gt 0 ] || fail "no build stage in the Dockerfile"
cwd="$work"
for line in "${stage[@]}"; do
  op="${line%% *}"; args="${line#* }"
  case "$op" in
    FROM) ;;
    WORKDIR) cwd="$work$args"; mkdir -p "$cwd" ;;
    COPY)
      read -r -a parts <<<"$args"
      dest="${parts[-1]}"; unset 'parts[-1]'
      case "$dest" in /*) target="$work$dest" ;; *) target="$cwd/$dest" ;; esac
      mkdir -p "$target"
      for src in "${parts[@]}"; do
        if [ -d "$root/$src" ]; then
          (cd "$root/$src" && find . -type d \( -name bin -o -name obj -o -name TestResults \) -prune -o -type f -print0 |
            while IFS= read -r -d '' f; do mkdir -p "$target/$(dirname "$f")"; cp "$f" "$target/$f"; done)
        else
          cp "$root/$src" "$target/"
        fi
      done
      ;;
    RUN)
      cmd="${args//\/app/$work/app}"
      echo "image build: RUN $args"
      (cd "$cwd" && DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 bash -c "$cmd") >"$work/run.log" 2>&1 || { tail -n 30 "$work/run.log"; fail "RUN $args"; }
      ;;
    *) fail "an instruction this check does not replay: $op" ;;
  esac
done
[ -f "$work/app/ContributiAutomatici.Server.dll" ] || fail "the publish left no /app/ContributiAutomatici.Server.dll"
ls "$work/app/rules-cache/"*.dll >/dev/null 2>&1 || fail "the publish shipped no precompiled rules in /app/rules-cache"

# The runtime stage's ENV, as the container gets it (the address and ports made loopback and free).
runtime_env=()
while read -r kv; do runtime_env+=("$kv"); done < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$root/Dockerfile" | awk '/^FROM /{n++} n==2' |
  grep -E '^ENV ' | sed 's/^ENV //' | grep -oE '[A-Za-z_][A-Za-z0-9_]*=("[^"]*"|[^ ]*)' | tr -d '"')
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
port="$(free_port)"; http_port="$(free_port)"
overrides=(Contributi__Address=127.0.0.1 "Contributi__Port=$port" "Contributi__HttpPort=$http_port" "Contributi__Rules=$work/app/rules"
  "CONTRIBUTI_RULES_CACHE=$work/home/.cache/contributi-automatici/rules-cache")
entrypoint="$(sed -n 's/^ENTRYPOINT //p' "$root/Dockerfile" | python3 -c 'import json,sys; print(" ".join(json.loads(sys.stdin.read())))')"
health="$(grep -E '^\s+CMD \[' "$root/Dockerfile" | sed 's/^\s*CMD //' | python3 -c 'import json,sys; print(" ".join(json.loads(sys.stdin.read())))')"
[ "$entrypoint" = "dotnet /app/ContributiAutomatici.Server.dll" ] || fail "unexpected ENTRYPOINT: $entrypoint"
(cd "$work/app" && exec env "${runtime_env[@]}" "${overrides[@]}" ${entrypoint//\/app/$work/app} >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 300); do grep -q "serving contributi" "$work/server.log" 2>/dev/null && break; kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
grep -q "serving contributi" "$work/server.log" || { tail -n 20 "$work/server.log"; fail "the published server did not start"; }
grep -q "(shipped precompiled)" "$work/server.log" || { grep "rule set" "$work/server.log"; fail "the published rules were not loaded precompiled"; }
echo "image build: HEALTHCHECK $health"
(cd "$work/app" && env "${runtime_env[@]}" "${overrides[@]}" ${health//\/app/$work/app}) || fail "the HEALTHCHECK command did not report SERVING"
echo "image build: passed"
