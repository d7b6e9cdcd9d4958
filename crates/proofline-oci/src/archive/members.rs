//! The member index of a tar file: read once (headers only, data skipped by seeking), then
//! each member is read in place by seeking, so an archive is never extracted.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::digest::Digest;
use crate::error::OciError;
use crate::fs::resolve_in_root;
use crate::layer::Compression;
use crate::layout::{LayoutFiles, read_bounded};

/// How many links we follow from one name before calling it a loop.
const MAX_LINK_HOPS: usize = 16;

#[derive(Debug, Clone)]
enum Member {
    File {
        offset: u64,
        size: u64,
    },
    /// A symlink or hardlink, target already made relative to the archive root.
    Link(String),
}

/// A member's bytes, read in place, and its size.
pub(crate) type MemberReader = (Box<dyn Read + Send>, u64);

/// Where each member of a tar file lies.
#[derive(Debug)]
pub(crate) struct TarMembers {
    path: PathBuf,
    name: String,
    members: HashMap<String, Member>,
}

/// `./a//b` → `a/b`; `None` for names that climb out with `..` (we never need them).
fn clean(name: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

impl TarMembers {
    /// Indexes the tar at `path`. Two regular members with the same name make the archive
    /// ambiguous (which one would `docker load` see?), so that is refused.
    pub(crate) fn index(path: &Path, name: String) -> Result<Self, OciError> {
        let file = File::open(path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => OciError::NotFound {
                what: format!("the file {}", path.display()),
                store: name.clone(),
            },
            _ => OciError::io(format!("opening {name}"), e),
        })?;
        let bad = |e: io::Error| OciError::Malformed {
            what: name.clone(),
            reason: format!("not a readable tar archive: {e}"),
        };
        let mut file = file;
        let mut magic = Vec::with_capacity(4);
        (&mut file).take(4).read_to_end(&mut magic).map_err(bad)?;
        if Compression::sniff(&magic) != Compression::None {
            return Err(OciError::Malformed {
                what: name.clone(),
                reason: format!(
                    "the archive is {}-compressed; decompress it first (docker save writes a plain tar)",
                    Compression::sniff(&magic)
                ),
            });
        }
        file.seek(SeekFrom::Start(0)).map_err(bad)?;
        let mut archive = tar::Archive::new(BufReader::new(file));
        let mut members = HashMap::new();
        for entry in archive.entries_with_seek().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            let raw = entry.path_bytes();
            let Some(member) = std::str::from_utf8(&raw).ok().and_then(clean) else {
                continue;
            };
            let etype = entry.header().entry_type();
            let value = if etype.is_file() || etype.is_contiguous() {
                Member::File {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                }
            } else if etype.is_symlink() || etype.is_hard_link() {
                let Some(target) = entry
                    .link_name_bytes()
                    .and_then(|b| String::from_utf8(b.into_owned()).ok())
                else {
                    continue;
                };
                let resolved = if etype.is_symlink() {
                    resolve_in_root(&format!("/{member}"), &target)
                } else {
                    resolve_in_root("/", &target)
                };
                Member::Link(resolved.trim_start_matches('/').to_string())
            } else {
                continue;
            };
            if members.insert(member.clone(), value).is_some() {
                return Err(OciError::Malformed {
                    what: name.clone(),
                    reason: format!(
                        "two members are named `{member}`; refusing an ambiguous archive"
                    ),
                });
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            name,
            members,
        })
    }

    /// Offset and size of a regular member, links followed.
    pub(crate) fn locate(&self, member: &str) -> Result<Option<(u64, u64)>, OciError> {
        let mut current = clean(member).unwrap_or_default();
        for _ in 0..MAX_LINK_HOPS {
            match self.members.get(&current) {
                None => return Ok(None),
                Some(Member::File { offset, size }) => return Ok(Some((*offset, *size))),
                Some(Member::Link(target)) => current = target.clone(),
            }
        }
        Err(OciError::Malformed {
            what: self.name.clone(),
            reason: format!("`{member}` is a link loop"),
        })
    }

    /// Whether a member exists (as a file, links followed).
    pub(crate) fn contains(&self, member: &str) -> bool {
        matches!(self.locate(member), Ok(Some(_)))
    }

    /// Reads a member in place, `None` when absent.
    pub(crate) fn open(&self, member: &str) -> Result<Option<MemberReader>, OciError> {
        let Some((offset, size)) = self.locate(member)? else {
            return Ok(None);
        };
        let what = || format!("reading `{member}` in {}", self.name);
        let mut file = File::open(&self.path).map_err(|e| OciError::io(what(), e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| OciError::io(what(), e))?;
        Ok(Some((
            Box::new(BufReader::with_capacity(256 * 1024, file).take(size)),
            size,
        )))
    }

    /// Names the archive in errors.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl LayoutFiles for TarMembers {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn read_meta(&self, name: &str) -> Result<Option<Vec<u8>>, OciError> {
        match self.open(name)? {
            None => Ok(None),
            Some((r, _)) => read_bounded(r, &format!("`{name}` in {}", self.name)).map(Some),
        }
    }

    fn open_blob_file(
        &self,
        digest: &Digest,
    ) -> Result<(Box<dyn Read + Send + '_>, u64), OciError> {
        let member = format!("blobs/{}/{}", digest.algorithm(), digest.hex());
        self.open(&member)?.ok_or_else(|| OciError::NotFound {
            what: format!("blob {digest}"),
            store: self.name.clone(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::clean;

    #[test]
    fn cleans_member_names() {
        assert_eq!(
            clean("./blobs//sha256/ab").as_deref(),
            Some("blobs/sha256/ab")
        );
        assert_eq!(clean("a/../b").as_deref(), Some("b"));
        assert_eq!(clean("../x"), None);
    }
}
