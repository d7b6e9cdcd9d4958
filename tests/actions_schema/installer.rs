//! Runs the real install steps (actions/setup/install.sh and the GitLab `.proofline-install`
//! script) against a local HTTP server posing as the release host, to prove a release is
//! installed only when its SHA256SUMS line matches and that a missing release is the only
//! road to a source build. Needs bash, sh, curl, jq, tar, gzip and sha256sum on PATH.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread;

use serde_json::json;
use tempfile::TempDir;

const TOKEN: &str = "test-token-4f9c1e";
const TAG: &str = "v9.9.9";

/// Path -> (HTTP status, body).
type Routes = BTreeMap<String, (u16, Vec<u8>)>;

/// A tiny HTTP/1.1 server: fixed routes, every request's headers recorded.
struct Server {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// `routes` gets the server's base URL, so bodies can point back at the server.
    fn start(routes: impl FnOnce(&str) -> Routes) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes = routes(&base);
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                seen.lock().unwrap().push(head);
                let (status, body) = routes
                    .get(&path)
                    .cloned()
                    .unwrap_or((404, b"{\"message\":\"Not Found\"}".to_vec()));
                let header = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(header.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Server { base, requests }
    }

    fn saw_header(&self, header: &str) -> bool {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .any(|r| r.contains(header))
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is it installed?)"))
}

/// `proofline-<tag>-<target>.tar.gz` holding `bin/proofline`, a script printing its version.
fn release_archive(dir: &Path, target: &str) -> (String, Vec<u8>) {
    let stage = dir.join("stage");
    fs::create_dir_all(stage.join("bin")).unwrap();
    let bin = stage.join("bin/proofline");
    fs::write(&bin, "#!/bin/sh\necho 'proofline 9.9.9'\n").unwrap();
    run(Command::new("chmod").arg("755").arg(&bin));
    let name = format!("proofline-{TAG}-{target}.tar.gz");
    let archive = dir.join(&name);
    let out = run(Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&stage)
        .arg("bin"));
    assert!(
        out.status.success(),
        "tar: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (name, fs::read(&archive).unwrap())
}

fn sha256_hex(bytes: &[u8], scratch: &Path) -> String {
    let file = scratch.join("to-hash");
    fs::write(&file, bytes).unwrap();
    let out = run(Command::new("sha256sum").arg(&file));
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One GitHub job: a runner temp folder, GITHUB_OUTPUT / GITHUB_PATH files, the release routes.
struct GithubJob {
    tmp: TempDir,
    server: Server,
}

impl GithubJob {
    fn new(sums: Option<String>, release_status: u16) -> GithubJob {
        let tmp = TempDir::new().unwrap();
        let (name, bytes) = release_archive(tmp.path(), "x86_64-unknown-linux-gnu");
        let sums = sums.unwrap_or_else(|| format!("{}  {name}\n", sha256_hex(&bytes, tmp.path())));
        let server = Server::start(|base| {
            let mut routes = BTreeMap::new();
            let release = json!({"tag_name": TAG, "assets": [
                {"name": name, "url": format!("{base}/assets/1")},
                {"name": "SHA256SUMS", "url": format!("{base}/assets/2")},
            ]});
            let release = release.to_string().into_bytes();
            routes.insert(
                format!("/repos/o/r/releases/tags/{TAG}"),
                (release_status, release),
            );
            routes.insert("/assets/1".to_owned(), (200, bytes));
            routes.insert("/assets/2".to_owned(), (200, sums.into_bytes()));
            routes
        });
        GithubJob { tmp, server }
    }

    fn install_dir(&self) -> PathBuf {
        self.tmp.path().join("install")
    }

    fn outputs(&self) -> String {
        fs::read_to_string(self.tmp.path().join("output")).unwrap_or_default()
    }

    fn step(&self, sub: &str, version: &str) -> Output {
        run(Command::new("bash")
            .arg(repo().join("actions/setup/install.sh"))
            .arg(sub)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("GITHUB_API_URL", &self.server.base)
            .env("GITHUB_OUTPUT", self.tmp.path().join("output"))
            .env("GITHUB_PATH", self.tmp.path().join("path"))
            .env("RUNNER_TEMP", self.tmp.path())
            .env("RUNNER_OS", "Linux")
            .env("RUNNER_ARCH", "X64")
            .env("PROOFLINE_SETUP_VERSION", version)
            .env("PROOFLINE_SETUP_INSTALL_DIR", self.install_dir())
            .env("PROOFLINE_SETUP_TOKEN", TOKEN)
            .env("PROOFLINE_SETUP_ACTION_REF", TAG)
            .env("PROOFLINE_SETUP_ACTION_REPOSITORY", "o/r"))
    }
}

fn output_value(outputs: &str, key: &str) -> Option<String> {
    outputs
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_owned))
}

pub fn github_release_installs_when_checksum_matches() {
    let job = GithubJob::new(None, 200);
    let out = job.step("resolve", "");
    assert!(out.status.success(), "resolve failed:\n{}", text(&out));
    assert_eq!(
        output_value(&job.outputs(), "mode").as_deref(),
        Some("release")
    );
    assert!(job.install_dir().join("bin/proofline").is_file());
    assert!(
        job.server
            .saw_header(&format!("Authorization: Bearer {TOKEN}")),
        "the token must reach the API"
    );
    assert!(!text(&out).contains(TOKEN), "the token leaked into the log");

    let out = job.step("finish", "");
    assert!(out.status.success(), "finish failed:\n{}", text(&out));
    let outputs = job.outputs();
    assert_eq!(output_value(&outputs, "version").as_deref(), Some("9.9.9"));
    let bin_dir = job.install_dir().canonicalize().unwrap().join("bin");
    assert_eq!(
        output_value(&outputs, "bin-dir"),
        Some(bin_dir.display().to_string())
    );
    let path = fs::read_to_string(job.tmp.path().join("path")).unwrap();
    assert_eq!(path.trim_end(), bin_dir.display().to_string());
}

pub fn github_release_refused_on_mismatch() {
    let asset = format!("proofline-{TAG}-x86_64-unknown-linux-gnu.tar.gz");
    let wrong = format!("{}  {asset}\n", "0".repeat(64));
    let job = GithubJob::new(Some(wrong), 200);
    let out = job.step("resolve", "");
    assert!(
        !out.status.success(),
        "a checksum mismatch must fail:\n{}",
        text(&out)
    );
    assert!(text(&out).contains("checksum mismatch"), "{}", text(&out));
    assert!(!job.install_dir().join("bin/proofline").exists());
    assert_eq!(output_value(&job.outputs(), "mode"), None);

    // SHA256SUMS without a line for our asset fails closed too.
    let other = format!(
        "{}  proofline-{TAG}-aarch64-apple-darwin.tar.gz\n",
        "a".repeat(64)
    );
    let job = GithubJob::new(Some(other), 200);
    let out = job.step("resolve", "");
    assert!(!out.status.success());
    assert!(text(&out).contains("no single entry"), "{}", text(&out));
    assert!(!job.install_dir().join("bin/proofline").exists());
}

pub fn github_missing_release_plans_source_build() {
    // The action's own ref has no release: plan a source build with a cache key.
    let job = GithubJob::new(None, 404);
    let out = job.step("resolve", "");
    assert!(out.status.success(), "{}", text(&out));
    let outputs = job.outputs();
    assert_eq!(output_value(&outputs, "mode").as_deref(), Some("source"));
    let hash = output_value(&outputs, "source-hash").unwrap();
    assert!(
        hash.len() == 64 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{hash}"
    );
    assert!(!job.install_dir().join("bin/proofline").exists());

    // An explicitly requested version that has no release is an error, not a silent build.
    let job = GithubJob::new(None, 404);
    let out = job.step("resolve", TAG);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("no release"), "{}", text(&out));
    assert_eq!(output_value(&job.outputs(), "mode"), None);

    // An API answer we cannot read (403) stops, naming the permission: never a silent fallback.
    let job = GithubJob::new(None, 403);
    let out = job.step("resolve", "");
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("contents: read"), "{}", text(&out));
    assert_eq!(output_value(&job.outputs(), "mode"), None);
}

/// The host's release target, as the GitLab script derives it from `uname -m`.
fn host_target() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-gnu",
        _ => "x86_64-unknown-linux-gnu",
    }
}

fn gitlab_script(template: &str) -> String {
    let job = super::rules::gitlab_install_job(template).expect(".proofline-install job");
    job["before_script"][0]
        .as_str()
        .expect("one script block")
        .to_owned()
}

/// Run the template's install script as a GitLab job would, with PATH limited to system tools
/// (no cargo), against a release host whose SHA256SUMS is `sums` (None = correct).
fn gitlab_run(
    template: &str,
    sums: Option<String>,
    explicit: &str,
    component: &str,
) -> (Output, TempDir) {
    let tmp = TempDir::new().unwrap();
    let (name, bytes) = release_archive(tmp.path(), host_target());
    let sums = sums.unwrap_or_else(|| format!("{}  {name}\n", sha256_hex(&bytes, tmp.path())));
    let server = Server::start(|_| {
        let mut routes = BTreeMap::new();
        routes.insert(format!("/dl/{TAG}/{name}"), (200, bytes));
        routes.insert(format!("/dl/{TAG}/SHA256SUMS"), (200, sums.into_bytes()));
        routes
    });
    let project = tmp.path().join("project");
    fs::create_dir_all(&project).unwrap();
    let out = run(Command::new("sh")
        .arg("-c")
        .arg(gitlab_script(template))
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", tmp.path())
        .env("CI_PROJECT_DIR", &project)
        .env("PROOFLINE_SETUP_VERSION", explicit)
        .env("PROOFLINE_SETUP_COMPONENT_VERSION", component)
        .env(
            "PROOFLINE_SETUP_COMPONENT_SHA",
            "0123456789abcdef0123456789abcdef01234567",
        )
        .env("PROOFLINE_SETUP_RELEASE_URL", format!("{}/dl", server.base))
        .env(
            "PROOFLINE_SETUP_SOURCE_URL",
            "https://example.invalid/proofline.git",
        )
        .env("PROOFLINE_SETUP_INSTALL_DIR", ".proofline"));
    (out, tmp)
}

pub fn gitlab_install_verifies_checksum(template: &str) {
    let (out, tmp) = gitlab_run(template, None, "", "9.9.9");
    assert!(out.status.success(), "install failed:\n{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("proofline 9.9.9"),
        "{}",
        text(&out)
    );
    let installed = tmp.path().join("project/.proofline/bin/proofline");
    assert!(installed.is_file());

    let asset = format!("proofline-{TAG}-{}.tar.gz", host_target());
    let (out, tmp) = gitlab_run(
        template,
        Some(format!("{}  {asset}\n", "f".repeat(64))),
        "",
        "9.9.9",
    );
    assert!(
        !out.status.success(),
        "a checksum mismatch must fail:\n{}",
        text(&out)
    );
    assert!(text(&out).contains("checksum mismatch"), "{}", text(&out));
    assert!(!tmp.path().join("project/.proofline/bin/proofline").exists());

    // A version with no release: built from the component's commit (here: no cargo, so the
    // job fails saying why) when it is the component's own version, an error when explicit.
    let (out, _tmp) = gitlab_run(template, None, "", "8.8.8");
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no release v8.8.8, building commit"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("cargo not found"), "{}", text(&out));
    let (out, _tmp) = gitlab_run(template, None, "8.8.8", "9.9.9");
    assert!(!out.status.success());
    assert!(text(&out).contains("HTTP 404"), "{}", text(&out));
    assert!(!text(&out).contains("building commit"), "{}", text(&out));
}
