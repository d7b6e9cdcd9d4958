//! The image model every stage uses: open a reference (layout, archive, registry), resolve
//! an index to the wanted platform, read and verify the config, and expose the image's
//! identity, a config summary with secrets redacted, and the merged filesystem walk.

pub mod media;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::ControlFlow;
use std::str::FromStr;

use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest};
use serde::Serialize;

use crate::archive::{DockerArchive, DockerArchiveSink};
use crate::digest::Digest;
use crate::error::OciError;
use crate::fs::{Entry, WalkOptions, WalkReport, Walker};
use crate::layer::DEFAULT_MAX_UNCOMPRESSED_BYTES;
use crate::layout::{LayoutSink, OciLayout, descriptor_digest};
use crate::reference::{ImageRef, Selector};
use crate::registry::{self, RegistryOptions};
use crate::store::{ImageSink, ImageSource, RawManifest};
use media::ManifestKind;

/// How deep indexes may nest (index → index → manifest) before we call it hostile.
const MAX_INDEX_DEPTH: usize = 4;

/// An `os/arch[/variant]` platform, e.g. `linux/amd64`, `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for Platform {
    fn default() -> Self {
        Self {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = OciError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let ok = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        };
        match parts.as_slice() {
            [os, arch] if ok(os) && ok(arch) => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, v] if ok(os) && ok(arch) && ok(v) => Ok(Self {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(v.to_string()),
            }),
            _ => Err(OciError::InvalidReference {
                reference: s.to_string(),
                reason: "a platform is os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8"
                    .into(),
            }),
        }
    }
}

impl Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Platform {
    /// The variant with the implicit defaults made explicit (`arm64` means `v8`).
    fn effective_variant(&self) -> Option<&str> {
        match (self.architecture.as_str(), self.variant.as_deref()) {
            ("arm64", None) => Some("v8"),
            (_, v) => v,
        }
    }

    /// Whether an index entry for `other` serves a request for `self` (a request without
    /// a variant accepts any variant).
    pub fn matches(&self, other: &Platform) -> bool {
        self.os == other.os
            && self.architecture == other.architecture
            && (self.variant.is_none() || self.effective_variant() == other.effective_variant())
    }

    /// The platform an image config declares.
    fn of_config(config: &ImageConfiguration) -> Platform {
        Platform {
            os: config.os().to_string(),
            architecture: config.architecture().to_string(),
            variant: config.variant().clone(),
        }
    }

    fn of_descriptor(d: &Descriptor) -> Option<Platform> {
        d.platform().as_ref().map(|p| Platform {
            os: p.os().to_string(),
            architecture: p.architecture().to_string(),
            variant: p.variant().clone(),
        })
    }
}

/// How to open images.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// The platform picked from an index (default `linux/amd64`).
    pub platform: Platform,
    pub registry: RegistryOptions,
    /// Limit on the uncompressed bytes of all layers of one walk (default 64 GiB).
    pub max_uncompressed_bytes: u64,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            platform: Platform::default(),
            registry: RegistryOptions::default(),
            max_uncompressed_bytes: DEFAULT_MAX_UNCOMPRESSED_BYTES,
        }
    }
}

/// Opens the store a reference points at, for reading.
pub fn open_source(r: &ImageRef, opts: &OpenOptions) -> Result<Box<dyn ImageSource>, OciError> {
    Ok(match r {
        ImageRef::Layout { path, selector } => Box::new(OciLayout::open(path, selector.clone())?),
        ImageRef::DockerArchive { path } => Box::new(DockerArchive::open(path)?),
        ImageRef::Registry(reg) => registry::open_source(reg, &opts.registry)?,
    })
}

/// Opens the store a reference points at, for writing. A layout reference may carry a tag
/// (never a digest: the digest is the content's); see [`sink_tag`] for the tag to pass.
pub fn open_sink(r: &ImageRef, opts: &OpenOptions) -> Result<Box<dyn ImageSink>, OciError> {
    Ok(match r {
        ImageRef::Layout {
            selector: Some(Selector::Digest(_)),
            ..
        } => {
            return Err(OciError::InvalidReference {
                reference: r.to_string(),
                reason: "a destination layout takes a tag (oci:PATH:TAG), not a digest: the digest is the image's own"
                    .into(),
            });
        }
        ImageRef::Layout { path, .. } => Box::new(LayoutSink::create(path)?),
        ImageRef::DockerArchive { path } => Box::new(DockerArchiveSink::create(path)?),
        ImageRef::Registry(reg) => registry::open_sink(reg, &opts.registry)?,
    })
}

/// The tag a destination reference asks for (`oci:PATH:TAG`, `host/repo:TAG`).
pub fn sink_tag(r: &ImageRef) -> Option<String> {
    match r {
        ImageRef::Layout {
            selector: Some(Selector::Tag(t)),
            ..
        } => Some(t.clone()),
        ImageRef::Registry(reg) => reg.tag.clone(),
        _ => None,
    }
}

/// One layer as [`ImageIdentity`] reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerIdentity {
    pub digest: Digest,
    pub size: u64,
    pub media_type: String,
    /// The config's `rootfs.diff_ids` entry (digest of the uncompressed tar); `None` when
    /// the config lists a different number of layers than the manifest.
    pub diff_id: Option<String>,
}

/// What pins an image: the record every stage writes about its subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIdentity {
    /// The reference as given (`oci:./img:1.0`).
    pub reference: String,
    /// The image manifest's digest.
    pub digest: Digest,
    /// The index's digest when the manifest was picked out of one by platform.
    pub index_digest: Option<Digest>,
    /// The manifest's media type.
    pub media_type: String,
    pub config_digest: Digest,
    /// From the config: `os/arch[/variant]`.
    pub platform: Platform,
    pub layers: Vec<LayerIdentity>,
}

/// The parts of the config a reviewer looks at, secrets redacted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSummary {
    pub user: Option<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
    /// `NAME=value`, in config order, secret-looking values replaced by `***` ([`redact_env`]).
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
    /// Sorted.
    pub exposed_ports: Vec<String>,
    pub created: Option<String>,
    pub history_count: usize,
}

/// `image inspect`: the identity plus a config summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageInspect {
    #[serde(flatten)]
    pub identity: ImageIdentity,
    pub config: ConfigSummary,
}

const SECRET_NAME_PARTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "CREDENTIAL",
    "AUTH",
    "PRIVATE",
];

/// Redacts one `NAME=value` environment entry: the value becomes `***` when the name
/// looks secret (contains PASSWORD, PASSWD, SECRET, TOKEN, KEY, CREDENTIAL, AUTH or
/// PRIVATE, any case) or the value is a URL with credentials (`scheme://user:pass@host`).
pub fn redact_env(entry: &str) -> String {
    let (name, value) = entry.split_once('=').unwrap_or((entry, ""));
    let upper = name.to_ascii_uppercase();
    let secret_name = SECRET_NAME_PARTS.iter().any(|p| upper.contains(p));
    if (secret_name && !value.is_empty()) || url_with_userinfo(value) {
        format!("{name}=***")
    } else {
        entry.to_string()
    }
}

/// Whether `value` holds a `scheme://…@host` URL anywhere (e.g. in a list of mirrors).
fn url_with_userinfo(value: &str) -> bool {
    value.match_indices("://").any(|(i, _)| {
        let rest = &value[i + 3..];
        let authority_end = rest
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(rest.len());
        rest[..authority_end].contains('@')
    })
}

/// An opened image: its manifest resolved for the platform, its config read and verified.
pub struct Image {
    reference: String,
    source: Box<dyn ImageSource>,
    manifest_raw: RawManifest,
    manifest: ImageManifest,
    index: Option<RawManifest>,
    config_raw: Vec<u8>,
    config: ImageConfiguration,
    max_uncompressed_bytes: u64,
}

impl fmt::Debug for Image {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Image")
            .field("reference", &self.reference)
            .field("digest", &self.manifest_raw.digest)
            .field("index", &self.index.as_ref().map(|i| &i.digest))
            .finish()
    }
}

impl Image {
    /// Opens `r`: resolves it (through an index to `opts.platform`) and reads the config.
    pub fn open(r: &ImageRef, opts: &OpenOptions) -> Result<Self, OciError> {
        Self::from_source(open_source(r, opts)?, r.to_string(), opts)
    }

    /// Same as [`Image::open`] over an already opened store.
    pub fn from_source(
        source: Box<dyn ImageSource>,
        reference: String,
        opts: &OpenOptions,
    ) -> Result<Self, OciError> {
        let root = source.resolve()?;
        let (manifest_raw, index) = resolve_platform(source.as_ref(), root, &opts.platform)?;
        let what = format!("manifest {} of {}", manifest_raw.digest, source.describe());
        let manifest: ImageManifest =
            serde_json::from_slice(&manifest_raw.bytes).map_err(|e| OciError::Malformed {
                what: what.clone(),
                reason: e.to_string(),
            })?;
        let config_type = manifest.config().media_type().to_string();
        if !media::is_image_config(&config_type) {
            return Err(OciError::UnsupportedMediaType {
                what: format!("the config of {what} (this is an artifact, not a container image)"),
                media_type: config_type,
            });
        }
        descriptor_digest(manifest.config())?;
        for layer in manifest.layers() {
            descriptor_digest(layer)?;
        }
        let config_raw = source.read_small_blob(manifest.config())?;
        let config: ImageConfiguration =
            serde_json::from_slice(&config_raw).map_err(|e| OciError::Malformed {
                what: format!(
                    "config {} of {}",
                    manifest.config().digest(),
                    source.describe()
                ),
                reason: e.to_string(),
            })?;
        // A single-platform image (no index to choose from) must still be the platform asked
        // for: reading an arm64 image when linux/amd64 was requested would put the wrong
        // image's evidence on record.
        let actual = Platform::of_config(&config);
        if index.is_none() && !opts.platform.matches(&actual) {
            return Err(OciError::PlatformNotFound {
                wanted: opts.platform.to_string(),
                store: source.describe(),
                available: actual.to_string(),
            });
        }
        Ok(Self {
            reference,
            source,
            manifest_raw,
            manifest,
            index,
            config_raw,
            config,
            max_uncompressed_bytes: opts.max_uncompressed_bytes,
        })
    }

    /// The reference as given.
    pub fn reference(&self) -> &str {
        &self.reference
    }
    /// The store the image is read from.
    pub fn source(&self) -> &dyn ImageSource {
        self.source.as_ref()
    }
    /// The image manifest's digest.
    pub fn digest(&self) -> &Digest {
        &self.manifest_raw.digest
    }
    /// The image manifest, exactly as stored.
    pub fn raw_manifest(&self) -> &RawManifest {
        &self.manifest_raw
    }
    /// The index the manifest was picked from, if any.
    pub fn index(&self) -> Option<&RawManifest> {
        self.index.as_ref()
    }
    pub fn manifest(&self) -> &ImageManifest {
        &self.manifest
    }
    pub fn config(&self) -> &ImageConfiguration {
        &self.config
    }
    /// The config exactly as stored (its digest verified).
    pub fn config_bytes(&self) -> &[u8] {
        &self.config_raw
    }
    pub fn config_digest(&self) -> Digest {
        Digest::of(&self.config_raw)
    }
    /// Layers, base first.
    pub fn layers(&self) -> &[Descriptor] {
        self.manifest.layers()
    }
    /// The platform the config declares.
    pub fn platform(&self) -> Platform {
        Platform::of_config(&self.config)
    }

    pub fn identity(&self) -> ImageIdentity {
        let diff_ids = self.config.rootfs().diff_ids();
        let aligned = diff_ids.len() == self.layers().len();
        ImageIdentity {
            reference: self.reference.clone(),
            digest: self.manifest_raw.digest.clone(),
            index_digest: self.index.as_ref().map(|i| i.digest.clone()),
            media_type: self.manifest_raw.media_type.clone(),
            config_digest: self.config_digest(),
            platform: self.platform(),
            layers: self
                .layers()
                .iter()
                .enumerate()
                .map(|(i, l)| LayerIdentity {
                    // Checked in `from_source`: every layer digest parses.
                    digest: descriptor_digest(l).unwrap_or_else(|_| Digest::of(b"")),
                    size: l.size(),
                    media_type: l.media_type().to_string(),
                    diff_id: if aligned {
                        diff_ids.get(i).cloned()
                    } else {
                        None
                    },
                })
                .collect(),
        }
    }

    pub fn inspect(&self) -> ImageInspect {
        let c = self.config.config().clone().unwrap_or_default();
        let mut exposed_ports = c.exposed_ports().clone().unwrap_or_default();
        exposed_ports.sort();
        ImageInspect {
            identity: self.identity(),
            config: ConfigSummary {
                user: c.user().clone(),
                entrypoint: c.entrypoint().clone(),
                cmd: c.cmd().clone(),
                working_dir: c.working_dir().clone(),
                env: c
                    .env()
                    .clone()
                    .unwrap_or_default()
                    .iter()
                    .map(|e| redact_env(e))
                    .collect(),
                labels: c.labels().clone().unwrap_or_default().into_iter().collect(),
                exposed_ports,
                created: self.config.created().clone(),
                history_count: self.config.history().as_ref().map_or(0, Vec::len),
            },
        }
    }

    /// A walker over the merged filesystem (warnings stay readable after the run).
    pub fn walker<'a>(&'a self, opts: &'a WalkOptions) -> Walker<'a> {
        Walker::new(
            self.source.as_ref(),
            self.reference.clone(),
            self.layers().to_vec(),
            opts,
            self.max_uncompressed_bytes,
        )
    }

    /// Walks the merged filesystem once, handing each entry to `visit`.
    pub fn walk(
        &self,
        opts: &WalkOptions,
        visit: impl FnMut(Entry) -> ControlFlow<()>,
    ) -> Result<WalkReport, OciError> {
        let mut walker = self.walker(opts);
        let stats = walker.run(visit)?;
        Ok(WalkReport {
            stats,
            warnings: walker.warnings().to_vec(),
            warnings_dropped: walker.warnings_dropped(),
        })
    }
}

/// Follows indexes down to the image manifest for `platform`. Returns the manifest and
/// the top-level index it came through.
fn resolve_platform(
    source: &dyn ImageSource,
    root: RawManifest,
    platform: &Platform,
) -> Result<(RawManifest, Option<RawManifest>), OciError> {
    let mut current = root;
    let mut top_index: Option<RawManifest> = None;
    for _ in 0..MAX_INDEX_DEPTH {
        let what = format!("manifest {} of {}", current.digest, source.describe());
        let (kind, _) = media::detect(Some(&current.media_type), &current.bytes, &what)?;
        if kind == ManifestKind::Manifest {
            return Ok((current, top_index));
        }
        let index: ImageIndex =
            serde_json::from_slice(&current.bytes).map_err(|e| OciError::Malformed {
                what: what.clone(),
                reason: e.to_string(),
            })?;
        let child = pick_child(&index, platform, &what, source)?;
        let digest = descriptor_digest(&child)?;
        let mut next = source.fetch_manifest(&digest)?;
        // The document's own `mediaType` wins; the descriptor fills in when it has none.
        let child_what = format!("manifest {digest} of {}", source.describe());
        next.media_type =
            media::detect(Some(child.media_type().as_ref()), &next.bytes, &child_what)?.1;
        if top_index.is_none() {
            top_index = Some(current);
        }
        current = next;
    }
    Err(OciError::Malformed {
        what: source.describe(),
        reason: format!("indexes nest more than {MAX_INDEX_DEPTH} deep"),
    })
}

fn pick_child(
    index: &ImageIndex,
    platform: &Platform,
    what: &str,
    source: &dyn ImageSource,
) -> Result<Descriptor, OciError> {
    let children = index.manifests();
    if let Some(d) = children
        .iter()
        .find(|d| Platform::of_descriptor(d).is_some_and(|p| platform.matches(&p)))
    {
        return Ok(d.clone());
    }
    // An index of one image with no platform (some layouts) serves whatever it holds.
    if let [only] = children.as_slice()
        && only.platform().is_none()
    {
        return Ok(only.clone());
    }
    let available: Vec<String> = children
        .iter()
        .filter_map(Platform::of_descriptor)
        .filter(|p| p.os != "unknown" && p.architecture != "unknown")
        .map(|p| p.to_string())
        .collect();
    Err(OciError::PlatformNotFound {
        wanted: platform.to_string(),
        store: format!("{} ({what})", source.describe()),
        available: if available.is_empty() {
            "none".into()
        } else {
            available.join(", ")
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_platforms() {
        assert_eq!(
            "linux/amd64".parse::<Platform>().unwrap(),
            Platform::default()
        );
        let p: Platform = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.to_string(), "linux/arm64/v8");
        assert!("linux".parse::<Platform>().is_err());
        assert!("linux/amd64/v1/x".parse::<Platform>().is_err());
        assert!("linux//v1".parse::<Platform>().is_err());
    }

    #[test]
    fn matches_variants() {
        let arm64: Platform = "linux/arm64".parse().unwrap();
        let arm64v8: Platform = "linux/arm64/v8".parse().unwrap();
        assert!(arm64.matches(&arm64v8));
        assert!(arm64v8.matches(&arm64));
        let armv7: Platform = "linux/arm/v7".parse().unwrap();
        let armv6: Platform = "linux/arm/v6".parse().unwrap();
        assert!(!armv7.matches(&armv6));
        assert!(!Platform::default().matches(&arm64));
    }

    #[test]
    fn redacts_secret_looking_env() {
        assert_eq!(redact_env("DB_PASSWORD=hunter2"), "DB_PASSWORD=***");
        assert_eq!(redact_env("github_token=ghp_x"), "github_token=***");
        assert_eq!(
            redact_env("AWS_SECRET_ACCESS_KEY=abc"),
            "AWS_SECRET_ACCESS_KEY=***"
        );
        assert_eq!(
            redact_env("PIP_INDEX_URL=https://u:p@pypi.example/simple"),
            "PIP_INDEX_URL=***"
        );
        assert_eq!(redact_env("PATH=/usr/bin:/bin"), "PATH=/usr/bin:/bin");
        assert_eq!(
            redact_env("HOME=https://example.org/a@b"),
            "HOME=https://example.org/a@b"
        );
        assert_eq!(redact_env("API_KEY="), "API_KEY=");
    }
}
