#!/usr/bin/env bash
# The reference validators on the SBOM stage's real outputs: `proofline pipeline` and
# `proofline-sbom` run on the fixture image, then
#   SPDX 3.0.1  spdx3-validate (JSON schema + SHACL model), offline
#   SPDX 2.3    pyspdxtools (spdx-tools), which parses and validates the document
#   CycloneDX   cyclonedx-python-lib's JsonStrictValidator, for 1.4, 1.5 and 1.6
#   and the scan stage's SARIF, OpenVEX and GitLab report with python-jsonschema (official schemas)
# Each validator is installed from PyPI into a cached venv. One that cannot be installed (no
# network, no python3-venv) is reported SKIP; a document a validator rejects is FAIL (exit 1).
#
#   scripts/validate-sboms.sh            (run by scripts/test.sh after the cargo tests)
#   PROOFLINE_VALIDATORS_DIR             venv cache (default ~/.cache/proofline-validators)
set -uo pipefail
# shellcheck source=lib/checks.sh
source "$(dirname "$0")/lib/checks.sh"

echo "== building and running the SBOM stage on the fixture image" >&2
# As `cargo test --workspace` builds them (same profile and features): a no-op after the tests.
cargo test -q --workspace --locked --no-run 2>/dev/null || exit 1
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/debug
IMAGE=oci:fixtures/images/app:1.0
unset PROOFLINE_SPDX_VERSION PROOFLINE_CYCLONEDX_VERSION PROOFLINE_FAIL_ON_MODIFIED PROOFLINE_IMAGE
# From a folder that is not a git checkout, so the source stage is skipped.
(cd "$WORK" && "$BIN/proofline" pipeline --image "oci:$ROOT/fixtures/images/app:1.0" \
  --db "$ROOT/fixtures/vulndb" --max-db-age 100000 --vex "$ROOT/fixtures/scan/app.openvex.json" \
  --evidence-dir "$WORK/pipeline" >/dev/null 2>"$WORK/pipeline.log") ||
  { cat "$WORK/pipeline.log" >&2; echo "FAIL proofline pipeline"; exit 1; }
SPDX3=("$WORK/pipeline/sbom/sbom.spdx.json")
CDX=("1.6:$WORK/pipeline/sbom/sbom.cdx.json")
"$BIN/proofline-sbom" --image "$IMAGE" --evidence-dir "$WORK/v23" --spdx-version 2.3 \
  --cyclonedx-version 1.4 2>"$WORK/v23.log" || { cat "$WORK/v23.log" >&2; echo "FAIL proofline-sbom --spdx-version 2.3"; exit 1; }
SPDX23=("$WORK/v23/sbom/sbom.spdx.json")
CDX+=("1.4:$WORK/v23/sbom/sbom.cdx.json")
"$BIN/proofline-sbom" --image "$IMAGE" --evidence-dir "$WORK/v15" --cyclonedx-version 1.5 \
  2>"$WORK/v15.log" || { cat "$WORK/v15.log" >&2; echo "FAIL proofline-sbom --cyclonedx-version 1.5"; exit 1; }
CDX+=("1.5:$WORK/v15/sbom/sbom.cdx.json")

# SPDX 3.0.1: spdx3-validate fetches the schema, SHACL model and context from spdx.org on
# every run; answer those from fixtures/schemas/spdx3 and refuse every other URL.
if venv spdx3 spdx3-validate==0.0.7; then
  for doc in "${SPDX3[@]}"; do
    if "$TOOLS/spdx3/bin/python" - "$ROOT/fixtures/schemas/spdx3" -q --json "$doc" <<'PY' >"$WORK/out" 2>&1
import email.message, io, pathlib, sys, urllib.error, urllib.request, urllib.response
local = pathlib.Path(sys.argv.pop(1))
urls = {
    "https://spdx.org/rdf/3.0.1/spdx-context.jsonld": local / "spdx-context.jsonld",
    "https://spdx.org/rdf/3.0.1/spdx-model.ttl": local / "spdx-model.ttl",
    "https://spdx.org/schema/3.0.1/spdx-json-schema.json": local / "spdx-json-schema.json",
}
class Offline(urllib.request.BaseHandler):
    handler_order = 100
    def _open(self, req):
        if req.full_url not in urls:
            raise urllib.error.URLError(f"offline: {req.full_url}")
        resp = urllib.response.addinfourl(io.BytesIO(urls[req.full_url].read_bytes()), email.message.Message(), req.full_url, 200)
        resp.msg = "OK"
        return resp
    https_open = http_open = _open
urllib.request.install_opener(urllib.request.build_opener(Offline()))
from spdx3_validate.main import main
sys.exit(main())
PY
    then pass "spdx3-validate: $(basename "$(dirname "$(dirname "$doc")")")/sbom.spdx.json (SPDX 3.0.1)"
    else fail "spdx3-validate: $doc"; tail -20 "$WORK/out"; fi
  done
else skip "spdx3-validate could not be installed"; fi

if venv spdx-tools spdx-tools==0.8.5; then
  for doc in "${SPDX23[@]}"; do
    if "$TOOLS/spdx-tools/bin/pyspdxtools" -i "$doc" >"$WORK/out" 2>&1; then
      pass "pyspdxtools: sbom.spdx.json (SPDX 2.3)"
    else fail "pyspdxtools: $doc"; tail -20 "$WORK/out"; fi
  done
else skip "pyspdxtools could not be installed"; fi

if venv cdx cyclonedx-python-lib==11.6.0 'jsonschema[format]'; then
  for entry in "${CDX[@]}"; do
    version=${entry%%:*} doc=${entry#*:}
    if "$TOOLS/cdx/bin/python" - "$version" "$doc" <<'PY' >"$WORK/out" 2>&1
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
version = {"1.4": SchemaVersion.V1_4, "1.5": SchemaVersion.V1_5, "1.6": SchemaVersion.V1_6}[sys.argv[1]]
error = JsonStrictValidator(version).validate_str(open(sys.argv[2]).read())
if error is not None:
    print(error)
    sys.exit(1)
PY
    then pass "cyclonedx-python-lib JsonStrictValidator: sbom.cdx.json (CycloneDX $version)"
    else fail "cyclonedx-python-lib: $doc (CycloneDX $version)"; tail -20 "$WORK/out"; fi
  done
else skip "cyclonedx-python-lib could not be installed"; fi

# The scan stage's outputs from the same pipeline run, against their official schemas with the
# reference Python implementation of JSON Schema (a second validator beside the Rust tests').
if venv cdx cyclonedx-python-lib==11.6.0 'jsonschema[format]'; then
  for entry in "sarif/sarif-schema-2.1.0.json:results.sarif" \
    "openvex/openvex_json_schema.json:vex.openvex.json" \
    "gitlab-security-reports/container-scanning-report-format.json:gl-container-scanning-report.json"; do
    schema=${entry%%:*} doc=${entry#*:}
    if "$TOOLS/cdx/bin/python" - "$ROOT/fixtures/schemas/$schema" "$WORK/pipeline/scan/$doc" <<'PY' >"$WORK/out" 2>&1
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
cls = jsonschema.validators.validator_for(schema)
errors = sorted(cls(schema, format_checker=cls.FORMAT_CHECKER).iter_errors(doc), key=str)
for e in errors[:20]:
    print(f"{'/'.join(map(str, e.absolute_path))}: {e.message}")
sys.exit(1 if errors else 0)
PY
    then pass "python-jsonschema: scan/$doc against $schema"
    else fail "python-jsonschema: scan/$doc against $schema"; tail -20 "$WORK/out"; fi
  done
else skip "python-jsonschema could not be installed"; fi

[ "$FAILS" -eq 0 ] || { echo "$FAILS reference validation(s) failed" >&2; exit 1; }
