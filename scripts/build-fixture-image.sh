#!/usr/bin/env bash
# build-fixture-image.sh [OUT]
#
# Builds fixtures/images/app (OCI image layout, tag 1.0) from real packages, with no container
# engine, reproducibly (rerun -> same digests):
#
#   layer 1 (gzip)  Debian bookworm base: the .debs pinned in build-fixture-image.lock extracted on a
#                   merged-/usr skeleton, a real dpkg database (status, info/*.list, *.md5sums,
#                   *.conffiles), /etc/passwd + group + shadow with the non-root user app (10001),
#                   the ca-certificates bundle its postinst would write
#   layer 2 (zstd)  the app: six 1.16.0 installed from its PyPI wheel as a dist-info (METADATA,
#                   RECORD, INSTALLER) in /usr/local/lib/python3.11/site-packages; /app with
#                   package.json, package-lock.json (v3) and node_modules/{minimist 1.2.0, ms 2.1.3}
#                   from the npm registry; /app/config/*.json
#   layer 3 (gzip)  clean-up: whiteouts of /usr/share/doc/netbase (a directory) and /etc/motd (a
#                   file), and /app/config made opaque and replaced
#
# Needs: apt-get, dpkg-deb, tar, python3 (+pip), npm, zstd, sha256sum. Network: the Debian mirror,
# PyPI and the npm registry only. apt runs with private state under $WORK (the host's apt state is
# untouched). Downloads are cached in $WORK and checked against the pins (the .deb sha256 in
# build-fixture-image.lock, the wheel's sha256 below, the npm integrity in
# build-fixture-image.package-lock.json). A pinned Debian version that left the mirror fails the
# build: update the lock (see the error) and the fixture digests in fixtures/images/SOURCE.md.
#
#   WORK=/tmp/proofline-fixture-build   download cache and staging area
#   SOURCE_DATE_EPOCH=1735689600        2025-01-01T00:00:00Z: every mtime and "created"
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
OUT=$(realpath -m "${1:-$REPO/fixtures/images/app}")
WORK=$(realpath -m "${WORK:-/tmp/proofline-fixture-build}")
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1735689600}
export LC_ALL=C TZ=UTC
umask 022
HELPER="$HERE/build-fixture-image.py"
DPKGDB="$HERE/build-fixture-image.dpkgdb.py"
SIX_WHEEL=six-1.16.0-py2.py3-none-any.whl
SIX_SHA256=8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254

log() { printf '== %s\n' "$*" >&2; }
die() { printf 'build-fixture-image: %s\n' "$*" >&2; exit 1; }
for t in apt-get apt-cache dpkg-deb tar python3 npm zstd sha256sum; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done
[ "$(id -u)" = 0 ] || die "run as root: the .debs are extracted with their owners and modes"

# ------------------------------------------------------------------ downloads (cached)
mkdir -p "$WORK"/{apt/lists/partial,apt/cache/archives/partial,debs,pypi,npm}
cat > "$WORK/apt/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
EOF
APT_OPTS=(-o APT::Architecture=amd64 -o APT::Architectures=amd64
  -o Dir::State::Lists="$WORK/apt/lists" -o Dir::Cache="$WORK/apt/cache"
  -o Dir::Etc::SourceList="$WORK/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
  -o Debug::NoLocking=1 -o APT::Sandbox::User=root)

DEBS=()
while read -r pkg version sha; do
  case "$pkg" in ''|'#'*) continue ;; esac
  deb=$(ls "$WORK/debs/${pkg}_${version//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
  if [ -z "$deb" ]; then
    if ! ls "$WORK"/apt/lists/*_Packages* >/dev/null 2>&1; then
      log "apt-get update (private lists in $WORK/apt)"
      apt-get -q "${APT_OPTS[@]}" update >&2
    fi
    log "apt-get download $pkg=$version"
    (cd "$WORK/debs" && apt-get -q "${APT_OPTS[@]}" download "$pkg=$version" >&2) \
      || die "$pkg $version is no longer on the mirror: pick the current version (apt-cache policy $pkg with the options above), update build-fixture-image.lock, rebuild and commit the new fixture"
    deb=$(ls "$WORK/debs/${pkg}_${version//:/%3a}_"*.deb | head -n 1)
  fi
  [ "$(sha256sum < "$deb" | cut -d' ' -f1)" = "$sha" ] || die "$deb does not match the sha256 in build-fixture-image.lock"
  DEBS+=("$deb")
done < "$HERE/build-fixture-image.lock"

if [ ! -f "$WORK/pypi/$SIX_WHEEL" ]; then
  log "pip download six==1.16.0"
  printf 'six==1.16.0 --hash=sha256:%s\n' "$SIX_SHA256" > "$WORK/pypi/requirements.txt"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$WORK/pypi/requirements.txt" -d "$WORK/pypi" >&2
fi
[ "$(sha256sum < "$WORK/pypi/$SIX_WHEEL" | cut -d' ' -f1)" = "$SIX_SHA256" ] || die "$SIX_WHEEL: sha256 mismatch"

for spec in minimist@1.2.0 ms@2.1.3; do
  tgz="$WORK/npm/${spec/@/-}.tgz"
  if [ ! -f "$tgz" ]; then
    log "npm pack $spec"
    (cd "$WORK/npm" && npm pack --silent "$spec" >/dev/null)
  fi
done

# ------------------------------------------------------------------ layer 1: Debian base
STAGE="$WORK/stage"
rm -rf "$STAGE"
BASE="$STAGE/base" APP="$STAGE/app" CLEAN="$STAGE/cleanup"
mkdir -p "$BASE" "$APP" "$CLEAN"
log "layer 1: ${#DEBS[@]} Debian packages + dpkg database"
mkdir -p "$BASE"/usr/{bin,sbin,lib,lib64} "$BASE"/{etc,tmp,root,home,run,var/tmp,var/lib}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$BASE/$d"; done
chmod 1777 "$BASE/tmp" "$BASE/var/tmp"
chmod 700 "$BASE/root"
for deb in "${DEBS[@]}"; do
  dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$BASE"
done
python3 "$DPKGDB" status "$BASE" "${DEBS[@]}"
# What the maintainer scripts would have done, minimally and deterministically.
cat > "$BASE/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
app:x:10001:10001:application user:/home/app:/usr/sbin/nologin
EOF
cat > "$BASE/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
shadow:x:42:
nogroup:x:65534:
app:x:10001:
EOF
day=$(( SOURCE_DATE_EPOCH / 86400 ))
awk -F: -v d="$day" '{print $1":*:"d":0:99999:7:::"}' "$BASE/etc/passwd" > "$BASE/etc/shadow"
chmod 640 "$BASE/etc/shadow"
mkdir -p "$BASE/home/app"
(cd "$BASE/usr/share/ca-certificates" && find mozilla -name '*.crt' | sort) > "$BASE/etc/ca-certificates.conf"
mkdir -p "$BASE/etc/ssl/certs"
find "$BASE/usr/share/ca-certificates/mozilla" -name '*.crt' -print0 | sort -z | xargs -0 cat \
  > "$BASE/etc/ssl/certs/ca-certificates.crt"
echo proofline-fixture > "$BASE/etc/hostname"

# ------------------------------------------------------------------ layer 2: the app
log "layer 2: six (PyPI), minimist + ms (npm), /app"
python3 "$HELPER" python-install "$WORK/pypi/$SIX_WHEEL" "$APP/usr/local/lib/python3.11/site-packages"
mkdir -p "$APP/app/config"
cp "$HERE/build-fixture-image.package.json" "$APP/app/package.json"
cp "$HERE/build-fixture-image.package-lock.json" "$APP/app/package-lock.json"
python3 "$HELPER" npm-install "$APP/app/package-lock.json" "$WORK/npm" "$APP/app/node_modules"
cat > "$APP/app/index.js" <<'EOF'
'use strict';
// Proofline fixture app: parses its flags and prints a timeout.
const argv = require('minimist')(process.argv.slice(2));
const ms = require('ms');
console.log(JSON.stringify({ timeout: ms(argv.timeout || '2 days'), args: argv._ }));
EOF
printf '{\n  "listen": "0.0.0.0:8080",\n  "debug": true\n}\n' > "$APP/app/config/settings.json"
printf '{\n  "trace": true\n}\n' > "$APP/app/config/debug.json"

# ------------------------------------------------------------------ layer 3: whiteouts
log "layer 3: whiteouts and an opaque directory"
mkdir -p "$CLEAN/usr/share/doc" "$CLEAN/etc" "$CLEAN/app/config"
: > "$CLEAN/usr/share/doc/.wh.netbase"
: > "$CLEAN/etc/.wh.motd"
: > "$CLEAN/app/config/.wh..wh..opq"
printf '{\n  "listen": "0.0.0.0:8080",\n  "debug": false\n}\n' > "$CLEAN/app/config/settings.json"

# ------------------------------------------------------------------ OCI layout
log "writing $OUT"
digest=$(python3 "$HELPER" oci "$OUT" "$SOURCE_DATE_EPOCH" \
  "gzip:$BASE:dpkg-deb -x $(grep -cv '^#' "$HERE/build-fixture-image.lock") bookworm packages && write /var/lib/dpkg/status" \
  "zstd:$APP:pip install six==1.16.0 && npm ci --omit=dev (minimist 1.2.0, ms 2.1.3) && COPY app/ /app" \
  "gzip:$CLEAN:rm -rf /usr/share/doc/netbase /etc/motd && replace /app/config")
log "oci:$OUT:1.0 -> $digest"
echo "$digest"
