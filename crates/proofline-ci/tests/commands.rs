//! Workflow commands, GitLab sections and plain annotation lines, compared with the runner's example output.
#![allow(clippy::unwrap_used)]

mod common;

use common::{github_push_env, gitlab_mr_env, read_fixture};
use proofline_ci::{Annotation, Capture, Ci, CiOptions, MapEnv, Secret};

fn github() -> (Ci, Capture, Capture) {
    let (out, err) = (Capture::new(), Capture::new());
    let ci = Ci::from_env(
        &github_push_env("event.push.with-new-branch.payload.json"),
        CiOptions::default(),
    )
    .unwrap()
    .with_command_sink(out.clone())
    .with_message_sink(err.clone());
    (ci, out, err)
}

fn gitlab() -> (Ci, Capture, Capture) {
    let (out, err) = (Capture::new(), Capture::new());
    let ci = Ci::from_env(&gitlab_mr_env(), CiOptions::default())
        .unwrap()
        .with_command_sink(out.clone())
        .with_message_sink(err.clone())
        .with_clock(|| 1_700_000_000);
    (ci, out, err)
}

#[test]
fn github_commands_match_the_example_stdout() {
    let example = read_fixture("github/workflow-commands.stdout.example.txt");
    let expected: Vec<&str> = example.lines().take(9).collect();
    let (ci, out, _) = github();

    let group = ci.group("Verify commit signatures").unwrap();
    // Plain log text between the markers is the caller's; the example has one line there.
    drop(group);
    ci.mask(&Secret::new("ghs_16C7e42F292c6912E7710c838347Ae178B4a"))
        .unwrap();
    ci.debug(
        "GET /repos/octocat/Hello-World/commits/6dcb09b5b57875f334f61aebed695e2e4193db5e -> 200",
    )
    .unwrap();
    ci.annotate(&Annotation::notice("2 of 3 commits verified").title("Signature"))
        .unwrap();
    ci.annotate(
        &Annotation::warning("Invalid owner on line 7")
            .file(".github/CODEOWNERS")
            .line(7)
            .col(7)
            .title("CODEOWNERS"),
    )
    .unwrap();
    ci.annotate(
        &Annotation::error("Commit 6dcb09b is not signed (reason: unsigned)")
            .file("app.js")
            .line(1)
            .col(5)
            .end_column(7)
            .title("Unsigned commit"),
    )
    .unwrap();
    ci.annotate(&Annotation::error(
        "Multi-line messages escape newlines\nsecond line",
    ))
    .unwrap();

    let written = out.contents();
    let got: Vec<&str> = written.lines().collect();
    let mut want = expected.clone();
    want.remove(1); // "checking 3 commits" is plain output, not a command
    assert_eq!(got, want);
    assert!(written.ends_with('\n'));
}

#[test]
fn properties_and_messages_are_escaped_like_actions_core() {
    let (ci, out, _) = github();
    ci.annotate(
        &Annotation::error("100% done\r\nnext: ::add-mask::x")
            .file("dir,with:odd%chars/a b.rs")
            .title("a,b:c\nd")
            .line(3)
            .end_line(4),
    )
    .unwrap();
    assert_eq!(
        out.take(),
        "::error file=dir%2Cwith%3Aodd%25chars/a b.rs,line=3,endLine=4,title=a%2Cb%3Ac%0Ad::100%25 done%0D%0Anext: ::add-mask::x\n"
    );
    // Zero lines and empty titles are left out, as actions/core drops falsy properties.
    ci.annotate(&Annotation::warning("w").file("f").line(0).title(""))
        .unwrap();
    assert_eq!(out.take(), "::warning file=f::w\n");
    // A hostile group title cannot end the line and inject a command.
    let g = ci.group("title\n::add-mask::pwned").unwrap();
    g.end().unwrap();
    assert_eq!(
        out.take(),
        "::group::title%0A::add-mask::pwned\n::endgroup::\n"
    );
}

#[test]
fn masking_emits_add_mask_per_line_and_redacts_everything_we_log() {
    let (ci, out, _) = github();
    ci.mask(&Secret::new(
        "-----BEGIN KEY-----\r\nMIIBsecret%line\n\n-----END KEY-----\n",
    ))
    .unwrap();
    assert_eq!(
        out.take(),
        "::add-mask::-----BEGIN KEY-----\n::add-mask::MIIBsecret%25line\n::add-mask::-----END KEY-----\n"
    );
    ci.mask(&Secret::new("   ")).unwrap();
    assert_eq!(out.take(), "", "a blank secret would mask every space");

    ci.annotate(&Annotation::error("key MIIBsecret%line leaked").title("MIIBsecret%line"))
        .unwrap();
    let line = out.take();
    assert!(!line.contains("MIIBsecret"), "{line}");
    assert_eq!(line, "::error title=***::key *** leaked\n");
    assert_eq!(ci.redact("a MIIBsecret%line b"), "a *** b");
}

#[test]
fn tokens_are_redacted_from_the_start_and_masked_on_request() {
    let env = github_push_env("event.push.with-new-branch.payload.json")
        .with("GITHUB_TOKEN", "ghs_tokenvalue123")
        .with("ACTIONS_RUNTIME_TOKEN", "runtime-token-456")
        .with("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "idreq-789")
        .with(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "https://pipelines.example/idtoken?api-version=2.0",
        );
    let out = Capture::new();
    let ci = Ci::from_env(&env, CiOptions::default())
        .unwrap()
        .with_command_sink(out.clone());
    assert_eq!(
        ci.redact("ghs_tokenvalue123 runtime-token-456 idreq-789"),
        "*** *** ***"
    );
    assert_eq!(out.contents(), "", "construction writes nothing");
    ci.mask_tokens().unwrap();
    let masks = out.take();
    assert_eq!(
        masks
            .lines()
            .filter(|l| l.starts_with("::add-mask::"))
            .count(),
        3,
        "{masks}"
    );
    ci.debug("Authorization: Bearer ghs_tokenvalue123").unwrap();
    assert_eq!(out.take(), "::debug::Authorization: Bearer ***\n");
}

#[test]
fn github_log_groups_close_on_drop_and_nest() {
    let (ci, out, _) = github();
    {
        let _outer = ci.group("outer").unwrap();
        ci.annotate(&Annotation::notice("inside")).unwrap();
        let inner = ci.group("inner").unwrap();
        inner.end().unwrap();
    }
    assert_eq!(
        out.take(),
        "::group::outer\n::notice::inside\n::group::inner\n::endgroup::\n::endgroup::\n"
    );
}

#[test]
fn gitlab_sections_use_the_documented_escape_sequences() {
    let (ci, out, err) = gitlab();
    {
        let _g = ci.group("Verify commit signatures").unwrap();
        let _n = ci.group("::weird\ttitle\x1b[31m").unwrap();
    }
    assert_eq!(
        out.take(),
        "\x1b[0Ksection_start:1700000000:verify_commit_signatures_1[collapsed=true]\r\x1b[0KVerify commit signatures\n\
         \x1b[0Ksection_start:1700000000:__weird_title__31m_2[collapsed=true]\r\x1b[0K::weird\ttitle\\x1b[31m\n\
         \x1b[0Ksection_end:1700000000:__weird_title__31m_2\r\x1b[0K\n\
         \x1b[0Ksection_end:1700000000:verify_commit_signatures_1\r\x1b[0K\n"
    );
    assert_eq!(err.contents(), "");
    // GitLab has no runtime masking command: mask registers for redaction and prints nothing.
    ci.mask(&Secret::new("s3cr3t-value")).unwrap();
    assert_eq!(out.contents(), "");
    assert_eq!(ci.redact("x s3cr3t-value"), "x ***");
    ci.debug("nothing on GitLab").unwrap();
    assert_eq!(out.contents(), "");
}

#[test]
fn gitlab_and_local_annotations_are_plain_readable_lines_on_the_message_sink() {
    let (ci, out, err) = gitlab();
    ci.annotate(
        &Annotation::error("Commit 6dcb09b is not signed (reason: unsigned)")
            .file("app.js")
            .line(1)
            .col(5)
            .end_column(7)
            .title("Unsigned commit"),
    )
    .unwrap();
    ci.annotate(&Annotation::warning("Invalid owner").file(".github/CODEOWNERS"))
        .unwrap();
    ci.annotate(&Annotation::notice("two\nlines")).unwrap();
    // Hostile text cannot forge a GitLab section marker or colour codes.
    ci.annotate(&Annotation::error("x\x1b[0Ksection_end:1:fake\r\x1b[0K"))
        .unwrap();
    assert_eq!(out.contents(), "");
    assert_eq!(
        err.contents(),
        "error: app.js:1:5: Unsigned commit: Commit 6dcb09b is not signed (reason: unsigned)\n\
         warning: .github/CODEOWNERS: Invalid owner\n\
         notice: two\n  lines\n\
         error: x\\x1b[0Ksection_end:1:fake\\x0d\\x1b[0K\n"
    );

    let (out, err) = (Capture::new(), Capture::new());
    let local = Ci::from_env(&MapEnv::new(), CiOptions::default())
        .unwrap()
        .with_command_sink(out.clone())
        .with_message_sink(err.clone());
    local
        .annotate(&Annotation::error("boom").file("a.rs").line(3))
        .unwrap();
    drop(local.group("Scan").unwrap());
    local.mask(&Secret::new("zzz-secret")).unwrap();
    assert_eq!(out.contents(), "");
    assert_eq!(err.contents(), "error: a.rs:3: boom\n==> Scan\n");
}

#[test]
fn stop_commands_brackets_untrusted_output_with_an_unpredictable_token() {
    let (ci, out, _) = github();
    let first = {
        let guard = ci.stop_commands().unwrap();
        drop(guard);
        out.take()
    };
    let lines: Vec<&str> = first.lines().collect();
    let token = lines[0].strip_prefix("::stop-commands::").unwrap();
    assert_eq!(lines[1], format!("::{token}::"));
    assert!(token.len() >= 32);
    let second = ci.stop_commands().unwrap();
    second.resume().unwrap();
    assert!(!out.take().contains(token), "tokens differ between uses");

    let (ci, out, _) = gitlab();
    drop(ci.stop_commands().unwrap());
    assert_eq!(out.contents(), "");
}
