//! Image references as users type them: `oci:PATH[:TAG|@DIGEST]`, `docker-archive:PATH`,
//! and `HOST[:PORT]/REPO[:TAG][@sha256:…]` for registries.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::digest::Digest;
use crate::error::OciError;

/// Where an image lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// An OCI image layout directory.
    Layout {
        path: PathBuf,
        selector: Option<Selector>,
    },
    /// A `docker save` tarball (legacy or OCI flavour).
    DockerArchive { path: PathBuf },
    /// A repository on a registry.
    Registry(RegistryRef),
}

/// How to pick a manifest out of a layout's `index.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The `org.opencontainers.image.ref.name` annotation.
    Tag(String),
    Digest(Digest),
}

/// `registry/repository[:tag][@digest]`, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryRef {
    /// `host[:port]`, e.g. `127.0.0.1:5000`, `ghcr.io`. `docker.io` for Docker Hub.
    pub registry: String,
    /// e.g. `library/debian`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl RegistryRef {
    /// The tag or digest to ask the registry for (`digest` wins, then tag, then `latest`).
    pub fn reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Layout { path, selector } => {
                write!(f, "oci:{}", path.display())?;
                match selector {
                    Some(Selector::Tag(t)) => write!(f, ":{t}"),
                    Some(Selector::Digest(d)) => write!(f, "@{d}"),
                    None => Ok(()),
                }
            }
            ImageRef::DockerArchive { path } => write!(f, "docker-archive:{}", path.display()),
            ImageRef::Registry(r) => r.fmt(f),
        }
    }
}

fn invalid(reference: &str, reason: impl Into<String>) -> OciError {
    OciError::InvalidReference {
        reference: reference.to_string(),
        reason: reason.into(),
    }
}

fn valid_tag(t: &str) -> bool {
    // distribution spec: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(c))
}

fn valid_repository(r: &str) -> bool {
    // distribution spec: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
    !r.is_empty()
        && r.split('/').all(|c| {
            let b = c.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_lowercase() | b[0].is_ascii_digit()
                && (b[b.len() - 1].is_ascii_lowercase() || b[b.len() - 1].is_ascii_digit())
                && b.iter()
                    .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || b"._-".contains(x))
                && !c.contains("..")
                && !c.contains("___")
        })
}

impl FromStr for ImageRef {
    type Err = OciError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(rest) = s.strip_prefix("oci:") {
            if rest.is_empty() {
                return Err(invalid(
                    s,
                    "the layout path is empty; write oci:PATH[:TAG|@sha256:DIGEST]",
                ));
            }
            // `@sha256:` selects by digest; otherwise the last `:` after the final `/` is a tag.
            if let Some((path, digest)) = rest.rsplit_once('@') {
                let digest: Digest = digest.parse()?;
                return Ok(ImageRef::Layout {
                    path: path.into(),
                    selector: Some(Selector::Digest(digest)),
                });
            }
            let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
            if let Some(colon) = rest[last_slash..].rfind(':') {
                let (path, tag) = (&rest[..last_slash + colon], &rest[last_slash + colon + 1..]);
                if path.is_empty() {
                    return Err(invalid(s, "the layout path is empty"));
                }
                if tag.is_empty() {
                    return Err(invalid(s, "the tag after `:` is empty"));
                }
                return Ok(ImageRef::Layout {
                    path: path.into(),
                    selector: Some(Selector::Tag(tag.to_string())),
                });
            }
            return Ok(ImageRef::Layout {
                path: rest.into(),
                selector: None,
            });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            if rest.is_empty() {
                return Err(invalid(
                    s,
                    "the archive path is empty; write docker-archive:PATH",
                ));
            }
            return Ok(ImageRef::DockerArchive { path: rest.into() });
        }
        if s.contains("://") {
            return Err(invalid(
                s,
                "a registry reference has no scheme; write HOST[:PORT]/REPO[:TAG][@sha256:DIGEST]",
            ));
        }
        parse_registry(s).map(ImageRef::Registry)
    }
}

fn parse_registry(s: &str) -> Result<RegistryRef, OciError> {
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d.parse::<Digest>()?)),
        None => (s, None),
    };
    let last_slash = name.rfind('/');
    let (name, tag) = match name[last_slash.map_or(0, |i| i + 1)..].rfind(':') {
        Some(i) => {
            let at = last_slash.map_or(0, |j| j + 1) + i;
            (&name[..at], Some(name[at + 1..].to_string()))
        }
        None => (name, None),
    };
    if let Some(t) = &tag
        && !valid_tag(t)
    {
        return Err(invalid(
            s,
            format!("`{t}` is not a valid tag (letters, digits, `_`, `.`, `-`; at most 128)"),
        ));
    }
    // The first component is a registry host when it has a `.` or `:` or is `localhost`.
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    let repository = if registry == "docker.io" && !repository.contains('/') {
        format!("library/{repository}")
    } else {
        repository
    };
    if !valid_repository(&repository) {
        return Err(invalid(
            s,
            format!(
                "`{repository}` is not a valid repository name (lowercase letters, digits and separators); an OCI layout is written oci:PATH and a docker save tarball docker-archive:PATH"
            ),
        ));
    }
    Ok(RegistryRef {
        registry,
        repository,
        tag,
        digest,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn layout_references() {
        assert_eq!(
            "oci:./img".parse::<ImageRef>().unwrap(),
            ImageRef::Layout {
                path: "./img".into(),
                selector: None
            }
        );
        assert_eq!(
            "oci:/a/b:1.0".parse::<ImageRef>().unwrap(),
            ImageRef::Layout {
                path: "/a/b".into(),
                selector: Some(Selector::Tag("1.0".into()))
            }
        );
        assert_eq!(
            format!("oci:img@{D}").parse::<ImageRef>().unwrap(),
            ImageRef::Layout {
                path: "img".into(),
                selector: Some(Selector::Digest(D.parse().unwrap()))
            }
        );
        assert!("oci:".parse::<ImageRef>().is_err());
        assert!("oci:img:".parse::<ImageRef>().is_err());
    }

    #[test]
    fn archive_references() {
        assert_eq!(
            "docker-archive:/tmp/x.tar".parse::<ImageRef>().unwrap(),
            ImageRef::DockerArchive {
                path: "/tmp/x.tar".into()
            }
        );
    }

    #[test]
    fn registry_references() {
        let r = |s: &str| match s.parse::<ImageRef>().unwrap() {
            ImageRef::Registry(r) => r,
            other => panic!("{other:?}"),
        };
        let a = r("127.0.0.1:5000/app/web:1.0");
        assert_eq!(
            (a.registry.as_str(), a.repository.as_str(), a.tag.as_deref()),
            ("127.0.0.1:5000", "app/web", Some("1.0"))
        );
        assert_eq!(a.reference(), "1.0");
        let b = r(&format!("ghcr.io/o/r@{D}"));
        assert_eq!(b.reference(), D);
        assert_eq!(b.tag, None);
        let c = r(&format!("localhost/x:t@{D}"));
        assert_eq!(
            (c.registry.as_str(), c.tag.as_deref()),
            ("localhost", Some("t"))
        );
        assert_eq!(c.reference(), D, "a digest wins over a tag");
        let d = r("debian");
        assert_eq!(
            (
                d.registry.as_str(),
                d.repository.as_str(),
                d.reference().as_str()
            ),
            ("docker.io", "library/debian", "latest")
        );
        assert_eq!(
            r("127.0.0.1:5000/app:1").to_string(),
            "127.0.0.1:5000/app:1"
        );
    }

    #[test]
    fn bad_registry_references_name_the_problem() {
        for bad in [
            "Upper/Case",
            "host.io/repo:bad tag",
            "https://x.io/a",
            "h.io/a@sha256:zz",
            "",
        ] {
            let err = bad.parse::<ImageRef>().unwrap_err().to_string();
            assert!(!err.is_empty(), "{bad}");
        }
        let err = "host.io/Repo".parse::<ImageRef>().unwrap_err().to_string();
        assert!(err.contains("not a valid repository"), "{err}");
    }
}
