//! Ordering tests per ecosystem through the public API, from each ecosystem's own rules and
//! upstream test vectors (cited per test), malformed and hostile input, and a property check
//! that every ecosystem's order is a consistent total preorder over its vectors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cmp::Ordering;

use super::*;
use crate::ecosystem::OsvEcosystem;

fn v(ecosystem: &OsvEcosystem, text: &str) -> Version {
    Version::parse(ecosystem, text)
        .unwrap_or_else(|e| panic!("{text:?} should parse for {ecosystem}: {e}"))
}

fn cmp(ecosystem: &OsvEcosystem, a: &str, b: &str) -> Ordering {
    v(ecosystem, a)
        .compare(&v(ecosystem, b))
        .unwrap_or_else(|| panic!("{a} and {b} should be comparable"))
}

fn assert_lt(ecosystem: &OsvEcosystem, low: &str, high: &str) {
    assert_eq!(
        cmp(ecosystem, low, high),
        Ordering::Less,
        "{ecosystem}: {low} < {high}"
    );
    assert_eq!(
        cmp(ecosystem, high, low),
        Ordering::Greater,
        "{ecosystem}: {high} > {low}"
    );
}

fn assert_eq_order(ecosystem: &OsvEcosystem, a: &str, b: &str) {
    assert_eq!(
        cmp(ecosystem, a, b),
        Ordering::Equal,
        "{ecosystem}: {a} == {b}"
    );
    assert_eq!(
        cmp(ecosystem, b, a),
        Ordering::Equal,
        "{ecosystem}: {b} == {a}"
    );
}

/// Each version strictly below the next.
fn assert_ascending(ecosystem: &OsvEcosystem, list: &[&str]) {
    for pair in list.windows(2) {
        if let [low, high] = pair {
            assert_lt(ecosystem, low, high);
        }
    }
}

fn assert_rejected(ecosystem: &OsvEcosystem, text: &str) -> VersionError {
    match Version::parse(ecosystem, text) {
        Ok(parsed) => panic!("{text:?} should not parse for {ecosystem}, got {parsed:?}"),
        Err(e) => e,
    }
}

// ---------------------------------------------------------------------------------------------
// Debian and Ubuntu: Debian policy §5.6.12 and dpkg's lib/dpkg/t/t-version.c.

const DEBIAN_ORDERED: &[&str] = &[
    // Policy §5.6.12's own example: `~~`, `~~a`, `~`, the empty part, `a`.
    "1.0~~",
    "1.0~~a",
    "1.0~",
    "1.0",
    "1.0a",
    "1.0+dfsg",
    "1.0.0",
    "1.0.1~rc1-1",
    "1.0.1-1",
    "1.0.1-1+b1",
    "1.0.1-1+deb12u1",
    "1.0.1-1+deb12u4",
    "1.0.1-1+deb12u14",
    "1.0.1-1.1",
    "1.0.1-2",
    "1.0.1-10",
    "1.10",
    "2.0",
    "1:0.1",
    "1:0.9-1",
    "2:0.0.1",
];

#[test]
fn debian_policy_order() {
    assert_ascending(&OsvEcosystem::Debian, DEBIAN_ORDERED);
}

#[test]
fn debian_epochs_and_revisions() {
    let d = &OsvEcosystem::Debian;
    // An absent epoch is 0, an absent revision sorts as "0" (dpkg's t-version.c: 0:0-00 == 00-0).
    assert_eq_order(d, "0:1.0", "1.0");
    assert_eq_order(d, "1.0", "1.0-0");
    assert_eq_order(d, "0-00", "00-0");
    assert_lt(d, "0:0-0", "1:0-0");
    // The epoch outweighs everything after it.
    assert_lt(d, "9.9.9-99", "1:0.1-1");
    // Revisions compare by dpkg's algorithm, digits numerically.
    assert_lt(d, "2.36.1-8+deb12u4", "2.36.1-8+deb12u14");
    assert_lt(d, "7.88.1-10+deb12u5", "7.88.1-10+deb12u12");
    // Binary NMUs: +b1 after the source upload, before the next revision.
    assert_lt(d, "3.0.11-1~deb12u2", "3.0.11-1~deb12u2+b1");
    assert_lt(d, "3.0.11-1~deb12u2+b1", "3.0.11-1");
    // A backport (~bpo) below the release it backports.
    assert_lt(d, "1.2.3-1~bpo12+1", "1.2.3-1");
}

#[test]
fn ubuntu_uses_dpkg_order() {
    let u = &OsvEcosystem::Ubuntu;
    assert_lt(u, "2.35-0ubuntu3.1", "2.35-0ubuntu3.4");
    assert_lt(u, "1.0-1", "1.0-1ubuntu1");
    assert_lt(u, "1.0-1~ubuntu20.04.1", "1.0-1");
    assert_lt(u, "8.2p1-4ubuntu0.5", "8.2p1-4ubuntu0.11");
    // Debian and Ubuntu share the scheme.
    let deb = v(&OsvEcosystem::Debian, "1.0-1");
    assert_eq!(deb.compare(&v(u, "1.0-1ubuntu1")), Some(Ordering::Less));
}

#[test]
fn debian_rejects_malformed() {
    for bad in [
        "", "a1.0", "1.0-", "1.0 -1", "1:", ":1.0", "x:1.0", "1.0_1", "1.0-1_2", "-1",
    ] {
        let e = assert_rejected(&OsvEcosystem::Debian, bad);
        assert_eq!(e.context, "Debian package");
    }
}

// ---------------------------------------------------------------------------------------------
// Alpine: apk-tools' test/version.data, every line, plus the suffix and revision rules.

/// apk-tools' `test/version.data` (GPL-2.0-only test data, kept as a fixture file with its
/// licence, read at run time rather than compiled in): `A OP B` per line, `#` comments.
fn apk_version_data() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/versions/apk-tools-version.data"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn alpine_apk_tools_vectors() {
    let mut checked = 0;
    let data = apk_version_data();
    for line in data.lines() {
        let line = line.split('#').next().unwrap_or_default();
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [a, op, b] = fields[..] else {
            continue;
        };
        let want = match op {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            other => panic!("unknown operator {other} in {line}"),
        };
        // apk-tools defines the order on invalid versions too; compare the texts directly.
        assert_eq!(alpine::compare(a, b), want, "apk: {a} {op} {b}");
        assert_eq!(alpine::compare(b, a), want.reverse(), "apk: {b} vs {a}");
        // And through the API for the valid ones.
        if let (Ok(va), Ok(vb)) = (
            Version::parse(&OsvEcosystem::Alpine, a),
            Version::parse(&OsvEcosystem::Alpine, b),
        ) {
            assert_eq!(va.compare(&vb), Some(want), "apk API: {a} {op} {b}");
        }
        checked += 1;
    }
    assert!(checked > 600, "only {checked} vectors read");
}

const ALPINE_ORDERED: &[&str] = &[
    "1.0_alpha",
    "1.0_alpha1",
    "1.0_alpha2_pre1",
    "1.0_alpha2",
    "1.0_beta",
    "1.0_pre1",
    "1.0_rc1",
    "1.0_rc2",
    "1.0",
    "1.0-r0",
    "1.0-r1",
    "1.0-r10",
    "1.0_cvs",
    "1.0_svn",
    "1.0_git20230101",
    "1.0_git20230101~0a1b2c",
    "1.0_git20230101~0a1b2d",
    "1.0_hg",
    "1.0_p1",
    "1.0_p1-r2",
    "1.0_p2",
    "1.0a",
    "1.0b",
    "1.0.1",
    "1.01",
    "1.1",
    "1.2.3-r4",
    "1.10",
    "2",
];

#[test]
fn alpine_suffixes_revisions_and_letters() {
    assert_ascending(&OsvEcosystem::Alpine, ALPINE_ORDERED);
    let a = &OsvEcosystem::Alpine;
    // A number with a leading zero after a dot compares as a string (Gentoo rule)...
    assert_lt(a, "1.02", "1.1");
    assert_lt(a, "1.009", "1.01");
    // ...the first number always numerically.
    assert_lt(a, "1.0.0", "006");
    assert_eq_order(a, "006", "6");
    // Real secdb pairs (Alpine 3.19 openssl, busybox).
    assert_lt(a, "3.1.4-r4", "3.1.4-r5");
    assert_lt(a, "1.36.1-r15", "1.36.1-r19");
    assert_lt(a, "1.36.1-r19", "1.37.0-r0");
}

#[test]
fn alpine_rejects_malformed() {
    for bad in [
        "",
        "v1.0",
        "1.0-r",
        "1.0-1",
        "1.0_foo",
        "1.0_",
        "1..0",
        "1.0.",
        "1.0bc",
        "1.0b1",
        "1.0 ",
        "1.0_alpha.1",
        "1.0-r1-r2",
        "1.0~",
        "1.0~XYZ",
        "1.0-r1_p1",
        "_p1",
        "1.0A",
    ] {
        let e = assert_rejected(&OsvEcosystem::Alpine, bad);
        assert!(e.reason.contains("apk") || e.reason == "it is empty", "{e}");
    }
}

// ---------------------------------------------------------------------------------------------
// PyPI: PEP 440 ("Summary of permitted suffixes and relative ordering" and "Normalization").

const PEP440_ORDERED: &[&str] = &[
    "1.0.dev456",
    "1.0a1",
    "1.0a2.dev456",
    "1.0a12.dev456",
    "1.0a12",
    "1.0b1.dev456",
    "1.0b2",
    "1.0b2.post345.dev456",
    "1.0b2.post345",
    "1.0rc1.dev456",
    "1.0rc1",
    "1.0",
    "1.0+abc.5",
    "1.0+abc.7",
    "1.0+5",
    "1.0.post456.dev34",
    "1.0.post456",
    "1.0.15",
    "1.1.dev1",
    "2.0",
    "1!0.1",
    "1!1.0",
];

#[test]
fn pypi_pep440_order() {
    assert_ascending(&OsvEcosystem::PyPI, PEP440_ORDERED);
}

#[test]
fn pypi_normalisation() {
    let p = &OsvEcosystem::PyPI;
    for (a, b) in [
        ("1.0RC1", "1.0rc1"),
        ("1.0c1", "1.0rc1"),
        ("1.0-post1", "1.0.post1"),
        ("1.0-1", "1.0.post1"),
        ("1.0alpha1", "1.0a1"),
        ("1.0.0", "1.0"),
        ("v1.0", "1.0"),
        ("0!1.0", "1.0"),
        (" 1.0 ", "1.0"),
        ("1.0+Ubuntu-1", "1.0+ubuntu.1"),
        ("1.0.dev", "1.0.dev0"),
    ] {
        assert_eq_order(p, a, b);
    }
    // Real PyPA advisory boundaries.
    assert_lt(p, "2.31.0", "2.32.0");
    assert_lt(p, "41.0.7", "42.0.0rc1");
    assert_lt(p, "1.26.17", "1.26.18");
}

#[test]
fn pypi_rejects_legacy_versions() {
    for bad in [
        "",
        "french toast",
        "1.0-SNAPSHOT",
        "1.0.x",
        "1.0+",
        "2.0.0-beta_1+",
        "1..0",
        "*",
    ] {
        let e = assert_rejected(&OsvEcosystem::PyPI, bad);
        assert_eq!(e.scheme, PEP440);
    }
}

// ---------------------------------------------------------------------------------------------
// npm and crates.io: SemVer 2.0 precedence (semver.org §11).

const SEMVER_ORDERED: &[&str] = &[
    "0.9.0",
    "0.10.0",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "2.0.0",
];

#[test]
fn semver_precedence_npm_and_crates() {
    for eco in [OsvEcosystem::Npm, OsvEcosystem::CratesIo] {
        assert_ascending(&eco, SEMVER_ORDERED);
        // Build metadata never orders (§10): precedence, not `Ord`.
        assert_eq_order(&eco, "1.0.0+build.1", "1.0.0+build.2");
        assert_eq_order(&eco, "1.0.0+build.1", "1.0.0");
        assert_lt(&eco, "1.0.0-rc.1+build.9", "1.0.0+build.1");
    }
}

#[test]
fn npm_tolerates_v_and_equals() {
    let n = &OsvEcosystem::Npm;
    assert_eq_order(n, "v1.2.3", "1.2.3");
    assert_eq_order(n, "=1.2.3", "1.2.3");
    assert_eq_order(n, "=v1.2.3", " 1.2.3 ");
    assert_eq!(v(n, "v1.2.3").as_str(), "v1.2.3");
    for bad in [
        "", "1.2.x", "^1.2.3", "latest", "01.2.3", "1.2.3-01", "1.2.3-", "01.2", "1.", "1.2-rc",
    ] {
        assert_rejected(n, bad);
    }
    // A partial version is padded as OSV pads it: GitHub's npm advisories write range events
    // like `"introduced": "1.0"` (GHSA-r683-j2x4-v87g).
    assert_eq_order(n, "1.0", "1.0.0");
    assert_eq_order(n, "2", "2.0.0");
    assert_eq_order(n, "0", "0.0.0");
    assert_lt(n, "1.0", "3.1.1");
}

#[test]
fn crates_io_is_strict() {
    let c = &OsvEcosystem::CratesIo;
    for bad in [
        "v1.2.3",
        "=1.2.3",
        "1.2",
        " 1.2.3",
        "1.2.3.4",
        "1.2.3-",
        "1.2.3-a..b",
    ] {
        assert_rejected(c, bad);
    }
    // A real RustSec boundary: `>= 0.4.20` patched for `time`.
    assert_lt(c, "0.4.19", "0.4.20");
}

#[test]
fn semver_error_names_the_version_the_ecosystem_and_why() {
    let e = assert_rejected(&OsvEcosystem::Npm, "1.2.x");
    let text = e.to_string();
    assert!(
        text.starts_with(r#"version "1.2.x" of npm package is not SemVer 2.0: "#),
        "{text}"
    );
    let e = Version::parse_semver("1.2").unwrap_err();
    assert!(
        e.to_string()
            .starts_with(r#"version "1.2" of an OSV SEMVER range is not SemVer 2.0: "#),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Go: golang.org/x/mod/semver's semver_test.go list, the Go modules reference on
// pseudo-versions and +incompatible, and x/vuln's GoTagToSemver for toolchain versions.

/// x/mod/semver's `tests` table, valid entries, in its order (equal neighbours marked by the
/// canonical form they share).
const GO_MOD_SEMVER: &[(&str, &str)] = &[
    ("v1.0.0-alpha", "v1.0.0-alpha"),
    ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
    ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
    ("v1.0.0-beta", "v1.0.0-beta"),
    ("v1.0.0-beta.2", "v1.0.0-beta.2"),
    ("v1.0.0-beta.11", "v1.0.0-beta.11"),
    ("v1.0.0-rc.1", "v1.0.0-rc.1"),
    ("v1", "v1.0.0"),
    ("v1.0", "v1.0.0"),
    ("v1.0.0", "v1.0.0"),
    ("v1.2", "v1.2.0"),
    ("v1.2.0", "v1.2.0"),
    ("v1.2.3-456", "v1.2.3-456"),
    ("v1.2.3-456.789", "v1.2.3-456.789"),
    ("v1.2.3-456-789", "v1.2.3-456-789"),
    ("v1.2.3-456a", "v1.2.3-456a"),
    ("v1.2.3-pre", "v1.2.3-pre"),
    ("v1.2.3-pre+meta", "v1.2.3-pre"),
    ("v1.2.3-pre.1", "v1.2.3-pre.1"),
    ("v1.2.3-zzz", "v1.2.3-zzz"),
    ("v1.2.3", "v1.2.3"),
    ("v1.2.3+meta", "v1.2.3"),
    ("v1.2.3+meta-pre", "v1.2.3"),
    ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
];

#[test]
fn go_x_mod_semver_compare_table() {
    let g = &OsvEcosystem::Go;
    for (i, (a, ca)) in GO_MOD_SEMVER.iter().enumerate() {
        for (j, (b, cb)) in GO_MOD_SEMVER.iter().enumerate() {
            let want = if ca == cb { Ordering::Equal } else { i.cmp(&j) };
            assert_eq!(cmp(g, a, b), want, "Compare({a}, {b})");
        }
    }
    assert_lt(g, "v1.2", "v1.19");
    // x/mod/semver's invalid entries.
    for bad in [
        "bad",
        "v1-alpha.beta.gamma",
        "v1-pre",
        "v1+meta",
        "v1-pre+meta",
        "v1.2-pre",
        "v1.2+meta",
        "v1.2-pre+meta",
        "v01.2.3",
        "v1.2.3.4",
        "latest",
        "",
        "go1.21.x",
        "gox",
    ] {
        assert_rejected(g, bad);
    }
}

#[test]
fn go_pseudo_versions_and_incompatible() {
    let g = &OsvEcosystem::Go;
    assert_ascending(
        g,
        &[
            "v0.0.0-20191109021931-daa7c04131f5",
            "v0.0.0-20200101000000-000000000000",
            "v0.1.0",
            "v1.2.3",
            "v1.2.4-0.20191109021931-daa7c04131f5",
            "v1.2.4-pre",
            "v1.2.4-pre.0.20191109021931-daa7c04131f5",
            "v1.2.4-pre.1",
            "v1.2.4",
        ],
    );
    // OSV's Go data writes versions without the `v`: both forms meet.
    assert_eq_order(g, "v1.2.3", "1.2.3");
    let osv = Version::parse_semver("0.0.0-20191109021931-daa7c04131f5").unwrap();
    assert_eq!(
        v(g, "v0.0.0-20191109021931-daa7c04131f5").compare(&osv),
        Some(Ordering::Equal)
    );
    // +incompatible is build metadata: ignored for ordering.
    assert_eq_order(g, "v2.0.0+incompatible", "v2.0.0");
    assert_lt(g, "v2.0.0+incompatible", "v2.0.1+incompatible");
    assert_lt(
        g,
        "v2.0.0-20180818164646-67afb5ed74ec+incompatible",
        "v2.0.0+incompatible",
    );
}

#[test]
fn go_toolchain_versions() {
    let g = &OsvEcosystem::Go;
    let semver = |text: &str| Version::parse_semver(text).unwrap();
    // A Go binary's SBOM says go1.21.3; OSV's stdlib ranges say 1.21.3.
    assert_eq!(
        v(g, "go1.21.3").compare(&semver("1.21.3")),
        Some(Ordering::Equal)
    );
    assert_eq!(
        v(g, "go1.21.3 X:boringcrypto").compare(&semver("1.21.3")),
        Some(Ordering::Equal)
    );
    assert_eq!(
        v(g, "1.21").compare(&semver("1.21.0")),
        Some(Ordering::Equal)
    );
    assert_eq!(v(g, "go1").compare(&semver("1.0.0")), Some(Ordering::Equal));
    assert_eq!(
        v(g, "1.21rc2").compare(&semver("1.21.0-rc.2")),
        Some(Ordering::Equal)
    );
    assert_ascending(
        g,
        &[
            "go1.9beta1",
            "go1.9beta2",
            "go1.9rc1",
            "go1.9",
            "go1.9.7",
            "go1.20.14",
            "1.21rc1",
            "go1.21rc2",
            "1.21.0",
            "go1.21.3",
            "1.22",
        ],
    );
    assert_eq!(v(g, "go1.21.3").as_str(), "go1.21.3");
}

// ---------------------------------------------------------------------------------------------
// Maven: the full ComparableVersionTest port is in maven.rs; here the API path.

#[test]
fn maven_through_the_api() {
    let m = &OsvEcosystem::Maven;
    assert_ascending(
        m,
        &[
            "1.0-alpha-1",
            "1.0-beta-1",
            "1.0-M1",
            "1.0-RC1",
            "1.0-SNAPSHOT",
            "1.0",
            "1.0-sp1",
            "1.0-abc",
            "1.0-1",
            "1.0.1",
        ],
    );
    assert_eq_order(m, "1.0.0.RELEASE", "1.0");
    assert_eq_order(m, "1.0-GA", "1.0.0");
    assert_eq_order(m, "1.0-CR1", "1.0-rc-1");
    assert_lt(m, "2.12.7", "2.12.7.1");
    assert_rejected(m, "");
    assert_rejected(m, &"1.".repeat(200));
}

// ---------------------------------------------------------------------------------------------
// Schemes, opaque versions, SEMVER ranges.

#[test]
fn different_schemes_do_not_compare() {
    let pypi = v(&OsvEcosystem::PyPI, "1.0.0");
    let npm = v(&OsvEcosystem::Npm, "1.0.0");
    let deb = v(&OsvEcosystem::Debian, "1.0.0");
    let apk = v(&OsvEcosystem::Alpine, "1.0.0");
    let mvn = v(&OsvEcosystem::Maven, "1.0.0");
    let all = [&pypi, &npm, &deb, &apk, &mvn];
    for (i, a) in all.iter().enumerate() {
        for (j, b) in all.iter().enumerate() {
            let expected = (i == j).then_some(Ordering::Equal);
            assert_eq!(a.compare(b), expected, "{a:?} vs {b:?}");
        }
    }
    // crates.io and npm share SemVer, and so do OSV SEMVER ranges.
    let crates = v(&OsvEcosystem::CratesIo, "1.0.0");
    assert_eq!(crates.compare(&npm), Some(Ordering::Equal));
    assert_eq!(
        Version::parse_semver("v1.0.1").unwrap().compare(&crates),
        Some(Ordering::Greater)
    );
}

#[test]
fn opaque_versions_only_equal_themselves() {
    let gems = OsvEcosystem::Other("RubyGems".into());
    let a = v(&gems, "1.2.3");
    assert_eq!(a.compare(&v(&gems, "1.2.3")), Some(Ordering::Equal));
    assert_eq!(a.compare(&v(&gems, "1.2.4")), None);
    assert_eq!(a.compare(&v(&gems, "1.2.3.0")), None);
    assert_eq!(a.compare(&v(&OsvEcosystem::Npm, "1.2.3")), None);
}

#[test]
fn parse_semver_accepts_only_semver_with_optional_v() {
    for good in [
        "1.2.3",
        "v1.2.3",
        "0.0.0-20191109021931-daa7c04131f5",
        "1.0.0-rc.1+b",
    ] {
        assert!(Version::parse_semver(good).is_ok(), "{good}");
    }
    for bad in [
        "", "1.2", "=1.2.3", "vv1.2.3", "go1.21.3", "1.21rc2", "1.2.3.4", " 1.2.3",
    ] {
        assert!(Version::parse_semver(bad).is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile input: never a panic, always an answer.

#[test]
fn hostile_input_never_panics() {
    let ecosystems = [
        OsvEcosystem::Debian,
        OsvEcosystem::Ubuntu,
        OsvEcosystem::Alpine,
        OsvEcosystem::PyPI,
        OsvEcosystem::Npm,
        OsvEcosystem::CratesIo,
        OsvEcosystem::Go,
        OsvEcosystem::Maven,
        OsvEcosystem::Other("NuGet".into()),
    ];
    let long_digits = "9".repeat(250);
    let inputs = [
        "",
        " ",
        "\0",
        "1.0\0",
        "\u{feff}1.0",
        "１.０",
        "1.٣",
        "İ.1",
        "99999999999999999999999999999999.0",
        "1.99999999999999999999999999999999",
        &long_digits,
        "1-r99999999999999999999999",
        "1:99999999999999999999999",
        "99999999999:1.0",
        "1!2!3",
        "1.0_alpha99999999999999999999999",
        "v",
        "go",
        "go1.99999999999999999999999",
        "1.0-----------------------",
        "-.-.-.",
        "~~~~",
        "+++",
        "1.0+",
        "💥",
    ];
    for eco in &ecosystems {
        let parsed: Vec<Version> = inputs
            .iter()
            .filter_map(|text| Version::parse(eco, text).ok())
            .collect();
        for a in &parsed {
            for b in &parsed {
                let _ = a.compare(b);
            }
        }
        for len in [MAX_VERSION_LEN + 1, 100_000] {
            let e = Version::parse(eco, &"1".repeat(len)).unwrap_err();
            assert!(e.reason.contains("limit"), "{e}");
            assert!(e.text.chars().count() <= 101, "error text is cut");
        }
    }
    for text in inputs {
        let _ = Version::parse_semver(text);
    }
    assert!(Version::parse_semver(&"1".repeat(MAX_VERSION_LEN + 1)).is_err());
    // Deep Maven nesting at the length limit still parses and compares.
    let deep = "1-".repeat(MAX_VERSION_LEN / 2 - 1) + "1";
    let a = v(&OsvEcosystem::Maven, &deep);
    assert_eq!(a.compare(&a), Some(Ordering::Equal));
    assert_eq!(
        a.compare(&v(&OsvEcosystem::Maven, "1-1")),
        Some(Ordering::Greater)
    );
}

// ---------------------------------------------------------------------------------------------
// Property: each ecosystem's order is a total preorder over its vectors (antisymmetric,
// transitive): sort with it, then every pair must agree with the sorted positions.

fn assert_consistent(ecosystem: &OsvEcosystem, texts: &[&str]) {
    let mut versions: Vec<Version> = texts
        .iter()
        .filter_map(|t| Version::parse(ecosystem, t).ok())
        .collect();
    assert!(versions.len() >= 8, "{ecosystem}: too few vectors");
    versions.sort_by(|a, b| a.compare(b).expect("same scheme"));
    let order = |a: &Version, b: &Version| a.compare(b).expect("same scheme");
    for (i, a) in versions.iter().enumerate() {
        assert_eq!(order(a, a), Ordering::Equal, "{ecosystem}: {a} reflexive");
        for (j, b) in versions.iter().enumerate().skip(i + 1) {
            let ab = order(a, b);
            assert_ne!(ab, Ordering::Greater, "{ecosystem}: sorted {a} after {b}");
            assert_eq!(
                order(b, a),
                ab.reverse(),
                "{ecosystem}: {a}/{b} antisymmetric"
            );
            if ab == Ordering::Equal {
                // Ties are contiguous: everything between equal versions equals both.
                for c in versions.get(i + 1..j).unwrap_or_default() {
                    assert_eq!(order(a, c), Ordering::Equal, "{ecosystem}: {a} = {c} = {b}");
                }
            }
        }
    }
}

#[test]
fn every_order_is_consistent() {
    assert_consistent(&OsvEcosystem::Debian, DEBIAN_ORDERED);
    let data = apk_version_data();
    let apk: Vec<&str> = data
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            [f.first().copied(), f.get(2).copied()]
        })
        .flatten()
        .chain(ALPINE_ORDERED.iter().copied())
        .collect();
    assert_consistent(&OsvEcosystem::Alpine, &apk);
    assert_consistent(&OsvEcosystem::PyPI, PEP440_ORDERED);
    assert_consistent(&OsvEcosystem::Npm, SEMVER_ORDERED);
    assert_consistent(&OsvEcosystem::CratesIo, SEMVER_ORDERED);
    let go: Vec<&str> = GO_MOD_SEMVER.iter().map(|(text, _)| *text).collect();
    assert_consistent(&OsvEcosystem::Go, &go);
    let maven: Vec<&str> = maven::tests::VERSIONS_QUALIFIER
        .iter()
        .chain(maven::tests::VERSIONS_NUMBER)
        .copied()
        .chain([
            "6.1.0",
            "6.1.0rc3",
            "6.1H.5-beta",
            "1-0.alpha",
            "1-0.beta",
            "2.0.0.RC1",
            "1-0.sp",
            "1-0.1",
            "1-0-alpha",
            "1.0-sp-1",
            "1-alpha-0.beta",
            "1-0.0.alpha",
        ])
        .collect();
    assert_consistent(&OsvEcosystem::Maven, &maven);
}
