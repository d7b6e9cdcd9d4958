//! Every GitHub action (`action.yml`, `actions/*/action.yml`) and every GitLab CI/CD component
//! (`gitlab-templates/*.yml`) is valid against the official schemas (SchemaStore's
//! `github-action.json`, GitLab's `ci.json`, vendored in `fixtures/schemas/`) and follows the house
//! rules of STYLE.md; the bad examples in `fixtures/schemas/negative/` prove each rule can fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "actions_schema/installer.rs"]
mod installer;
#[path = "actions_schema/packaging_harness.rs"]
mod packaging_harness;
#[path = "actions_schema/rules.rs"]
mod rules;
#[path = "actions_schema/sign_packaging.rs"]
mod sign_packaging;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use rules::{Schemas, Violation, check_action, check_gitlab, gitlab_install_job};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    out.sort();
    out
}

/// Root `action.yml` plus `actions/<name>/action.yml` for every folder under `actions/`.
fn action_files() -> Vec<PathBuf> {
    let mut files = vec![repo().join("action.yml")];
    for dir in sorted_entries(&repo().join("actions")) {
        if dir.is_dir() {
            let action = dir.join("action.yml");
            assert!(action.is_file(), "{} has no action.yml", dir.display());
            files.push(action);
        }
    }
    files
}

fn gitlab_files() -> Vec<PathBuf> {
    sorted_entries(&repo().join("gitlab-templates"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect()
}

fn render(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(|v| format!("  [{}] {}", v.rule, v.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn discovery_finds_the_known_actions_and_templates() {
    let rel = |p: &PathBuf| {
        p.strip_prefix(repo())
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let actions: BTreeSet<String> = action_files().iter().map(rel).collect();
    let templates: BTreeSet<String> = gitlab_files().iter().map(rel).collect();
    for known in [
        "action.yml",
        "actions/setup/action.yml",
        "actions/source/action.yml",
        "actions/sbom/action.yml",
        "actions/scan/action.yml",
        "actions/sign/action.yml",
        "actions/verify/action.yml",
    ] {
        assert!(actions.contains(known), "{known} not found: {actions:?}");
    }
    for known in [
        "gitlab-templates/pipeline.yml",
        "gitlab-templates/setup.yml",
        "gitlab-templates/source.yml",
        "gitlab-templates/sbom.yml",
        "gitlab-templates/scan.yml",
        "gitlab-templates/sign.yml",
        "gitlab-templates/verify.yml",
    ] {
        assert!(
            templates.contains(known),
            "{known} not found: {templates:?}"
        );
    }
}

#[test]
fn every_action_passes_the_schema_and_house_rules() {
    let schemas = Schemas::load(&repo());
    for file in action_files() {
        let violations = check_action(schemas, &read(&file));
        assert!(
            violations.is_empty(),
            "{}:\n{}",
            file.display(),
            render(&violations)
        );
    }
}

#[test]
fn every_action_folder_has_a_readme_naming_its_permissions() {
    for dir in sorted_entries(&repo().join("actions")) {
        if !dir.is_dir() {
            continue;
        }
        let readme = read(&dir.join("README.md"));
        assert!(
            readme.contains("## Permissions"),
            "{}/README.md must have a '## Permissions' section",
            dir.display()
        );
        let action = rules::parse_yaml(&read(&dir.join("action.yml"))).unwrap();
        for kind in ["inputs", "outputs"] {
            for name in action[kind]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                assert!(
                    readme.contains(&format!("`{name}`")),
                    "{}/README.md does not explain {kind} `{name}`",
                    dir.display()
                );
            }
        }
    }
}

#[test]
fn every_gitlab_template_passes_the_schema_and_house_rules() {
    let schemas = Schemas::load(&repo());
    for file in gitlab_files() {
        let violations = check_gitlab(schemas, &read(&file));
        assert!(
            violations.is_empty(),
            "{}:\n{}",
            file.display(),
            render(&violations)
        );
    }
}

#[test]
fn gitlab_templates_share_one_install_job() {
    let mut jobs = gitlab_files()
        .into_iter()
        .map(|f| (gitlab_install_job(&read(&f)), f));
    let (first, first_file) = jobs.next().expect("at least one template");
    let first =
        first.unwrap_or_else(|| panic!("{} lacks .proofline-install", first_file.display()));
    for (job, file) in jobs {
        let job = job.unwrap_or_else(|| panic!("{} lacks .proofline-install", file.display()));
        let (a, b) = (pretty(&first), pretty(&job));
        let diff = a.lines().zip(b.lines()).position(|(x, y)| x != y);
        assert!(
            a == b,
            ".proofline-install in {} differs from {} (first at line {}): keep the install steps identical",
            file.display(),
            first_file.display(),
            diff.map_or_else(
                || "end".to_owned(),
                |n| format!("{}: {:?}", n + 1, b.lines().nth(n))
            )
        );
    }
}

fn pretty(job: &serde_json::Value) -> String {
    match job["before_script"].as_array().map(Vec::as_slice) {
        Some([serde_json::Value::String(script)]) => script.clone(),
        _ => serde_json::to_string_pretty(job).unwrap(),
    }
}

/// Each file in `negative/<kind>/` is named `<rule>.<anything>.yml` and must trip that rule.
fn negative_cases(kind: &str) -> Vec<(String, PathBuf)> {
    sorted_entries(&repo().join("fixtures/schemas/negative").join(kind))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let rule = name.split('.').next().unwrap().to_owned();
            (rule, p)
        })
        .collect()
}

fn assert_negatives(kind: &str, all_rules: &[&str], check: impl Fn(&str) -> Vec<Violation>) {
    let cases = negative_cases(kind);
    let covered: BTreeSet<&str> = cases.iter().map(|(r, _)| r.as_str()).collect();
    for rule in all_rules {
        assert!(
            covered.contains(rule),
            "rule {rule} has no bad example in fixtures/schemas/negative/{kind}/"
        );
    }
    for (rule, file) in &cases {
        assert!(
            all_rules.contains(&rule.as_str()),
            "{}: unknown rule {rule}",
            file.display()
        );
        let violations = check(&read(file));
        assert!(
            violations.iter().any(|v| v.rule == rule),
            "{} should violate [{rule}] but got:\n{}",
            file.display(),
            render(&violations)
        );
    }
}

#[test]
fn bad_actions_are_rejected_each_for_its_own_rule() {
    let schemas = Schemas::load(&repo());
    assert_negatives("github", rules::ACTION_RULES, |text| {
        check_action(schemas, text)
    });
}

#[test]
fn bad_gitlab_templates_are_rejected_each_for_its_own_rule() {
    let schemas = Schemas::load(&repo());
    assert_negatives("gitlab", rules::GITLAB_RULES, |text| {
        check_gitlab(schemas, text)
    });
}

/// SchemaStore's own fixtures: the compiled schema accepts its valid examples and rejects its
/// invalid ones, so a schema that compiled to "accept everything" cannot pass.
#[test]
fn github_action_schema_agrees_with_schemastore_fixtures() {
    let schemas = Schemas::load(&repo());
    let base = repo().join("fixtures/schemas/github");
    for file in sorted_entries(&base.join("schemastore-test")) {
        let doc: serde_json::Value = serde_json::from_str(&read(&file)).unwrap();
        let errors = schemas.github_errors(&doc);
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    }
    let negatives = sorted_entries(&base.join("schemastore-negative_test"));
    assert!(!negatives.is_empty());
    for file in negatives {
        let doc: serde_json::Value = serde_json::from_str(&read(&file)).unwrap();
        assert!(
            !schemas.github_errors(&doc).is_empty(),
            "{} should be rejected",
            file.display()
        );
    }
}

#[test]
fn gitlab_schema_rejects_a_job_without_script_and_accepts_the_docs_example() {
    let schemas = Schemas::load(&repo());
    let good = rules::parse_yaml("build:\n  stage: test\n  script: [cargo build]\n").unwrap();
    assert!(schemas.gitlab_errors(&good).is_empty());
    let bad = rules::parse_yaml("build:\n  stage: test\n  scripts: [cargo build]\n").unwrap();
    assert!(!schemas.gitlab_errors(&bad).is_empty());
}

#[test]
fn setup_installs_a_verified_release() {
    installer::github_release_installs_when_checksum_matches();
}

#[test]
fn setup_refuses_a_release_whose_checksum_does_not_match() {
    installer::github_release_refused_on_mismatch();
}

#[test]
fn setup_falls_back_to_source_only_when_the_release_is_missing() {
    installer::github_missing_release_plans_source_build();
}

#[test]
fn gitlab_install_verifies_the_release_checksum() {
    installer::gitlab_install_verifies_checksum(&read(
        &repo().join("gitlab-templates/pipeline.yml"),
    ));
}
