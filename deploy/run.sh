#!/usr/bin/env bash
# The run command: Azurite plus the engine (a silo hosting the HTTP API), on 127.0.0.1, in the
# foreground. Ctrl-C (or SIGTERM) stops the engine first, then Azurite: a silo whose storage is
# gone first hangs in shutdown on the membership table.
#
#   deploy/run.sh [engine arguments...]
#
# Environment: DEPLOY_API_PORT (5080), DEPLOY_SILO_PORT (11111), DEPLOY_GATEWAY_PORT (30000),
# AZURITE_BLOB_PORT / AZURITE_QUEUE_PORT / AZURITE_TABLE_PORT and AZURITE_DATA (see azurite.sh),
# KEEP_AZURITE=1 to leave Azurite running on exit. The dev keys are made once and kept in .data/:
# dev-api-key (pipeline, operator, viewer), dev-approver-key (the change authority) and dev-agent-key
# (the agents' key, bound to the environments local and staging: every agent key must be bound), and audit-key
# (the audit chain's HMAC key, which Azure mode requires).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
azurite="$repo/deploy/azurite.sh"
api_url="http://127.0.0.1:${DEPLOY_API_PORT:-5080}"
engine_pid=""

log() { echo "run: $*" >&2; }

if [[ ! -f "$repo/Silo/Silo.csproj" ]]; then
  log "Silo/Silo.csproj not found: nothing to run"
  exit 1
fi

# The engine runs in its own session, so its process group id is its PID and holds both
# `dotnet run` and the app it starts; stopping waits until the whole group is gone.
stop_engine() {
  local i
  [[ -n "$engine_pid" ]] || return 0
  if kill -0 -- "-$engine_pid" 2>/dev/null; then
    log "stopping the engine (pid $engine_pid)"
    kill -TERM -- "-$engine_pid" 2>/dev/null || true
    for ((i = 0; i < 600; i++)); do
      kill -0 -- "-$engine_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 -- "-$engine_pid" 2>/dev/null; then
      log "engine still running after 60 s; sending SIGKILL"
      kill -KILL -- "-$engine_pid" 2>/dev/null || true
    fi
  fi
  wait "$engine_pid" 2>/dev/null || true
  engine_pid=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  stop_engine
  if [[ "${KEEP_AZURITE:-0}" == 1 ]]; then
    log "leaving Azurite running (KEEP_AZURITE=1); stop it with deploy/azurite.sh stop"
  else
    "$azurite" stop || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

"$azurite" start
connection_string="$("$azurite" connection-string)"

# The dev keys (.data/dev-api-key, dev-approver-key, dev-agent-key, audit-key, keyring-key) and the settings that use them.
source "$repo/deploy/dev-settings.sh"
key="$(dev_key dev-api-key)"
approver_key="$(dev_key dev-approver-key)"
agent_key="$(dev_key dev-agent-key)"

cat <<EOF

  Deploy.Engine (builds first, then answers once it logs "Application started")
  API:      $api_url
  OpenAPI:  $api_url/openapi/v1.json
  Dev key:  $key   (roles pipeline, operator, viewer; kept in .data/dev-api-key)
  Agents:   $agent_key   (dev_agent: role agent, environments local, staging; .data/dev-agent-key)
  Approver: $approver_key   (dev_approver: role approver, groups team, cab, executive; .data/dev-approver-key)
  Try:      curl -H "Authorization: Bearer $key" $api_url/v1/environments
  Stop:     Ctrl-C (engine first, then Azurite)

EOF

env "${dev_settings[@]}" \
  Storage__ConnectionString="$connection_string" \
  ASPNETCORE_URLS="$api_url" \
  Orleans__SiloPort="${DEPLOY_SILO_PORT:-11111}" \
  Orleans__GatewayPort="${DEPLOY_GATEWAY_PORT:-30000}" \
  setsid dotnet run --project Silo -c Release -- "$@" &
engine_pid=$!

rc=0
wait "$engine_pid" || rc=$?
log "engine exited ($rc)"
exit "$rc"
