#!/usr/bin/env bash
# The README walkthrough as one script, against an engine started with deploy/run.sh:
# a simulated fleet of 50 hosts, a release rolled out host by host, then a bad version that rolls
# back on its own, then a canary promoted by an operator, a canary a rollback trigger stops, and a
# canary whose analysis (the statistical judge) finds three times the error rate in 3.2.0 and rolls it back. Needs curl and node (for reading JSON).
#
#   deploy/walkthrough.sh            (API at http://127.0.0.1:${DEPLOY_API_PORT:-5080}, key from .data/dev-api-key)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
API="${API:-http://127.0.0.1:${DEPLOY_API_PORT:-5080}}"
KEY="${KEY:-$(cat "$repo/.data/dev-api-key")}"
ENV_NAME="${ENV_NAME:-walkthrough-$(date +%s)}"

call() { # method path [json]
  curl -sS --fail-with-body -X "$1" "$API$2" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v[k];console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"; }
digest() { printf 'sha256:%s' "$(printf '%s' "$1" | sha256sum | cut -d' ' -f1)"; }

wait_rollout() {
  local id=$1 status
  while :; do
    body=$(call GET "/v1/rollouts/$id")
    status=$(field status <<<"$body")
    echo "  $status  batch $(field currentBatch <<<"$body")/$(field batches <<<"$body" | node -pe 'JSON.parse(require("fs").readFileSync(0)).length')  hosts $(field hosts <<<"$body")"
    case $status in Succeeded|RolledBack|Failed|Aborted) break ;; esac
    sleep 1
  done
  echo "  why: $(field statusReason <<<"$body")"
}

echo "1. environment '$ENV_NAME' with 50 simulated hosts on shop 1.0.0 (version 2.1.0 fails on about half of them)"
call PUT "/v1/environments/$ENV_NAME" '{"concurrencyLimit":2,"description":"walkthrough"}' >/dev/null
call POST "/v1/environments/$ENV_NAME/simulated-hosts" "{\"count\":50,\"labels\":{\"region\":\"eu-west\"},\"stepLatencyMs\":150,
  \"currentArtifact\":\"$(digest shop-1.0.0)\",\"currentVersion\":\"1.0.0\",\"failureProbability\":{\"2.1.0\":0.5},
  \"metrics\":{\"2.0.0\":{\"errorRatePercent\":0.3,\"p99LatencyMs\":120},\"3.0.0\":{\"errorRatePercent\":0.4,\"p99LatencyMs\":140},\"3.1.0\":{\"errorRatePercent\":9.5,\"p99LatencyMs\":130},\"3.2.0\":{\"errorRatePercent\":1.2,\"p99LatencyMs\":140}}}" >/dev/null

echo "2. preview: what would maxUnavailable 10% do here?"
call POST /v1/rollouts/preview "{\"environment\":\"$ENV_NAME\",\"strategy\":{\"maxSurge\":\"0\",\"maxUnavailable\":\"10%\"}}" | field explanation

echo "3. release shop 2.0.0 and roll it out"
release=$(call POST /v1/releases "{\"service\":\"shop\",\"version\":\"2.0.0\",\"artifact\":\"$(digest shop-2.0.0)\",\"commit\":\"4f2a9c1\"}" | field id)
rollout=$(call POST /v1/rollouts "{\"releaseId\":\"$release\",\"environment\":\"$ENV_NAME\",\"strategy\":{\"maxSurge\":\"0\",\"maxUnavailable\":\"10%\",\"maxFailures\":\"2\"}}" | field id)
wait_rollout "$rollout"
echo "   hosts on 2.0.0: $(call GET "/v1/hosts?environment=$ENV_NAME&version=2.0.0&limit=1" | field total)"

echo "4. release shop 2.1.0 (bad) and roll it out: it rolls back on its own"
bad=$(call POST /v1/releases "{\"service\":\"shop\",\"version\":\"2.1.0\",\"artifact\":\"$(digest shop-2.1.0)\"}" | field id)
bad_rollout=$(call POST /v1/rollouts "{\"releaseId\":\"$bad\",\"environment\":\"$ENV_NAME\",\"strategy\":{\"maxSurge\":\"0\",\"maxUnavailable\":\"10%\",\"maxFailures\":\"2\"}}" | field id)
wait_rollout "$bad_rollout"
echo "   hosts back on 2.0.0: $(call GET "/v1/hosts?environment=$ENV_NAME&version=2.0.0&limit=1" | field total)"
echo "   last events:"
call GET "/v1/rollouts/$bad_rollout/events?limit=1000" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const e of JSON.parse(s).items.filter(e=>!e.type.includes(".host.")).slice(-6))console.log("    "+e.sequence+" "+e.type+(e.reason?"  ("+e.reason+")":""))})'

canary='{"type":"canary","steps":[{"setWeight":10},{"pause":{}},{"setWeight":50},{"analysis":{"durationSeconds":3}}],
  "rollbackTriggers":[{"metric":"errorRatePercent","threshold":5}],"maxFailures":"2"}'
echo "5. release shop 3.0.0 as a canary: 10% of the hosts, then a pause until an operator promotes"
c1=$(call POST /v1/releases "{\"service\":\"shop\",\"version\":\"3.0.0\",\"artifact\":\"$(digest shop-3.0.0)\"}" | field id)
c1_rollout=$(call POST /v1/rollouts "{\"releaseId\":\"$c1\",\"environment\":\"$ENV_NAME\",\"strategy\":$canary}" | field id)
until [[ "$(call GET "/v1/rollouts/$c1_rollout" | field currentStep)" == 3 ]]; do sleep 1; done
body=$(call GET "/v1/rollouts/$c1_rollout")
echo "   step 3 of $(field steps <<<"$body" | node -pe 'JSON.parse(require("fs").readFileSync(0)).length'): $(field statusReason <<<"$body")"
echo "   hosts per version: $(field hostsPerVersion <<<"$body")"
call POST "/v1/rollouts/$c1_rollout/promote" '{"reason":"canary metrics look normal"}' >/dev/null
wait_rollout "$c1_rollout"

echo "6. release shop 3.1.0 as a canary: its hosts report a 9.5% error rate, the trigger rolls it back"
c2=$(call POST /v1/releases "{\"service\":\"shop\",\"version\":\"3.1.0\",\"artifact\":\"$(digest shop-3.1.0)\"}" | field id)
c2_rollout=$(call POST /v1/rollouts "{\"releaseId\":\"$c2\",\"environment\":\"$ENV_NAME\",\"strategy\":$canary}" | field id)
wait_rollout "$c2_rollout"
echo "   hosts per version: $(call GET "/v1/rollouts/$c2_rollout" | field hostsPerVersion)"

echo "7. release shop 3.2.0 with a canary analysis: the judge compares its hosts against those still on 3.0.0"
judged='{"type":"canary","steps":[{"setWeight":20},{"analysis":{"durationSeconds":5,"judge":{"metrics":[
  {"name":"errorRatePercent","direction":"increase","critical":true},{"name":"p99LatencyMs","direction":"increase"}]}}}]}'
c3=$(call POST /v1/releases "{\"service\":\"shop\",\"version\":\"3.2.0\",\"artifact\":\"$(digest shop-3.2.0)\"}" | field id)
c3_rollout=$(call POST /v1/rollouts "{\"releaseId\":\"$c3\",\"environment\":\"$ENV_NAME\",\"strategy\":$judged}" | field id)
wait_rollout "$c3_rollout"
analysis=$(call GET "/v1/rollouts/$c3_rollout" | field analyses | node -pe 'JSON.parse(require("fs").readFileSync(0))[0]')
call GET "/v1/analyses/$analysis" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s);console.log("   analysis "+a.id+": "+a.outcome);for(const m of a.verdict.metrics)console.log("    "+m.name+": "+m.classification+" (estimate "+(m.estimate??"-")+", "+m.baselineCount+" baseline / "+m.canaryCount+" canary samples)")})'
