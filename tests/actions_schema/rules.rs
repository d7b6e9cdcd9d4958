//! The checks behind tests/actions_schema.rs: schema validation plus the house rules of STYLE.md
//! for GitHub actions and GitLab CI/CD components, each violation tagged with a stable rule code
//! so the bad examples in fixtures/schemas/negative/ can assert *which* rule rejected them.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use serde_json::{Value, json};

/// Rule codes for actions; each has a bad example in `fixtures/schemas/negative/github/`.
pub const ACTION_RULES: &[&str] = &[
    "yaml",
    "schema",
    "input-name",
    "missing-description",
    "default-not-described",
    "required-not-described",
    "expression-in-run",
    "unpinned-uses",
    "pin-without-version-comment",
    "empty-input-kept",
];

/// Rule codes for GitLab templates; each has a bad example in `fixtures/schemas/negative/gitlab/`.
pub const GITLAB_RULES: &[&str] = &[
    "yaml",
    "documents",
    "schema",
    "input-name",
    "missing-description",
    "default-not-described",
    "required-not-described",
    "input-default-type",
    "input-default-options",
    "input-default-regex",
    "job-not-parameterized",
    "global-keyword",
    "undeclared-input",
    "unused-input",
    "input-in-script",
    "undeclared-component-field",
    "empty-input-kept",
];

/// Top-level keys of a GitLab file that are settings, not jobs.
const GITLAB_RESERVED: &[&str] = &[
    "default",
    "image",
    "services",
    "before_script",
    "after_script",
    "variables",
    "cache",
    "stages",
    "include",
    "workflow",
    "spec",
    "$schema",
    "!reference",
    "pages",
];
/// Of those, the ones a component must not set for the whole consumer pipeline.
const GITLAB_GLOBAL: &[&str] = &[
    "default",
    "image",
    "services",
    "before_script",
    "after_script",
    "variables",
    "cache",
    "stages",
    "workflow",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: &'static str,
    pub detail: String,
}

fn violation(rule: &'static str, detail: impl Into<String>) -> Violation {
    Violation {
        rule,
        detail: detail.into(),
    }
}

/// The two official schemas, compiled once (GitLab's ci.json is 128 KB).
#[derive(Debug)]
pub struct Schemas {
    github: Validator,
    gitlab: Validator,
}

impl Schemas {
    pub fn load(repo: &Path) -> &'static Schemas {
        static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
        SCHEMAS.get_or_init(|| {
            let compile = |rel: &str| {
                let path = repo.join("fixtures/schemas").join(rel);
                let text = fs::read_to_string(&path).unwrap();
                let schema: Value = serde_json::from_str(&text).unwrap();
                jsonschema::options()
                    .with_draft(Draft::Draft7)
                    .should_validate_formats(true)
                    .build(&schema)
                    .unwrap_or_else(|e| panic!("{} does not compile: {e}", path.display()))
            };
            Schemas {
                github: compile("github/github-action.json"),
                gitlab: compile("gitlab-ci/ci.json"),
            }
        })
    }

    pub fn github_errors(&self, doc: &Value) -> Vec<String> {
        errors(&self.github, doc)
    }

    pub fn gitlab_errors(&self, doc: &Value) -> Vec<String> {
        errors(&self.gitlab, doc)
    }
}

fn errors(validator: &Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("at '{}': {e}", e.instance_path()))
        .collect()
}

pub fn parse_yaml(text: &str) -> Result<Value, String> {
    serde_saphyr::from_str::<Value>(text).map_err(|e| e.to_string())
}

fn parse_yaml_docs(text: &str) -> Result<Vec<Value>, String> {
    serde_saphyr::from_multiple::<Value>(text).map_err(|e| e.to_string())
}

fn is_kebab(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|part| {
            !part.is_empty()
                && part.starts_with(|c: char| c.is_ascii_lowercase())
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Description present; a default is named ("default" and its literal value); a required input says so.
fn check_described(
    out: &mut Vec<Violation>,
    what: &str,
    spec: &Value,
    default: Option<&Value>,
    required: bool,
) {
    let description = spec
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    if description.is_empty() {
        out.push(violation(
            "missing-description",
            format!("{what} has no description"),
        ));
        return;
    }
    let lower = description.to_lowercase();
    if let Some(default) = default.filter(|d| !d.is_null()) {
        let literal = scalar_text(default);
        if !lower.contains("default") || (!literal.is_empty() && !description.contains(&literal)) {
            out.push(violation(
                "default-not-described",
                format!("{what}: description must state its default ({literal:?})"),
            ));
        }
    } else if required && !lower.contains("required") {
        out.push(violation(
            "required-not-described",
            format!("{what} has no default: its description must say it is required"),
        ));
    }
}

fn is_commit_sha(s: &str) -> bool {
    s.len() == 40
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// `None` when `uses` is local, a digest-pinned docker image, or an action pinned to a commit.
fn unpinned(uses: &str) -> Option<String> {
    if uses.starts_with("./") || uses.starts_with("../") {
        return None;
    }
    if let Some(image) = uses.strip_prefix("docker://") {
        let pinned = image
            .rsplit_once("@sha256:")
            .is_some_and(|(_, h)| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()));
        return (!pinned).then(|| format!("{uses}: pin the image by @sha256 digest"));
    }
    match uses.rsplit_once('@') {
        Some((_, r)) if is_commit_sha(r) => None,
        _ => Some(format!(
            "{uses}: pin third-party actions to a full 40-hex commit SHA"
        )),
    }
}

/// A SHA pin alone says nothing to a reviewer: the line must carry `# vX…`.
fn pins_without_comment(text: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        let Some(rest) = trimmed.strip_prefix("uses:") else {
            continue;
        };
        let (value, comment) = rest.split_once('#').unwrap_or((rest, ""));
        let value = value.trim().trim_matches(['"', '\'']);
        let pinned = value
            .rsplit_once('@')
            .is_some_and(|(_, r)| is_commit_sha(r));
        let comment = comment.trim();
        let versioned =
            comment.starts_with('v') && comment[1..].starts_with(|c: char| c.is_ascii_digit());
        if pinned && !versioned {
            out.push(violation(
                "pin-without-version-comment",
                format!("line {}: {value} needs a '# vX.Y.Z' comment", n + 1),
            ));
        }
    }
    out
}

/// The line every step and job runs before `proofline` so an input left empty means "not set"
/// (clap would otherwise read `PROOFLINE_X=` as the value "" and refuse it, or use it).
const UNSET_EMPTY: &str = "unset \"$name\"";

/// `PROOFLINE_*` variables (not the installer's `PROOFLINE_SETUP_*`) whose value comes from an
/// input, found by `from_input` on the value.
fn input_variables(vars: &Value, from_input: impl Fn(&str) -> bool) -> Vec<String> {
    vars.as_object()
        .into_iter()
        .flatten()
        .filter(|(k, v)| {
            k.starts_with("PROOFLINE_")
                && !k.starts_with("PROOFLINE_SETUP_")
                && v.as_str().is_some_and(&from_input)
        })
        .map(|(k, _)| k.clone())
        .collect()
}

pub fn check_action(schemas: &Schemas, text: &str) -> Vec<Violation> {
    let doc = match parse_yaml(text) {
        Ok(doc) => doc,
        Err(e) => return vec![violation("yaml", e)],
    };
    let mut out: Vec<Violation> = schemas
        .github_errors(&doc)
        .into_iter()
        .map(|e| violation("schema", e))
        .collect();
    for (name, spec) in doc["inputs"].as_object().into_iter().flatten() {
        if !is_kebab(name) {
            out.push(violation(
                "input-name",
                format!("input {name} is not kebab-case"),
            ));
        }
        let required = spec
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        check_described(
            &mut out,
            &format!("input {name}"),
            spec,
            spec.get("default"),
            required,
        );
    }
    for (name, spec) in doc["outputs"].as_object().into_iter().flatten() {
        if !is_kebab(name) {
            out.push(violation(
                "input-name",
                format!("output {name} is not kebab-case"),
            ));
        }
        check_described(&mut out, &format!("output {name}"), spec, None, false);
    }
    for (i, step) in doc["runs"]["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        if step
            .get("run")
            .and_then(Value::as_str)
            .is_some_and(|run| run.contains("${{"))
        {
            out.push(violation(
                "expression-in-run",
                format!("step {i}: pass values through env:, never ${{{{ … }}}} inside run:"),
            ));
        }
        if let Some(run) = step.get("run").and_then(Value::as_str) {
            let vars = input_variables(&step["env"], |v| v.contains("inputs."));
            if !vars.is_empty() && !run.contains(UNSET_EMPTY) {
                out.push(violation(
                    "empty-input-kept",
                    format!(
                        "step {i} passes {vars:?} from inputs but does not unset the empty ones before running"
                    ),
                ));
            }
        }
        if let Some(detail) = step.get("uses").and_then(Value::as_str).and_then(unpinned) {
            out.push(violation("unpinned-uses", format!("step {i}: {detail}")));
        }
    }
    out.extend(pins_without_comment(text));
    out
}

/// Every `$[[ … ]]` expression in a string: `inputs.x`, `component.sha`, with functions stripped.
fn interpolations(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("$[[") {
        let after = &rest[start + 3..];
        let Some(end) = after.find("]]") else { break };
        let expr = after[..end].split('|').next().unwrap_or("").trim();
        out.push(expr.to_owned());
        rest = &after[end + 2..];
    }
    out
}

/// Every string of a YAML tree, keys included.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

fn check_input_default(out: &mut Vec<Violation>, name: &str, spec: &Value) {
    let Some(default) = spec.get("default").filter(|d| !d.is_null()) else {
        return;
    };
    let kind = spec.get("type").and_then(Value::as_str).unwrap_or("string");
    let ok = match kind {
        "string" => default.is_string(),
        "number" => default.is_number(),
        "boolean" => default.is_boolean(),
        "array" => default.is_array(),
        _ => false,
    };
    if !ok {
        out.push(violation(
            "input-default-type",
            format!("input {name}: default {default} is not of type {kind}"),
        ));
    }
    if let Some(options) = spec.get("options").and_then(Value::as_array)
        && !options.contains(default)
    {
        out.push(violation(
            "input-default-options",
            format!("input {name}: default {default} is not one of its options"),
        ));
    }
    if let Some(regex) = spec.get("regex").and_then(Value::as_str) {
        let pattern = regex
            .strip_prefix('/')
            .and_then(|r| r.strip_suffix('/'))
            .unwrap_or(regex);
        match jsonschema::validator_for(&json!({"type": "string", "pattern": pattern})) {
            Err(e) => out.push(violation(
                "input-default-regex",
                format!("input {name}: {e}"),
            )),
            Ok(v) if !v.is_valid(default) => out.push(violation(
                "input-default-regex",
                format!("input {name}: default {default} does not match /{pattern}/"),
            )),
            Ok(_) => {}
        }
    }
}

pub fn check_gitlab(schemas: &Schemas, text: &str) -> Vec<Violation> {
    let docs = match parse_yaml_docs(text) {
        Ok(docs) => docs,
        Err(e) => return vec![violation("yaml", e)],
    };
    let [header, body] = docs.as_slice() else {
        return vec![violation(
            "documents",
            format!(
                "{} YAML documents: a component is a spec: header, ---, then the jobs",
                docs.len()
            ),
        )];
    };
    let mut out = Vec::new();
    let header_keys: Vec<&String> = header
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .collect();
    if header_keys != ["spec"] {
        out.push(violation(
            "documents",
            format!("header must hold only spec:, has {header_keys:?}"),
        ));
    }
    for (which, doc) in [("header", header), ("jobs", body)] {
        for e in schemas.gitlab_errors(doc) {
            out.push(violation("schema", format!("{which} {e}")));
        }
    }
    let inputs = header["spec"]["inputs"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (name, spec) in &inputs {
        if !is_kebab(name) {
            out.push(violation(
                "input-name",
                format!("input {name} is not kebab-case"),
            ));
        }
        check_described(
            &mut out,
            &format!("input {name}"),
            spec,
            spec.get("default"),
            true,
        );
        check_input_default(&mut out, name, spec);
    }
    for needed in ["stage", "job-name"] {
        if !inputs.contains_key(needed) {
            out.push(violation(
                "job-not-parameterized",
                format!("no {needed} input"),
            ));
        }
    }
    let components: BTreeSet<String> = header["spec"]["component"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let body_map = body.as_object().cloned().unwrap_or_default();
    for (key, job) in &body_map {
        if GITLAB_GLOBAL.contains(&key.as_str()) {
            out.push(violation(
                "global-keyword",
                format!("top-level {key}: would change the consumer's whole pipeline"),
            ));
        }
        if GITLAB_RESERVED.contains(&key.as_str()) {
            continue;
        }
        for field in ["before_script", "script", "after_script"] {
            let mut lines = Vec::new();
            strings(&job[field], &mut lines);
            if lines.iter().any(|l| l.contains("$[[")) {
                out.push(violation(
                    "input-in-script",
                    format!("{key}.{field}: pass inputs through variables:, not $[[ ]] in scripts"),
                ));
            }
        }
        if key.starts_with('.') {
            continue;
        }
        let vars = input_variables(&job["variables"], |v| v.contains("$[[ inputs."));
        let mut script = Vec::new();
        strings(&job["script"], &mut script);
        if !vars.is_empty() && !script.iter().any(|l| l.contains(UNSET_EMPTY)) {
            out.push(violation(
                "empty-input-kept",
                format!(
                    "job {key} passes {vars:?} from inputs but its script does not unset the empty ones"
                ),
            ));
        }
        if !interpolations(key).iter().any(|e| e == "inputs.job-name") {
            out.push(violation(
                "job-not-parameterized",
                format!("job {key}: its name must come from $[[ inputs.job-name ]]"),
            ));
        }
        let stage = job["stage"]
            .as_str()
            .map(interpolations)
            .unwrap_or_default();
        if stage != ["inputs.stage"] {
            out.push(violation(
                "job-not-parameterized",
                format!("job {key}: stage must be $[[ inputs.stage ]]"),
            ));
        }
    }
    let mut all = Vec::new();
    strings(body, &mut all);
    let mut used = BTreeSet::new();
    for expr in all.iter().flat_map(|s| interpolations(s)) {
        if let Some(name) = expr.strip_prefix("inputs.") {
            if !inputs.contains_key(name) {
                out.push(violation(
                    "undeclared-input",
                    format!("$[[ {expr} ]] is not in spec:inputs"),
                ));
            }
            used.insert(name.to_owned());
        } else if let Some(field) = expr.strip_prefix("component.") {
            if !components.contains(field) {
                out.push(violation(
                    "undeclared-component-field",
                    format!("$[[ {expr} ]] needs {field} in spec:component"),
                ));
            }
        } else {
            out.push(violation(
                "undeclared-input",
                format!("$[[ {expr} ]] is neither inputs.* nor component.*"),
            ));
        }
    }
    for name in inputs.keys().filter(|n| !used.contains(*n)) {
        out.push(violation(
            "unused-input",
            format!("input {name} is declared but never used"),
        ));
    }
    out
}

/// The shared `.proofline-install` hidden job of a template, if it has one.
pub fn gitlab_install_job(text: &str) -> Option<Value> {
    let docs = parse_yaml_docs(text).ok()?;
    docs.get(1)?.get(".proofline-install").cloned()
}
