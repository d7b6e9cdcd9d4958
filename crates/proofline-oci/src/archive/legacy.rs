//! The legacy `docker save` format (`manifest.json` with `Config`, `RepoTags`, `Layers`):
//! it has no OCI manifest, so one is synthesised, deterministically, from the real
//! config and layer digests.

use std::collections::HashMap;
use std::io::Read;

use serde::Deserialize;
use serde_json::{Value, json};

use super::members::TarMembers;
use crate::digest::{Digest, digest_reader};
use crate::error::OciError;
use crate::image::media;
use crate::layer::Compression;
use crate::layout::{LayoutFiles, read_bounded};
use crate::store::RawManifest;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LegacyEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// One image of a legacy archive, with its synthesised manifest.
#[derive(Debug)]
pub(crate) struct LegacyImage {
    pub(crate) repo_tags: Vec<String>,
    pub(crate) manifest: RawManifest,
    /// Member holding each blob (config and layers) of the manifest.
    pub(crate) blobs: HashMap<Digest, String>,
}

/// `blobs/sha256/<hex>` names carry their digest.
fn digest_from_name(member: &str) -> Option<Digest> {
    let hex = member
        .trim_start_matches("./")
        .strip_prefix("blobs/sha256/")?;
    format!("sha256:{hex}").parse().ok()
}

impl LegacyImage {
    /// Reads `manifest.json` and synthesises the manifest. Layer digests come from
    /// `blobs/sha256/<hex>` names, or from the config's `diff_ids` for uncompressed layers
    /// (the digest of an uncompressed layer is its diff ID); a compressed layer with
    /// neither is hashed here. Nothing is trusted: every blob is verified when read.
    pub(crate) fn read(members: &TarMembers) -> Result<Self, OciError> {
        let store = members.name().to_string();
        let bytes = members
            .read_meta("manifest.json")?
            .ok_or_else(|| OciError::NotFound {
                what: "manifest.json".into(),
                store: store.clone(),
            })?;
        let malformed = |reason: String| OciError::Malformed {
            what: format!("manifest.json of {store}"),
            reason,
        };
        let entries: Vec<LegacyEntry> =
            serde_json::from_slice(&bytes).map_err(|e| malformed(e.to_string()))?;
        let entry = match entries.as_slice() {
            [one] => one,
            [] => return Err(malformed("it lists no image".into())),
            many => {
                let names: Vec<String> = many
                    .iter()
                    .enumerate()
                    .map(|(i, e)| match e.repo_tags.as_deref() {
                        Some([first, ..]) => first.clone(),
                        _ => format!("untagged image #{}", i + 1),
                    })
                    .collect();
                return Err(OciError::Ambiguous {
                    store,
                    choices: format!("{}; save one image per archive", names.join(", ")),
                });
            }
        };
        let mut blobs = HashMap::new();
        let (config_reader, _) =
            members
                .open(&entry.config)?
                .ok_or_else(|| OciError::NotFound {
                    what: format!("the config `{}`", entry.config),
                    store: store.clone(),
                })?;
        let config = read_bounded(
            config_reader,
            &format!("config `{}` in {store}", entry.config),
        )?;
        let config_digest = Digest::of(&config);
        blobs.insert(config_digest.clone(), entry.config.clone());
        let diff_ids: Vec<String> = serde_json::from_slice::<Value>(&config)
            .ok()
            .and_then(|v| v.pointer("/rootfs/diff_ids").cloned())
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let mut layers = Vec::with_capacity(entry.layers.len());
        for (i, name) in entry.layers.iter().enumerate() {
            let (mut reader, size) = members.open(name)?.ok_or_else(|| OciError::NotFound {
                what: format!("layer `{name}`"),
                store: store.clone(),
            })?;
            let mut prefix = Vec::with_capacity(4);
            (&mut reader)
                .take(4)
                .read_to_end(&mut prefix)
                .map_err(|e| OciError::io(format!("reading layer `{name}` in {store}"), e))?;
            let compression = Compression::sniff(&prefix);
            let from_diff_id = || match compression {
                Compression::None => diff_ids.get(i).and_then(|d| d.parse::<Digest>().ok()),
                _ => None,
            };
            let digest = match digest_from_name(name).or_else(from_diff_id) {
                Some(d) => d,
                None => {
                    let (reader, _) = members.open(name)?.ok_or_else(|| OciError::NotFound {
                        what: format!("layer `{name}`"),
                        store: store.clone(),
                    })?;
                    digest_reader(reader)
                        .map_err(|e| OciError::io(format!("hashing layer `{name}` in {store}"), e))?
                        .0
                }
            };
            blobs.insert(digest.clone(), name.clone());
            layers.push(json!({
                "mediaType": compression.oci_media_type(),
                "digest": digest.to_string(),
                "size": size,
            }));
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": media::OCI_MANIFEST,
            "config": {"mediaType": media::OCI_CONFIG, "digest": config_digest.to_string(), "size": config.len()},
            "layers": layers,
        });
        let bytes = serde_json::to_vec(&manifest).map_err(|e| malformed(e.to_string()))?;
        Ok(Self {
            repo_tags: entry.repo_tags.clone().unwrap_or_default(),
            manifest: RawManifest {
                media_type: media::OCI_MANIFEST.into(),
                digest: Digest::of(&bytes),
                bytes,
            },
            blobs,
        })
    }
}
