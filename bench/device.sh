#!/usr/bin/env bash
# The multi-process figures (1 silo process against N) on a machine with more cores and no .NET, Node or network,
# such as the 16-core device machine: the silos run in Local mode joined by localhost clustering, so no Azurite.
#
#   bench/device.sh pack          here: a self-contained linux-x64 build of the bench and the silo, packed into
#                                 .data/device/bench-linux-x64.tar.gz (about 58 MiB; the device carries at most 64 MiB)
#   bench/device.sh run [args]    there, from the repository root: unpacks it and runs
#                                 --only processes --processes-storage local --processes 3, writing results.md and
#                                 results.json to $OUT (or .data/bench-device); extra args go to the bench (--processes 8)
#
# One prepared call for the device tool, after `bench/device.sh pack` here:
#   run(command="bench/device.sh run", carry=[".data/device"], timeout_s=540)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
bundle=.data/device/bench-linux-x64.tar.gz
limit=$((64 * 1024 * 1024))

case "${1:-}" in
  pack)
    staging=.data/device/app
    rm -rf .data/device
    mkdir -p .data/device
    for project in Silo/Silo.csproj bench/Bench.csproj; do
      # Both into one folder: one copy of the runtime and of the assemblies they share.
      dotnet publish "$project" -c Release -r linux-x64 --self-contained -p:SatelliteResourceLanguages=en -p:DebugType=none \
        -o "$staging" -v quiet -nologo
    done
    rm -rf "$staging/.playwright" # the browser driver: only the ui scenario needs it
    tar -C .data/device -czf "$bundle" app
    rm -rf "$staging"
    size=$(stat -c %s "$bundle")
    echo "$bundle: $((size / 1024 / 1024)) MiB"
    if (( size > limit )); then
      echo "over the 64 MiB the device carries" >&2
      exit 1
    fi
    ;;
  run)
    shift
    [[ -f "$bundle" ]] || { echo "no $bundle: run 'bench/device.sh pack' first (and carry .data/device)" >&2; exit 1; }
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    tar -C "$work" -xzf "$bundle"
    out="${OUT:-.data/bench-device}"
    mkdir -p "$out"
    echo "cores: $(nproc), memory: $(free -g 2>/dev/null | awk '/^Mem/ {print $2 " GiB"}')"
    DEPLOY_BENCH_SILO="$work/app/Deploy.Engine.Silo" "$work/app/Deploy.Engine.Bench" \
      --only processes --processes-storage local --processes 3 --reps 2 --warmup 1 --skip-azure --out "$out" "$@"
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
