//! The real registry server for tests: Debian's `docker-registry` with a generated config that
//! binds 127.0.0.1 on a free port only (Debian's own config listens on every interface), storage
//! in a temporary directory, deletes enabled; optionally htpasswd or a bearer-token front.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::front::{TokenFront, TokenRequest};
use crate::require_tool;

/// How long the registry may take to answer `/v2/`.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `docker-registry`, killed on drop.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    upstream: String,
    front: Option<TokenFront>,
}

enum Auth<'a> {
    None,
    Htpasswd(&'a str, &'a str),
}

impl Registry {
    /// An open registry (no authentication).
    pub fn start() -> Self {
        Self::launch(Auth::None)
    }

    /// A registry requiring Basic authentication with `user`/`pass` (an htpasswd file, bcrypt).
    pub fn start_with_htpasswd(user: &str, pass: &str) -> Self {
        Self::launch(Auth::Htpasswd(user, pass))
    }

    /// A registry behind a front that requires bearer tokens, issued by a token server for
    /// `user`/`pass` (anonymous token requests get tokens without access). Clients talk to
    /// [`Registry::host`], the front; the registry itself is reachable only through it.
    pub fn start_with_token_auth(user: &str, pass: &str) -> Self {
        let mut r = Self::launch(Auth::None);
        r.front = Some(TokenFront::start(&r.upstream, user, pass));
        r
    }

    fn launch(auth: Auth<'_>) -> Self {
        let bin = require_tool("docker-registry");
        let dir = tempfile::tempdir().unwrap();
        let htpasswd = match auth {
            Auth::None => None,
            Auth::Htpasswd(user, pass) => Some(write_htpasswd(dir.path(), user, pass)),
        };
        let mut last_log = String::new();
        for _ in 0..3 {
            let port = free_port();
            let addr = format!("127.0.0.1:{port}");
            let config = dir.path().join("config.yml");
            std::fs::write(&config, config_json(dir.path(), &addr, htpasswd.as_deref())).unwrap();
            let log_path = dir.path().join("registry.log");
            let log = std::fs::File::create(&log_path).unwrap();
            let mut cmd = Command::new(&bin);
            cmd.arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            // REGISTRY_* variables override the config file: none may leak in from the environment.
            for (k, _) in std::env::vars_os() {
                if k.to_string_lossy().starts_with("REGISTRY_") {
                    cmd.env_remove(k);
                }
            }
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
            if wait_ready(&addr, &mut child) {
                return Self {
                    child,
                    dir,
                    upstream: addr,
                    front: None,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!("docker-registry did not start on 127.0.0.1; its log:\n{last_log}");
    }

    /// `127.0.0.1:<port>` that clients use (the token front when there is one).
    pub fn host(&self) -> &str {
        self.front
            .as_ref()
            .map_or(self.upstream.as_str(), TokenFront::host)
    }

    /// `127.0.0.1:<port>` of the registry process itself.
    pub fn upstream_host(&self) -> &str {
        &self.upstream
    }

    /// `host/<repo_and_tag>`, e.g. `127.0.0.1:5000/app:1`.
    pub fn reference(&self, repo_and_tag: &str) -> String {
        format!("{}/{repo_and_tag}", self.host())
    }

    /// `docker://host/<repo_and_tag>` for skopeo.
    pub fn docker(&self, repo_and_tag: &str) -> String {
        format!("docker://{}", self.reference(repo_and_tag))
    }

    /// Requests the token server received (token mode only).
    pub fn token_requests(&self) -> Vec<TokenRequest> {
        self.front
            .as_ref()
            .map(TokenFront::requests)
            .unwrap_or_default()
    }

    /// The registry's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// The storage directory (to corrupt a blob on disk, for instance).
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.front.take();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The registry config, as JSON (which YAML parsers read as YAML).
fn config_json(dir: &Path, addr: &str, htpasswd: Option<&Path>) -> Vec<u8> {
    let mut config = json!({
        "version": "0.1",
        "log": { "level": "warn", "accesslog": { "disabled": true } },
        "storage": {
            "filesystem": { "rootdirectory": dir.join("data") },
            "delete": { "enabled": true },
            "maintenance": { "uploadpurging": { "enabled": false } },
        },
        "http": {
            "addr": addr,
            "secret": format!("proofline-testkit-{addr}"),
            "headers": { "X-Content-Type-Options": ["nosniff"] },
        },
    });
    if let Some(path) = htpasswd {
        config["auth"] = json!({ "htpasswd": { "realm": "proofline-testkit", "path": path } });
    }
    serde_json::to_vec_pretty(&config).unwrap()
}

fn write_htpasswd(dir: &Path, user: &str, pass: &str) -> PathBuf {
    let bin = require_tool("htpasswd");
    let out = Command::new(bin)
        .args(["-Bbn", user, pass])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "htpasswd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join("htpasswd");
    std::fs::write(&path, &out.stdout).unwrap();
    path
}

/// A port free on 127.0.0.1 right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `GET /v2/` until the registry answers 200 or 401; `false` if it exits or times out.
fn wait_ready(addr: &str, child: &mut Child) -> bool {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut s) = TcpStream::connect(addr) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let req = format!("GET /v2/ HTTP/1.0\r\nHost: {addr}\r\n\r\n");
            if s.write_all(req.as_bytes()).is_ok() {
                let mut head = [0u8; 12];
                if s.read_exact(&mut head).is_ok()
                    && (head.ends_with(b"200") || head.ends_with(b"401"))
                {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_binds_loopback_only_and_enables_deletes() {
        let dir = Path::new("/tmp/x");
        let c: serde_json::Value = serde_json::from_slice(&config_json(
            dir,
            "127.0.0.1:5999",
            Some(Path::new("/tmp/x/htpasswd")),
        ))
        .unwrap();
        assert_eq!(c["http"]["addr"], "127.0.0.1:5999");
        assert_eq!(c["storage"]["delete"]["enabled"], true);
        assert_eq!(c["storage"]["filesystem"]["rootdirectory"], "/tmp/x/data");
        assert_eq!(c["auth"]["htpasswd"]["path"], "/tmp/x/htpasswd");
        assert!(c.get("auth").is_some());
        let open: serde_json::Value =
            serde_json::from_slice(&config_json(dir, "127.0.0.1:5999", None)).unwrap();
        assert!(open.get("auth").is_none());
    }

    #[test]
    fn a_started_registry_answers_on_loopback_and_stops_on_drop() {
        let reg = Registry::start();
        assert!(reg.host().starts_with("127.0.0.1:"));
        let host = reg.host().to_string();
        assert!(TcpStream::connect(&host).is_ok());
        drop(reg);
        assert!(
            TcpStream::connect(&host).is_err(),
            "the registry was killed on drop"
        );
    }
}
