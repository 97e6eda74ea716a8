#!/usr/bin/env bash
# The test command: every test project of Deploy.Engine.sln, then one summary line from the TRX
# results (dotnet test prints none). The integration tests start their own Azurite from
# deploy/azurite/node_modules, installed here when missing, and their own Prometheus from the Debian package
# `prometheus`, installed here when missing and possible (otherwise those tests are skipped); the browser tests
# (tests/Ui.Tests) need Debian's `chromium`, installed the same way.
#
#   deploy/test.sh [dotnet test arguments...]      e.g. deploy/test.sh --filter "FullyQualifiedName~Domain"
#
# Last line: "N passed, N failed, N skipped". Exit status is non-zero when dotnet test failed, a
# test failed, or no test ran.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
results="$repo/.data/test-results"

if [[ ! -x deploy/azurite/node_modules/.bin/azurite ]]; then
  echo "test: installing the pinned Azurite (npm ci in deploy/azurite)" >&2
  (cd deploy/azurite && npm ci --no-audit --no-fund)
fi

# Best effort: the Prometheus integration tests report themselves skipped without /usr/bin/prometheus, so a failed
# install never fails the run. policy-rc.d (exit 101) keeps the package from starting its service, which would
# listen on every interface; a service that starts anyway (as the package's "prometheus" user) is stopped by PID.
install_prometheus() {
  if command -v prometheus >/dev/null 2>&1; then
    echo "test: prometheus found ($(command -v prometheus))" >&2
    return 0
  fi
  local sudo=""
  if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "test: prometheus not installed (no root); its integration tests will be skipped" >&2
      return 0
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test: prometheus not installed (no apt-get); its integration tests will be skipped" >&2
    return 0
  fi
  local policy=/usr/sbin/policy-rc.d made_policy=0 before after pid
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# deploy/test.sh: no service starts while it installs prometheus.\nexit 101\n' | $sudo tee "$policy" >/dev/null \
      && $sudo chmod 755 "$policy" && made_policy=1
  fi
  before="$(pgrep -u prometheus -x prometheus 2>/dev/null || true)"
  # A fresh image may have no package lists yet: refresh them once if the first try finds nothing.
  if DEBIAN_FRONTEND=noninteractive timeout 300 $sudo apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1 \
    || { timeout 180 $sudo apt-get update >/dev/null 2>&1 \
         && DEBIAN_FRONTEND=noninteractive timeout 300 $sudo apt-get install -y --no-install-recommends prometheus >/dev/null 2>&1; }; then
    echo "test: installed prometheus ($(prometheus --version 2>&1 | head -n 1))" >&2
  else
    echo "test: installing prometheus failed; its integration tests will be skipped" >&2
  fi
  ((made_policy)) && $sudo rm -f "$policy"
  after="$(pgrep -u prometheus -x prometheus 2>/dev/null || true)"
  for pid in $after; do
    if ! grep -qx "$pid" <<<"$before"; then
      echo "test: stopping the prometheus service the package started (pid $pid)" >&2
      $sudo kill "$pid" || true
    fi
  done
  return 0
}
install_prometheus || true

# Best effort, like prometheus: the browser tests (tests/Ui.Tests) drive Debian's chromium through Playwright and
# report themselves skipped without /usr/bin/chromium, so a failed install never fails the run.
install_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    echo "test: chromium found (/usr/bin/chromium)" >&2
    return 0
  fi
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "test: chromium not installed (no root); the browser tests will be skipped" >&2
      return 0
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test: chromium not installed (no apt-get); the browser tests will be skipped" >&2
    return 0
  fi
  if DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
     || { timeout 300 $sudo apt-get update >/dev/null 2>&1 \
          && DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y --no-install-recommends chromium >/dev/null 2>&1; }; then
    echo "test: installed chromium" >&2
  else
    echo "test: installing chromium failed; the browser tests will be skipped" >&2
  fi
  return 0
}
install_chromium || true

# Best effort, like prometheus: the Mann-Whitney oracle test (tests/Domain.Tests, MannWhitneyROracleTests) compares the
# judge with R's own wilcox.test and reports itself skipped without Rscript, so a failed install never fails the run.
install_r() {
  if command -v Rscript >/dev/null 2>&1; then
    echo "test: R found ($(command -v Rscript))" >&2
    return 0
  fi
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "test: R not installed (no root); the R oracle tests will be skipped" >&2
      return 0
    fi
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "test: R not installed (no apt-get); the R oracle tests will be skipped" >&2
    return 0
  fi
  if DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y --no-install-recommends r-base-core >/dev/null 2>&1 \
     || { timeout 300 $sudo apt-get update >/dev/null 2>&1 \
          && DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y --no-install-recommends r-base-core >/dev/null 2>&1; }; then
    echo "test: installed R ($(Rscript --version 2>&1 | head -n 1))" >&2
  else
    echo "test: installing R failed; the R oracle tests will be skipped" >&2
  fi
  return 0
}
install_r || true

rm -rf "$results"
mkdir -p "$results"

test_rc=0
dotnet test Deploy.Engine.sln -c Release --logger "trx" --results-directory "$results" "$@" || test_rc=$?

summary_rc=0
python3 - "$results" <<'PY' || summary_rc=$?
import glob, os, sys
import xml.etree.ElementTree as ET

ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
totals = {"passed": 0, "failed": 0, "skipped": 0}
failed_names = []
unreadable = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "**", "*.trx"), recursive=True)):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        unreadable.append(f"{path}: {e}")
        continue
    counters = root.find("t:ResultSummary/t:Counters", ns)
    if counters is not None:
        count = lambda key: int(counters.get(key, "0"))
        totals["passed"] += count("passed")
        # Errors, timeouts and aborts are failures too.
        totals["failed"] += count("failed") + count("error") + count("timeout") + count("aborted")
        # xunit's skipped tests are "NotExecuted" results, but the notExecuted counter stays 0.
        totals["skipped"] += count("total") - count("executed")
    for result in root.iterfind(".//t:UnitTestResult", ns):
        if result.get("outcome") not in ("Passed", "NotExecuted"):
            failed_names.append(f"{result.get('testName')} ({result.get('outcome')})")

for line in unreadable:
    print(f"unreadable TRX file: {line}")
if failed_names:
    print("Failed tests:")
    for name in failed_names:
        print(f"  {name}")
print(f"{totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
ran = totals["passed"] + totals["failed"]
sys.exit(1 if totals["failed"] or failed_names or unreadable or ran == 0 else 0)
PY

if ((test_rc != 0)); then
  exit "$test_rc"
fi
exit "$summary_rc"
