#!/usr/bin/env bash
# Runs Proofline's whole test suite on a fresh Debian machine with Rust: installs what the
# tests need (the real registry server, skopeo, htpasswd, gpg) and runs every test.
# Registry tests start their own docker-registry on a free 127.0.0.1 port and stop it.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool -> Debian package
declare -A need=(
  [docker-registry]=docker-registry
  [jq]=jq
  [curl]=curl
  [openssl]=openssl
  [skopeo]=skopeo
  [htpasswd]=apache2-utils
  [gpg]=gnupg
  [ssh-keygen]=openssh-client
  [git]=git
  [cc]=gcc
)
missing=()
for tool in "${!need[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${need[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test dependencies: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  # Without systemd, the package's init script may have started a registry on every interface.
  if command -v service >/dev/null 2>&1; then $SUDO service docker-registry stop >/dev/null 2>&1 || true; fi
fi
# Debian enables and starts docker-registry as a service listening on every interface;
# our tests never use it (each starts its own, loopback only), so stop it if it runs.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi

# python3-venv: the reference SBOM validators (spdx3-validate, pyspdxtools, cyclonedx-python-lib)
# are installed from PyPI into venvs by scripts/validate-sboms.sh.
if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends python3-venv || true
fi

# A fresh CI machine builds everything once: incremental compilation only costs time there
# (set CARGO_INCREMENTAL=1 to keep it on a development machine).
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
cargo test --workspace --locked "$@"
# The reference validators on the SBOM stage's real outputs (skipped, not failed, where they
# cannot be installed; a document they reject fails the run).
scripts/validate-sboms.sh
# Our package sets against the peer tools' on the same inputs (cyclonedx-py, cyclonedx-npm).
scripts/crosscheck-sbom.sh
# The scan stage against cargo-audit on the same RustSec data: a Cargo.lock and a cargo-auditable
# binary (cargo-audit is built from crates.io into ~/.cache/proofline-peers on first use).
scripts/crosscheck-scan.sh
# The sign stage against sigstore-js (offline, keyed and keyless bundles), the in-toto-attestation
# validators and openssl; `proofline verify` against tampered evidence.
scripts/crosscheck-sign.sh
