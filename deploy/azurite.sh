#!/usr/bin/env bash
# Azurite (the Azure Storage emulator, pinned in deploy/azurite/package.json) for the run command.
#
#   deploy/azurite.sh start              start on 127.0.0.1 and wait until blob, queue and table accept connections
#   deploy/azurite.sh stop               stop the Azurite this script started (by the PID it recorded)
#   deploy/azurite.sh status             say whether it runs; exit 0 if it does, 3 if not
#   deploy/azurite.sh connection-string  print the connection string for the configured ports
#
# Environment: AZURITE_BLOB_PORT / AZURITE_QUEUE_PORT / AZURITE_TABLE_PORT (10100 / 10101 / 10102),
# AZURITE_DATA (<repo>/.data/azurite; persistent between runs). Log: <repo>/.data/azurite.log,
# PID: <repo>/.data/azurite.pid.
#
# Sourcing the file defines the azurite_* functions without running anything.

AZURITE_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AZURITE_BLOB_PORT="${AZURITE_BLOB_PORT:-10100}"
AZURITE_QUEUE_PORT="${AZURITE_QUEUE_PORT:-10101}"
AZURITE_TABLE_PORT="${AZURITE_TABLE_PORT:-10102}"
AZURITE_DATA="${AZURITE_DATA:-$AZURITE_REPO_ROOT/.data/azurite}"
AZURITE_PKG_DIR="$AZURITE_REPO_ROOT/deploy/azurite"
AZURITE_BIN="$AZURITE_PKG_DIR/node_modules/.bin/azurite"
AZURITE_LOG="$AZURITE_REPO_ROOT/.data/azurite.log"
AZURITE_PID_FILE="$AZURITE_REPO_ROOT/.data/azurite.pid"
# The well-known development account key that every Azurite accepts; it is not a secret.
AZURITE_ACCOUNT_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

azurite_log() { echo "azurite: $*" >&2; }

azurite_connection_string() {
  local base="http://127.0.0.1"
  printf 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;BlobEndpoint=%s:%s/devstoreaccount1;QueueEndpoint=%s:%s/devstoreaccount1;TableEndpoint=%s:%s/devstoreaccount1;\n' \
    "$AZURITE_ACCOUNT_KEY" "$base" "$AZURITE_BLOB_PORT" "$base" "$AZURITE_QUEUE_PORT" "$base" "$AZURITE_TABLE_PORT"
}

# True when something accepts TCP connections on 127.0.0.1:$1.
azurite_port_open() {
  timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# Prints the recorded PID if that process is alive and is Azurite (guards against PID reuse).
azurite_running_pid() {
  local pid
  [[ -f "$AZURITE_PID_FILE" ]] || return 1
  pid="$(cat "$AZURITE_PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q azurite || return 1
  echo "$pid"
}

azurite_ensure_installed() {
  if [[ ! -x "$AZURITE_BIN" ]]; then
    azurite_log "installing the pinned Azurite (npm ci in deploy/azurite)"
    (cd "$AZURITE_PKG_DIR" && npm ci --no-audit --no-fund) >&2
  fi
}

azurite_start() {
  local pid port waited
  if pid="$(azurite_running_pid)"; then
    azurite_log "already running (pid $pid)"
    return 0
  fi
  rm -f "$AZURITE_PID_FILE"
  for port in "$AZURITE_BLOB_PORT" "$AZURITE_QUEUE_PORT" "$AZURITE_TABLE_PORT"; do
    if azurite_port_open "$port"; then
      azurite_log "port 127.0.0.1:$port is already taken by another process; free it or set AZURITE_BLOB_PORT / AZURITE_QUEUE_PORT / AZURITE_TABLE_PORT"
      return 1
    fi
  done
  azurite_ensure_installed
  mkdir -p "$AZURITE_DATA" "$(dirname "$AZURITE_LOG")"
  echo "--- azurite.sh start $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$AZURITE_LOG"
  # setsid: its own session, so a Ctrl-C meant for the engine does not stop Azurite before the
  # engine has shut down (silo shutdown hangs on the membership table without storage).
  # The inner shell records its own PID and then becomes Azurite, so the PID file names Azurite.
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' azurite-start "$AZURITE_PID_FILE" \
    "$AZURITE_BIN" \
    --blobHost 127.0.0.1 --blobPort "$AZURITE_BLOB_PORT" \
    --queueHost 127.0.0.1 --queuePort "$AZURITE_QUEUE_PORT" \
    --tableHost 127.0.0.1 --tablePort "$AZURITE_TABLE_PORT" \
    --location "$AZURITE_DATA" \
    --disableTelemetry --skipApiVersionCheck --loose --silent \
    </dev/null >>"$AZURITE_LOG" 2>&1 &
  # Deciseconds, bounded to 30 s.
  for ((waited = 0; waited < 300; waited++)); do
    if [[ -s "$AZURITE_PID_FILE" ]] && ! azurite_running_pid >/dev/null; then
      azurite_log "exited during start-up; last lines of $AZURITE_LOG:"
      tail -n 10 "$AZURITE_LOG" >&2
      rm -f "$AZURITE_PID_FILE"
      return 1
    fi
    if azurite_port_open "$AZURITE_BLOB_PORT" && azurite_port_open "$AZURITE_QUEUE_PORT" &&
      azurite_port_open "$AZURITE_TABLE_PORT"; then
      azurite_log "listening on 127.0.0.1 blob:$AZURITE_BLOB_PORT queue:$AZURITE_QUEUE_PORT table:$AZURITE_TABLE_PORT (pid $(cat "$AZURITE_PID_FILE"), data $AZURITE_DATA)"
      return 0
    fi
    sleep 0.1
  done
  azurite_log "not listening after 30 s; last lines of $AZURITE_LOG:"
  tail -n 10 "$AZURITE_LOG" >&2
  azurite_stop
  return 1
}

azurite_stop() {
  local pid i
  if ! pid="$(azurite_running_pid)"; then
    rm -f "$AZURITE_PID_FILE"
    azurite_log "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    azurite_log "pid $pid ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -f "$AZURITE_PID_FILE"
  azurite_log "stopped (pid $pid)"
}

azurite_status() {
  local pid
  if pid="$(azurite_running_pid)"; then
    echo "azurite running (pid $pid) blob:$AZURITE_BLOB_PORT queue:$AZURITE_QUEUE_PORT table:$AZURITE_TABLE_PORT data:$AZURITE_DATA"
    return 0
  fi
  echo "azurite not running"
  return 3
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  case "${1:-}" in
    start) azurite_start ;;
    stop) azurite_stop ;;
    status) azurite_status ;;
    connection-string) azurite_connection_string ;;
    *)
      echo "usage: $0 start|stop|status|connection-string" >&2
      exit 2
      ;;
  esac
fi
