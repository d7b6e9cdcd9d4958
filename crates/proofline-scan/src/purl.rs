//! Package URLs parsed and normalised one way for VEX products, subcomponents and the scanned
//! packages, so `pkg:PyPI/Foo_Bar@1.0` and `pkg:pypi/foo-bar@1.0` are the same package; the
//! scan reads a package's ecosystem, namespace and `distro`/`upstream` qualifiers from it too.

use std::collections::BTreeMap;

/// A purl longer than this is refused (bounds work on hostile documents).
const MAX_PURL: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurlError {
    #[error("`{0}` is not a package URL (expected `pkg:type/name@version`)")]
    NotAPurl(String),
    #[error("the package URL `{0}` has no name")]
    NoName(String),
    #[error("the package URL `{0}` has a bad percent-escape")]
    BadEscape(String),
    #[error("a package URL of {0} bytes is over the {MAX_PURL}-byte limit")]
    TooLong(usize),
}

/// A normalised purl: type lowercase, every part percent-decoded, PyPI names per PEP 503,
/// names of case-insensitive types lowercased, qualifier keys lowercase and sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub qualifiers: BTreeMap<String, String>,
    pub subpath: Option<String>,
}

impl Purl {
    pub fn parse(text: &str) -> Result<Purl, PurlError> {
        if text.len() > MAX_PURL {
            return Err(PurlError::TooLong(text.len()));
        }
        let not = || PurlError::NotAPurl(text.to_string());
        let rest = text.trim();
        let rest = rest
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("pkg:"))
            .and_then(|_| rest.get(4..))
            .ok_or_else(not)?
            .trim_start_matches('/');
        let (rest, subpath) = match rest.split_once('#') {
            Some((r, s)) => (r, Some(s.trim_matches('/'))),
            None => (rest, None),
        };
        let (rest, qualifiers) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (kind, path) = rest.split_once('/').ok_or_else(not)?;
        let kind = kind.to_ascii_lowercase();
        if kind.is_empty()
            || !kind
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
        {
            return Err(not());
        }
        let path = path.trim_matches('/');
        // The version follows the last `@` of the name (namespaces may hold `@`, e.g. npm scopes).
        let (path, version) = match path.rsplit_once('@') {
            Some((p, v)) if !p.ends_with('/') && !p.is_empty() => (p, Some(v)),
            _ => (path, None),
        };
        let (namespace, name) = match path.rsplit_once('/') {
            Some((ns, n)) => (Some(ns), n),
            None => (None, path),
        };
        let decode_err = || PurlError::BadEscape(text.to_string());
        let mut name = decode(name).ok_or_else(decode_err)?;
        if name.is_empty() {
            return Err(PurlError::NoName(text.to_string()));
        }
        let mut namespace = match namespace {
            Some(ns) => Some(
                ns.split('/')
                    .map(decode)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(decode_err)?
                    .join("/"),
            ),
            None => None,
        };
        match kind.as_str() {
            "pypi" => name = pep503(&name),
            "github" | "bitbucket" | "apk" | "composer" | "deb" | "hex" | "huggingface" => {
                name = name.to_ascii_lowercase();
                namespace = namespace.map(|n| n.to_ascii_lowercase());
            }
            _ => {}
        }
        let version = match version {
            Some(v) if !v.is_empty() => Some(decode(v).ok_or_else(decode_err)?),
            _ => None,
        };
        let mut map = BTreeMap::new();
        if let Some(q) = qualifiers {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let v = decode(v).ok_or_else(decode_err)?;
                if !v.is_empty() {
                    map.insert(k.to_ascii_lowercase(), v);
                }
            }
        }
        let subpath = match subpath {
            Some(s) if !s.is_empty() => Some(decode(s).ok_or_else(decode_err)?),
            _ => None,
        };
        Ok(Purl {
            kind,
            namespace: namespace.filter(|n| !n.is_empty()),
            name,
            version,
            qualifiers: map,
            subpath,
        })
    }

    /// A qualifier's value (`distro`, `upstream`, `arch`, …).
    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers.get(key).map(String::as_str)
    }

    /// Whether this purl (a VEX product or subcomponent) names `package`: same type,
    /// namespace and name; its version, when it has one, exactly the package's; each of its
    /// qualifiers present with the same value on the package; its subpath, if any, the same.
    pub fn covers(&self, package: &Purl) -> bool {
        self.kind == package.kind
            && self.namespace == package.namespace
            && self.name == package.name
            && self
                .version
                .as_ref()
                .is_none_or(|v| package.version.as_ref() == Some(v))
            && self
                .qualifiers
                .iter()
                .all(|(k, v)| package.qualifiers.get(k) == Some(v))
            && self
                .subpath
                .as_ref()
                .is_none_or(|s| package.subpath.as_ref() == Some(s))
    }
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

/// Percent-decode; `None` on a malformed escape or bytes that are not UTF-8.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = char::from(*bytes.get(i + 1)?).to_digit(16)?;
            let lo = char::from(*bytes.get(i + 2)?).to_digit(16)?;
            out.push(u8::try_from(hi * 16 + lo).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn p(s: &str) -> Purl {
        Purl::parse(s).unwrap()
    }

    #[test]
    fn pypi_names_are_pep503_normalised() {
        assert!(p("pkg:PyPI/Foo_Bar.baz@1.0").covers(&p("pkg:pypi/foo-bar-baz@1.0")));
        assert!(!p("pkg:pypi/foo-bar@1.0").covers(&p("pkg:pypi/foo-bar@1.1")));
    }

    #[test]
    fn percent_escapes_decode_everywhere() {
        let a = p("pkg:npm/%40angular/core@1.0.0");
        assert_eq!(a.namespace.as_deref(), Some("@angular"));
        assert!(a.covers(&p("pkg:npm/@angular/core@1.0.0")));
        let oci = p("pkg:oci/app@sha256%3Aabc?repository_url=ghcr.io%2Fx%2Fapp");
        assert_eq!(oci.version.as_deref(), Some("sha256:abc"));
        assert_eq!(
            oci.qualifiers.get("repository_url").map(String::as_str),
            Some("ghcr.io/x/app")
        );
    }

    #[test]
    fn versionless_product_covers_every_version_qualifiers_only_when_given() {
        let product = p("pkg:deb/debian/openssl");
        assert!(product.covers(&p(
            "pkg:deb/debian/openssl@3.0.11-1?arch=amd64&distro=debian-12"
        )));
        let with_arch = p("pkg:deb/debian/openssl@3.0.11-1?arch=arm64");
        assert!(!with_arch.covers(&p("pkg:deb/debian/openssl@3.0.11-1?arch=amd64")));
        assert!(with_arch.covers(&p(
            "pkg:deb/debian/openssl@3.0.11-1?distro=debian-12&arch=arm64"
        )));
        // The package's extra qualifiers never stop a match; a missing one does.
        assert!(!with_arch.covers(&p("pkg:deb/debian/openssl@3.0.11-1")));
    }

    #[test]
    fn other_types_keep_case_and_namespace() {
        assert!(!p("pkg:maven/org.Example/lib@1").covers(&p("pkg:maven/org.example/lib@1")));
        assert!(!p("pkg:cargo/foo@1").covers(&p("pkg:pypi/foo@1")));
        assert!(!p("pkg:golang/github.com/a/b@v1").covers(&p("pkg:golang/github.com/a/c@v1")));
    }

    #[test]
    fn hostile_purls_are_errors_not_panics() {
        for bad in [
            "",
            "pkg:",
            "pkg:/x",
            "npm/x@1",
            "pkg:npm/",
            "pkg:npm/%zz@1",
            "pkg:npm/x%",
            "pkg:npm/%ff%fe@1",
            "pkg:é/x",
        ] {
            assert!(Purl::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            Purl::parse(&format!("pkg:npm/{}", "a".repeat(5000))),
            Err(PurlError::TooLong(_))
        ));
    }
}
