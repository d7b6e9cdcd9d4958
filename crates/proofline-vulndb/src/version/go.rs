//! Go versions as SemVer 2.0: module versions (`v1.2.3`, pseudo-versions, `+incompatible`) by
//! `golang.org/x/mod/semver`'s rules, and Go toolchain versions (`go1.21.3`, `1.21rc2`) by
//! `x/vuln`'s `GoTagToSemver`, so both meet OSV's `SEMVER` ranges (which OSV's Go data writes
//! without the `v`).
//!
//! Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`, `v1.2.4-0.20191109021931-…`) are
//! SemVer pre-releases and need no special case: the Go modules reference defines them so that
//! SemVer precedence orders them below the release they precede. `+incompatible` is build
//! metadata, which precedence ignores.

/// Parses a Go module or toolchain version. The error is the reason, for [`super::VersionError`].
pub(crate) fn parse(text: &str) -> Result<semver::Version, String> {
    if let Some(tag) = text.strip_prefix("go") {
        // A Go binary's build info may add settings after a space: `go1.21.3 X:boringcrypto`.
        let tag = tag.split_whitespace().next().unwrap_or_default();
        return toolchain(tag).ok_or_else(|| {
            format!(
                "{text:?} is not a Go release tag (goMAJOR.MINOR[.PATCH][betaN|rcN], \
                 e.g. go1.21.3 or go1.22rc2)"
            )
        });
    }
    let bare = text.strip_prefix('v').unwrap_or(text);
    match semver::Version::parse(bare) {
        Ok(version) => Ok(version),
        Err(semver_error) => shorthand(bare)
            .or_else(|| {
                (bare.len() == text.len())
                    .then(|| toolchain(bare))
                    .flatten()
            })
            .ok_or_else(|| {
                format!(
                    "{semver_error} (Go module versions are vMAJOR.MINOR.PATCH[-pre][+build], \
                     toolchain versions 1.21.3, 1.21 or 1.21rc2)"
                )
            }),
    }
}

/// `x/mod/semver`'s shorthands `v1` and `v1.2` (for `v1.0.0` and `v1.2.0`); no pre-release or
/// build may follow a shorthand.
fn shorthand(text: &str) -> Option<semver::Version> {
    let mut parts = text.split('.');
    let major = number(parts.next()?)?;
    let minor = match parts.next() {
        Some(minor) => number(minor)?,
        None => 0,
    };
    parts
        .next()
        .is_none()
        .then(|| semver::Version::new(major, minor, 0))
}

/// A SemVer numeric identifier: ASCII digits, no leading zero.
fn number(text: &str) -> Option<u64> {
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return None;
    }
    text.parse().ok()
}

/// `GoTagToSemver` without the `go`: `1` (only `go1`), `MAJOR.MINOR[.PATCH][(beta|rc|-pre)N]`;
/// a missing patch is `.0` (`1.21` → 1.21.0, `1.21rc2` → 1.21.0-rc.2).
fn toolchain(tag: &str) -> Option<semver::Version> {
    if tag == "1" {
        return Some(semver::Version::new(1, 0, 0));
    }
    let end = tag
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(tag.len());
    let (numbers, pre) = tag.split_at(end);
    let mut parts = numbers.split('.');
    let major = digits(parts.next()?)?;
    let minor = digits(parts.next()?)?;
    let patch = match parts.next() {
        Some(patch) => digits(patch)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    let mut version = semver::Version::new(major, minor, patch);
    if !pre.is_empty() {
        let (kind, n) = ["beta", "rc", "-pre"]
            .iter()
            .find_map(|kind| Some((kind.trim_start_matches('-'), pre.strip_prefix(kind)?)))?;
        digits(n)?;
        version.pre = semver::Prerelease::new(&format!("{kind}.{n}")).ok()?;
    }
    Some(version)
}

/// `\d+` in `GoTagToSemver`'s pattern.
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
