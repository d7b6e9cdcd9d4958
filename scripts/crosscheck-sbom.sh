#!/usr/bin/env bash
# The SBOM stage against the peer tools on the same input (issue 4, cross-checks):
#   Python  cyclonedx-py environment on a venv of pinned real packages (requests[socks] and its
#           dependencies, dotted/underscored/capitalised names) vs proofline-sbom on an image of
#           that venv's site-packages: the same pypi (name, version) set, names per PEP 503.
#   npm     cyclonedx-npm on a real project (fixtures/sbom/peer/node-app.*, `npm ci` from
#           registry.npmjs.org, dev dependencies installed) vs proofline-sbom on an image of the
#           project: the same npm (name, version) set, and with `--omit dev` the same set as our
#           components that are not `scope: excluded`.
#   Cargo   crates/proofline-sbom/tests/peer_cargo.rs (recorded cargo-cyclonedx output; building
#           cargo-cyclonedx takes minutes).
# Peers and packages are installed from PyPI / npm into a cache; one that cannot be installed (no
# network, no python3-venv, no npm) is SKIP; a different package set is FAIL (exit 1).
#
#   scripts/crosscheck-sbom.sh           (run by scripts/test.sh after validate-sboms.sh)
#   PROOFLINE_VALIDATORS_DIR             install cache (default ~/.cache/proofline-validators)
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "$0")/lib/checks.sh"

# image LAYOUT SRC DEST: an OCI layout (tag `latest`, one gzip layer) holding directory SRC at
# the absolute path DEST.
image() { python3 "$ROOT/scripts/lib/oci-layout.py" "$@"; }

# compare LABEL PEER_BOM OURS_BOM PURL_TYPE FOUND_UNDER OURS_SCOPE: PASS when the peer's
# (name, version) set equals ours of that purl type found under FOUND_UNDER (OURS_SCOPE
# `required` leaves out our `scope: excluded` components); the differences otherwise.
compare() {
  local label=$1
  if python3 - "$@" <<'PY'
import json, re, sys
_, peer_path, ours_path, ptype, under, scope = sys.argv[1:7]
def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower() if ptype == "pypi" else name
def full(c):
    return f"{c['group']}/{c['name']}" if c.get("group") else c["name"]
def flat(components):
    for c in components or []:
        yield c
        yield from flat(c.get("components"))
peer_bom = json.load(open(peer_path))
peer = {(norm(full(c)), c.get("version", "")) for c in flat(peer_bom.get("components"))}
# cyclonedx-npm describes the project itself as metadata.component; we list the lockfile's root
# package as a component, so the project counts on both sides.
root = peer_bom.get("metadata", {}).get("component")
if ptype == "npm" and root and root.get("version"):
    peer.add((full(root), root["version"]))
ours = set()
for c in flat(json.load(open(ours_path)).get("components")):
    props = {p["name"]: p["value"] for p in c.get("properties", [])}
    if not c.get("purl", "").startswith(f"pkg:{ptype}/"):
        continue
    if not props.get("proofline:found-at", "").startswith(under):
        continue
    if scope == "required" and c.get("scope") == "excluded":
        continue
    ours.add((norm(full(c)), c.get("version", "")))
if peer == ours and peer:
    print(f"{len(ours)} packages")
    sys.exit(0)
print(f"ours {len(ours)}, peer {len(peer)}")
print("  only ours:", sorted(ours - peer))
print("  only peer:", sorted(peer - ours))
sys.exit(1)
PY
  then :; else return 1; fi
}

echo "== building proofline-sbom" >&2
# As `cargo test --workspace` builds it (same profile and features): a no-op after the tests.
cargo test -q --workspace --locked --no-run 2>/dev/null || exit 1
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/proofline-sbom
unset PROOFLINE_SPDX_VERSION PROOFLINE_CYCLONEDX_VERSION PROOFLINE_FAIL_ON_MODIFIED PROOFLINE_IMAGE

# sbom LAYOUT OUT: proofline-sbom on the layout; the stage exits 1 for a policy violation, which
# is not what is checked here, so only a missing sbom.cdx.json fails.
sbom() {
  (cd "$WORK" && "$BIN" --image "oci:$1:latest" --evidence-dir "$2" >/dev/null 2>"$2.log")
  [ -f "$2/sbom/sbom.cdx.json" ] || { tail -20 "$2.log"; return 1; }
}

# ---------------------------------------------------------------- Python: cyclonedx-py
PY_PACKAGES=(requests[socks]==2.32.3 urllib3==2.2.3 idna==3.10 certifi==2024.8.30
  charset-normalizer==3.4.0 PySocks==1.7.1 typing_extensions==4.12.2 jaraco.classes==3.4.0
  more-itertools==10.5.0 MarkupSafe==3.0.2)
if venv cyclonedx-py cyclonedx-bom==7.5.0 && venv crosscheck-py "${PY_PACKAGES[@]}"; then
  SITE=$("$TOOLS/crosscheck-py/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  DEST=/opt/venv/lib/$(basename "$(dirname "$SITE")")/site-packages
  if ! "$TOOLS/cyclonedx-py/bin/cyclonedx-py" environment --output-format JSON \
      --output-file "$WORK/py-peer.cdx.json" "$TOOLS/crosscheck-py/bin/python" >"$WORK/py-peer.log" 2>&1; then
    fail "cyclonedx-py environment did not run"; tail -10 "$WORK/py-peer.log"
  elif ! { image "$WORK/py-image" "$SITE" "$DEST" && sbom "$WORK/py-image" "$WORK/py-ours"; }; then
    fail "proofline-sbom on the venv image"
  elif out=$(compare "cyclonedx-py" "$WORK/py-peer.cdx.json" "$WORK/py-ours/sbom/sbom.cdx.json" \
      pypi "$DEST/" all); then
    pass "cyclonedx-py environment: same pypi (name, version) set as proofline-sbom ($out)"
  else
    fail "cyclonedx-py environment vs proofline-sbom on the same venv"; echo "$out"
  fi
else skip "cyclonedx-py or the pinned Python packages could not be installed"; fi

# ---------------------------------------------------------------- npm: cyclonedx-npm
NPM_PEER=@cyclonedx/cyclonedx-npm@6.0.1
NPM_DIR=$TOOLS/cyclonedx-npm
npm_peer() {
  command -v npm >/dev/null || return 1
  if [ ! -f "$NPM_DIR/.installed" ] || [ "$(cat "$NPM_DIR/.installed")" != "$NPM_PEER" ]; then
    rm -rf "$NPM_DIR"; mkdir -p "$NPM_DIR"
    npm install --prefix "$NPM_DIR" --no-audit --no-fund --cache "$TOOLS/npm-cache" "$NPM_PEER" \
      >"$WORK/npm-peer.log" 2>&1 || { tail -3 "$WORK/npm-peer.log" >&2; return 1; }
    echo "$NPM_PEER" > "$NPM_DIR/.installed"
  fi
}
APP=$WORK/npm-app/app
mkdir -p "$APP"
cp fixtures/sbom/peer/node-app.package.json "$APP/package.json"
cp fixtures/sbom/peer/node-app.package-lock.json "$APP/package-lock.json"
if npm_peer && (cd "$APP" && npm ci --ignore-scripts --no-audit --no-fund --cache "$TOOLS/npm-cache" \
    >"$WORK/npm-ci.log" 2>&1); then
  CDXNPM=$NPM_DIR/node_modules/.bin/cyclonedx-npm
  if ! { "$CDXNPM" --output-format JSON --output-file "$WORK/npm-peer-all.cdx.json" "$APP/package.json" &&
         "$CDXNPM" --omit dev --output-format JSON --output-file "$WORK/npm-peer-prod.cdx.json" \
           "$APP/package.json"; } >"$WORK/npm-peer.log" 2>&1; then
    fail "cyclonedx-npm did not run"; tail -10 "$WORK/npm-peer.log"
  elif ! { image "$WORK/npm-image" "$APP" /app && sbom "$WORK/npm-image" "$WORK/npm-ours"; }; then
    fail "proofline-sbom on the npm project image"
  else
    if out=$(compare "cyclonedx-npm" "$WORK/npm-peer-all.cdx.json" "$WORK/npm-ours/sbom/sbom.cdx.json" \
        npm /app/ all); then
      pass "cyclonedx-npm: same npm (name, version) set as proofline-sbom, dev dependencies included ($out)"
    else fail "cyclonedx-npm vs proofline-sbom (dev dependencies included)"; echo "$out"; fi
    if out=$(compare "cyclonedx-npm --omit dev" "$WORK/npm-peer-prod.cdx.json" \
        "$WORK/npm-ours/sbom/sbom.cdx.json" npm /app/ required); then
      pass "cyclonedx-npm --omit dev: same set as our components not scope: excluded ($out)"
    else fail "cyclonedx-npm --omit dev vs our non-excluded npm components"; echo "$out"; fi
  fi
else skip "cyclonedx-npm or the project's packages could not be installed (npm, registry.npmjs.org)"; fi

[ "$FAILS" -eq 0 ] || { echo "$FAILS peer cross-check(s) failed" >&2; exit 1; }
