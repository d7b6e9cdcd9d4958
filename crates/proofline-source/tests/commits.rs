//! Listing commits with git2 in real repositories made by `git`: range order and contents (merge
//! commits included), commit metadata, and shallow clones that must say what they could not see.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use proofline_source::commits::{CommitSource, CommitsError, Selection};
use tempfile::TempDir;

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .args([
            "-c",
            "user.name=Alice Example",
            "-c",
            "user.email=alice@example.com",
            "-c",
            "commit.gpgsign=false",
        ]);
    cmd
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(dir: &Path, msg: &str) -> String {
    run(git(dir).args(["commit", "-q", "--allow-empty", "-m", msg]));
    run(git(dir).args(["rev-parse", "HEAD"]))
}

fn init() -> TempDir {
    let dir = TempDir::new().unwrap();
    run(git(dir.path()).args(["init", "-q", "-b", "main"]));
    dir
}

/// main: m1 - m2 - m3 ------ merge
///              \           /
/// topic:        t1 - t2 --'
fn history_with_merge(dir: &Path) -> (String, String) {
    let _m1 = commit(dir, "m1");
    let m2 = commit(dir, "m2");
    run(git(dir).args(["checkout", "-q", "-b", "topic"]));
    commit(dir, "t1");
    commit(dir, "t2");
    run(git(dir).args(["checkout", "-q", "main"]));
    commit(dir, "m3");
    run(git(dir).args(["merge", "-q", "--no-ff", "-m", "merge topic", "topic"]));
    (m2, run(git(dir).args(["rev-parse", "HEAD"])))
}

#[test]
fn range_lists_commits_in_git_rev_list_topo_order_including_the_merge() {
    let repo = init();
    let (m2, head) = history_with_merge(repo.path());
    let expected: Vec<String> =
        run(git(repo.path()).args(["rev-list", "--topo-order", &format!("{m2}..{head}")]))
            .lines()
            .map(str::to_string)
            .collect();

    let list = CommitSource::open(repo.path())
        .unwrap()
        .commits(&Selection::parse(&format!("{m2}..main")))
        .unwrap();
    let shas: Vec<String> = list.commits.iter().map(|c| c.sha.clone()).collect();
    assert_eq!(shas, expected);
    assert_eq!(shas.len(), 4);
    assert_eq!(list.commits[0].summary, "merge topic");
    assert!(list.commits[0].is_merge());
    assert_eq!(list.commits.iter().filter(|c| c.is_merge()).count(), 1);
    assert!(!list.shallow);
    assert_eq!(list.grafted, 0);
    assert_eq!(list.unreachable_note(), None);
}

#[test]
fn single_commit_carries_tree_parents_people_and_summary() {
    let repo = init();
    let first = commit(repo.path(), "first");
    std::fs::write(repo.path().join("file.txt"), "hello\n").unwrap();
    run(git(repo.path()).args(["add", "file.txt"]));
    run(git(repo.path())
        .env("GIT_AUTHOR_NAME", "Bob Author")
        .env("GIT_AUTHOR_EMAIL", "bob@example.com")
        .env("GIT_AUTHOR_DATE", "2024-05-06T07:08:09+02:00")
        .args(["commit", "-q", "-m", "add file\n\nlonger body"]));
    let sha = run(git(repo.path()).args(["rev-parse", "HEAD"]));
    let tree = run(git(repo.path()).args(["rev-parse", "HEAD^{tree}"]));

    let source = CommitSource::open(repo.path()).unwrap();
    let c = source.commit("HEAD").unwrap();
    assert_eq!(c.sha, sha);
    assert_eq!(c.tree, tree);
    assert_eq!(c.parents, vec![first.clone()]);
    assert_eq!(c.summary, "add file");
    assert_eq!(c.author.name, "Bob Author");
    assert_eq!(c.author.email, "bob@example.com");
    assert_eq!(c.author.time, 1_714_972_089);
    assert_eq!(c.author.offset_minutes, 120);
    assert_eq!(c.committer.email, "alice@example.com");
    assert!(c.signature.is_none());
    assert!(!c.grafted);

    // A single-commit selection lists just that commit; the root commit has no parents.
    let list = source.commits(&Selection::parse(&first)).unwrap();
    assert_eq!(list.commits.len(), 1);
    assert!(list.commits[0].parents.is_empty());
}

#[test]
fn selection_parses_ranges_and_single_revisions() {
    assert_eq!(
        Selection::parse("a..b"),
        Selection::Range {
            from: "a".into(),
            to: "b".into()
        }
    );
    assert_eq!(Selection::parse("HEAD"), Selection::Single("HEAD".into()));
    assert_eq!(Selection::parse("a...b"), Selection::Single("a...b".into()));
}

#[test]
fn shallow_clone_counts_commits_whose_parents_are_missing() {
    // main: m1 - m2 - m3; feature (from m1): f1 - f2 - f3.
    let origin = init();
    let o = origin.path();
    commit(o, "m1");
    run(git(o).args(["checkout", "-q", "-b", "feature"]));
    commit(o, "f1");
    commit(o, "f2");
    commit(o, "f3");
    run(git(o).args(["checkout", "-q", "main"]));
    commit(o, "m2");
    commit(o, "m3");
    // Both branches at depth 2: m3, m2 and f3, f2 (f2's parent f1 is not fetched).
    let clone = TempDir::new().unwrap();
    let url = format!("file://{}", o.display());
    run(git(clone.path()).args([
        "clone",
        "-q",
        "--depth",
        "2",
        "--no-single-branch",
        &url,
        "c",
    ]));
    let path = clone.path().join("c");

    let source = CommitSource::open(&path).unwrap();
    assert!(source.is_shallow());
    let list = source.commits(&Selection::parse("HEAD")).unwrap();
    assert!(list.shallow);
    assert_eq!(list.grafted, 0, "the head's parent was fetched");

    let list = source
        .commits(&Selection::parse("origin/main..origin/feature"))
        .unwrap();
    let summaries: Vec<&str> = list.commits.iter().map(|c| c.summary.as_str()).collect();
    assert_eq!(summaries, vec!["f3", "f2"]);
    assert_eq!(list.grafted, 1);
    assert!(list.commits[1].grafted && !list.commits[0].grafted);
    // A grafted commit keeps its recorded parent.
    assert_eq!(list.commits[1].parents.len(), 1);
    let note = list.unreachable_note().unwrap();
    assert!(
        note.starts_with("1 commit(s)")
            && note.contains("could not be reached")
            && note.contains("fetch-depth: 0"),
        "{note}"
    );
}

#[test]
fn depth_one_clone_names_the_missing_revision_and_the_fix() {
    let origin = init();
    let first = commit(origin.path(), "one");
    commit(origin.path(), "two");
    commit(origin.path(), "three");
    let clone = TempDir::new().unwrap();
    let url = format!("file://{}", origin.path().display());
    run(git(clone.path()).args(["clone", "-q", "--depth", "1", &url, "c"]));
    let source = CommitSource::open(&clone.path().join("c")).unwrap();

    let list = source.commits(&Selection::parse("HEAD")).unwrap();
    assert_eq!(list.grafted, 1);
    assert!(list.commits[0].grafted);

    let err = source
        .commits(&Selection::parse(&format!("{first}..HEAD")))
        .unwrap_err();
    assert!(
        matches!(err, CommitsError::Revision { shallow: true, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&first) && msg.contains("fetch-depth: 0"),
        "{msg}"
    );
}

#[test]
fn errors_name_the_repository_and_the_fix() {
    let dir = TempDir::new().unwrap();
    let missing = dir.path().join("nope");
    let err = CommitSource::open(&missing).unwrap_err().to_string();
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("--repo"),
        "{err}"
    );

    let repo = init();
    commit(repo.path(), "one");
    let err = CommitSource::open(repo.path())
        .unwrap()
        .commit("deadbeef")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("deadbeef") && err.contains(&repo.path().display().to_string()),
        "{err}"
    );
    assert!(err.contains("git fetch"), "{err}");
}
