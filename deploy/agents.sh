#!/usr/bin/env bash
# Runs host agents (Agent/, docs/agent.md) on this machine against a running engine (deploy/run.sh).
#
#   deploy/agents.sh N [ENVIRONMENT]   start agents 1..N (agent-<i>) joining ENVIRONMENT (local), each in
#                                      .data/agents/host-<i>/ with its agent.json, agent.log and agent.pid
#   deploy/agents.sh stop              stop the agents this script started and the services they supervise
#   deploy/agents.sh status            each agent, its pid, alive or not, and GET /version on its service ports
#
# Environment:
#   DEPLOY_API_URL       the engine (http://127.0.0.1:${DEPLOY_API_PORT:-5080}; API is read too)
#   DEPLOY_AGENT_KEY     the agent key (else .data/dev-agent-key, else .data/dev-api-key)
#   DEPLOY_API_KEY       the operator key that creates the environment (else .data/dev-api-key)
#   SAMPLE_BASE_PORT     service "sample" gets this + i (18100)
#   INVENTORY_BASE_PORT  service "inventory" gets this + i (18200)
#   AGENTS_DIR           where the agents live (.data/agents)
#   AGENT_NO_BUILD=1     start the agent already built in Agent/bin/Release/net10.0 (or AGENT_DLL)
#   AGENT_DLL            the agent to run (Agent/bin/Release/net10.0/Deploy.Engine.Agent.dll)
#   STOP_TIMEOUT         seconds stop waits for a process before SIGKILL (20)
# Everything binds 127.0.0.1 only: the agents listen on nothing, the services get a PORT on loopback.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
api="${DEPLOY_API_URL:-${API:-http://127.0.0.1:${DEPLOY_API_PORT:-5080}}}"
api="${api%/}"
agents_dir="${AGENTS_DIR:-$repo/.data/agents}"
agent_dll="${AGENT_DLL:-$repo/Agent/bin/Release/net10.0/Deploy.Engine.Agent.dll}"
sample_base="${SAMPLE_BASE_PORT:-18100}"
inventory_base="${INVENTORY_BASE_PORT:-18200}"
stop_timeout="${STOP_TIMEOUT:-20}"
[[ $stop_timeout =~ ^[0-9]+$ ]] || stop_timeout=20
[[ -d $agents_dir ]] && agents_dir="$(cd "$agents_dir" && pwd)"

log() { echo "agents: $*" >&2; }
die() { log "$*"; exit 1; }
usage() {
  sed -n '4,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# The pid in a pid file: a bare number, or the "pid" field of a JSON object.
read_pid() {
  local text
  text="$(tr -d ' \t\r\n' <"$1" 2>/dev/null)" || return 1
  if [[ $text =~ ^[0-9]+$ ]]; then
    echo "$text"
  elif [[ $text =~ \"[Pp]id\":([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]}"
  else
    return 1
  fi
}

# Is pid the agent started from this directory (not a process that reused the pid)?
is_our_agent() { # pid dir
  local cmd
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ $cmd == *Deploy.Engine.Agent.dll* && $cmd == *"$2/agent.json"* ]]
}

# Is pid a service this agent supervises: its working directory lies inside the agent's directory?
is_our_service() { # pid dir
  local cwd real
  cwd="$(readlink "/proc/$1/cwd" 2>/dev/null)" || return 1
  real="$(cd "$2" && pwd -P)"
  [[ $cwd == "$real"/* ]]
}

stop_pid() { # pid what
  local i
  kill -TERM "$1" 2>/dev/null || return 0
  for ((i = 0; i < stop_timeout * 10; i++)); do
    alive "$1" || { log "stopped $2 (pid $1)"; return 0; }
    sleep 0.1
  done
  log "$2 (pid $1) still running after ${stop_timeout}s; sending SIGKILL"
  kill -KILL "$1" 2>/dev/null || true
}

host_dirs() {
  local d
  [[ -d $agents_dir ]] || return 0
  for d in "$agents_dir"/host-*; do
    [[ -d $d ]] && echo "$d"
  done | sort -V
}

stop_all() {
  local dir pid f n=0
  while read -r dir; do
    [[ -n $dir ]] || continue
    # The agent first, so that it does not restart what is stopped next.
    if [[ -f $dir/agent.pid ]] && pid="$(read_pid "$dir/agent.pid")"; then
      if alive "$pid" && is_our_agent "$pid" "$dir"; then
        stop_pid "$pid" "agent $(basename "$dir")"
        n=$((n + 1))
      elif alive "$pid"; then
        log "$(basename "$dir"): pid $pid is not this agent any more; left alone"
      fi
      rm -f "$dir/agent.pid"
    fi
    if [[ -d $dir/run ]]; then
      while IFS= read -r -d '' f; do
        pid="$(read_pid "$f")" || continue
        if alive "$pid" && is_our_service "$pid" "$dir"; then
          stop_pid "$pid" "service ${f#"$dir"/} of $(basename "$dir")"
          n=$((n + 1))
        elif alive "$pid"; then
          log "${f#"$agents_dir"/}: pid $pid does not run from $dir; left alone"
        fi
      done < <(find "$dir/run" -name '*.pid' -type f -print0)
    fi
  done < <(host_dirs)
  log "stopped $n process(es)"
}

status_all() {
  local dir pid state host port svc any=0
  while read -r dir; do
    [[ -n $dir ]] || continue
    any=1
    host="$(sed -n 's/^ *"HostId": *"\([^"]*\)".*/\1/p' "$dir/agent.json" 2>/dev/null | head -n1)"
    pid="-"
    state="stopped"
    if [[ -f $dir/agent.pid ]] && pid="$(read_pid "$dir/agent.pid")"; then
      if alive "$pid" && is_our_agent "$pid" "$dir"; then state="alive"; else state="dead"; fi
    else
      pid="-"
    fi
    echo "$(basename "$dir")  ${host:-?}  pid $pid  $state"
    while read -r svc port; do
      [[ -n $port ]] || continue
      echo "  $svc :$port  $(curl -s --max-time 2 "http://127.0.0.1:$port/version" || echo '(no answer)')"
    done < <(sed -n 's/^ *"\([^"]*\)": *{ *"Port": *\([0-9]*\).*/\1 \2/p' "$dir/agent.json" 2>/dev/null)
  done < <(host_dirs)
  [[ $any == 1 ]] || echo "no agents in $agents_dir"
}

json_str() { # a JSON string literal
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

start_agents() {
  local n=$1 environment=$2 key_file agent_key operator_key code i dir pid region failed=0
  [[ $n =~ ^[1-9][0-9]*$ ]] && ((n <= 100)) || die "N must be a number from 1 to 100, not '$n'"
  [[ $environment =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ ]] || die "environment '$environment' must be letters, digits, '.', '_' or '-'"
  for v in "$sample_base" "$inventory_base"; do
    [[ $v =~ ^[0-9]+$ ]] && ((v >= 1 && v + n <= 65535)) || die "base port '$v' is not a port number"
  done
  [[ -f $repo/Agent/Agent.csproj ]] || die "Agent/Agent.csproj does not exist yet: there is no agent to run"
  command -v curl >/dev/null || die "curl is needed"

  if [[ -n ${DEPLOY_AGENT_KEY:-} ]]; then
    agent_key=$DEPLOY_AGENT_KEY
  else
    key_file="$repo/.data/dev-agent-key"
    [[ -s $key_file ]] || die "no agent key: set DEPLOY_AGENT_KEY or start the engine with deploy/run.sh (it writes .data/dev-agent-key, bound to local and staging)"
    agent_key="$(tr -d ' \r\n' <"$key_file")"
  fi
  operator_key="${DEPLOY_API_KEY:-$(tr -d ' \r\n' <"$repo/.data/dev-api-key" 2>/dev/null || true)}"
  [[ -n $operator_key ]] || die "no operator key: set DEPLOY_API_KEY or start the engine with deploy/run.sh (it writes .data/dev-api-key)"

  # The environment, unless it is there already.
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 15 -X PUT "$api/v1/environments/$environment" \
    -H "Authorization: Bearer $operator_key" -H 'Content-Type: application/json' -d '{"concurrencyLimit":2}')" || true
  case $code in
    200|201|409) log "environment '$environment' ready ($code)" ;;
    000|"") die "the engine does not answer at $api (start it with deploy/run.sh)" ;;
    *) die "PUT $api/v1/environments/$environment answered $code" ;;
  esac

  if [[ ${AGENT_NO_BUILD:-0} != 1 ]]; then
    log "building the agent"
    (cd "$repo" && dotnet build Agent/Agent.csproj -c Release -nologo -v quiet) >&2 || die "the agent does not build"
  fi
  [[ -f $agent_dll ]] || die "$agent_dll not found (build Agent/Agent.csproj -c Release)"

  mkdir -p "$agents_dir"
  agents_dir="$(cd "$agents_dir" && pwd)"
  for ((i = 1; i <= n; i++)); do
    dir="$agents_dir/host-$i"
    mkdir -p "$dir"
    if [[ -f $dir/agent.pid ]] && pid="$(read_pid "$dir/agent.pid")" && alive "$pid" && is_our_agent "$pid" "$dir"; then
      log "agent-$i is already running (pid $pid)"
      continue
    fi
    if ((i % 2 == 1)); then region=eu-west; else region=us-east; fi
    (
      umask 077
      cat >"$dir/agent.json" <<JSON
{
  "Engine": $(json_str "$api"),
  "Key": $(json_str "$agent_key"),
  "HostId": "agent-$i",
  "Environment": $(json_str "$environment"),
  "Labels": { "region": "$region" },
  "DataDirectory": $(json_str "$dir"),
  "Services": {
    "sample": { "Port": $((sample_base + i)) },
    "inventory": { "Port": $((inventory_base + i)) }
  },
  "MetricsSeconds": 2,
  "PollSeconds": 20
}
JSON
    )
    # Its own session, so a Ctrl-C where this script ran does not reach it; setsid execs (no fork) because
    # the subshell is not a process group leader, so $! is the agent's pid.
    (cd "$dir" && exec setsid dotnet "$agent_dll" --config "$dir/agent.json" >>"$dir/agent.log" 2>&1 </dev/null) &
    pid=$!
    echo "$pid" >"$dir/agent.pid"
    log "started agent-$i ($region) pid $pid: sample :$((sample_base + i)), inventory :$((inventory_base + i)), log $dir/agent.log"
  done

  sleep 2
  for ((i = 1; i <= n; i++)); do
    dir="$agents_dir/host-$i"
    pid="$(read_pid "$dir/agent.pid" 2>/dev/null)" || continue
    if ! alive "$pid"; then
      log "agent-$i (pid $pid) exited at once; the end of $dir/agent.log:"
      tail -n 15 "$dir/agent.log" >&2 || true
      rm -f "$dir/agent.pid"
      failed=1
    fi
  done
  echo "agents: $n on $api, environment '$environment'; 'deploy/agents.sh status' to see them, 'deploy/agents.sh stop' to stop them"
  return "$failed"
}

[[ $# -ge 1 ]] || usage
case $1 in
  -h|--help) usage ;;
  stop) [[ $# -eq 1 ]] || usage; stop_all ;;
  status) [[ $# -eq 1 ]] || usage; status_all ;;
  *) [[ $# -le 2 ]] || usage; start_agents "$1" "${2:-local}" ;;
esac
