#!/usr/bin/env bash
# The benchmark harness (bench/, Release): every figure against a baseline measured in the same run, with
# warm-up, repetitions, median and spread. Writes .data/bench/results.md and results.json.
#
#   deploy/bench.sh            full run (10,000-host rollout, rollback at 1k/10k/100k hosts, memory at 100k)
#   deploy/bench.sh --quick    a small run to try it out (about two minutes)
#   options: --hosts N --rollback 1000,10000 --memory-hosts N --azure-hosts N --reps N --warmup N --api-seconds N --skip-azure --only rolling,rollback,admission,api,memory,azure,processes (agents, ui: only when named) --processes N --processes-storage local|azure --out DIR
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
if [[ ! -x deploy/azurite/node_modules/.bin/azurite ]]; then
  (cd deploy/azurite && npm ci --no-audit --no-fund)
fi
dotnet build bench -c Release -v quiet -nologo
exec dotnet bench/bin/Release/net10.0/Deploy.Engine.Bench.dll "$@"
