//! Stage names and artifact paths, and the checks that keep every read and write inside the evidence directory.

use std::borrow::Cow;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{EvidenceError, Result};

/// The file name of a stage's record, inside `evidence/<stage>/`.
pub const RECORD_FILE: &str = "record.json";
/// The file name of the index, at the top of the evidence directory.
pub const MANIFEST_FILE: &str = "manifest.json";

const MAX_STAGE_NAME: usize = 64;
const MAX_PATH: usize = 1024;
const MAX_COMPONENT: usize = 255;

/// Whether `name` is a valid stage name: `[a-z0-9][a-z0-9-]*`, at most 64 characters.
pub fn is_valid_stage_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_STAGE_NAME
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Checks a stage name (see [`is_valid_stage_name`]).
pub fn validate_stage_name(name: &str) -> Result<()> {
    if is_valid_stage_name(name) {
        Ok(())
    } else {
        Err(EvidenceError::InvalidStageName {
            name: name.to_string(),
        })
    }
}

/// Checks a `/`-separated relative path: no empty, `.` or `..` components, not absolute,
/// no backslash, NUL or control character, bounded length. Returns the components.
pub fn validate_relative_path(path: &str) -> Result<Vec<&str>> {
    let refuse = |reason| {
        Err(EvidenceError::InvalidPath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return refuse("the path is empty");
    }
    if path.len() > MAX_PATH {
        return refuse("the path is longer than 1024 bytes");
    }
    if path.starts_with('/') {
        return refuse(
            "absolute paths are not allowed; give a path relative to the stage directory",
        );
    }
    if path.contains('\\') {
        return refuse("backslashes are not allowed; separate components with `/`");
    }
    if path.contains('\0') {
        return refuse("NUL bytes are not allowed");
    }
    if path.chars().any(char::is_control) {
        return refuse("control characters (newlines, tabs, ...) are not allowed");
    }
    let components: Vec<&str> = path.split('/').collect();
    for component in &components {
        match *component {
            "" => return refuse("empty components (`//` or a trailing `/`) are not allowed"),
            "." => return refuse("`.` components are not allowed"),
            ".." => {
                return refuse(
                    "`..` components are not allowed: a stage writes only under its own directory",
                );
            }
            c if c.len() > MAX_COMPONENT => return refuse("a component is longer than 255 bytes"),
            _ => {}
        }
    }
    Ok(components)
}

/// Checks an artifact path relative to a stage directory; `record.json` at its top is reserved.
pub fn validate_artifact_path(path: &str) -> Result<()> {
    let components = validate_relative_path(path)?;
    if components == [RECORD_FILE] {
        return Err(EvidenceError::InvalidPath {
            path: path.to_string(),
            reason: "`record.json` is the stage's record, written by `finish`",
        });
    }
    Ok(())
}

/// Joins `/`-separated `rel` (already validated) onto `base`.
pub(crate) fn join_rel(base: &Path, rel: &str) -> PathBuf {
    let mut out = base.to_path_buf();
    for component in rel.split('/') {
        out.push(component);
    }
    out
}

/// `s` with control characters escaped (`\n` → `\\n`), so names and messages taken from
/// files on disk cannot forge extra lines (or CI workflow commands) in logs.
pub(crate) fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// A path for messages, with control characters escaped.
pub(crate) fn shown(path: &Path) -> String {
    printable(&path.display().to_string()).into_owned()
}

/// `symlink_metadata`, with `None` for "does not exist".
pub(crate) fn lstat(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(EvidenceError::io("inspect", path, err)),
    }
}

/// Where an existing file under `root` is, checking that no component of `rel` is a
/// symbolic link and that the final component is a regular file. `Ok(None)` if absent.
/// (`root` is canonical; the check is best effort against concurrent renames.)
pub(crate) fn existing_file(root: &Path, rel: &str) -> Result<Option<PathBuf>> {
    validate_relative_path(rel)?;
    let mut path = root.to_path_buf();
    let mut components = rel.split('/').peekable();
    while let Some(component) = components.next() {
        path.push(component);
        let Some(meta) = lstat(&path)? else {
            return Ok(None);
        };
        if meta.file_type().is_symlink() {
            return Err(EvidenceError::SymlinkRefused { path });
        }
        let last = components.peek().is_none();
        if last && !meta.is_file() {
            return Err(EvidenceError::WrongFileType {
                path,
                expected: "regular file",
            });
        }
        if !last && !meta.is_dir() {
            return Ok(None);
        }
    }
    Ok(Some(path))
}

/// Creates the parent directories of `rel` under `root` and checks that the real parent is
/// still inside `root` and that the target does not exist (as a link or anything else).
/// Returns the parent directory and the target path.
pub(crate) fn prepare_new_file(root: &Path, rel: &str) -> Result<(PathBuf, PathBuf)> {
    validate_relative_path(rel)?;
    let target = join_rel(root, rel);
    let parent = match target.parent() {
        Some(parent) => parent.to_path_buf(),
        None => root.to_path_buf(),
    };
    // Refuse links on the way down before creating anything through them.
    let mut walk = root.to_path_buf();
    for component in rel.split('/') {
        walk.push(component);
        if let Some(meta) = lstat(&walk)? {
            if meta.file_type().is_symlink() {
                return Err(EvidenceError::SymlinkRefused { path: walk });
            }
        } else {
            break;
        }
    }
    fs::create_dir_all(&parent).map_err(|e| EvidenceError::io("create directory", &parent, e))?;
    let real_parent =
        fs::canonicalize(&parent).map_err(|e| EvidenceError::io("resolve", &parent, e))?;
    if !real_parent.starts_with(root) {
        return Err(EvidenceError::OutsideEvidenceDir {
            path: parent,
            resolved: real_parent,
            root: root.to_path_buf(),
        });
    }
    if let Some(meta) = lstat(&target)? {
        if meta.file_type().is_symlink() {
            return Err(EvidenceError::SymlinkRefused { path: target });
        }
        return Err(EvidenceError::InvalidPath {
            path: rel.to_string(),
            reason: "a file already exists at this path",
        });
    }
    Ok((real_parent, target))
}

/// `rel` as a `/`-separated string, if every component is valid UTF-8.
pub(crate) fn to_slash_path(rel: &Path) -> Option<String> {
    let mut out = String::new();
    for component in rel.components() {
        let std::path::Component::Normal(name) = component else {
            return None;
        };
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(name.to_str()?);
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stage_names() {
        for ok in ["image", "sbom", "scan-2", "0", "a-b-c"] {
            assert!(is_valid_stage_name(ok), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            "-x",
            "Image",
            "a_b",
            "a b",
            "a/b",
            "..",
            "é",
            long.as_str(),
        ] {
            assert!(!is_valid_stage_name(bad), "{bad}");
        }
    }

    #[test]
    fn relative_paths_refused() {
        for bad in [
            "",
            "/etc/x",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            "a\0b",
            "a\nb",
            ".",
            "..",
        ] {
            assert!(validate_relative_path(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_relative_path("a/b/c.json").is_ok());
        assert!(validate_relative_path(".hidden").is_ok());
        assert!(validate_relative_path("..a").is_ok());
    }

    #[test]
    fn record_json_reserved_only_at_top() {
        assert!(validate_artifact_path("record.json").is_err());
        assert!(validate_artifact_path("sub/record.json").is_ok());
    }

    #[test]
    fn control_characters_are_escaped_for_messages() {
        assert_eq!(
            printable("a\n::error::x\t\u{1b}"),
            "a\\n::error::x\\t\\u{1b}"
        );
        assert!(matches!(printable("plain/é"), Cow::Borrowed(_)));
        let err = validate_relative_path("x\n::error::forged")
            .unwrap_err()
            .to_string();
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn slash_path_round_trip() {
        assert_eq!(to_slash_path(Path::new("a/b/c")).as_deref(), Some("a/b/c"));
        assert_eq!(to_slash_path(Path::new("/a")), None);
        assert_eq!(to_slash_path(Path::new("a/../b")), None);
    }
}
