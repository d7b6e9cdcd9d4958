//! Writing an OCI-flavoured `docker save` archive: blobs stream straight into a temporary
//! tar next to the destination (no staging directory, no second copy on disk), and
//! `finish` appends `index.json` and `manifest.json` and renames the tar into place. Until
//! then nothing exists at the destination; a failed or abandoned write leaves nothing.

use std::collections::HashSet;
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use oci_spec::image::{Descriptor, ImageManifest};
use serde_json::{Value, json};
use tempfile::NamedTempFile;

use crate::digest::{Digest, VerifyingReader};
use crate::error::OciError;
use crate::image::media;
use crate::layout::{REF_NAME, descriptor_digest};
use crate::store::{ImageSink, RawManifest};

type TarOut = tar::Builder<BufWriter<NamedTempFile>>;

struct State {
    tar: Option<TarOut>,
    written: HashSet<Digest>,
    /// `index.json` entries (top-level manifests).
    roots: Vec<Value>,
    /// Image manifests stored, as `(config, layers)` member names for `manifest.json`.
    images: Vec<(String, Vec<String>)>,
    /// The tag of the top-level manifest, for `RepoTags`.
    tag: Option<String>,
    /// A write failed half-way: the tar is unusable.
    broken: bool,
}

/// Writes a `docker save` archive (OCI flavour plus `manifest.json` for `docker load`).
pub struct DockerArchiveSink {
    path: PathBuf,
    name: String,
    state: Mutex<State>,
}

impl std::fmt::Debug for DockerArchiveSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerArchiveSink")
            .field("path", &self.path)
            .finish()
    }
}

fn header(name: &str, size: u64, dir: bool) -> io::Result<tar::Header> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name)?;
    h.set_size(size);
    h.set_mode(if dir { 0o755 } else { 0o644 });
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(if dir {
        tar::EntryType::Directory
    } else {
        tar::EntryType::Regular
    });
    h.set_cksum();
    Ok(h)
}

fn blob_member(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

impl DockerArchiveSink {
    /// Prepares to write the archive at `path` (a temporary file in the same directory).
    pub fn create(path: impl AsRef<Path>) -> Result<Self, OciError> {
        let path = path.as_ref().to_path_buf();
        let name = format!("docker-archive:{}", path.display());
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let io_err = |e: io::Error| OciError::io(format!("creating {name}"), e);
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".tar")
            .tempfile_in(&dir)
            .map_err(io_err)?;
        let mut tar = tar::Builder::new(BufWriter::with_capacity(256 * 1024, tmp));
        let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
        tar.append(
            &header("oci-layout", layout.len() as u64, false).map_err(io_err)?,
            &layout[..],
        )
        .map_err(io_err)?;
        for d in ["blobs/", "blobs/sha256/"] {
            tar.append(&header(d, 0, true).map_err(io_err)?, io::empty())
                .map_err(io_err)?;
        }
        let state = State {
            tar: Some(tar),
            written: HashSet::new(),
            roots: Vec::new(),
            images: Vec::new(),
            tag: None,
            broken: false,
        };
        Ok(Self {
            path,
            name,
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, OciError> {
        let state = self.state.lock().map_err(|_| self.broken())?;
        if state.broken || state.tar.is_none() {
            return Err(self.broken());
        }
        Ok(state)
    }

    fn broken(&self) -> OciError {
        OciError::Malformed {
            what: self.name.clone(),
            reason:
                "an earlier write failed or the archive was already finished; start the copy again"
                    .into(),
        }
    }

    fn append_blob(
        &self,
        state: &mut State,
        digest: &Digest,
        size: u64,
        reader: &mut dyn Read,
    ) -> Result<(), OciError> {
        if state.written.contains(digest) {
            return Ok(());
        }
        let what = format!("blob {digest} into {}", self.name);
        let Some(tar) = state.tar.as_mut() else {
            return Err(self.broken());
        };
        let h = header(&blob_member(digest), size, false)
            .map_err(|e| OciError::io(format!("writing {what}"), e))?;
        let mut verifying = VerifyingReader::new(reader, what.clone(), digest.clone(), Some(size));
        if let Err(e) = tar.append(&h, &mut verifying) {
            state.broken = true;
            return Err(OciError::io(format!("writing {what}"), e));
        }
        state.written.insert(digest.clone());
        Ok(())
    }

    fn store_manifest(&self, state: &mut State, m: &RawManifest) -> Result<(), OciError> {
        m.verify(format!("manifest written to {}", self.name))?;
        self.append_blob(
            state,
            &m.digest,
            m.bytes.len() as u64,
            &mut m.bytes.as_slice(),
        )?;
        if media::kind_of(&m.media_type) == Some(media::ManifestKind::Manifest)
            && let Ok(parsed) = serde_json::from_slice::<ImageManifest>(&m.bytes)
            && media::is_image_config(parsed.config().media_type().as_ref())
        {
            let config = blob_member(&descriptor_digest(parsed.config())?);
            let layers = parsed
                .layers()
                .iter()
                .map(|l| descriptor_digest(l).map(|d| blob_member(&d)))
                .collect::<Result<Vec<String>, OciError>>()?;
            state.images.push((config, layers));
        }
        Ok(())
    }

    fn append_json(&self, tar: &mut TarOut, name: &str, value: &Value) -> Result<(), OciError> {
        let what = || format!("writing {name} into {}", self.name);
        let bytes =
            serde_json::to_vec(value).map_err(|e| OciError::io(what(), io::Error::other(e)))?;
        let h = header(name, bytes.len() as u64, false).map_err(|e| OciError::io(what(), e))?;
        tar.append(&h, bytes.as_slice())
            .map_err(|e| OciError::io(what(), e))
    }
}

impl ImageSink for DockerArchiveSink {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool, OciError> {
        let digest = descriptor_digest(desc)?;
        Ok(self.lock()?.written.contains(&digest))
    }

    fn put_blob(
        &self,
        desc: &Descriptor,
        reader: &mut dyn Read,
        _source_repository: Option<&str>,
    ) -> Result<(), OciError> {
        let digest = descriptor_digest(desc)?;
        let mut state = self.lock()?;
        self.append_blob(&mut state, &digest, desc.size(), reader)
    }

    fn put_manifest(&self, manifest: &RawManifest, tag: Option<&str>) -> Result<(), OciError> {
        let mut state = self.lock()?;
        self.store_manifest(&mut state, manifest)?;
        let mut entry = json!({
            "mediaType": manifest.media_type,
            "digest": manifest.digest.to_string(),
            "size": manifest.bytes.len(),
        });
        if let (Some(t), Some(obj)) = (tag, entry.as_object_mut()) {
            obj.insert("annotations".into(), json!({ REF_NAME: t }));
            state.tag = Some(t.to_string());
        }
        state.roots.push(entry);
        Ok(())
    }

    fn put_child_manifest(&self, manifest: &RawManifest) -> Result<(), OciError> {
        let mut state = self.lock()?;
        self.store_manifest(&mut state, manifest)
    }

    /// Appends `index.json` and `manifest.json` and renames the archive into place.
    /// `RepoTags` is filled only for a single image whose tag looks like `name:tag`.
    fn finish(&self) -> Result<(), OciError> {
        let mut state = self.lock()?;
        if state.roots.is_empty() {
            return Err(OciError::Malformed {
                what: self.name.clone(),
                reason: "no image was written into it".into(),
            });
        }
        let index =
            json!({"schemaVersion": 2, "mediaType": media::OCI_INDEX, "manifests": state.roots});
        let repo_tags: Vec<String> = match (&state.tag, state.images.len()) {
            (Some(t), 1) if t.contains(':') => vec![t.clone()],
            _ => Vec::new(),
        };
        let docker: Vec<Value> = state
            .images
            .iter()
            .map(|(config, layers)| json!({"Config": config, "RepoTags": repo_tags, "Layers": layers}))
            .collect();
        let Some(mut tar) = state.tar.take() else {
            return Err(self.broken());
        };
        let written = (|| {
            self.append_json(&mut tar, "index.json", &index)?;
            self.append_json(&mut tar, "manifest.json", &Value::Array(docker))?;
            let what = || format!("writing {}", self.name);
            let buffered = tar.into_inner().map_err(|e| OciError::io(what(), e))?;
            let tmp = buffered
                .into_inner()
                .map_err(|e| OciError::io(what(), e.into_error()))?;
            tmp.as_file()
                .sync_all()
                .map_err(|e| OciError::io(what(), e))?;
            tmp.persist(&self.path)
                .map_err(|e| OciError::io(what(), e.error))?;
            Ok(())
        })();
        if written.is_err() {
            state.broken = true;
        }
        written
    }
}
