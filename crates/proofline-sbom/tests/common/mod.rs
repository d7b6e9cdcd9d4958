//! Shared by the SBOM tests: the official schemas (vendored under `fixtures/schemas`, with the
//! documents they reference served from disk, never the network) and the fixture image.
#![allow(dead_code)]

use std::path::PathBuf;

use jsonschema::{Retrieve, Uri};
use serde_json::Value;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `oci:<repo>/fixtures/images/app:1.0`.
pub fn fixture_ref() -> String {
    format!("oci:{}:1.0", repo().join("fixtures/images/app").display())
}

/// A typed document (what the writers return) as a JSON value to index into and validate.
pub fn to_json(document: impl serde::Serialize) -> Value {
    serde_json::to_value(document).unwrap()
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{}: {e}", path.display());
    }))
    .unwrap()
}

/// Serves `http://cyclonedx.org/schema/<file>` from the vendored copies.
struct OfflineCycloneDx;

impl Retrieve for OfflineCycloneDx {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let file = uri
            .path()
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let path = repo().join("fixtures/schemas/cyclonedx").join(&file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{uri} is not vendored ({file}): {e}"))?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn errors_of(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .take(20)
        .collect()
}

/// Schema errors of a CycloneDX BOM against the official schema of `version` (1.4, 1.5, 1.6).
pub fn cyclonedx_errors(bom: &Value, version: &str) -> Vec<String> {
    let schema = read_json(
        repo()
            .join("fixtures/schemas/cyclonedx")
            .join(format!("bom-{version}.schema.json")),
    );
    let validator = jsonschema::options()
        .with_retriever(OfflineCycloneDx)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    errors_of(&validator, bom)
}

/// Schema errors of an SPDX 3.0.1 JSON-LD document.
pub fn spdx3_errors(doc: &Value) -> Vec<String> {
    let schema = read_json(repo().join("fixtures/schemas/spdx3/spdx-json-schema.json"));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    errors_of(&validator, doc)
}

/// Schema errors of an SPDX 2.3 JSON document.
pub fn spdx23_errors(doc: &Value) -> Vec<String> {
    let schema = read_json(repo().join("fixtures/schemas/spdx2.3/spdx-schema.json"));
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    errors_of(&validator, doc)
}
