#!/usr/bin/env bash
# Packages the sample service (samples/SampleService) as a host-agent artifact (docs/agent.md).
#
#   deploy/package-sample.sh VERSION [MODE] [OUT_DIR]
#       MODE ok (default) | fail-validate | errors; OUT_DIR .data/artifacts by default.
#       Writes OUT_DIR/sample-VERSION-MODE.tar.gz and prints, as the last line on stdout:
#           sha256:<hex> <absolute path>
#       The archive is deterministic: the same sources, version and mode give the same bytes.
#   deploy/package-sample.sh --bad-archives OUT_DIR
#       Writes hostile archives for tests: traversal.tar.gz, symlink-out.tar.gz, bomb.tar.gz.
#
# Environment: SAMPLE_ERROR_RATE_PERCENT (errors mode; 40), SAMPLE_INSTALL_DELAY_SECONDS (AfterInstall sleeps that long), SAMPLE_PADDING_MB (adds that many MiB of random bytes). The sample is published once (framework-dependent,
# Release) into .data/sample-build and reused while its sources are unchanged. Everything but the
# last line goes to stderr.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
project="$repo/samples/SampleService/SampleService.csproj"
build_dir="$repo/.data/sample-build"

log() { echo "package-sample: $*" >&2; }
die() { log "$*"; exit 1; }
usage() {
  sed -n '4,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

bad_archives() {
  local out=$1
  command -v python3 >/dev/null || die "python3 is needed for the hostile archives"
  mkdir -p "$out"
  python3 - "$out" <<'PY'
import gzip, io, os, sys, tarfile

out = sys.argv[1]
MANIFEST = b'{"service":"sample","start":{"command":"dotnet","args":["SampleService.dll"]}}\n'

def member(name, data=None, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mtime, info.mode = kind, link, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if kind == tarfile.SYMTYPE:
        info.mode = 0o777
    if data is not None:
        info.size = len(data)
    return info

def write(name, entries):
    path = os.path.join(out, name)
    with open(path + ".tmp", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            with tarfile.open(fileobj=gz, mode="w|", format=tarfile.GNU_FORMAT) as tar:
                for info, data in entries:
                    tar.addfile(info, data)
    os.replace(path + ".tmp", path)
    print(f"package-sample: wrote {path} ({os.path.getsize(path)} bytes)", file=sys.stderr)

# 1. An entry that climbs out of the release directory.
escape = b"written outside the release directory\n"
write("traversal.tar.gz", [
    (member("manifest.json", MANIFEST), io.BytesIO(MANIFEST)),
    (member("../../escape.txt", escape), io.BytesIO(escape)),
])

# 2. Links that point outside: a symlink to /etc/passwd, and a file written through a directory symlink.
#    The write goes through a link to /tmp (not /etc) so a broken extractor leaves only
#    /tmp/deploy-engine-symlink-escape.txt behind, which tests can look for.
through = b"written through a symlink\n"
write("symlink-out.tar.gz", [
    (member("manifest.json", MANIFEST), io.BytesIO(MANIFEST)),
    (member("passwd", kind=tarfile.SYMTYPE, link="/etc/passwd"), None),
    (member("tmp", kind=tarfile.SYMTYPE, link="/tmp"), None),
    (member("tmp/deploy-engine-symlink-escape.txt", through), io.BytesIO(through)),
])

# 3. A decompression bomb: ~70 KB that expands to 72 MiB of zeros (past a 64 MiB MaxUnpackedBytes).
class Zeros(io.RawIOBase):
    def __init__(self, n): self.left = n
    def readable(self): return True
    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n

size = 72 * 1024 * 1024
zeros = member("zeros.bin")
zeros.size = size
write("bomb.tar.gz", [
    (member("manifest.json", MANIFEST), io.BytesIO(MANIFEST)),
    (zeros, io.BufferedReader(Zeros(size), 1 << 20)),
])
PY
}

[[ $# -ge 1 ]] || usage
case $1 in
  -h|--help) usage ;;
  --bad-archives)
    [[ $# -eq 2 ]] || usage
    bad_archives "$2"
    exit 0
    ;;
esac

version=$1
mode=${2:-ok}
out_dir=${3:-$repo/.data/artifacts}
[[ $# -le 3 ]] || usage
[[ $version =~ ^[0-9A-Za-z][0-9A-Za-z.+_-]*$ ]] || die "version '$version' must be letters, digits, '.', '+', '_' or '-'"
case $mode in ok|fail-validate|errors) ;; *) die "mode '$mode' is not one of ok, fail-validate, errors" ;; esac
rate=0
if [[ $mode == errors ]]; then
  rate=${SAMPLE_ERROR_RATE_PERCENT:-40}
  [[ $rate =~ ^[0-9]+$ ]] && ((rate >= 1 && rate <= 100)) || die "SAMPLE_ERROR_RATE_PERCENT '$rate' is not from 1 to 100"
fi
[[ -f $project ]] || die "$project not found"
mkdir -p "$out_dir" "$build_dir"
out_dir="$(cd "$out_dir" && pwd)"

# Publish once; concurrent packagers share the build under a lock and reuse it while it is newer than the
# sources (and the repository-wide build settings).
publish_dir="$build_dir/publish"
stamp="$build_dir/.published"
exec 9>"$build_dir/.lock"
flock 9
changed=""
if [[ -f $stamp && -f $publish_dir/SampleService.dll ]]; then
  changed="$(find "$repo/samples/SampleService" \( -name bin -o -name obj \) -prune -o -type f -newer "$stamp" -print -quit)"
  [[ -n $changed ]] || changed="$(find "$repo/Directory.Build.props" "$repo/Directory.Packages.props" "$repo/global.json" -newer "$stamp" -print -quit 2>/dev/null)"
else
  changed=yes
fi
if [[ -n $changed ]]; then
  log "publishing the sample into $publish_dir"
  rm -rf "$publish_dir" "$stamp"
  touch "$build_dir/.publishing"
  dotnet publish "$project" -c Release --self-contained false -o "$publish_dir" -nologo -v quiet >&2 \
    || die "dotnet publish failed"
  mv "$build_dir/.publishing" "$stamp"
else
  log "reusing the published sample in $publish_dir"
fi

stage="$(mktemp -d "$build_dir/stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
cp -R "$publish_dir/." "$stage/"
flock -u 9

printf '{"version":"%s","mode":"%s","errorRatePercent":%d}\n' "$version" "$mode" "$rate" >"$stage/sample.json"
if [[ -n ${SAMPLE_PADDING_MB:-} ]]; then
  # Incompressible bytes, to measure an apply of an artifact of a realistic size (the bench uses 10 MB).
  [[ $SAMPLE_PADDING_MB =~ ^[0-9]+$ ]] || die "SAMPLE_PADDING_MB '$SAMPLE_PADDING_MB' is not a number of MiB"
  head -c "$((SAMPLE_PADDING_MB * 1024 * 1024))" /dev/urandom >"$stage/padding.bin"
fi
if [[ -n ${SAMPLE_INSTALL_DELAY_SECONDS:-} ]]; then
  # A slow install (AfterInstall sleeps), to watch or interrupt an apply.
  [[ $SAMPLE_INSTALL_DELAY_SECONDS =~ ^[0-9]+$ ]] || die "SAMPLE_INSTALL_DELAY_SECONDS '$SAMPLE_INSTALL_DELAY_SECONDS' is not a number of seconds"
  printf '%s\n' "$SAMPLE_INSTALL_DELAY_SECONDS" >"$stage/install-delay-seconds"
fi

cat >"$stage/manifest.json" <<JSON
{
  "service": "sample",
  "start": { "command": "dotnet", "args": ["SampleService.dll"], "environment": { "SAMPLE_MODE": "$mode" } },
  "stopTimeoutSeconds": 10,
  "hooks": {
    "BeforeInstall": [{ "run": "hooks/before-install.sh", "timeoutSeconds": 30 }],
    "AfterInstall": [{ "run": "hooks/after-install.sh", "timeoutSeconds": 30 }],
    "ApplicationStop": [{ "run": "hooks/application-stop.sh", "timeoutSeconds": 30 }],
    "ApplicationStart": [],
    "ValidateService": [{ "run": "hooks/validate.sh", "timeoutSeconds": 30 }]
  },
  "health": { "http": { "path": "/healthz" }, "command": null, "successThreshold": 3, "intervalMs": 500, "timeoutSeconds": 30 },
  "metrics": { "prometheus": "/metrics", "probe": { "path": "/", "perSecond": 10 } },
  "config": { "directory": "config" }
}
JSON

mkdir -p "$stage/hooks"
cat >"$stage/hooks/before-install.sh" <<'SH'
#!/bin/sh
# BeforeInstall: records that it ran (the release directory is the working directory).
set -eu
mkdir -p markers
printf '%s %s %s\n' "${DEPLOY_LIFECYCLE_EVENT:-BeforeInstall}" "${DEPLOY_SERVICE:-sample}" "${DEPLOY_VERSION:-}" >markers/before-install
echo "before-install: ${DEPLOY_SERVICE:-sample} ${DEPLOY_VERSION:-} in $(pwd)"
SH
cat >"$stage/hooks/after-install.sh" <<'SH'
#!/bin/sh
# AfterInstall: checks the release is complete and records that it ran.
set -eu
for f in SampleService.dll SampleService.runtimeconfig.json sample.json; do
  if [ ! -f "$f" ]; then
    echo "after-install: $f is missing from $(pwd)" >&2
    exit 1
  fi
done
mkdir -p markers
printf '%s %s %s\n' "${DEPLOY_LIFECYCLE_EVENT:-AfterInstall}" "${DEPLOY_SERVICE:-sample}" "${DEPLOY_VERSION:-}" >markers/after-install
# One line per run: a command carried out twice shows as two lines.
printf 'started %s\n' "${DEPLOY_VERSION:-}" >>markers/after-install.log
if [ -f install-delay-seconds ]; then
  sleep "$(cat install-delay-seconds)"
fi
printf 'finished %s\n' "${DEPLOY_VERSION:-}" >>markers/after-install.log
echo "after-install: release complete"
SH
cat >"$stage/hooks/application-stop.sh" <<'SH'
#!/bin/sh
# ApplicationStop: runs from the old release's directory before the switch; the agent stops the process
# itself, so this only records that it ran.
set -eu
mkdir -p markers 2>/dev/null && printf '%s %s\n' "${DEPLOY_LIFECYCLE_EVENT:-ApplicationStop}" "${DEPLOY_VERSION:-}" >markers/application-stop || true
echo "application-stop: ${DEPLOY_SERVICE:-sample} on port ${PORT:-?} is about to be replaced"
SH
cat >"$stage/hooks/validate.sh" <<'SH'
#!/bin/sh
# ValidateService: GET http://127.0.0.1:$PORT/version and check it is the sample answering. A release packaged
# with mode "fail-validate" runs and serves, but fails here on purpose.
set -u
port=${PORT:-}
if [ -z "$port" ]; then
  echo "validate: PORT is not set" >&2
  exit 1
fi
url="http://127.0.0.1:$port/version"
if command -v curl >/dev/null 2>&1; then
  body=$(curl -fsS --max-time 5 "$url" 2>&1) || { echo "validate: GET $url failed: $body" >&2; exit 1; }
elif command -v bash >/dev/null 2>&1; then
  body=$(PORT="$port" bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$PORT" || exit 1
    printf "GET /version HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3
    IFS= read -r status <&3 || exit 1
    case $status in *" 200 "*) ;; *) echo "$status"; exit 1 ;; esac
    while IFS= read -r line <&3; do [ "$line" = "$(printf "\r")" ] && break; [ -z "$line" ] && break; done
    cat <&3' 2>&1) || { echo "validate: GET $url failed: $body" >&2; exit 1; }
else
  echo "validate: neither curl nor bash is available to reach $url" >&2
  exit 1
fi
case $body in
  *'"service":"sample"'*) ;;
  *) echo "validate: $url answered something that is not the sample: $body" >&2; exit 1 ;;
esac
mode=$(printf '%s' "$body" | sed -n 's/.*"mode":"\([^"]*\)".*/\1/p')
if [ -z "$mode" ] && [ -f sample.json ]; then
  mode=$(sed -n 's/.*"mode":"\([^"]*\)".*/\1/p' sample.json)
fi
if [ "$mode" = "fail-validate" ]; then
  echo "validate: FAILED on purpose: this release was packaged with mode fail-validate ($body)" >&2
  exit 1
fi
echo "validate: ok: $body"
SH
chmod 0755 "$stage"/hooks/*.sh

# Normalised modes: directories and hooks 0755, everything else 0644.
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f ! -path "$stage/hooks/*" -exec chmod 0644 {} +

name="sample-$version-$mode.tar.gz"
tmp="$out_dir/.$name.$$"
(cd "$stage" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
  tar --format=gnu --no-recursion --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -T - -cf - |
  gzip -n -9) >"$tmp"
mv -f "$tmp" "$out_dir/$name"
digest="$(sha256sum "$out_dir/$name" | cut -d' ' -f1)"
log "wrote $out_dir/$name ($(stat -c %s "$out_dir/$name") bytes, version $version, mode $mode)"
echo "sha256:$digest $out_dir/$name"
