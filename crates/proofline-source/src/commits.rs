//! The commits (and signed tags) a change brings, read with git2: metadata, the raw signature and
//! the exact signed payload of each, and an honest count of what a shallow clone hid from us.

use std::path::{Path, PathBuf};

use git2::{ErrorCode, Oid, Repository, Sort};
use serde::Serialize;

use crate::signature::{SignatureKind, kind_of};

/// Why the commits could not be read (findings about the commits are data, not errors).
#[derive(Debug, thiserror::Error)]
pub enum CommitsError {
    #[error(
        "cannot open a git repository at {path}: {source}; pass --repo with the repository's root and check it out first (e.g. actions/checkout)"
    )]
    Open { path: PathBuf, source: git2::Error },
    #[error("{}", revision_message(repo, rev, *shallow, source))]
    Revision {
        repo: PathBuf,
        rev: String,
        shallow: bool,
        source: git2::Error,
    },
    #[error("cannot walk the history of {repo} for {rev}: {source}")]
    Walk {
        repo: PathBuf,
        rev: String,
        source: git2::Error,
    },
    #[error("cannot read object {sha} in {repo}: {source}")]
    Object {
        repo: PathBuf,
        sha: String,
        source: git2::Error,
    },
    #[error(
        "{rev} in {repo} is a {found}, not an annotated tag; lightweight tags cannot be signed, create one with `git tag -s`"
    )]
    NotATag {
        repo: PathBuf,
        rev: String,
        found: String,
    },
}

fn revision_message(repo: &Path, rev: &str, shallow: bool, source: &git2::Error) -> String {
    if shallow {
        format!(
            "revision {rev} not found in {}: {source}; the repository is a shallow clone, fetch the whole history (actions/checkout `fetch-depth: 0`, GitLab `GIT_DEPTH: 0`, or `git fetch --unshallow`)",
            repo.display()
        )
    } else {
        format!(
            "revision {rev} not found in {}: {source}; check the sha or ref, and that it was fetched (`git fetch origin {rev}`)",
            repo.display()
        )
    }
}

/// Which commits to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// `A..B`: the commits reachable from `B` and not from `A` (merge commits included).
    Range { from: String, to: String },
    /// One commit.
    Single(String),
    /// Every commit reachable from this revision (a branch's first push with no default
    /// branch to compare against, e.g. the first push of a repository).
    Ancestry(String),
}

impl Selection {
    /// Parses `A..B` as a range and anything else as one revision.
    pub fn parse(spec: &str) -> Self {
        match spec.split_once("..") {
            Some((from, to)) if !from.is_empty() && !to.is_empty() && !to.starts_with('.') => {
                Self::Range {
                    from: from.to_string(),
                    to: to.to_string(),
                }
            }
            _ => Self::Single(spec.to_string()),
        }
    }
}

/// A person and a time, as recorded in a commit or tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub name: String,
    pub email: String,
    /// Unix seconds.
    pub time: i64,
    /// The recorded timezone offset, minutes east of UTC.
    pub offset_minutes: i32,
}

impl Person {
    fn from_sig(sig: &git2::Signature<'_>) -> Self {
        Self {
            name: String::from_utf8_lossy(sig.name_bytes()).into_owned(),
            email: String::from_utf8_lossy(sig.email_bytes()).into_owned(),
            time: sig.when().seconds(),
            offset_minutes: sig.when().offset_minutes(),
        }
    }
}

/// A signature and the exact bytes it signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedPayload {
    /// `None` when the block is not a known armor (reported as a bad signature).
    pub kind: Option<SignatureKind>,
    /// The armored signature (the `gpgsig` header, or the block ending a tag message).
    #[serde(skip)]
    pub signature: Vec<u8>,
    /// The object without its signature: what the signer signed.
    #[serde(skip)]
    pub payload: Vec<u8>,
}

/// One commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitInfo {
    pub sha: String,
    pub tree: String,
    /// Parent shas as recorded in the commit object (even those a shallow clone lacks).
    pub parents: Vec<String>,
    pub author: Person,
    pub committer: Person,
    pub summary: String,
    /// `None`: unsigned.
    pub signature: Option<SignedPayload>,
    /// A shallow-clone boundary: some parent is not in the repository.
    pub grafted: bool,
}

impl CommitInfo {
    pub fn is_merge(&self) -> bool {
        self.parents.len() > 1
    }
}

/// The commits of a selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitList {
    /// Topological order, newest first (as `git rev-list --topo-order`).
    pub commits: Vec<CommitInfo>,
    /// The repository is a shallow clone.
    pub shallow: bool,
    /// Listed commits whose parents are missing: history beyond them could not be reached.
    pub grafted: usize,
}

impl CommitList {
    /// The message the stage shows when history was cut off, `None` when nothing was.
    pub fn unreachable_note(&self) -> Option<String> {
        (self.grafted > 0).then(|| {
            format!(
                "{} commit(s) have parents that could not be reached (shallow clone); use fetch-depth: 0 (actions/checkout) or GIT_DEPTH: 0 (GitLab) to verify the whole range",
                self.grafted
            )
        })
    }
}

/// An annotated tag and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TagInfo {
    pub name: String,
    pub sha: String,
    /// The object the tag points at.
    pub target: String,
    pub tagger: Option<Person>,
    /// The message without its signature block.
    pub message: String,
    pub signature: Option<SignedPayload>,
}

/// A repository opened for reading commits.
pub struct CommitSource {
    repo: Repository,
    path: PathBuf,
}

impl std::fmt::Debug for CommitSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitSource")
            .field("path", &self.path)
            .finish()
    }
}

impl CommitSource {
    /// Opens `--repo PATH` (the work tree or the `.git` directory; no upward search).
    pub fn open(path: &Path) -> Result<Self, CommitsError> {
        let repo = Repository::open(path).map_err(|source| CommitsError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            repo,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// The underlying repository, for callers that need more.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    fn resolve(&self, rev: &str) -> Result<Oid, CommitsError> {
        self.repo
            .revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|source| CommitsError::Revision {
                repo: self.path.clone(),
                rev: rev.to_string(),
                shallow: self.repo.is_shallow(),
                source,
            })
    }

    /// Lists the commits of a selection.
    pub fn commits(&self, selection: &Selection) -> Result<CommitList, CommitsError> {
        let oids = match selection {
            Selection::Single(rev) => vec![self.resolve(rev)?],
            Selection::Ancestry(rev) => {
                let oid = self.resolve(rev)?;
                let walk_err = |source| CommitsError::Walk {
                    repo: self.path.clone(),
                    rev: rev.clone(),
                    source,
                };
                let mut walk = self.repo.revwalk().map_err(walk_err)?;
                walk.set_sorting(Sort::TOPOLOGICAL).map_err(walk_err)?;
                walk.push(oid).map_err(walk_err)?;
                walk.collect::<Result<Vec<_>, _>>().map_err(walk_err)?
            }
            Selection::Range { from, to } => {
                let from_oid = self.resolve(from)?;
                let to_oid = self.resolve(to)?;
                let spec = format!("{from}..{to}");
                let walk_err = |source| CommitsError::Walk {
                    repo: self.path.clone(),
                    rev: spec.clone(),
                    source,
                };
                let mut walk = self.repo.revwalk().map_err(walk_err)?;
                walk.set_sorting(Sort::TOPOLOGICAL).map_err(walk_err)?;
                walk.push(to_oid).map_err(walk_err)?;
                walk.hide(from_oid).map_err(walk_err)?;
                walk.collect::<Result<Vec<_>, _>>().map_err(walk_err)?
            }
        };
        let commits = oids
            .into_iter()
            .map(|oid| self.commit_info(oid))
            .collect::<Result<Vec<_>, _>>()?;
        let grafted = commits.iter().filter(|c| c.grafted).count();
        Ok(CommitList {
            commits,
            shallow: self.repo.is_shallow(),
            grafted,
        })
    }

    /// Whether a revision names a commit in this repository.
    pub fn has(&self, rev: &str) -> bool {
        self.resolve(rev).is_ok()
    }

    /// The full sha of a revision.
    pub fn sha_of(&self, rev: &str) -> Result<String, CommitsError> {
        self.resolve(rev).map(|oid| oid.to_string())
    }

    /// The branch HEAD points at, `None` when detached.
    pub fn current_branch(&self) -> Option<String> {
        let head = self.repo.head().ok()?;
        if head.is_branch() {
            head.shorthand().ok().map(str::to_string)
        } else {
            None
        }
    }

    /// The paths a change touches: the diff from the merge base of `from` and `to` to `to`
    /// (both sides of renames, deletions included), `/`-separated.
    pub fn changed_files(&self, from: &str, to: &str) -> Result<Vec<String>, CommitsError> {
        let to_oid = self.resolve(to)?;
        let from_oid = self.resolve(from)?;
        let err = |source| CommitsError::Walk {
            repo: self.path.clone(),
            rev: format!("{from}...{to}"),
            source,
        };
        let base = self.repo.merge_base(from_oid, to_oid).map_err(err)?;
        let base_tree = self
            .repo
            .find_commit(base)
            .and_then(|c| c.tree())
            .map_err(err)?;
        let head_tree = self
            .repo
            .find_commit(to_oid)
            .and_then(|c| c.tree())
            .map_err(err)?;
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&base_tree), Some(&head_tree), None)
            .map_err(err)?;
        let mut files: Vec<String> = diff
            .deltas()
            .flat_map(|d| [d.old_file().path(), d.new_file().path()])
            .flatten()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        files.sort();
        files.dedup();
        Ok(files)
    }

    /// A file's content at a revision, `None` when the path does not exist there.
    pub fn file_at(&self, rev: &str, path: &str) -> Result<Option<Vec<u8>>, CommitsError> {
        let oid = self.resolve(rev)?;
        let err = |source| CommitsError::Object {
            repo: self.path.clone(),
            sha: oid.to_string(),
            source,
        };
        let tree = self
            .repo
            .find_commit(oid)
            .and_then(|c| c.tree())
            .map_err(err)?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(entry) => entry,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(err(e)),
        };
        match entry.to_object(&self.repo).map_err(err)?.into_blob() {
            Ok(blob) => Ok(Some(blob.content().to_vec())),
            Err(_) => Ok(None),
        }
    }

    /// One commit by revision.
    pub fn commit(&self, rev: &str) -> Result<CommitInfo, CommitsError> {
        let oid = self.resolve(rev)?;
        self.commit_info(oid)
    }

    fn commit_info(&self, oid: Oid) -> Result<CommitInfo, CommitsError> {
        let obj_err = |source| CommitsError::Object {
            repo: self.path.clone(),
            sha: oid.to_string(),
            source,
        };
        let commit = self.repo.find_commit(oid).map_err(obj_err)?;
        // Parents from the raw object: libgit2 hides a shallow commit's parents (grafts).
        let odb = self.repo.odb().map_err(obj_err)?;
        let raw = odb.read(oid).map_err(obj_err)?;
        let parents = raw_parents(raw.data());
        let grafted = parents
            .iter()
            .any(|p| Oid::from_str(p).map(|p| !odb.exists(p)).unwrap_or(true));
        let signature = match self.repo.extract_signature(&oid, None) {
            Ok((sig, payload)) => Some(SignedPayload {
                kind: kind_of(&sig),
                signature: sig.to_vec(),
                payload: payload.to_vec(),
            }),
            Err(e) if e.code() == ErrorCode::NotFound => None,
            Err(source) => return Err(obj_err(source)),
        };
        Ok(CommitInfo {
            sha: oid.to_string(),
            tree: commit.tree_id().to_string(),
            parents,
            author: Person::from_sig(&commit.author()),
            committer: Person::from_sig(&commit.committer()),
            summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
                .into_owned(),
            signature,
            grafted,
        })
    }

    /// An annotated tag (`v1.0`, `refs/tags/v1.0` or its sha) and the signature ending its
    /// message, with the signed payload (the tag object up to the signature), as git checks it.
    pub fn tag(&self, rev: &str) -> Result<TagInfo, CommitsError> {
        let obj = self
            .repo
            .revparse_single(rev)
            .map_err(|source| CommitsError::Revision {
                repo: self.path.clone(),
                rev: rev.to_string(),
                shallow: self.repo.is_shallow(),
                source,
            })?;
        let Some(tag) = obj.as_tag() else {
            return Err(CommitsError::NotATag {
                repo: self.path.clone(),
                rev: rev.to_string(),
                found: obj
                    .kind()
                    .map(|k| k.str())
                    .unwrap_or("unknown object")
                    .to_string(),
            });
        };
        let obj_err = |source| CommitsError::Object {
            repo: self.path.clone(),
            sha: tag.id().to_string(),
            source,
        };
        let odb = self.repo.odb().map_err(obj_err)?;
        let raw = odb.read(tag.id()).map_err(obj_err)?;
        let data = raw.data();
        let (signature, message) = match signature_start(data) {
            Some(start) => {
                let sig = &data[start..];
                (
                    Some(SignedPayload {
                        kind: kind_of(sig),
                        signature: sig.to_vec(),
                        payload: data[..start].to_vec(),
                    }),
                    message_of(&data[..start]),
                )
            }
            None => (None, message_of(data)),
        };
        Ok(TagInfo {
            name: String::from_utf8_lossy(tag.name_bytes()).into_owned(),
            sha: tag.id().to_string(),
            target: tag.target_id().to_string(),
            tagger: tag.tagger().map(|t| Person::from_sig(&t)),
            message,
            signature,
        })
    }
}

/// `parent <sha>` lines of a raw commit's header.
fn raw_parents(data: &[u8]) -> Vec<String> {
    let mut parents = Vec::new();
    for line in data.split(|&b| b == b'\n') {
        if line.is_empty() {
            break;
        }
        if let Some(sha) = line.strip_prefix(b"parent ") {
            parents.push(String::from_utf8_lossy(sha).trim().to_string());
        }
    }
    parents
}

/// Start of the signature block of a tag: like git's `parse_signed_buffer`, the last line that
/// begins a PGP, SSH or x509 signature.
fn signature_start(data: &[u8]) -> Option<usize> {
    const MARKERS: [&[u8]; 3] = [
        b"-----BEGIN PGP SIGNATURE-----",
        b"-----BEGIN SSH SIGNATURE-----",
        b"-----BEGIN SIGNED MESSAGE-----",
    ];
    let mut found = None;
    let mut pos = 0;
    while pos < data.len() {
        let rest = &data[pos..];
        if MARKERS.iter().any(|m| rest.starts_with(m)) {
            found = Some(pos);
        }
        match rest.iter().position(|&b| b == b'\n') {
            Some(eol) => pos += eol + 1,
            None => break,
        }
    }
    found
}

fn message_of(object: &[u8]) -> String {
    let body = object
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| &object[i + 2..])
        .unwrap_or_default();
    String::from_utf8_lossy(body).into_owned()
}
