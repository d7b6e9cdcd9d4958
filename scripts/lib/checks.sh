# shellcheck shell=bash
# What the check scripts (validate-sboms, crosscheck-*) share, sourced at their top: the repository
# root as working directory, a work folder removed on exit, PASS/FAIL/SKIP lines with a failure
# count, and cached Python venvs for the reference tools.
#   PROOFLINE_VALIDATORS_DIR   install cache (default ~/.cache/proofline-validators)
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
TOOLS=${PROOFLINE_VALIDATORS_DIR:-$HOME/.cache/proofline-validators}
mkdir -p "$TOOLS"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILS=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1"; FAILS=$((FAILS + 1)); }
skip() { echo "SKIP $1"; }

# venv NAME PACKAGE...: creates or reuses a venv; prints nothing, returns 1 when it can't.
venv() {
  local dir=$TOOLS/$1; shift

  if [ ! -f "$dir/.installed" ] || [ "$(cat "$dir/.installed")" != "$*" ]; then
    rm -rf "$dir"
    python3 -m venv "$dir" >/dev/null 2>&1 || return 1
    "$dir/bin/pip" install -q --disable-pip-version-check "$@" >"$WORK/pip-$(basename "$dir").log" 2>&1 || {
      tail -3 "$WORK/pip-$(basename "$dir").log" >&2; return 1; }
    echo "$*" > "$dir/.installed"
  fi
}
