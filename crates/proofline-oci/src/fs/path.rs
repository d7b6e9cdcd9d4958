//! Lexical path handling for layer entries: tar names and link targets are attacker data,
//! so they are normalised here, without ever touching a real filesystem.

/// A tar entry name made absolute and normalised (`./usr//bin/` → `/usr/bin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Normalized {
    /// Absolute, no `.`/`..`/empty components, no trailing slash; `/` for the root.
    pub path: String,
    /// The name was absolute (`/etc/passwd`): legal in no layer producer, so worth a warning.
    pub absolute: bool,
    /// The name had `..` components that stayed inside the root (`a/../b`).
    pub dot_dot: bool,
}

/// The name climbs above the root (`../../etc/passwd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Escapes;

/// Normalises a tar entry name relative to the image root. `..` that would climb above
/// the root is an error: such an entry is skipped, never clamped, because clamping would
/// let it shadow a legitimate file.
pub(crate) fn normalize_entry_name(name: &str) -> Result<Normalized, Escapes> {
    let absolute = name.starts_with('/');
    let mut dot_dot = false;
    let mut parts: Vec<&str> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                dot_dot = true;
                if parts.pop().is_none() {
                    return Err(Escapes);
                }
            }
            other => parts.push(other),
        }
    }
    Ok(Normalized {
        path: join_absolute(&parts),
        absolute,
        dot_dot,
    })
}

fn join_absolute(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>().max(1));
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The directory holding `path` (`/a/b` → `/a`, `/a` → `/`).
pub(crate) fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// `dir` joined with one component `name` (`/` + `x` → `/x`).
pub(crate) fn join(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Walks `link` from the directory of `path` (or from `/` when `link` is absolute),
/// clamping `..` at the root. Returns the resolved components and whether a `..` tried
/// to climb above the root.
fn walk_link<'a>(path: &'a str, link: &'a str) -> (Vec<&'a str>, bool) {
    let mut parts: Vec<&str> = Vec::new();
    if !link.starts_with('/') {
        parts.extend(
            parent(path)
                .split('/')
                .filter(|c| !c.is_empty() && *c != "."),
        );
    }
    let mut escaped = false;
    for c in link.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    escaped = true;
                }
            }
            other => parts.push(other),
        }
    }
    (parts, escaped)
}

/// Resolves the symlink target `link` of the entry at `path` the way a chroot would:
/// relative targets start from the entry's directory, absolute ones from the image root,
/// and `..` never climbs above `/`. Purely lexical: intermediate symlinks are not followed
/// (the caller may resolve again on the result). `path` is an absolute image path.
///
/// ```
/// use proofline_oci::fs::resolve_in_root;
/// assert_eq!(resolve_in_root("/usr/bin/python3", "python3.11"), "/usr/bin/python3.11");
/// assert_eq!(resolve_in_root("/etc/evil", "../../../../etc/shadow"), "/etc/shadow");
/// assert_eq!(resolve_in_root("/a/b", "/opt/./x/"), "/opt/x");
/// ```
pub fn resolve_in_root(path: &str, link: &str) -> String {
    join_absolute(&walk_link(path, link).0)
}

/// Whether following `link` from the entry at `path` tries to climb above the root with
/// `..` (an absolute target stays inside the root: inside the container `/` is the root).
pub fn link_escapes_root(path: &str, link: &str) -> bool {
    walk_link(path, link).1
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn normalises_names() {
        let n = |s: &str| normalize_entry_name(s).unwrap();
        assert_eq!(n("./usr//bin/").path, "/usr/bin");
        assert_eq!(n("etc/passwd").path, "/etc/passwd");
        assert_eq!(n("./").path, "/");
        assert!(n("/etc/passwd").absolute);
        assert!(!n("./etc/passwd").absolute);
        let d = n("a/../b");
        assert_eq!((d.path.as_str(), d.dot_dot), ("/b", true));
        assert_eq!(normalize_entry_name("../etc/passwd"), Err(Escapes));
        assert_eq!(normalize_entry_name("a/../../x"), Err(Escapes));
        assert_eq!(normalize_entry_name("/../x"), Err(Escapes));
    }

    #[test]
    fn parents_and_joins() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(join("/", "x"), "/x");
        assert_eq!(join("/a", "x"), "/a/x");
    }

    #[test]
    fn resolves_links_like_a_chroot() {
        assert_eq!(
            resolve_in_root("/lib/x.so", "../usr/lib/x.so.1"),
            "/usr/lib/x.so.1"
        );
        assert_eq!(resolve_in_root("/a", "../../.."), "/");
        assert_eq!(resolve_in_root("/a/b", "."), "/a");
        assert!(link_escapes_root("/etc/x", "../../etc/shadow"));
        assert!(!link_escapes_root("/etc/x", "../etc/shadow"));
        assert!(!link_escapes_root("/etc/x", "/etc/shadow"));
        assert!(link_escapes_root("/etc/x", "/../etc/shadow"));
    }
}
