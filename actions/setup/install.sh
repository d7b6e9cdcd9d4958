#!/usr/bin/env bash
# Installs the Proofline binaries for a GitHub Actions job: the logic behind actions/setup/action.yml,
# kept in one script so the root action.yml runs the very same steps (a composite action cannot
# `uses: ./actions/setup` portably: local paths resolve against the caller's workspace).
#
#   install.sh resolve   pick the version; download + verify the release asset, or plan a source build
#   install.sh build     cargo install --locked from this action's own source (release missing)
#   install.sh finish    check the binary runs, add its folder to $GITHUB_PATH, write the outputs
#
# Inputs arrive as environment variables only (never spliced into the script):
#   PROOFLINE_SETUP_VERSION      release tag to install; '' = the action's own ref; 'source' = always build
#   PROOFLINE_SETUP_INSTALL_DIR  install root (binaries in <root>/bin); '' = $RUNNER_TEMP/proofline
#   PROOFLINE_SETUP_TOKEN        token for the GitHub releases API (contents: read)
#   PROOFLINE_SETUP_ACTION_REF / PROOFLINE_SETUP_ACTION_REPOSITORY   github.action_ref / action_repository
set -Eeuo pipefail

SRC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
die() { printf '::error title=proofline setup::%s\n' "$*" >&2; exit 1; }
note() { printf '::notice title=proofline setup::%s\n' "$*" >&2; }
output() { printf '%s=%s\n' "$1" "$2" >> "${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set: run this inside GitHub Actions}"; }

install_root() {
  local dir=${PROOFLINE_SETUP_INSTALL_DIR:-}
  [ -n "$dir" ] || dir="${RUNNER_TEMP:?RUNNER_TEMP is not set}/proofline"
  case "$dir" in *$'\n'*) die "install-dir must be a single line";; esac
  mkdir -p "$dir/bin"
  (cd "$dir" && pwd)
}

# Rust target triple of the runner, or '' when no release build exists for it.
target_triple() {
  case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) echo x86_64-unknown-linux-gnu ;;
    Linux/ARM64) echo aarch64-unknown-linux-gnu ;;
    macOS/X64) echo x86_64-apple-darwin ;;
    macOS/ARM64) echo aarch64-apple-darwin ;;
    *) echo "" ;;
  esac
}

sha256_check() {  # sha256_check SUMFILE  (run in the folder holding the files)
  if command -v sha256sum >/dev/null; then sha256sum --check --strict "$1"
  elif command -v shasum >/dev/null; then shasum -a 256 --check --strict "$1"
  else die "neither sha256sum nor shasum is available to verify the release checksum"; fi
}

# Source hash for the cache key: every file cargo reads, plus the toolchain that compiles them.
source_hash() {
  (
    cd "$SRC_ROOT"
    {
      find Cargo.toml Cargo.lock src crates xtask .cargo -type f ! -path '*/target/*' 2>/dev/null \
        | LC_ALL=C sort | while IFS= read -r f; do printf '%s  %s\n' "$(hash_file "$f")" "$f"; done
      rustc --version 2>/dev/null || echo "rustc: absent"
    } | hash_stdin
  )
}
hash_file() { if command -v sha256sum >/dev/null; then sha256sum < "$1"; else shasum -a 256 < "$1"; fi | cut -d' ' -f1; }
hash_stdin() { if command -v sha256sum >/dev/null; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1; }

api_get() {  # api_get URL OUTFILE [ACCEPT] -> prints the HTTP status; the token goes through stdin, never argv
  local url=$1 out=$2 accept=${3:-application/vnd.github+json}
  {
    if [ -n "${PROOFLINE_SETUP_TOKEN:-}" ]; then
      printf 'header = "Authorization: Bearer %s"\n' "$PROOFLINE_SETUP_TOKEN"
    fi
  } | curl --config - --silent --show-error --location --retry 3 --retry-delay 2 --connect-timeout 20 \
    --max-time 300 -H "Accept: $accept" -H "X-GitHub-Api-Version: 2022-11-28" \
    --output "$out" --write-out '%{http_code}' "$url"
}

fetch_asset() {  # fetch_asset URL FILE TAG
  local status
  status=$(api_get "$1" "$2" application/octet-stream) || die "download of $(basename "$2") from release $3 failed"
  [ "$status" = 200 ] || die "download of $(basename "$2") from release $3 answered HTTP $status"
}

# Release metadata of TAG in REPO into DIR/release.json; prints the HTTP status.
release_status() {  # release_status TAG REPO DIR
  api_get "${GITHUB_API_URL:-https://api.github.com}/repos/$2/releases/tags/$1" "$3/release.json" \
    || die "could not reach the GitHub API for release $1 of $2"
}

# Download the runner's asset and SHA256SUMS, verify, unpack bin/ into ROOT. Runs outside any
# `if`, so `set -e` stays in force; every check also dies explicitly.
install_release() {  # install_release TAG REPO ROOT TARGET DIR
  local tag=$1 repo=$2 root=$3 target=$4 tmp=$5 asset url_asset url_sums
  [ -n "$target" ] || die "release $tag has no build for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}; set version: source to build from the action's source"
  command -v jq >/dev/null || die "jq is needed to read the release metadata; install it before this action"
  asset="proofline-$tag-$target.tar.gz"
  url_asset=$(jq -r --arg n "$asset" '[.assets[] | select(.name == $n) | .url] | first // empty' "$tmp/release.json")
  url_sums=$(jq -r '[.assets[] | select(.name == "SHA256SUMS") | .url] | first // empty' "$tmp/release.json")
  [ -n "$url_asset" ] || die "release $tag of $repo has no asset $asset; set version: source to build from the action's source"
  [ -n "$url_sums" ] || die "release $tag of $repo has no SHA256SUMS asset: refusing an unverified download"
  fetch_asset "$url_asset" "$tmp/$asset" "$tag"
  fetch_asset "$url_sums" "$tmp/SHA256SUMS" "$tag"
  # Exactly one line for our asset, then sha256sum -c: a mismatch or a missing line fails closed.
  grep -E "^[0-9a-f]{64} [ *]$(printf '%s' "$asset" | sed 's/[.+]/\\&/g')\$" "$tmp/SHA256SUMS" > "$tmp/asset.sha256" || true
  [ "$(wc -l < "$tmp/asset.sha256")" -eq 1 ] || die "SHA256SUMS of release $tag has no single entry for $asset"
  (cd "$tmp" && sha256_check asset.sha256) || die "checksum mismatch for $asset from release $tag: refusing to install it"
  tar -xzf "$tmp/$asset" -C "$root" --no-same-owner bin/ || die "$asset could not be unpacked"
  [ -x "$root/bin/proofline" ] || die "$asset has no bin/proofline"
}

cmd_resolve() {
  local root target tag repo tmp status explicit=0
  root=$(install_root)
  target=$(target_triple)
  tag=${PROOFLINE_SETUP_VERSION:-}
  [ -n "$tag" ] && explicit=1
  [ -n "$tag" ] || tag=${PROOFLINE_SETUP_ACTION_REF:-}
  repo=${PROOFLINE_SETUP_ACTION_REPOSITORY:-}
  output install-dir "$root"
  if [ "$tag" != source ] && [ -n "$repo" ] && [[ "$tag" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] \
     && ! [[ "$tag" =~ ^[0-9a-f]{40}$ ]]; then
    tmp=$(mktemp -d "${RUNNER_TEMP:-/tmp}/proofline-setup.XXXXXX")
    status=$(release_status "$tag" "$repo" "$tmp") || exit 1
    case "$status" in
      200)
        install_release "$tag" "$repo" "$root" "$target" "$tmp"
        rm -rf "$tmp"
        output mode release
        return ;;
      404)
        rm -rf "$tmp"
        [ "$explicit" = 0 ] || die "no release $tag in $repo; use an existing tag, '' for the action's own ref, or 'source'"
        note "no release $tag in $repo: building Proofline from the action's source" ;;
      401|403) die "GitHub API answered $status for release $tag of $repo: check github-token and that the job grants 'contents: read' (or wait for the rate limit)" ;;
      *) die "GitHub API answered $status for release $tag of $repo; refusing to guess (rerun, or set version: source)" ;;
    esac
  elif [ "$explicit" = 1 ] && [ "$tag" != source ]; then
    die "version '$tag' is not a release tag; use a tag such as v0.1.0, '' or 'source'"
  fi
  output mode source
  output source-hash "$(source_hash)"
}

cmd_build() {
  local root
  root=$(install_root)
  command -v cargo >/dev/null || die "cargo not found: a source build needs a Rust toolchain on the runner (install one before this step), or use a released version"
  cargo install --locked --force --root "$root" --path "$SRC_ROOT"
}

cmd_finish() {
  local root version
  root=$(install_root)
  [ -x "$root/bin/proofline" ] || die "no proofline binary in $root/bin after installation"
  version=$("$root/bin/proofline" --version | head -n 1 | tr -cd '[:alnum:] ._+-')
  [ -n "$version" ] || die "$root/bin/proofline --version printed nothing"
  printf '%s\n' "$root/bin" >> "${GITHUB_PATH:?GITHUB_PATH is not set: run this inside GitHub Actions}"
  output version "${version#proofline }"
  output bin-dir "$root/bin"
}

case "${1:-}" in
  resolve) cmd_resolve ;;
  build) cmd_build ;;
  finish) cmd_finish ;;
  *) echo "usage: $0 resolve|build|finish" >&2; exit 2 ;;
esac
