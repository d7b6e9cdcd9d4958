//! Package URLs as the scan reads them: the ecosystem, namespace, name, version and qualifiers
//! (`distro=debian-12`, `upstream=glibc`) that decide which advisories apply, percent-decoded
//! so a purl from our SBOM, a foreign SBOM and a VEX document compare equal.

use std::collections::BTreeMap;

/// A parsed `pkg:` URL (https://github.com/package-url/purl-spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    /// The type, lowercased (`deb`, `pypi`, `npm`, …).
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub qualifiers: BTreeMap<String, String>,
}

impl Purl {
    /// Parses a purl; `None` when it is not one (no `pkg:` scheme, no type or name).
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.trim().strip_prefix("pkg:")?;
        let rest = rest.trim_start_matches('/');
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let (rest, qualifiers) = match rest.split_once('?') {
            Some((r, q)) => (r, q),
            None => (rest, ""),
        };
        let (kind, path) = rest.split_once('/')?;
        let kind = kind.to_ascii_lowercase();
        if kind.is_empty() {
            return None;
        }
        let path = path.trim_end_matches('/');
        let (path, version) = match path.rsplit_once('@') {
            Some((p, v)) if !v.is_empty() => (p, Some(decode(v))),
            Some((p, _)) => (p, None),
            None => (path, None),
        };
        let (namespace, name) = match path.rsplit_once('/') {
            Some((ns, name)) => (Some(ns.split('/').map(decode).collect::<Vec<_>>().join("/")), name),
            None => (None, path),
        };
        if name.is_empty() {
            return None;
        }
        let qualifiers = qualifiers
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_ascii_lowercase(), decode(v)))
            .collect();
        Some(Self {
            kind,
            namespace: namespace.filter(|n| !n.is_empty()),
            name: decode(name),
            version,
            qualifiers,
        })
    }

    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers.get(key).map(String::as_str)
    }
}

/// Percent-decoding; invalid escapes are kept as written.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn parts() {
        let p = Purl::parse(
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc",
        )
        .unwrap();
        assert_eq!(p.kind, "deb");
        assert_eq!(p.namespace.as_deref(), Some("debian"));
        assert_eq!(p.name, "libc6");
        assert_eq!(p.version.as_deref(), Some("2.36-9+deb12u4"));
        assert_eq!(p.qualifier("distro"), Some("debian-12"));
        let p = Purl::parse("pkg:npm/%40babel/core@7.0.0").unwrap();
        assert_eq!(p.namespace.as_deref(), Some("@babel"));
        assert_eq!(p.name, "core");
        let p = Purl::parse("pkg:golang/github.com/gorilla/mux@v1.8.0").unwrap();
        assert_eq!(p.namespace.as_deref(), Some("github.com/gorilla"));
        let p = Purl::parse("PKG:PyPI/Django").map(|p| p.kind);
        assert_eq!(p, None, "the scheme is lowercase by the spec");
        let p = Purl::parse("pkg:PyPI/Django").unwrap();
        assert_eq!((p.kind.as_str(), p.version), ("pypi", None));
        assert_eq!(Purl::parse("pkg:npm/"), None);
        assert_eq!(Purl::parse("npm/x@1"), None);
        assert_eq!(decode("%zz%4"), "%zz%4");
    }
}
