#!/usr/bin/env bash
# The README walkthrough as one script, against an engine started with deploy/run.sh:
# a simulated fleet of 50 hosts, a release rolled out host by host, then a bad version that rolls
# back on its own, then a canary promoted by an operator, a canary a rollback trigger stops, and a
# canary whose analysis (the statistical judge) finds three times the error rate in 3.2.0 and rolls it back; then the
# DORA figures and the bottleneck breakdown for shop, and a dark-launched feature flag flipped on and killed again.
# Needs curl and node (for reading JSON). To see its events and traces, start the engine with
# Webhooks__AllowLoopback=true Telemetry__OtlpEndpoint=http://127.0.0.1:4318 Telemetry__OtlpProtocol=http/protobuf
# and run `deployctl otlp listen` and `deployctl webhooks listen --subscribe` first (README: Seeing it all).
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
committed=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)   # the commit's time: DORA's lead time runs from it
release=$(call POST /v1/releases "{\"service\":\"shop\",\"version\":\"2.0.0\",\"artifact\":\"$(digest shop-2.0.0)\",\"commit\":\"4f2a9c1\",\"commitTime\":\"$committed\"}" | field id)
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

echo "8. DORA figures and where the time went, for shop in $ENV_NAME (the ledger is fed from the events: a moment after the last rollout)"
for _ in $(seq 60); do # five attempts: 2.0.0, 3.0.0 succeeded; 2.1.0, 3.1.0, 3.2.0 rolled back
  [[ "$(call GET "/v1/metrics/dora?service=shop&environment=$ENV_NAME&window=1d" | field changeFailureRate.deployments)" -ge 5 ]] && break
  sleep 1
done
call GET "/v1/metrics/dora?service=shop&environment=$ENV_NAME&window=1d" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const d=JSON.parse(s);const f=x=>x==null?"-":x;
  console.log("   "+d.report+", window "+d.window+": overall tier "+f(d.tier));
  console.log("   deployment frequency: "+d.deploymentFrequency.deployments+" deployments, "+d.deploymentFrequency.perDay+"/day ("+f(d.deploymentFrequency.tier)+")");
  console.log("   lead time: median "+f(d.leadTime.medianSeconds)+" s over "+d.leadTime.samples+" deployments ("+f(d.leadTime.tier)+")");
  console.log("   change failure rate: "+d.changeFailureRate.failures+" of "+d.changeFailureRate.deployments+" = "+d.changeFailureRate.rate+" ("+f(d.changeFailureRate.tier)+")");
  console.log("   time to restore: median "+f(d.timeToRestore.medianSeconds)+" s over "+d.timeToRestore.samples+" samples ("+f(d.timeToRestore.tier)+")")})'
call GET "/v1/metrics/bottlenecks?service=shop&environment=$ENV_NAME&window=1d" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const b=JSON.parse(s);
  console.log("   lead time of "+b.deployments+" deployments goes mostly to: "+b.largest);
  for(const st of b.stages.filter(x=>x.totalSeconds>0))console.log("    "+st.stage.padEnd(18)+" "+String(st.totalSeconds).padStart(9)+" s  share "+st.share)})'
echo "   rollout $rollout: $(call GET "/v1/rollouts/$rollout/timing" | node -pe 'const t=JSON.parse(require("fs").readFileSync(0));Object.entries(t.waits).filter(([k,v])=>v>0).map(([k,v])=>k+" "+v+" s").join(", ")')"

echo "9. a dark-launched flag: checkout ships off, then goes to 10% of users, then the kill switch"
evaluate() { call POST /ofrep/v1/evaluate/flags/checkout "{\"context\":{\"targetingKey\":\"$1\",\"environment\":\"$ENV_NAME\"}}" | node -pe 'const e=JSON.parse(require("fs").readFileSync(0));e.value+" ("+e.reason+")"'; }
call PUT "/v1/environments/$ENV_NAME/flags/checkout" '{"service":"shop","percentage":0,"reason":"dark launch: the code ships, nobody sees it"}' >/dev/null
echo "   dark:      user-1 $(evaluate user-1), user-2 $(evaluate user-2)"
call PUT "/v1/environments/$ENV_NAME/flags/checkout" '{"service":"shop","percentage":10,"reason":"flip it on for 10% of users"}' >/dev/null
echo "   10%:       user-1 $(evaluate user-1), user-2 $(evaluate user-2)"
call POST "/v1/environments/$ENV_NAME/flags/checkout/off" '{"reason":"kill switch"}' >/dev/null
echo "   killed:    user-1 $(evaluate user-1)"
