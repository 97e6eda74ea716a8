#!/usr/bin/env bash
# A cluster on this machine: N silo processes (each serving the HTTP API) and optionally M API-only nodes, all on
# 127.0.0.1, sharing one Azurite. Every process has its own ports, PID file and log under .data/cluster/.
#
#   deploy/cluster.sh N [M]        publish the engine, start Azurite, N silos and M API-only nodes; wait until each answers /readyz
#   deploy/cluster.sh stop         stop exactly the processes this script started (graceful, SIGKILL after 90 s), then Azurite
#   deploy/cluster.sh status       each process: pid, ports, alive or not
#   deploy/cluster.sh kill I       kill -9 silo I (a crash: the others take over its grains)
#   deploy/cluster.sh build        publish a new build into .data/cluster/builds/<stamp> and point 'current' at it
#   deploy/cluster.sh restart I    stop silo I gracefully and start it again on 'current' (a rolling upgrade, one silo at a time)
#
# Ports: silo i (1-based) gets API DEPLOY_API_PORT+i-1 (5080), silo DEPLOY_SILO_PORT+i-1 (11111) and gateway
# DEPLOY_GATEWAY_PORT+i-1 (30000); API-only node j gets API DEPLOY_API_PORT+N+j-1. Azurite as in azurite.sh
# (AZURITE_*_PORT). Keys: the same .data/ files as run.sh (dev-api-key, dev-approver-key, dev-agent-key, audit-key).
# Any other configuration passes through the environment (e.g. Orleans__Membership__ProbeTimeout=00:00:02).
# KEEP_AZURITE=1 leaves Azurite running on stop; CLUSTER_NO_BUILD=1 starts on the last build without publishing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
azurite="$repo/deploy/azurite.sh"
dir="$repo/.data/cluster"
api_base="${DEPLOY_API_PORT:-5080}"
silo_base="${DEPLOY_SILO_PORT:-11111}"
gateway_base="${DEPLOY_GATEWAY_PORT:-30000}"
dll="Deploy.Engine.Silo.dll"
source "$repo/deploy/dev-settings.sh"

log() { echo "cluster: $*" >&2; }

# Prints the PID recorded for process NAME (silo-1, api-1, ...) if it is alive and is the engine (guards against PID reuse).
running_pid() {
  local pid
  [[ -f "$dir/$1.pid" ]] || return 1
  pid="$(cat "$dir/$1.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$dll" || return 1
  echo "$pid"
}

build() {
  local stamp="${1:-$(date -u +%Y%m%dT%H%M%SZ)}"
  mkdir -p "$dir/builds"
  log "publishing the engine into .data/cluster/builds/$stamp (a few minutes on 2 cores)"
  dotnet publish Silo -c Release -o "$dir/builds/$stamp" -p:InformationalVersion="$stamp" -nologo -v q >&2
  ln -sfn "builds/$stamp" "$dir/current"
  # Keep the three newest builds, and any build a running process was started from (its working directory).
  local in_use="" n pid old
  for n in $(nodes); do
    pid="$(running_pid "$n")" && in_use+=" $(readlink -f "/proc/$pid/cwd")"
  done
  find "$dir/builds" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort | head -n -3 | while read -r old; do
    [[ " $in_use " == *" $dir/builds/$old "* ]] || rm -rf "${dir:?}/builds/$old"
  done
}

# start_node NAME ROLE API_PORT SILO_PORT GATEWAY_PORT
start_node() {
  local name="$1" role="$2" api="$3" silo="$4" gateway="$5" pid
  if pid="$(running_pid "$name")"; then
    log "$name already running (pid $pid)"
    return 0
  fi
  local bin
  bin="$(readlink -f "$dir/current")"
  echo "--- $(date -u +%Y-%m-%dT%H:%M:%SZ) start $name on $(basename "$bin")" >>"$dir/$name.log"
  # Its own session (a Ctrl-C in this terminal does not reach it); the inner shell records its PID and becomes the engine.
  env "${dev_settings[@]}" \
    Engine__Role="$role" \
    Storage__ConnectionString="$connection_string" \
    ASPNETCORE_URLS="http://127.0.0.1:$api" \
    Orleans__SiloPort="$silo" \
    Orleans__GatewayPort="$gateway" \
    setsid bash -c 'echo $$ >"$1"; shift; cd "$1"; shift; exec "$@"' node-start "$dir/$name.pid" "$bin" \
    dotnet "$bin/$dll" </dev/null >>"$dir/$name.log" 2>&1 &
  echo "$name $role $api $silo $gateway" >"$dir/$name.ports"
}

# wait_ready NAME API_PORT: until /readyz answers 200 (at most 180 s), or the process died.
wait_ready() {
  local name="$1" api="$2" i
  for ((i = 0; i < 360; i++)); do
    if [[ $i -gt 4 ]] && ! running_pid "$name" >/dev/null; then
      log "$name exited during start-up; last lines of .data/cluster/$name.log:"
      tail -n 20 "$dir/$name.log" >&2
      return 1
    fi
    if curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$api/readyz"; then
      log "$name ready: http://127.0.0.1:$api (pid $(running_pid "$name"))"
      return 0
    fi
    sleep 0.5
  done
  log "$name not ready after 180 s; see .data/cluster/$name.log"
  return 1
}

# stop_node NAME: SIGTERM (a graceful silo shutdown hands its grains over), SIGKILL after 90 s.
stop_node() {
  local name="$1" pid i
  if ! pid="$(running_pid "$name")"; then
    rm -f "$dir/$name.pid"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 900; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name (pid $pid) still running after 90 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/$name.pid"
}

nodes() { find "$dir" -maxdepth 1 -name '*.ports' -printf '%f\n' 2>/dev/null | sed 's/\.ports$//' | sort -t- -k1,1r -k2,2n; }

start() {
  local silos="$1" apis="${2:-0}" i name
  [[ "$silos" =~ ^[1-9][0-9]*$ && "$apis" =~ ^[0-9]+$ ]] || usage
  mkdir -p "$dir"
  [[ -e "$dir/current" && "${CLUSTER_NO_BUILD:-0}" == 1 ]] || build
  "$azurite" start
  connection_string="$("$azurite" connection-string)"
  for ((i = 1; i <= silos; i++)); do
    start_node "silo-$i" Silo $((api_base + i - 1)) $((silo_base + i - 1)) $((gateway_base + i - 1))
  done
  # The first silo creates the tables; the rest join once it answers (they would retry anyway).
  for ((i = 1; i <= silos; i++)); do
    wait_ready "silo-$i" $((api_base + i - 1))
  done
  for ((i = 1; i <= apis; i++)); do
    start_node "api-$i" Api $((api_base + silos + i - 1)) 0 0
  done
  for ((i = 1; i <= apis; i++)); do
    wait_ready "api-$i" $((api_base + silos + i - 1))
  done
  cat <<EOF

  A cluster of $silos silo process(es) and $apis API-only node(s), one Azurite. APIs:
$(for n in $(nodes); do read -r name role api _ <"$dir/$n.ports"; echo "    $name ($role): http://127.0.0.1:$api"; done)
  Dev key:  $(dev_key dev-api-key)   (.data/dev-api-key)
  Logs:     .data/cluster/<name>.log     Crash one:  deploy/cluster.sh kill 2     Stop:  deploy/cluster.sh stop

EOF
}

stop() {
  local n
  for n in $(nodes); do
    [[ "$n" == api-* ]] && stop_node "$n"
  done
  for n in $(nodes); do
    [[ "$n" == silo-* ]] && stop_node "$n"
  done
  rm -f "$dir"/*.ports
  if [[ "${KEEP_AZURITE:-0}" == 1 ]]; then
    log "leaving Azurite running (KEEP_AZURITE=1)"
  else
    "$azurite" stop
  fi
}

status() {
  local n pid
  for n in $(nodes); do
    read -r name role api silo gateway <"$dir/$n.ports"
    if pid="$(running_pid "$n")"; then
      echo "$name $role pid $pid api :$api silo :$silo gateway :$gateway running"
    else
      echo "$name $role api :$api not running"
    fi
  done
  "$azurite" status || true
}

restart() {
  local name="silo-$1" role api silo gateway
  [[ -f "$dir/$name.ports" ]] || { log "no $name in this cluster"; exit 1; }
  read -r _ role api silo gateway <"$dir/$name.ports"
  stop_node "$name"
  connection_string="$("$azurite" connection-string)"
  start_node "$name" "$role" "$api" "$silo" "$gateway"
  wait_ready "$name" "$api"
}

usage() {
  echo "usage: $0 N [API_NODES] | stop | status | kill I | build | restart I" >&2
  exit 2
}

case "${1:-}" in
  stop) stop ;;
  status) status ;;
  build) build ;;
  kill)
    [[ "${2:-}" =~ ^[0-9]+$ ]] || usage
    pid="$(running_pid "silo-$2")" || { log "silo-$2 is not running"; exit 1; }
    kill -KILL "$pid"
    log "killed silo-$2 (pid $pid) with SIGKILL"
    ;;
  restart)
    [[ "${2:-}" =~ ^[0-9]+$ ]] || usage
    restart "$2"
    ;;
  [1-9]*) start "$1" "${2:-0}" ;;
  *) usage ;;
esac
