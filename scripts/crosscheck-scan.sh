#!/usr/bin/env bash
# The scan stage against cargo-audit on the same RustSec data (issue 5, cross-check):
#   (a) a Cargo.lock       `cargo audit --file`          vs proofline-scan on an image holding it at
#                                                          /app/Cargo.lock
#   (b) a cargo-auditable  `cargo audit bin`             vs proofline-scan on an image holding it at
#       binary                                             /usr/local/bin/rust-app
# Inputs: fixtures/scan/rust-app/ (Cargo.lock and the `cargo auditable` binary built from it: chrono
# 0.4.19, regex 1.5.4, smallvec 1.6.0, time 0.1.45). Data: fixtures/vulndb-rustsec/ (RustSec's
# `main` branch Markdown advisories of every crate in that lockfile, what cargo-audit reads) and
# fixtures/vulndb/rustsec-osv/ (the same advisories from RustSec's `osv` branch, what Proofline
# reads). Compared: the sets of (RUSTSEC id, crate, version); cargo-audit's side is
# `vulnerabilities.list` plus its informational-advisory warnings (`unmaintained`, `unsound`,
# `notice`), not `yanked` (that is crates.io's index, not an advisory).
# cargo-audit is installed from crates.io into a cache keyed by its version; when it can't be
# installed (no network) it is SKIP, as is the Proofline half until target/debug/proofline-scan is
# built; cargo-audit not finding exactly the expected set, or the two sets differing, is FAIL
# (exit 1).
#
#   scripts/crosscheck-scan.sh       (run by scripts/test.sh after building proofline-scan)
#   PROOFLINE_PEERS_DIR              install cache (default ~/.cache/proofline-peers)
#   PROOFLINE_SCAN_BIN               the scan binary (default $CARGO_TARGET_DIR/debug/proofline-scan)
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "$0")/lib/checks.sh"
PEERS=${PROOFLINE_PEERS_DIR:-$HOME/.cache/proofline-peers}
CARGO_AUDIT_VERSION=0.22.2
command -v jq >/dev/null || { fail "jq is not installed"; exit 1; }

APP=fixtures/scan/rust-app
DB_MD=fixtures/vulndb-rustsec
DB_OSV=fixtures/vulndb/rustsec-osv
# What the advisories say for the lockfile's versions (SOURCE.md of fixtures/vulndb-rustsec): both
# tools must find exactly these, on both inputs. Every other advisory of these crates is outside
# its range (smallvec's four older ones, time's RUSTSEC-2026-0009 for 0.3.6..0.3.47).
EXPECTED='RUSTSEC-2020-0071 time 0.1.45
RUSTSEC-2020-0159 chrono 0.4.19
RUSTSEC-2021-0003 smallvec 1.6.0
RUSTSEC-2022-0013 regex 1.5.4'

# image LAYOUT SRC DEST: an OCI layout (tag `latest`, one gzip layer) holding file or directory
# SRC at the absolute path DEST.
image() { python3 "$ROOT/scripts/lib/oci-layout.py" "$@"; }

# same LABEL A_NAME A_FILE B_NAME B_FILE: PASS/FAIL on two sorted sets (an empty one never
# passes), both printed when they differ; returns 1 on FAIL.
same() {
  if [ -s "$3" ] && cmp -s "$3" "$5"; then
    pass "$1: $2 and $4 agree ($(wc -l < "$3") findings: $(cut -d' ' -f1 "$3" | paste -sd' '))"
  else
    fail "$1: $2 and $4 differ"
    echo "  $2:"; sed 's/^/    /' "$3"
    echo "  $4:"; sed 's/^/    /' "$5"
    return 1
  fi
}

# ---------------------------------------------------------------- cargo-audit
CA_ROOT=$PEERS/cargo-audit
CA=$CA_ROOT/bin/cargo-audit
cargo_audit() {
  if [ -x "$CA" ] && [ "$("$CA" audit --version 2>/dev/null)" = "cargo-audit-audit $CARGO_AUDIT_VERSION" ]; then
    return 0
  fi
  command -v cargo >/dev/null || return 1
  echo "== installing cargo-audit $CARGO_AUDIT_VERSION into $CA_ROOT (a few minutes: opt-level 1, no LTO)" >&2
  rm -rf "$CA_ROOT"
  # A cross-check needs cargo-audit's answers, not its speed: a lighter release profile halves the
  # build on CI's two cores (xtask bench-scan installs a full release build for timings).
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_LTO=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 CARGO_PROFILE_RELEASE_DEBUG=false \
  CARGO_TARGET_DIR=$WORK/cargo-audit-target cargo install -q --locked \
    --version "=$CARGO_AUDIT_VERSION" --root "$CA_ROOT" cargo-audit >"$WORK/install.log" 2>&1 || {
    tail -5 "$WORK/install.log" >&2; rm -rf "$CA_ROOT"; return 1; }
  rm -rf "$WORK/cargo-audit-target"
}

# audit_set JSON: cargo-audit's (id, crate, version) set, sorted. Its `warnings` is a map from
# kind to a list, each entry with its `kind`.
audit_set() {
  jq -r '
    [ (.vulnerabilities.list // [])[],
      ((.warnings // {}) | if type == "object" then [.[][]] else . end)[]
        | select(.kind != "yanked") ]
    | .[] | "\(.advisory.id) \(.package.name) \(.package.version)"' "$1" | sort -u
}

# run_audit LABEL OUT_JSON ARGS...: runs cargo-audit (exit 1 means "vulnerabilities found", so
# only unparsable output fails), prints the wall time in ms on stdout.
run_audit() {
  local label=$1 out=$2; shift 2
  local t0 t1
  t0=$(date +%s%N)
  (cd "$WORK" && "$CA" audit "$@") >"$out" 2>"$out.err"
  t1=$(date +%s%N)
  if ! jq -e '.vulnerabilities' "$out" >/dev/null 2>&1; then
    echo "cargo audit $label gave no JSON report:" >&2; tail -10 "$out.err" "$out" >&2; return 1
  fi
  echo $(( (t1 - t0) / 1000000 ))
}

echo "$EXPECTED" > "$WORK/expected.txt"
LOCK_OK=0 BIN_OK=0
if cargo_audit; then
  # With --no-fetch cargo-audit loads the database with rustsec's `Database::open`: a plain
  # directory of `crates/<crate>/RUSTSEC-*.md` (no git repository, no top-level file; the `rust/`
  # collection is optional). --no-yanked keeps it off the crates.io index. Options go before `bin`.
  CA_ARGS=(--db "$ROOT/$DB_MD" --no-fetch --stale --no-yanked --json)
  if ms=$(run_audit "(Cargo.lock)" "$WORK/audit-lock.json" "${CA_ARGS[@]}" --file "$ROOT/$APP/Cargo.lock"); then
    audit_set "$WORK/audit-lock.json" > "$WORK/audit-lock.txt"
    echo "cargo-audit $CARGO_AUDIT_VERSION on the Cargo.lock: ${ms} ms" >&2
    same "cargo audit on $APP/Cargo.lock (${ms} ms)" "expected" "$WORK/expected.txt" \
      "cargo-audit" "$WORK/audit-lock.txt" && LOCK_OK=1
  else fail "cargo audit on $APP/Cargo.lock did not run"; fi
  if ms=$(run_audit "bin" "$WORK/audit-bin.json" "${CA_ARGS[@]}" bin "$ROOT/$APP/rust-app-audited"); then
    audit_set "$WORK/audit-bin.json" > "$WORK/audit-bin.txt"
    echo "cargo-audit $CARGO_AUDIT_VERSION bin on the auditable binary: ${ms} ms" >&2
    same "cargo audit bin on $APP/rust-app-audited (${ms} ms)" "expected" "$WORK/expected.txt" \
      "cargo-audit" "$WORK/audit-bin.txt" && BIN_OK=1
  else fail "cargo audit bin on $APP/rust-app-audited did not run"; fi
else skip "cargo-audit $CARGO_AUDIT_VERSION could not be installed (cargo install from crates.io)"; fi

# ---------------------------------------------------------------- proofline-scan
# As `cargo test --workspace` builds it (same profile and features): a no-op after the tests.
[ -n "${PROOFLINE_SCAN_BIN:-}" ] || cargo test -q --workspace --locked --no-run 2>/dev/null
SCAN=${PROOFLINE_SCAN_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/proofline-scan}
unset PROOFLINE_DB PROOFLINE_IMAGE

# scan_set LAYOUT EVIDENCE: proofline-scan on the layout, its crates.io (RUSTSEC id, crate,
# version) set, sorted; the finding's RUSTSEC id is its `id` or the RUSTSEC alias.
scan_set() {
  if ! (cd "$WORK" && "$SCAN" --image "oci:$1:latest" --db "$ROOT/$DB_OSV" --evidence-dir "$2" \
      --fail-on none --max-db-age 100000 >"$2.log" 2>&1); then
    echo "proofline-scan failed:" >&2; tail -20 "$2.log" >&2; return 1
  fi
  [ -f "$2/scan/report.json" ] || { echo "no $2/scan/report.json" >&2; return 1; }
  jq -r '.findings[] | select(.package.ecosystem == "crates.io")
    | (([.id] + (.aliases // [])) | map(select(startswith("RUSTSEC-"))) | first // "?")
      + " \(.package.name) \(.package.version)"' "$2/scan/report.json" | sort -u
}

if [ ! -x "$SCAN" ]; then
  skip "proofline-scan not built ($SCAN)"
else
  # (a) the Cargo.lock at /app/Cargo.lock
  mkdir -p "$WORK/lock-src"
  cp "$APP/Cargo.lock" "$WORK/lock-src/Cargo.lock"
  if image "$WORK/lock-image" "$WORK/lock-src" /app &&
      scan_set "$WORK/lock-image" "$WORK/lock-ev" > "$WORK/scan-lock.txt"; then
    if [ "$LOCK_OK" = 1 ]; then
      same "Cargo.lock: same (RUSTSEC id, crate, version) set" "cargo-audit" "$WORK/audit-lock.txt" \
        "proofline-scan" "$WORK/scan-lock.txt"
    else
      same "Cargo.lock (cargo-audit not run: against the expected set)" "expected" \
        "$WORK/expected.txt" "proofline-scan" "$WORK/scan-lock.txt"
    fi
  else fail "proofline-scan on an image holding $APP/Cargo.lock"; fi
  # (b) the cargo-auditable binary at /usr/local/bin/rust-app
  if image "$WORK/bin-image" "$APP/rust-app-audited" /usr/local/bin/rust-app &&
      scan_set "$WORK/bin-image" "$WORK/bin-ev" > "$WORK/scan-bin.txt"; then
    if [ "$BIN_OK" = 1 ]; then
      same "cargo-auditable binary: same (RUSTSEC id, crate, version) set" "cargo-audit bin" \
        "$WORK/audit-bin.txt" "proofline-scan" "$WORK/scan-bin.txt"
    else
      same "cargo-auditable binary (cargo-audit not run: against the expected set)" "expected" \
        "$WORK/expected.txt" "proofline-scan" "$WORK/scan-bin.txt"
    fi
  else fail "proofline-scan on an image holding $APP/rust-app-audited"; fi
fi

[ "$FAILS" -eq 0 ] || { echo "$FAILS scan cross-check(s) failed" >&2; exit 1; }
