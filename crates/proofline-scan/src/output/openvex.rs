//! The scan's conclusions as an OpenVEX 0.2.0 document: per finding, `affected` (with what
//! to do), `not_affected` or `fixed` (carried over from a VEX waiver). An ignore entry of
//! proofline.yaml accepts a risk; it never claims the image is not affected.

use serde_json::{Map, Value, json};

use super::{by_priority, digest_of, remedy, sha256_hex};
use crate::report::{Finding, Report};
use crate::vex::JUSTIFICATIONS;

/// The OpenVEX document of `report`, authored by `author` at `timestamp` (RFC 3339). Its
/// `@id` is derived from the subject, the author, the timestamp and the statements, so the
/// same scan renders the same document.
pub fn openvex(report: &Report, author: &str, timestamp: &str) -> Value {
    let product = image_product(report);
    let statements: Vec<Value> = by_priority(&report.findings)
        .into_iter()
        .map(|f| statement(f, product.as_ref()))
        .collect();
    let canonical = serde_json::to_string(&statements).unwrap_or_default();
    let id = digest_of(&[
        &report.subject.name,
        report.subject.digest.as_deref().unwrap_or(""),
        author,
        timestamp,
        &canonical,
    ]);
    json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": format!("https://openvex.dev/docs/public/proofline-scan-{id}"),
        "author": author,
        "timestamp": timestamp,
        "version": 1,
        "tooling": format!("{} {}", report.scanner.name, report.scanner.version),
        "statements": statements,
    })
}

/// The image as an OpenVEX product: `pkg:oci/<name>@sha256%3A<hex>` and its sha-256, when
/// the digest is known.
fn image_product(report: &Report) -> Option<Value> {
    let hex = sha256_hex(report.subject.digest.as_deref()?)?;
    let name = oci_name(&report.subject.name);
    let id = match name {
        Some(name) => format!("pkg:oci/{name}@sha256%3A{hex}"),
        None => format!("sha256:{hex}"),
    };
    Some(json!({ "@id": id, "hashes": { "sha-256": hex } }))
}

/// The purl `oci` name of an image reference: its last path segment, without tag or digest,
/// lowercased; `None` when that is not a plain repository name.
fn oci_name(reference: &str) -> Option<String> {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let name = last.split(':').next().unwrap_or(last).to_ascii_lowercase();
    let valid = !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    valid.then_some(name)
}

fn statement(finding: &Finding, image: Option<&Value>) -> Value {
    let mut vulnerability = Map::new();
    vulnerability.insert("name".into(), json!(finding.id));
    let aliases: Vec<&String> = {
        let mut seen = std::collections::BTreeSet::new();
        finding
            .aliases
            .iter()
            .filter(|a| *a != &finding.id && seen.insert(a.as_str()))
            .collect()
    };
    if !aliases.is_empty() {
        vulnerability.insert("aliases".into(), json!(aliases));
    }
    if let Some(summary) = &finding.summary {
        vulnerability.insert("description".into(), json!(summary));
    }
    let product = match image {
        Some(image) => {
            let mut product = image.clone();
            if let Some(obj) = product.as_object_mut() {
                obj.insert(
                    "subcomponents".into(),
                    json!([{ "@id": finding.package.purl }]),
                );
            }
            product
        }
        None => json!({ "@id": finding.package.purl }),
    };
    let mut st = Map::new();
    st.insert("vulnerability".into(), Value::Object(vulnerability));
    st.insert("products".into(), json!([product]));
    match &finding.waived_by {
        Some(w) if w.kind == "vex" && w.status == "not_affected" => {
            st.insert("status".into(), json!("not_affected"));
            let label = w
                .justification
                .as_deref()
                .filter(|j| JUSTIFICATIONS.contains(j));
            if let Some(label) = label {
                st.insert("justification".into(), json!(label));
            }
            let impact = match (&w.reason, label, &w.justification) {
                (Some(reason), _, _) => Some(reason.clone()),
                // A justification outside the catalogue still says why, in words.
                (None, None, Some(other)) => Some(other.clone()),
                (None, None, None) => Some(format!(
                    "Declared not_affected by the VEX document {}",
                    w.source
                )),
                (None, Some(_), _) => None,
            };
            if let Some(impact) = impact {
                st.insert("impact_statement".into(), json!(impact));
            }
            st.insert(
                "status_notes".into(),
                json!(format!("From VEX: {}", w.source)),
            );
        }
        Some(w) if w.kind == "vex" && w.status == "fixed" => {
            st.insert("status".into(), json!("fixed"));
            st.insert(
                "status_notes".into(),
                json!(format!("From VEX: {}", w.source)),
            );
        }
        Some(w) => {
            // A risk acceptance (or a waiver kind we do not know): still affected.
            st.insert("status".into(), json!("affected"));
            let reason = w.reason.as_deref().unwrap_or("no reason given");
            let until = w
                .expires
                .as_deref()
                .map(|e| format!(" until {e}"))
                .unwrap_or_default();
            st.insert(
                "action_statement".into(),
                json!(format!(
                    "Risk accepted in {}{until}: {reason}. Then {}.",
                    w.source,
                    remedy(finding)
                )),
            );
        }
        None => {
            st.insert("status".into(), json!("affected"));
            let action = if finding.fixed_versions.is_empty() {
                format!(
                    "No fix available for {}@{}; remove or replace the package, or mitigate.",
                    finding.package.name, finding.package.version
                )
            } else {
                let mut text = remedy(finding);
                if let Some(first) = text.get(..1) {
                    text = format!(
                        "{}{}",
                        first.to_uppercase(),
                        text.get(1..).unwrap_or_default()
                    );
                }
                format!("{text}.")
            };
            st.insert("action_statement".into(), json!(action));
        }
    }
    Value::Object(st)
}
