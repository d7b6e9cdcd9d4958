//! Outputs and job summaries: what we write must parse, with the runner's own rules, to exactly what we meant.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use common::{github_push_env, gitlab_mr_env, read_fixture, runner_parse};
use proofline_ci::file_commands::{DELIMITER_PREFIX, github_output_record};
use proofline_ci::{Ci, CiError, CiOptions, DotenvLimits, MapEnv, Secret};

/// A GitHub run whose `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY` are fresh files in `dir`, as the runner creates.
fn github_ci(dir: &std::path::Path, extra: &[(&str, &str)]) -> Ci {
    let output = dir.join("set_output");
    let summary = dir.join("step_summary");
    std::fs::write(&output, "").unwrap();
    std::fs::write(&summary, "").unwrap();
    let mut env = github_push_env("event.push.with-new-branch.payload.json");
    env.set("GITHUB_OUTPUT", output.to_str().unwrap());
    env.set("GITHUB_STEP_SUMMARY", summary.to_str().unwrap());
    for (k, v) in extra {
        env.set(*k, *v);
    }
    Ci::from_env(&env, CiOptions::for_stage(dir.join("evidence"), "scan"))
        .unwrap()
        .with_command_sink(std::io::sink())
        .with_message_sink(std::io::sink())
}

#[test]
fn the_runner_parser_reads_the_example_files() {
    let outputs =
        runner_parse(&read_fixture("github/file-commands/GITHUB_OUTPUT.example")).unwrap();
    let expected: BTreeMap<String, String> = [
        ("verdict", "fail"),
        ("unsigned_count", "3"),
        (
            "report",
            "| sha | reason |\n|-----|--------|\n| 6dcb09b | unsigned |",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(outputs, expected);

    let env = runner_parse(&read_fixture("github/file-commands/GITHUB_ENV.example")).unwrap();
    assert_eq!(env["VERIFY_MODE"], "strict");
    assert_eq!(
        env["JSON_RESPONSE"],
        "{\"verified\": false,\n \"reason\": \"unsigned\"}"
    );

    // The parser fails where the runner fails.
    assert!(runner_parse("report<<EOF\nno end\n").is_err());
    assert!(runner_parse("no separator\n").is_err());
}

#[test]
fn github_output_written_by_us_parses_to_the_same_values_as_the_example() {
    let expected =
        runner_parse(&read_fixture("github/file-commands/GITHUB_OUTPUT.example")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ci = github_ci(dir.path(), &[]);
    for name in ["verdict", "unsigned_count", "report"] {
        ci.set_output(name, &expected[name]).unwrap();
    }
    let written = std::fs::read_to_string(dir.path().join("set_output")).unwrap();
    assert_eq!(runner_parse(&written).unwrap(), expected);

    // Byte-level shape matches the example: single-line values as `name=value`, the multi-line one in the
    // `name<<ghadelimiter_<uuid>` form, delimiter closing on its own line.
    let example = read_fixture("github/file-commands/GITHUB_OUTPUT.example");
    let lines: Vec<&str> = written.lines().collect();
    let example_lines: Vec<&str> = example.lines().collect();
    assert_eq!(lines.len(), example_lines.len());
    assert_eq!(lines[..2], example_lines[..2]);
    assert_eq!(lines[3..6], example_lines[3..6]);
    let delimiter = lines[2].strip_prefix("report<<").unwrap();
    assert!(delimiter.starts_with(DELIMITER_PREFIX));
    assert_eq!(delimiter.len(), example_lines[2].len() - "report<<".len());
    assert_eq!(lines[6], delimiter);
    assert!(written.ends_with('\n'));
}

#[test]
fn multi_line_values_survive_even_when_they_contain_would_be_delimiters() {
    let dir = tempfile::tempdir().unwrap();
    let ci = github_ci(dir.path(), &[]);
    let first_choice = github_output_record("tricky", "a\nb").unwrap();
    let first_delimiter = first_choice
        .lines()
        .next()
        .unwrap()
        .strip_prefix("tricky<<")
        .unwrap()
        .to_owned();

    let values: Vec<(&str, String)> = vec![
        // The example file's own delimiter, on a line of its own.
        (
            "example_delim",
            "x\nghadelimiter_0195f0e2-7c1a-7b3e-9d8a-2f6c1e4b5a90\ny".to_owned(),
        ),
        // The bare heredoc words people use.
        ("eof", "EOF\nEOF\n".to_owned()),
        // The delimiter we would pick for a similar value.
        ("own_delim", format!("a\n{first_delimiter}\nb")),
        // Leading, trailing and blank lines, CR characters, `=` and `<<` inside.
        ("edges", "\n\nname=value\r\nx<<y\n\n".to_owned()),
        ("single_with_markers", "a=b<<c".to_owned()),
        ("empty", String::new()),
        ("only_newline", "\n".to_owned()),
        ("unicode", "ümlaut — ✓\n第二行".to_owned()),
    ];
    for (name, value) in &values {
        ci.set_output(name, value).unwrap();
    }
    let written = std::fs::read_to_string(dir.path().join("set_output")).unwrap();
    let parsed = runner_parse(&written).unwrap();
    for (name, value) in &values {
        assert_eq!(parsed.get(*name), Some(value), "{name}");
    }
    assert_eq!(parsed.len(), values.len());
}

#[test]
fn output_names_that_would_break_the_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ci = github_ci(dir.path(), &[]);
    for name in ["", "a=b", "a<<b", "a\nb", "1abc", "a b", "a.b", "naïve"] {
        let err = ci.set_output(name, "v").unwrap_err();
        assert!(
            matches!(err, CiError::InvalidOutputName { .. }),
            "{name:?}: {err:?}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("set_output")).unwrap(),
        ""
    );
    ci.set_output("image-digest", "sha256:abc").unwrap();
    ci.set_output("_x9", "1").unwrap();
}

#[test]
fn github_output_needs_the_runner_file() {
    let env = github_push_env("event.push.with-new-branch.payload.json").without("GITHUB_OUTPUT");
    let ci = Ci::from_env(&env, CiOptions::default()).unwrap();
    let err = ci.set_output("a", "b").unwrap_err();
    assert!(
        matches!(
            err,
            CiError::MissingFileCommand {
                variable: "GITHUB_OUTPUT"
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("GITHUB_OUTPUT"));

    // The variable points at a file the runner did not create: an error naming the path, not a new file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing");
    let env = github_push_env("event.push.with-new-branch.payload.json")
        .with("GITHUB_OUTPUT", path.to_str().unwrap());
    let ci = Ci::from_env(&env, CiOptions::default()).unwrap();
    let err = ci.set_output("a", "b").unwrap_err();
    assert!(matches!(err, CiError::WriteFile { .. }), "{err:?}");
    assert!(!path.exists());
}

#[test]
fn outputs_containing_a_secret_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ci = github_ci(
        dir.path(),
        &[("GITHUB_TOKEN", "ghs_16C7e42F292c6912E7710c838347Ae178B4a")],
    );
    let err = ci
        .set_output(
            "url",
            "https://x:ghs_16C7e42F292c6912E7710c838347Ae178B4a@github.com",
        )
        .unwrap_err();
    assert!(matches!(err, CiError::SecretInOutput { .. }), "{err:?}");
    assert!(!err.to_string().contains("ghs_"));
    ci.mask(&Secret::new("hunter2-password")).unwrap();
    assert!(ci.set_output("p", "x hunter2-password").is_err());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("set_output")).unwrap(),
        ""
    );
}

fn gitlab_ci(options: CiOptions) -> Ci {
    Ci::from_env(&gitlab_mr_env(), options)
        .unwrap()
        .with_command_sink(std::io::sink())
        .with_message_sink(std::io::sink())
}

/// GitLab's parser (`Ci::ParseDotenvArtifactService#scan_line!`): every line must match `^(.*?)=(.*)$`; key and
/// value are stripped; the last value of a key wins.
fn gitlab_parse(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("Invalid Format: {line:?}"))?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}

#[test]
fn gitlab_outputs_go_to_the_dotenv_report() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    let ci = gitlab_ci(CiOptions::for_stage(&evidence, "scan"));
    ci.set_output("verdict", "fail").unwrap();
    ci.set_output("image-digest", "sha256:0f1e2d").unwrap();
    ci.set_output("report-url", "https://gitlab.example.com/a?b=c&d=e")
        .unwrap();
    let path = evidence.join("scan").join("outputs.env");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        "VERDICT=fail\nIMAGE_DIGEST=sha256:0f1e2d\nREPORT_URL=https://gitlab.example.com/a?b=c&d=e\n"
    );
    let parsed = gitlab_parse(&text).unwrap();
    assert_eq!(parsed["REPORT_URL"], "https://gitlab.example.com/a?b=c&d=e");

    // Values GitLab cannot hold faithfully are refused with the reason, and nothing is written.
    for (value, reason) in [
        ("line1\nline2", "multi-line"),
        ("a\rb", "multi-line"),
        (" padded", "whitespace"),
        ("costs $HOME", "expands `$`"),
    ] {
        let err = ci.set_output("bad", value).unwrap_err();
        assert!(
            matches!(err, CiError::DotenvValue { .. }),
            "{value:?}: {err:?}"
        );
        assert!(err.to_string().contains(reason), "{err}");
    }
    assert!(matches!(
        ci.set_output("a.b", "x").unwrap_err(),
        CiError::InvalidOutputName { .. }
    ));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn gitlab_dotenv_limits_are_enforced_before_gitlab_rejects_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.env");
    let options = CiOptions {
        dotenv_file: Some(path.clone()),
        dotenv_prefix: "PROOFLINE_".to_owned(),
        dotenv_limits: DotenvLimits {
            max_bytes: 64,
            max_variables: 2,
        },
        ..CiOptions::default()
    };
    let ci = gitlab_ci(options);
    ci.set_output("a", "1").unwrap();
    ci.set_output("b", "2").unwrap();
    ci.set_output("a", "3").unwrap(); // same variable again: still two
    let err = ci.set_output("c", "4").unwrap_err();
    assert!(
        matches!(
            err,
            CiError::DotenvLimit {
                actual: 3,
                limit: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let err = ci.set_output("b", &"x".repeat(40)).unwrap_err();
    assert!(
        matches!(err, CiError::DotenvLimit { limit: 64, .. }),
        "{err:?}"
    );
    assert_eq!(
        gitlab_parse(&std::fs::read_to_string(&path).unwrap()).unwrap()["PROOFLINE_A"],
        "3"
    );

    // Without a configured file, GitLab outputs are an error, not silently dropped.
    let ci = gitlab_ci(CiOptions::default());
    assert!(matches!(
        ci.set_output("a", "1").unwrap_err(),
        CiError::NoDotenvFile
    ));
}

#[test]
fn local_outputs_go_nowhere_or_to_the_given_file() {
    let ci = Ci::from_env(&MapEnv::new(), CiOptions::default()).unwrap();
    ci.set_output("a", "1").unwrap();
    assert_eq!(ci.append_summary("# hi").unwrap(), None);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/outputs.txt");
    let options = CiOptions {
        local_output_file: Some(path.clone()),
        ..CiOptions::default()
    };
    let ci = Ci::from_env(&MapEnv::new(), options).unwrap();
    ci.set_output("a", "1").unwrap();
    ci.set_output("b", "x\ny").unwrap();
    let parsed = runner_parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(parsed["a"], "1");
    assert_eq!(parsed["b"], "x\ny");
}

#[test]
fn summaries_append_to_the_step_summary_on_github() {
    let dir = tempfile::tempdir().unwrap();
    let ci = github_ci(dir.path(), &[("GITHUB_TOKEN", "ghp_supersecrettoken000")]);
    let example = read_fixture("github/file-commands/GITHUB_STEP_SUMMARY.example.md");
    let written = ci.append_summary(&example).unwrap().unwrap();
    assert_eq!(written, dir.path().join("step_summary"));
    ci.append_summary("token: ghp_supersecrettoken000").unwrap();
    let text = std::fs::read_to_string(&written).unwrap();
    assert_eq!(text, format!("{example}token: ***\n"));

    // Over GitHub's 1 MiB per-step limit: refused, file untouched.
    let err = ci.append_summary(&"x".repeat(1024 * 1024)).unwrap_err();
    assert!(matches!(err, CiError::SummaryTooLarge { .. }), "{err:?}");
    assert_eq!(std::fs::read_to_string(&written).unwrap(), text);
}

#[test]
fn summaries_go_to_the_evidence_directory_on_gitlab() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    let ci = gitlab_ci(CiOptions::for_stage(&evidence, "scan"));
    let path = ci.append_summary("### Scan\n").unwrap().unwrap();
    assert_eq!(path, evidence.join("scan/summary.md"));
    ci.append_summary("no trailing newline").unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "### Scan\nno trailing newline\n"
    );
    // CI_JOB_TOKEN is a registered secret on GitLab too.
    ci.append_summary("job token [MASKED] leaked?").unwrap();
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .ends_with("job token *** leaked?\n")
    );

    let ci = gitlab_ci(CiOptions::default());
    assert!(matches!(
        ci.append_summary("x").unwrap_err(),
        CiError::NoSummaryFile
    ));
}
