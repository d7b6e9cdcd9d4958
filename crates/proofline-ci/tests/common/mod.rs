//! Shared test helpers: fixture paths, the runner environments built from the copied fixtures, and a parser for
//! GitHub file commands that follows the runner's own algorithm.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use proofline_ci::MapEnv;

/// `fixtures/ci/<rel>` in the workspace.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/ci")
        .join(rel)
}

pub fn read_fixture(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap()
}

/// The push job environment of `github/env.push.example.env`, its event path pointed at a copied payload.
pub fn github_push_env(payload: &str) -> MapEnv {
    let mut env = MapEnv::from_env_file(&read_fixture("github/env.push.example.env")).unwrap();
    env.set(
        "GITHUB_EVENT_PATH",
        fixture(&format!("github/{payload}")).to_str().unwrap(),
    );
    env
}

/// The pull_request job environment: the push environment overlaid with `github/env.pull_request.example.env`
/// (which lists only the lines that differ), with the given payload.
pub fn github_pull_request_env(payload: &str) -> MapEnv {
    let mut env = github_push_env(payload);
    env.extend_from_env_file(&read_fixture("github/env.pull_request.example.env"))
        .unwrap();
    env
}

/// The merge request pipeline environment of `gitlab/env.merge_request_event.example.env`.
pub fn gitlab_mr_env() -> MapEnv {
    MapEnv::from_env_file(&read_fixture("gitlab/env.merge_request_event.example.env")).unwrap()
}

/// Parse a `$GITHUB_OUTPUT` / `$GITHUB_ENV` file the way actions/runner does (`FileCommandManager.cs`,
/// `SetEnvFileCommand.ProcessCommand`, Linux: lines end at `\n`): for each non-empty line, `=` before `<<` means
/// `name=value`; `<<` before `=` means a heredoc whose value is the text up to the line break before the first line
/// equal to the delimiter. Later values of a name replace earlier ones. Errors are the runner's failures.
pub fn runner_parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    fn read_line<'t>(text: &'t str, index: &mut usize) -> Option<(&'t str, usize)> {
        if *index >= text.len() {
            return None;
        }
        let start = *index;
        match text[start..].find('\n') {
            None => {
                *index = text.len();
                Some((&text[start..], 0))
            }
            Some(lf) => {
                *index = start + lf + 1;
                Some((&text[start..start + lf], 1))
            }
        }
    }

    let mut out = BTreeMap::new();
    let mut index = 0;
    while let Some((line, _)) = read_line(text, &mut index) {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                let (name, value) = line.split_at(e);
                if name.is_empty() {
                    return Err(format!("Invalid format '{line}'. Name must not be empty"));
                }
                out.insert(name.to_owned(), value[1..].to_owned());
            }
            (_, Some(h)) => {
                let name = &line[..h];
                let delimiter = &line[h + 2..];
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!(
                        "Invalid format '{line}'. Name must not be empty and delimiter must not be empty"
                    ));
                }
                let start = index;
                let mut end = index;
                loop {
                    match read_line(text, &mut index) {
                        None => {
                            return Err(format!(
                                "Invalid value. Matching delimiter not found '{delimiter}'"
                            ));
                        }
                        Some((l, _)) if l == delimiter => break,
                        Some((_, newline)) => end = index - newline,
                    }
                }
                let value = if end > start { &text[start..end] } else { "" };
                out.insert(name.to_owned(), value.to_owned());
            }
            _ => return Err(format!("Invalid format '{line}'")),
        }
    }
    Ok(out)
}
