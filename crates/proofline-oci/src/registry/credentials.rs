//! Registry credentials and where they come from: explicit options (the CLI's
//! `PROOFLINE_REGISTRY_USERNAME`/`PROOFLINE_REGISTRY_PASSWORD`), `~/.docker/config.json` `auths`,
//! and Docker credential helpers (`credHelpers`, `credsStore`). Secrets never print.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::Settings;
use crate::error::OciError;

/// A secret string: `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Credentials for one registry. `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// Username and password (or a personal access token as password).
    Basic { username: String, password: Secret },
    /// An OAuth2 refresh token (`identitytoken` of `docker login`), exchanged at the token service.
    IdentityToken(Secret),
}

impl Credentials {
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials::Basic {
            username: username.into(),
            password: Secret::new(password),
        }
    }

    /// The `Authorization: Basic …` value, when these are basic credentials.
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                ))
            }
            Credentials::IdentityToken(_) => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(***)")
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Credentials found for a registry and where they came from (for error messages).
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub credentials: Credentials,
    pub source: String,
}

/// The config key Docker uses for Docker Hub.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";
/// Largest config.json / helper answer we read.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;
const MAX_HELPER_OUTPUT: u64 = 256 * 1024;

/// Normalises a registry name or a config.json key to a host: scheme and path stripped,
/// Docker Hub's aliases folded into `index.docker.io`.
pub(crate) fn normalise_key(key: &str) -> String {
    let k = key.trim();
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    let k = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match k.as_str() {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "index.docker.io".to_string()
        }
        _ => k,
    }
}

/// The server name a credential helper is asked about (`https://index.docker.io/v1/` for Docker Hub).
fn helper_server(registry: &str) -> String {
    if normalise_key(registry) == "index.docker.io" {
        DOCKER_HUB_KEY.to_string()
    } else {
        registry.to_string()
    }
}

/// `~/.docker/config.json`: the override, else `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
pub(crate) fn docker_config_path(overridden: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = overridden {
        return Some(p.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

#[derive(serde::Deserialize, Default)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(serde::Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// Finds credentials for `registry`: explicit ones first, then the Docker config's
/// `credHelpers` entry, inline `auths`, then `credsStore`. `Ok(None)` means anonymous.
pub(crate) async fn lookup(registry: &str, settings: &Settings) -> Result<Option<Found>, OciError> {
    if let Some(c) = &settings.credentials {
        let applies = settings
            .credentials_registry
            .as_deref()
            .is_none_or(|r| normalise_key(r) == normalise_key(registry));
        if applies {
            return Ok(Some(Found {
                credentials: c.clone(),
                source:
                    "the explicit options (PROOFLINE_REGISTRY_USERNAME/PROOFLINE_REGISTRY_PASSWORD)"
                        .into(),
            }));
        }
    }
    let Some(path) = docker_config_path(settings.docker_config.as_deref()) else {
        return Ok(None);
    };
    let Some(config) = read_config(&path, registry)? else {
        return Ok(None);
    };
    let wanted = normalise_key(registry);
    let shown = path.display().to_string();
    if let Some((_, helper)) = config
        .cred_helpers
        .iter()
        .find(|(k, _)| normalise_key(k) == wanted)
    {
        let found = run_helper(helper, &helper_server(registry), registry, settings).await?;
        return Ok(found.map(|credentials| Found {
            credentials,
            source: format!(
                "credential helper docker-credential-{helper} (credHelpers in {shown})"
            ),
        }));
    }
    if let Some((key, entry)) = config
        .auths
        .iter()
        .find(|(k, _)| normalise_key(k) == wanted)
        && let Some(credentials) = entry_credentials(entry, key, &path)?
    {
        return Ok(Some(Found {
            credentials,
            source: format!("`auths` in {shown}"),
        }));
    }
    if let Some(store) = config.creds_store.as_deref().filter(|s| !s.is_empty()) {
        let found = run_helper(store, &helper_server(registry), registry, settings).await?;
        return Ok(found.map(|credentials| Found {
            credentials,
            source: format!("credential helper docker-credential-{store} (credsStore in {shown})"),
        }));
    }
    Ok(None)
}

fn read_config(path: &Path, registry: &str) -> Result<Option<DockerConfig>, OciError> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(OciError::io(
                format!("reading Docker config {} for {registry}", path.display()),
                e,
            ));
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| OciError::io(format!("reading Docker config {}", path.display()), e))?;
    // The error from serde names a line and column only: never a value, which may be a secret.
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| OciError::Malformed {
            what: format!("Docker config {}", path.display()),
            reason: format!("invalid JSON at line {} column {}", e.line(), e.column()),
        })
}

fn entry_credentials(
    entry: &AuthEntry,
    key: &str,
    path: &Path,
) -> Result<Option<Credentials>, OciError> {
    if let Some(token) = entry.identitytoken.as_deref().filter(|t| !t.is_empty()) {
        return Ok(Some(Credentials::IdentityToken(Secret::new(token))));
    }
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let bad = || OciError::Malformed {
            what: format!("the `auth` of `{key}` in Docker config {}", path.display()),
            reason: "it must be base64 of `username:password`; run `docker login` again".into(),
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
        let (user, pass) = decoded.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credentials::basic(user, pass)));
    }
    match (entry.username.as_deref(), entry.password.as_deref()) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credentials::basic(u, p))),
        _ => Ok(None),
    }
}

/// Runs `docker-credential-<name> get` with the server on stdin, within the helper timeout.
/// `Ok(None)` when the helper has no credentials for the server.
async fn run_helper(
    name: &str,
    server: &str,
    registry: &str,
    settings: &Settings,
) -> Result<Option<Credentials>, OciError> {
    let program = format!("docker-credential-{name}");
    let auth_err = |message: String| OciError::Auth {
        registry: registry.to_string(),
        message,
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(auth_err(format!(
            "`{name}` is not a valid credential helper name (letters, digits, `.`, `_`, `-`); fix credHelpers/credsStore in the Docker config"
        )));
    }
    let path = settings
        .credential_helper_dirs
        .iter()
        .map(|d| d.join(&program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(&program));
    let mut child = tokio::process::Command::new(&path)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                auth_err(format!("the credential helper `{program}` named in the Docker config is not installed (not on PATH); install it, or remove it from credHelpers/credsStore"))
            } else {
                auth_err(format!("cannot run the credential helper `{program}`: {e}"))
            }
        })?;
    let timeout = settings.credential_helper_timeout;
    let run = async {
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading stdin is not an error of ours.
            let _ = stdin.write_all(server.as_bytes()).await;
            drop(stdin);
        }
        let mut out = Vec::new();
        let mut err = Vec::new();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let read_out = async {
            if let Some(s) = stdout {
                let _ = s.take(MAX_HELPER_OUTPUT).read_to_end(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(s) = stderr {
                let _ = s.take(MAX_HELPER_OUTPUT).read_to_end(&mut err).await;
            }
        };
        tokio::join!(read_out, read_err);
        let status = child.wait().await;
        (status, out, err)
    };
    let (status, out, err) = tokio::time::timeout(timeout, run).await.map_err(|_| {
        auth_err(format!("the credential helper `{program}` did not answer within {}s; check it works (`echo {server} | {program} get`)", timeout.as_secs()))
    })?;
    let status =
        status.map_err(|e| auth_err(format!("the credential helper `{program}` failed: {e}")))?;
    if !status.success() {
        let text = String::from_utf8_lossy(if out.is_empty() { &err } else { &out })
            .trim()
            .to_string();
        if text.to_ascii_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        let text: String = text.chars().take(200).collect();
        return Err(auth_err(format!(
            "the credential helper `{program}` failed ({status}): {text}"
        )));
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let answer: Answer = serde_json::from_slice(&out)
        .map_err(|e| auth_err(format!("the credential helper `{program}` answered invalid JSON (line {} column {}); expected {{\"Username\": …, \"Secret\": …}}", e.line(), e.column())))?;
    if answer.secret.is_empty() {
        return Ok(None);
    }
    // Docker's convention: an identity token is stored with the username `<token>`.
    if answer.username == "<token>" {
        return Ok(Some(Credentials::IdentityToken(Secret::new(answer.secret))));
    }
    Ok(Some(Credentials::basic(answer.username, answer.secret)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = Credentials::basic("alice", "hunter2");
        assert_eq!(format!("{c:?}"), "Credentials(***)");
        assert_eq!(format!("{c}"), "***");
        let t = Credentials::IdentityToken(Secret::new("tok"));
        assert!(!format!("{t:?}{t}").contains("tok"));
        assert_eq!(format!("{:?}", Secret::new("x")), "***");
    }

    #[test]
    fn keys_normalise_docker_hub_and_urls() {
        assert_eq!(
            normalise_key("https://index.docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(normalise_key("docker.io"), "index.docker.io");
        assert_eq!(normalise_key("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(normalise_key("GHCR.io"), "ghcr.io");
        assert_eq!(helper_server("docker.io"), DOCKER_HUB_KEY);
        assert_eq!(helper_server("ghcr.io"), "ghcr.io");
    }

    #[test]
    fn auth_entries_decode() {
        let p = Path::new("/x/config.json");
        let e = AuthEntry {
            auth: Some(base64::engine::general_purpose::STANDARD.encode("u:p:w")),
            ..AuthEntry::default()
        };
        assert_eq!(
            entry_credentials(&e, "k", p).unwrap(),
            Some(Credentials::basic("u", "p:w"))
        );
        let e = AuthEntry {
            auth: Some("!!".into()),
            ..AuthEntry::default()
        };
        let err = entry_credentials(&e, "k", p).unwrap_err().to_string();
        assert!(err.contains("base64") && !err.contains("!!"), "{err}");
        let e = AuthEntry {
            username: Some("u".into()),
            password: Some("p".into()),
            ..AuthEntry::default()
        };
        assert_eq!(
            entry_credentials(&e, "k", p).unwrap(),
            Some(Credentials::basic("u", "p"))
        );
        let e = AuthEntry {
            identitytoken: Some("t".into()),
            ..AuthEntry::default()
        };
        assert_eq!(
            entry_credentials(&e, "k", p).unwrap(),
            Some(Credentials::IdentityToken(Secret::new("t")))
        );
        assert_eq!(
            entry_credentials(&AuthEntry::default(), "k", p).unwrap(),
            None
        );
    }
}
