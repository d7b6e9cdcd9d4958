//! OCI image layouts (`oci-layout`, `index.json`, `blobs/sha256/<hex>`): reading one as an
//! [`ImageSource`] — from a directory or, for Docker's OCI-flavoured `docker save`, from
//! inside a tar — and writing one as an [`ImageSink`] with atomic, verified writes.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use oci_spec::image::{Descriptor, ImageIndex};
use serde_json::{Map, Value, json};

use crate::digest::{Digest, VerifyError, VerifyingReader};
use crate::error::OciError;
use crate::image::media;
use crate::reference::Selector;
use crate::store::{ImageSink, ImageSource, MAX_MANIFEST_BYTES, RawManifest};

/// The annotation that carries a layout's tag.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Read access to the files of a layout, wherever they are stored.
pub(crate) trait LayoutFiles: Send + Sync {
    /// Names the store in errors (`oci:./img`).
    fn describe(&self) -> String;
    /// A small top-level file (`oci-layout`, `index.json`), `None` when absent.
    fn read_meta(&self, name: &str) -> Result<Option<Vec<u8>>, OciError>;
    /// The file of a blob and its size on disk; `NotFound` when absent.
    fn open_blob_file(&self, digest: &Digest)
    -> Result<(Box<dyn Read + Send + '_>, u64), OciError>;
}

/// Reads a bounded top-level file.
pub(crate) fn read_bounded(mut r: impl Read, what: &str) -> Result<Vec<u8>, OciError> {
    let mut out = Vec::new();
    (&mut r)
        .take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| OciError::io(format!("reading {what}"), e))?;
    if out.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(OciError::TooLarge {
            what: what.to_string(),
            limit: MAX_MANIFEST_BYTES,
        });
    }
    Ok(out)
}

/// Parses a descriptor's digest into ours (sha256 only, so a digest can never traverse).
pub(crate) fn descriptor_digest(desc: &Descriptor) -> Result<Digest, OciError> {
    Ok(desc.digest().to_string().parse::<Digest>()?)
}

/// The image-selection logic of a layout, over any [`LayoutFiles`].
pub(crate) struct LayoutReader<F> {
    files: F,
    index: ImageIndex,
    selector: Option<Selector>,
}

impl<F: LayoutFiles> LayoutReader<F> {
    /// Checks `oci-layout` and parses `index.json`.
    pub(crate) fn new(files: F, selector: Option<Selector>) -> Result<Self, OciError> {
        let store = files.describe();
        let header = files
            .read_meta("oci-layout")?
            .ok_or_else(|| OciError::NotFound {
                what: "the `oci-layout` file (this is not an OCI image layout)".into(),
                store: store.clone(),
            })?;
        let version = serde_json::from_slice::<Value>(&header).ok().and_then(|v| {
            v.get("imageLayoutVersion")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        match version {
            Some(v) if v == "1.0.0" || v.starts_with("1.") => {}
            other => {
                return Err(OciError::Malformed {
                    what: format!("`oci-layout` of {store}"),
                    reason: format!("imageLayoutVersion is {other:?}, expected 1.0.0"),
                });
            }
        }
        let bytes = files
            .read_meta("index.json")?
            .ok_or_else(|| OciError::NotFound {
                what: "index.json".into(),
                store: store.clone(),
            })?;
        let index: ImageIndex =
            serde_json::from_slice(&bytes).map_err(|e| OciError::Malformed {
                what: format!("index.json of {store}"),
                reason: e.to_string(),
            })?;
        Ok(Self {
            files,
            index,
            selector,
        })
    }

    /// The tags (`org.opencontainers.image.ref.name`) in `index.json`, in its order.
    pub(crate) fn tags(&self) -> Vec<String> {
        self.index.manifests().iter().filter_map(tag_of).collect()
    }

    fn choices(&self) -> String {
        let all: Vec<String> = self
            .index
            .manifests()
            .iter()
            .map(|d| tag_of(d).unwrap_or_else(|| format!("untagged {}", d.digest())))
            .collect();
        if all.is_empty() {
            "none".into()
        } else {
            all.join(", ")
        }
    }

    /// The `index.json` entry the selector picks: its digest, media type and size.
    fn select(&self) -> Result<(Digest, Option<String>, Option<u64>), OciError> {
        let store = self.files.describe();
        let entries = self.index.manifests();
        let chosen = match &self.selector {
            Some(Selector::Tag(t)) => {
                let hits: Vec<&Descriptor> = entries
                    .iter()
                    .filter(|d| tag_of(d).as_deref() == Some(t))
                    .collect();
                match hits.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(OciError::TagNotFound {
                            tag: t.clone(),
                            store,
                            available: self.choices(),
                        });
                    }
                    _ => {
                        return Err(OciError::Ambiguous {
                            store,
                            choices: format!(
                                "{} entries are tagged `{t}`: {}",
                                hits.len(),
                                self.choices()
                            ),
                        });
                    }
                }
            }
            Some(Selector::Digest(d)) => {
                match entries
                    .iter()
                    .find(|e| e.digest().to_string() == d.to_string())
                {
                    Some(e) => e,
                    // Any manifest blob of the layout may be named by digest.
                    None => return Ok((d.clone(), None, None)),
                }
            }
            None => match entries.as_slice() {
                [one] => one,
                [] => {
                    return Err(OciError::NotFound {
                        what: "any image (index.json is empty)".into(),
                        store,
                    });
                }
                _ => {
                    return Err(OciError::Ambiguous {
                        store,
                        choices: self.choices(),
                    });
                }
            },
        };
        Ok((
            descriptor_digest(chosen)?,
            Some(chosen.media_type().to_string()),
            Some(chosen.size()),
        ))
    }

    fn read_manifest(
        &self,
        digest: &Digest,
        hint: Option<&str>,
        size: Option<u64>,
    ) -> Result<RawManifest, OciError> {
        let what = format!("manifest {digest} in {}", self.files.describe());
        if size.is_some_and(|s| s > MAX_MANIFEST_BYTES) {
            return Err(OciError::TooLarge {
                what,
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let (file, _) = self.files.open_blob_file(digest)?;
        let bytes = read_bounded(file, &what)?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(VerifyError::DigestMismatch {
                what,
                expected: digest.clone(),
                actual,
            }
            .into());
        }
        if let Some(s) = size
            && s != bytes.len() as u64
        {
            return Err(VerifyError::SizeMismatch {
                what,
                expected: s,
                actual: bytes.len() as u64,
            }
            .into());
        }
        let (_, media_type) = media::detect(hint, &bytes, &what)?;
        Ok(RawManifest {
            media_type,
            digest: digest.clone(),
            bytes,
        })
    }
}

fn tag_of(d: &Descriptor) -> Option<String> {
    d.annotations()
        .as_ref()
        .and_then(|a| a.get(REF_NAME))
        .cloned()
}

impl<F: LayoutFiles> ImageSource for LayoutReader<F> {
    fn describe(&self) -> String {
        self.files.describe()
    }

    fn resolve(&self) -> Result<RawManifest, OciError> {
        let (digest, hint, size) = self.select()?;
        self.read_manifest(&digest, hint.as_deref(), size)
    }

    fn fetch_manifest(&self, digest: &Digest) -> Result<RawManifest, OciError> {
        // A child's media type is best taken from its descriptor in the parent; the caller
        // has it, and `media::detect` falls back to the document itself.
        self.read_manifest(digest, None, None)
    }

    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>, OciError> {
        let digest = descriptor_digest(desc)?;
        let what = format!("blob {digest} in {}", self.files.describe());
        let (file, len) = self.files.open_blob_file(&digest)?;
        if len != desc.size() {
            return Err(VerifyError::SizeMismatch {
                what,
                expected: desc.size(),
                actual: len,
            }
            .into());
        }
        Ok(Box::new(VerifyingReader::new(
            file,
            what,
            digest,
            Some(desc.size()),
        )))
    }
}

/// A layout directory on disk. Every path is confined to it: digests are validated hex,
/// and a blob or metadata file that is a symlink leading outside the layout, or anything
/// but a regular file, is refused.
pub(crate) struct DirFiles {
    root: PathBuf,
    canonical: PathBuf,
    name: String,
}

impl DirFiles {
    pub(crate) fn open(root: &Path) -> Result<Self, OciError> {
        let name = format!("oci:{}", root.display());
        let canonical = fs::canonicalize(root).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => OciError::NotFound {
                what: format!("the directory {}", root.display()),
                store: name.clone(),
            },
            _ => OciError::io(format!("opening {name}"), e),
        })?;
        if !canonical.is_dir() {
            return Err(OciError::Malformed {
                what: name,
                reason: "not a directory: an OCI layout is a directory (use docker-archive: for a tarball)".into(),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            canonical,
            name,
        })
    }

    /// The real path of `rel` inside the layout, `None` when it does not exist.
    fn confined(&self, rel: &Path) -> Result<Option<PathBuf>, OciError> {
        let path = self.root.join(rel);
        match fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(OciError::io(format!("reading {}", path.display()), e)),
        }
        let unsafe_path = |reason: &str| OciError::UnsafePath {
            path: path.display().to_string(),
            reason: reason.into(),
        };
        let real = fs::canonicalize(&path).map_err(|_| unsafe_path("it is a dangling symlink"))?;
        if !real.starts_with(&self.canonical) {
            return Err(unsafe_path(
                "it is a symlink that leads outside the image layout",
            ));
        }
        let md = fs::metadata(&real)
            .map_err(|e| OciError::io(format!("reading {}", path.display()), e))?;
        if !md.is_file() {
            return Err(unsafe_path("it is not a regular file"));
        }
        Ok(Some(real))
    }
}

impl LayoutFiles for DirFiles {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn read_meta(&self, name: &str) -> Result<Option<Vec<u8>>, OciError> {
        let Some(path) = self.confined(Path::new(name))? else {
            return Ok(None);
        };
        let file = fs::File::open(&path)
            .map_err(|e| OciError::io(format!("opening {}", path.display()), e))?;
        read_bounded(file, &format!("{name} of {}", self.name)).map(Some)
    }

    fn open_blob_file(
        &self,
        digest: &Digest,
    ) -> Result<(Box<dyn Read + Send + '_>, u64), OciError> {
        let rel = Path::new("blobs")
            .join(digest.algorithm())
            .join(digest.hex());
        let path = self.confined(&rel)?.ok_or_else(|| OciError::NotFound {
            what: format!("blob {digest}"),
            store: self.name.clone(),
        })?;
        let file = fs::File::open(&path)
            .map_err(|e| OciError::io(format!("opening {}", path.display()), e))?;
        let len = file
            .metadata()
            .map_err(|e| OciError::io(format!("reading {}", path.display()), e))?
            .len();
        Ok((Box::new(file), len))
    }
}

/// An OCI image layout directory, read.
pub struct OciLayout {
    inner: LayoutReader<DirFiles>,
}

impl std::fmt::Debug for OciLayout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OciLayout")
            .field("path", &self.inner.files.root)
            .finish()
    }
}

impl OciLayout {
    /// Opens the layout at `path`; `selector` picks the image (none: the only one).
    pub fn open(path: impl AsRef<Path>, selector: Option<Selector>) -> Result<Self, OciError> {
        Ok(Self {
            inner: LayoutReader::new(DirFiles::open(path.as_ref())?, selector)?,
        })
    }

    /// The tags in `index.json`, in its order.
    pub fn tags(&self) -> Vec<String> {
        self.inner.tags()
    }
}

impl ImageSource for OciLayout {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn resolve(&self) -> Result<RawManifest, OciError> {
        self.inner.resolve()
    }
    fn fetch_manifest(&self, digest: &Digest) -> Result<RawManifest, OciError> {
        self.inner.fetch_manifest(digest)
    }
    fn open_blob(&self, desc: &Descriptor) -> Result<Box<dyn Read + Send + '_>, OciError> {
        self.inner.open_blob(desc)
    }
}

/// Writes `bytes` to `dir/name` through a temporary file and a rename.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), OciError> {
    let target = dir.join(name);
    let what = || format!("writing {}", target.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(|e| OciError::io(what(), e))?;
    tmp.write_all(bytes).map_err(|e| OciError::io(what(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| OciError::io(what(), e))?;
    tmp.persist(&target)
        .map_err(|e| OciError::io(what(), e.error))?;
    Ok(())
}

/// Whether a layout tag is acceptable (the image-layout `ref.name` grammar, loosely:
/// letters, digits and `-._:@+/`, at most 256 characters).
pub fn valid_layout_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 256
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:@+/".contains(&b))
}

/// An OCI image layout directory, written. Created when absent; an existing layout is
/// added to. Blobs land through a temporary file renamed into place after their digest
/// and size were verified, and `index.json` is rewritten atomically, so a reader never
/// sees a partial blob or index.
#[derive(Debug)]
pub struct LayoutSink {
    root: PathBuf,
    blobs: PathBuf,
    name: String,
    index_lock: Mutex<()>,
}

impl LayoutSink {
    /// Opens `path` for writing, creating the layout (and the directory) when absent. A
    /// non-empty directory that is not a layout is refused rather than written into.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, OciError> {
        let root = path.as_ref().to_path_buf();
        let name = format!("oci:{}", root.display());
        let io_err = |e: io::Error| OciError::io(format!("creating {name}"), e);
        if root.exists() {
            if !root.is_dir() {
                return Err(OciError::Malformed {
                    what: name,
                    reason: "exists and is not a directory".into(),
                });
            }
            let empty = fs::read_dir(&root).map_err(io_err)?.next().is_none();
            if !empty && !root.join("oci-layout").is_file() {
                return Err(OciError::Malformed {
                    what: name,
                    reason: "is a non-empty directory without an `oci-layout` file; write to a new or empty directory"
                        .into(),
                });
            }
        }
        fs::create_dir_all(&root).map_err(io_err)?;
        let canonical = fs::canonicalize(&root).map_err(io_err)?;
        let blobs = root.join("blobs").join("sha256");
        fs::create_dir_all(&blobs).map_err(io_err)?;
        let real_blobs = fs::canonicalize(&blobs).map_err(io_err)?;
        if !real_blobs.starts_with(&canonical) {
            return Err(OciError::UnsafePath {
                path: blobs.display().to_string(),
                reason: "it is a symlink that leads outside the image layout".into(),
            });
        }
        match fs::read(root.join("oci-layout")) {
            Ok(bytes) => {
                let ok = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .is_some_and(|v| {
                        v.get("imageLayoutVersion")
                            .and_then(Value::as_str)
                            .is_some_and(|s| s.starts_with("1."))
                    });
                if !ok {
                    return Err(OciError::Malformed {
                        what: format!("`oci-layout` of {name}"),
                        reason: "not an image layout version 1 header".into(),
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let header = serde_json::to_vec(&json!({"imageLayoutVersion": "1.0.0"}))
                    .map_err(|e| OciError::io("encoding oci-layout", io::Error::other(e)))?;
                write_atomic(&root, "oci-layout", &header)?;
            }
            Err(e) => return Err(io_err(e)),
        }
        if !root.join("index.json").exists() {
            let index = json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": []});
            let bytes = serde_json::to_vec(&index)
                .map_err(|e| OciError::io("encoding index.json", io::Error::other(e)))?;
            write_atomic(&root, "index.json", &bytes)?;
        }
        Ok(Self {
            root,
            blobs,
            name,
            index_lock: Mutex::new(()),
        })
    }

    fn write_blob(
        &self,
        digest: &Digest,
        size: u64,
        reader: &mut dyn Read,
    ) -> Result<(), OciError> {
        let target = self.blobs.join(digest.hex());
        let what = format!("blob {digest} into {}", self.name);
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.blobs)
            .map_err(|e| OciError::io(format!("writing {what}"), e))?;
        let mut verifying = VerifyingReader::new(reader, what.clone(), digest.clone(), Some(size));
        io::copy(&mut verifying, &mut tmp)
            .map_err(|e| OciError::io(format!("writing {what}"), e))?;
        tmp.as_file()
            .sync_all()
            .map_err(|e| OciError::io(format!("writing {what}"), e))?;
        tmp.persist(&target)
            .map_err(|e| OciError::io(format!("writing {what}"), e.error))?;
        Ok(())
    }

    fn add_to_index(&self, m: &RawManifest, tag: Option<&str>) -> Result<(), OciError> {
        let _guard = self.index_lock.lock().map_err(|_| OciError::Malformed {
            what: format!("index.json of {}", self.name),
            reason: "a previous write panicked".into(),
        })?;
        let path = self.root.join("index.json");
        let bytes =
            fs::read(&path).map_err(|e| OciError::io(format!("reading {}", path.display()), e))?;
        let malformed = |reason: &str| OciError::Malformed {
            what: format!("index.json of {}", self.name),
            reason: reason.into(),
        };
        let mut index: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|e| malformed(&e.to_string()))?;
        let manifests = index
            .entry("manifests")
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| malformed("`manifests` is not an array"))?;
        let digest = m.digest.to_string();
        manifests.retain(|d| {
            let entry_tag = d
                .get("annotations")
                .and_then(|a| a.get(REF_NAME))
                .and_then(Value::as_str);
            match tag {
                Some(t) => entry_tag != Some(t),
                None => {
                    !(entry_tag.is_none()
                        && d.get("digest").and_then(Value::as_str) == Some(digest.as_str()))
                }
            }
        });
        let mut entry = json!({"mediaType": m.media_type, "digest": digest, "size": m.bytes.len()});
        if let (Some(t), Some(obj)) = (tag, entry.as_object_mut()) {
            obj.insert("annotations".into(), json!({ REF_NAME: t }));
        }
        manifests.push(entry);
        let out = serde_json::to_vec(&index)
            .map_err(|e| OciError::io("encoding index.json", io::Error::other(e)))?;
        write_atomic(&self.root, "index.json", &out)
    }

    fn store_manifest(&self, m: &RawManifest) -> Result<(), OciError> {
        m.verify(format!("manifest written to {}", self.name))?;
        self.write_blob(&m.digest, m.bytes.len() as u64, &mut m.bytes.as_slice())
    }
}

impl ImageSink for LayoutSink {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool, OciError> {
        let digest = descriptor_digest(desc)?;
        match fs::symlink_metadata(self.blobs.join(digest.hex())) {
            Ok(md) => Ok(md.file_type().is_file() && md.len() == desc.size()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(OciError::io(
                format!("checking blob {digest} in {}", self.name),
                e,
            )),
        }
    }

    fn put_blob(
        &self,
        desc: &Descriptor,
        reader: &mut dyn Read,
        _source_repository: Option<&str>,
    ) -> Result<(), OciError> {
        let digest = descriptor_digest(desc)?;
        self.write_blob(&digest, desc.size(), reader)
    }

    fn put_manifest(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<(), OciError> {
        if let Some(t) = tag
            && !valid_layout_tag(t)
        {
            return Err(OciError::InvalidReference {
                reference: format!("{}:{t}", self.name),
                reason: "a layout tag is letters, digits and `-._:@+/`, at most 256 characters"
                    .into(),
            });
        }
        self.store_manifest(manifest)?;
        self.add_to_index(manifest, tag)
    }

    fn put_child_manifest(&self, manifest: &RawManifest) -> Result<(), OciError> {
        self.store_manifest(manifest)
    }
}
