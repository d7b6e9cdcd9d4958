#!/usr/bin/env bash
# The sign stage's output against the reference implementations (issue 6, interop):
#   sigstore-js   every bundle of a keyed `proofline pipeline` run verifies with @sigstore/verify
#                 offline (the key given, no log), and a bundle with one changed byte does not;
#                 the keyless bundles made against the local Fulcio/Rekor stand-in verify with
#                 sigstore-js given the stand-in's trusted root (crates/proofline-sign/tests/keyless.rs,
#                 run here with PROOFLINE_SIGSTORE_JS set).
#   in-toto       every signed statement passes the in-toto-attestation Python validators
#                 (Statement v1), and a statement without a subject digest does not.
#   openssl       the cosign v2 simple-signing signature verifies with `openssl dgst -verify` and
#                 cosign.pub.
#   proofline     `proofline verify` accepts the evidence with the key, and exits 1 for a changed
#                 artifact and for the wrong key.
# Peers are installed from npm / PyPI into a cache; one that cannot be installed is SKIP; a
# rejection of our output is FAIL (exit 1).
#
#   scripts/crosscheck-sign.sh           (run by scripts/test.sh)
#   PROOFLINE_VALIDATORS_DIR             install cache (default ~/.cache/proofline-validators)
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "$0")/lib/checks.sh"

# The binaries of the test build (scripts/test.sh has just built it; no second feature set).
cargo test -q --workspace --locked --no-run >/dev/null 2>&1 || { echo "FAIL build"; exit 1; }
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug/proofline

# ---------------------------------------------------------------- a keyed pipeline run
export PROOFLINE_SIGN_PASSWORD='crosscheck password'
"$BIN" sign keygen --out "$WORK/keys" 2>"$WORK/keygen.log" || { cat "$WORK/keygen.log"; fail "keygen"; exit 1; }
EV=$WORK/evidence
if "$BIN" pipeline --evidence-dir "$EV" --key "$WORK/keys/cosign.key" >"$WORK/pipeline.log" 2>&1; then
  pass "proofline pipeline --key: signed and verified its own evidence"
else
  tail -20 "$WORK/pipeline.log"; fail "proofline pipeline --key"; exit 1
fi
unset PROOFLINE_SIGN_PASSWORD
IMAGE=oci:fixtures/images/app:1.0
if "$BIN" verify --image "$IMAGE" --evidence-dir "$EV" --key "$WORK/keys/cosign.pub" >"$WORK/verify.log" 2>&1; then
  pass "proofline verify --key: $(tail -1 "$WORK/verify.log")"
else
  cat "$WORK/verify.log"; fail "proofline verify --key"
fi
cp -r "$EV" "$WORK/tampered"
sed -i 's/"CycloneDX"/"CycloneDx"/' "$WORK/tampered/sbom/sbom.cdx.json"
"$BIN" verify --image "$IMAGE" --evidence-dir "$WORK/tampered" --key "$WORK/keys/cosign.pub" >"$WORK/t.log" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -Eq 'FAILED +sbom/sbom.cdx.json' "$WORK/t.log"; then
  pass "proofline verify: a changed SBOM exits 1 and is named"
else
  cat "$WORK/t.log"; fail "proofline verify accepted a changed SBOM (exit $rc)"
fi
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$WORK/other.pem" 2>/dev/null
openssl pkey -in "$WORK/other.pem" -pubout -out "$WORK/other.pub" 2>/dev/null
"$BIN" verify --image "$IMAGE" --evidence-dir "$EV" --key "$WORK/other.pub" >"$WORK/o.log" 2>&1
rc=$?
[ $rc -eq 1 ] && pass "proofline verify: another key exits 1" || { cat "$WORK/o.log"; fail "proofline verify with another key (exit $rc)"; }

# ---------------------------------------------------------------- openssl
python3 - "$EV/sign/simple-signing.sigstore.json" "$WORK/simple.sig" <<'PY'
import base64, json, sys
b = json.load(open(sys.argv[1]))
open(sys.argv[2], "wb").write(base64.b64decode(b["messageSignature"]["signature"]))
PY
if out=$(openssl dgst -sha256 -verify "$WORK/keys/cosign.pub" -signature "$WORK/simple.sig" "$EV/sign/simple-signing.json" 2>&1); then
  pass "openssl dgst -verify: simple-signing signature with cosign.pub ($out)"
else
  fail "openssl dgst -verify rejects the simple-signing signature: $out"
fi

# ---------------------------------------------------------------- sigstore-js
NPM=$TOOLS/sigstore-js
JS=$ROOT/scripts/lib/sigstore-js-verify.cjs
SIGSTORE_CLI=@sigstore/cli@0.8.1
if [ ! -f "$NPM/.installed" ] || [ "$(cat "$NPM/.installed")" != "$SIGSTORE_CLI" ]; then
  rm -rf "$NPM"; mkdir -p "$NPM"
  if command -v npm >/dev/null && (cd "$NPM" && npm init -y >/dev/null && npm install --no-fund --no-audit -q "$SIGSTORE_CLI" >"$WORK/npm.log" 2>&1); then
    echo "$SIGSTORE_CLI" > "$NPM/.installed"
  else
    tail -3 "$WORK/npm.log" 2>/dev/null
  fi
fi
if [ -f "$NPM/.installed" ] && command -v node >/dev/null; then
  export NODE_PATH=$NPM/node_modules
  n=0; bad=0
  while IFS= read -r bundle; do
    n=$((n + 1))
    if ! KEY=$WORK/keys/cosign.pub TLOG_THRESHOLD=0 CTLOG_THRESHOLD=0 node "$JS" - "$bundle" - >"$WORK/js.log" 2>&1; then
      bad=$((bad + 1)); cat "$WORK/js.log"
    fi
  done < <(find "$EV/sign" -name '*.sigstore.json' ! -name 'simple-signing.sigstore.json' | sort)
  if KEY=$WORK/keys/cosign.pub TLOG_THRESHOLD=0 CTLOG_THRESHOLD=0 node "$JS" - "$EV/sign/simple-signing.sigstore.json" "$EV/sign/simple-signing.json" >"$WORK/js.log" 2>&1; then
    n=$((n + 1))
  else
    bad=$((bad + 1)); n=$((n + 1)); cat "$WORK/js.log"
  fi
  [ $bad -eq 0 ] && [ $n -gt 10 ] && pass "sigstore-js: all $n keyed bundles verify offline" || fail "sigstore-js: $bad of $n keyed bundles rejected"
  python3 - "$EV/sign/signature.sigstore.json" "$WORK/bad.sigstore.json" <<'PY'
import base64, json, sys
b = json.load(open(sys.argv[1]))
sig = bytearray(base64.b64decode(b["dsseEnvelope"]["signatures"][0]["sig"])); sig[len(sig) // 2] ^= 1
b["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
json.dump(b, open(sys.argv[2], "w"))
PY
  if KEY=$WORK/keys/cosign.pub TLOG_THRESHOLD=0 CTLOG_THRESHOLD=0 node "$JS" - "$WORK/bad.sigstore.json" - >/dev/null 2>&1; then
    fail "sigstore-js accepted a bundle with a changed signature byte (the check cannot fail)"
  else
    pass "sigstore-js rejects a bundle with a changed signature byte"
  fi
  # Keyless: the Rust test signs against the local Fulcio/Rekor stand-in and runs sigstore-js
  # on the bundles with the stand-in's trusted root when PROOFLINE_SIGSTORE_JS is set.
  if PROOFLINE_SIGSTORE_JS="$JS" cargo test -q --workspace --locked --test keyless >"$WORK/keyless.log" 2>&1; then
    pass "sigstore-js: keyless bundles (local Fulcio/Rekor stand-in, its trusted root) verify"
  else
    tail -30 "$WORK/keyless.log"; fail "sigstore-js on keyless bundles"
  fi
  unset NODE_PATH
else
  skip "sigstore-js: $SIGSTORE_CLI could not be installed (no npm or no network)"
fi

# ---------------------------------------------------------------- in-toto-attestation
PY=$TOOLS/in-toto
INTOTO=in-toto-attestation==0.9.3
if venv in-toto "$INTOTO"; then
  if out=$("$PY/bin/python" - "$EV/sign" <<'PY' 2>&1
import base64, glob, json, sys, copy
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
def validate(doc):
    Statement.copy_from_pb(json_format.Parse(json.dumps(doc), statement_pb2.Statement())).validate()
n = 0
for path in sorted(glob.glob(sys.argv[1] + "/**/*.sigstore.json", recursive=True)):
    b = json.load(open(path))
    if "dsseEnvelope" not in b:
        continue
    doc = json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))
    try:
        validate(doc)
    except Exception as e:
        print(f"{path}: {e}"); sys.exit(1)
    n += 1
bad = copy.deepcopy(doc); bad["subject"][0]["digest"] = {}
try:
    validate(bad)
    print("a statement without a subject digest was accepted: the check cannot fail"); sys.exit(1)
except Exception:
    pass
print(f"{n} statements")
PY
  ); then
    pass "in-toto-attestation: $out valid (Statement v1), a subject without digest rejected"
  else
    fail "in-toto-attestation: $out"
  fi
else
  skip "in-toto-attestation: $INTOTO could not be installed (no python3-venv or no network)"
fi

echo "crosscheck-sign: $FAILS failure(s)"
[ $FAILS -eq 0 ]
