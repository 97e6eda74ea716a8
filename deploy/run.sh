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
key_file="$repo/.data/dev-api-key"
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

if [[ ! -s "$key_file" ]]; then
  mkdir -p "$(dirname "$key_file")"
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key_file")
fi
key="$(cat "$key_file")"
# A second principal, the change authority: approvals need someone other than the submitter.
approver_file="$repo/.data/dev-approver-key"
if [[ ! -s "$approver_file" ]]; then
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$approver_file")
fi
approver_key="$(cat "$approver_file")"
# The agents' key: bound to environments (the engine refuses to start with an unbound agent key).
agent_file="$repo/.data/dev-agent-key"
if [[ ! -s "$agent_file" ]]; then
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$agent_file")
fi
agent_key="$(cat "$agent_file")"
# The audit chain's HMAC key: configuration, never the storage account (the engine refuses Azure mode without one).
audit_file="$repo/.data/audit-key"
if [[ ! -s "$audit_file" ]]; then
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$audit_file")
fi
audit_key="$(cat "$audit_file")"
# The key that encrypts the Data Protection key ring (kept on Azurite beside the secrets it protects): configuration,
# never the storage account (the engine refuses Azure mode without one).
keyring_file="$repo/.data/keyring-key"
if [[ ! -s "$keyring_file" ]]; then
  (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$keyring_file")
fi
keyring_key="$(cat "$keyring_file")"

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

Engine__StorageMode=Azure \
  Storage__ConnectionString="$connection_string" \
  Audit__Key="$audit_key" \
  Secrets__KeyRingKey="$keyring_key" \
  ASPNETCORE_URLS="$api_url" \
  Orleans__SiloPort="${DEPLOY_SILO_PORT:-11111}" \
  Orleans__GatewayPort="${DEPLOY_GATEWAY_PORT:-30000}" \
  Auth__Keys__0__Name=dev \
  Auth__Keys__0__Key="$key" \
  Auth__Keys__0__Roles=pipeline,operator,viewer \
  Auth__Keys__1__Name=dev_approver \
  Auth__Keys__1__Key="$approver_key" \
  Auth__Keys__1__Roles=approver \
  Auth__Keys__2__Name=dev_agent \
  Auth__Keys__2__Key="$agent_key" \
  Auth__Keys__2__Roles=agent \
  Auth__Keys__2__Environments=local,staging \
  Governance__Approvers__dev_approver__0=team \
  Governance__Approvers__dev_approver__1=cab \
  Governance__Approvers__dev_approver__2=executive \
  Governance__Executives__0=dev_approver \
  setsid dotnet run --project Silo -c Release -- "$@" &
engine_pid=$!

rc=0
wait "$engine_pid" || rc=$?
log "engine exited ($rc)"
exit "$rc"
