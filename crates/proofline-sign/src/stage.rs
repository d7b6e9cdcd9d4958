//! The sign stage end to end, shared by `proofline-sign`, `proofline sign` and `proofline
//! pipeline`: pick the signer, re-hash every record and artifact of the stages that ran, sign
//! each as an in-toto statement about the image, sign the image itself (cosign v3 and v2 forms),
//! and record `sign/` with the crypto module statement. All or nothing: if one thing cannot be
//! signed, no `sign/` is written and the exit code is 2. This is the binaries' edge (`anyhow`).

use anyhow::{Context, bail};
use proofline_ci::{Platform, Secret};
use proofline_evidence::{
    EvidenceDir, Findings, Outcome as RecordOutcome, StageInfo, StageWriter,
    Subject as RecordSubject, media_type,
};
use proofline_stagekit::{Outcome, StageCi};
use proofline_verify::evidence::AFTER_SIGNING;
use proofline_verify::layout::{
    self, CRYPTO_MODULE, IMAGE_SIGNATURE_BUNDLE, PUBLIC_KEY, SIGN_STAGE, SIGNATURES_INDEX,
    SIMPLE_SIGNING_BUNDLE, SIMPLE_SIGNING_PAYLOAD,
};
use proofline_verify::statement::{
    EvidenceFile, ImageSubject, image_signature_statement, simple_signing_payload, statement_for,
};
use proofline_verify::{Trust, load_trusted_root};
use serde::Serialize;

use crate::args::{SignArgs, SignSettings};
use crate::bundles::BundleSigner;
use crate::crypto_module::{self, SignatureEntry};
use crate::keyless::{
    Keyless, PUBLIC_FULCIO, PUBLIC_REKOR, TokenSources, http_client, identity_token,
};
use crate::keys;

/// The media type of Sigstore bundles in the record.
const BUNDLE_MEDIA: &str = media_type::SIGSTORE_BUNDLE;

/// Runs the stage from its own command line.
pub fn run(args: &SignArgs, ci: &StageCi) -> anyhow::Result<Outcome> {
    let dir = EvidenceDir::open_existing(&args.evidence_dir).with_context(|| {
        format!(
            "opening the evidence directory {}: run the other stages first (or pass --evidence-dir)",
            args.evidence_dir.display()
        )
    })?;
    run_in(&dir, ci, &args.settings)
}

/// What the stage signed, for the pipeline's own verification.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The image (name and digest).
    pub image: ImageSubject,
    /// How many signatures were made.
    pub signatures: usize,
    /// `Some(identity, issuer)` when keyless.
    pub keyless_identity: Option<(String, String)>,
}

/// Runs the stage over `dir`.
pub fn run_in(dir: &EvidenceDir, ci: &StageCi, settings: &SignSettings) -> anyhow::Result<Outcome> {
    sign_evidence(dir, ci, settings).map(|_| Outcome::Passed)
}

/// Signs `dir` and returns what was signed.
pub fn sign_evidence(
    dir: &EvidenceDir,
    ci: &StageCi,
    settings: &SignSettings,
) -> anyhow::Result<Signed> {
    let image = image_subject(dir)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (signer, encrypted_key) = runtime.block_on(choose_signer(ci, settings))?;
    let keyless = signer.keyless();
    let info = StageInfo::new(
        SIGN_STAGE,
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
    )
    .with_subject(RecordSubject::new(&image.name).with_digest(image.digest()))
    .with_settings(&RecordedSettings {
        mode: match (&signer, settings.ephemeral_key) {
            (BundleSigner::Keyless(_), _) => "keyless",
            (_, true) => "ephemeral-key",
            _ => "key",
        },
        algorithm: signer.algorithm().as_str(),
        key: settings.key.as_ref().map(|p| p.display().to_string()),
        fulcio_url: keyless.map(|_| settings.fulcio_url.clone()),
        rekor_url: keyless.map(|_| settings.rekor_url.clone()),
        trusted_root: keyless.map(|k| k.trusted_root().to_string()),
        token_identity: keyless.map(|k| k.identity().to_string()),
        token_issuer: keyless.map(|k| k.issuer().to_string()),
    })?;
    let mut writer = dir.begin_stage(info)?;
    let mut made = Made::new(signer.module());

    // Every record and artifact of the stages that ran before signing, re-hashed first, each
    // as an in-toto statement about the image.
    let manifest = dir.read_manifest()?;
    let mut statements: Vec<(String, Vec<u8>)> = Vec::new();
    for stage in dir.stages()? {
        if AFTER_SIGNING.contains(&stage.as_str()) {
            continue;
        }
        let record_rel = layout::record_path(&stage);
        let record_bytes = std::fs::read(dir.path().join(&record_rel))
            .with_context(|| format!("reading {record_rel}"))?;
        let actual = proofline_evidence::sha256_hex(&record_bytes);
        match manifest.entry(&stage).map(|e| e.record_sha256.as_str()) {
            Some(recorded) if recorded == actual => {}
            Some(recorded) => bail!(
                "{record_rel} does not match the evidence manifest (sha256 {actual}, manifest {recorded}): the evidence was changed after the stage ran; re-run the pipeline instead of signing it"
            ),
            // Evidence merged from jobs that ran side by side (two GitLab jobs of one stage each
            // upload `evidence/` with their own manifest): the record is as its stage wrote it,
            // its artifacts are re-hashed against it below, and the manifest is rebuilt when
            // this stage finishes.
            None => tracing::warn!(
                "{record_rel} is not listed in manifest.json (evidence merged from another job?): signing it as found, its artifacts re-hashed against it; the manifest is rebuilt when signing finishes"
            ),
        }
        let record = dir.read_record(&stage)?;
        let file = EvidenceFile {
            stage: &stage,
            path: &record_rel,
            media_type: media_type::JSON,
            bytes: &record_bytes,
        };
        statements.push((record_rel.clone(), statement_for(&file, &image).payload));
        for artifact in &record.artifacts {
            let rel = artifact
                .path
                .strip_prefix(&format!("{stage}/"))
                .unwrap_or(&artifact.path);
            let bytes = writer
                .consume(&stage, rel)
                .with_context(|| format!("re-hashing {} before signing it", artifact.path))?;
            let file = EvidenceFile {
                stage: &stage,
                path: &artifact.path,
                media_type: &artifact.media_type,
                bytes: &bytes,
            };
            statements.push((artifact.path.clone(), statement_for(&file, &image).payload));
        }
    }
    // Keyless signing is two network round trips per statement: several are in flight at once
    // (in order of the evidence, so the record lists them the same way every run).
    let bundles = runtime.block_on(sign_statements(&signer, &statements, &image))?;
    for ((path, _), bundle) in statements.iter().zip(&bundles) {
        made.record(&signer, &mut writer, path, bundle)?;
    }

    // The image itself: cosign v3 (DSSE, sign/v1) and cosign v2 (simple signing).
    let reference = settings
        .docker_reference
        .clone()
        .unwrap_or_else(|| docker_reference(&image.name));
    let statement = image_signature_statement(&reference, &image);
    let payload = simple_signing_payload(&reference, &image);
    let (v3_bundle, v2_bundle) = runtime.block_on(futures_util::future::try_join(
        signer.sign_statement(&statement, &image.sha256),
        signer.sign_message(&payload),
    ))?;
    writer.write_artifact(
        IMAGE_SIGNATURE_BUNDLE,
        bundle_json(&v3_bundle)?.as_bytes(),
        BUNDLE_MEDIA,
    )?;
    made.entry(
        "image signature (cosign v3)",
        IMAGE_SIGNATURE_BUNDLE,
        &signer,
    );
    writer.write_artifact(
        SIMPLE_SIGNING_PAYLOAD,
        &payload,
        proofline_verify::statement::SIMPLE_SIGNING_MEDIA_TYPE,
    )?;
    writer.write_artifact(
        SIMPLE_SIGNING_BUNDLE,
        bundle_json(&v2_bundle)?.as_bytes(),
        BUNDLE_MEDIA,
    )?;
    made.entry(
        "image signature (cosign v2 simple signing)",
        SIMPLE_SIGNING_BUNDLE,
        &signer,
    );

    if let BundleSigner::Keyed { signer: key, .. } = &signer {
        let pem = keys::spki_to_pem(key.public_key_der())
            .context("encoding the signing key's public key as PEM")?;
        writer.write_artifact(PUBLIC_KEY, pem.as_bytes(), "application/x-pem-file")?;
    }

    // The crypto module statement, signed like every other artifact.
    let crypto = crypto_module::statement(
        vec![made.module.clone()],
        made.entries.clone(),
        signer.is_keyless(),
        encrypted_key,
    );
    let crypto_bytes = proofline_evidence::to_pretty_json(&crypto, CRYPTO_MODULE)?;
    writer.write_artifact(CRYPTO_MODULE, &crypto_bytes, media_type::JSON)?;
    let crypto_path = format!("{SIGN_STAGE}/{CRYPTO_MODULE}");
    let file = EvidenceFile {
        stage: SIGN_STAGE,
        path: &crypto_path,
        media_type: media_type::JSON,
        bytes: &crypto_bytes,
    };
    let statement = [(crypto_path.clone(), statement_for(&file, &image).payload)];
    let bundles = runtime.block_on(sign_statements(&signer, &statement, &image))?;
    made.record(&signer, &mut writer, &crypto_path, &bundles[0])?;
    writer.write_json_artifact(SIGNATURES_INDEX, media_type::JSON, &made.entries)?;
    // Keyless: who the certificates name (Fulcio's mapping of the token), as every bundle was
    // checked to say; this, not the token's subject, is what verifiers match.
    let keyless_identity = keyless
        .map(|k| {
            k.certified()
                .context("keyless signing made no certificate (nothing was signed); this is a bug")
        })
        .transpose()?;

    let count = made.entries.len();
    writer.set_findings(
        Findings::new(RecordOutcome::Passed)
            .with_count("signatures", count as u64)
            .with_count("attestations", made.attestations as u64),
    )?;
    let stage_dir = dir.path().join(SIGN_STAGE);
    ci.publish(
        &mut writer,
        &[
            ("sign-signatures", count.to_string()),
            ("sign-image-digest", image.digest()),
            (
                "sign-bundle",
                stage_dir.join(IMAGE_SIGNATURE_BUNDLE).display().to_string(),
            ),
        ],
        &summary(&image, &signer, &made, keyless_identity.as_ref()),
    )?;
    writer.finish().context("recording the sign stage")?;
    tracing::info!(
        "signed {} ({}): {count} signatures, {} of them attestations",
        image.name,
        image.digest(),
        made.attestations
    );
    Ok(Signed {
        image,
        signatures: count,
        keyless_identity,
    })
}

/// The settings recorded in `record.json` (never a secret).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordedSettings {
    mode: &'static str,
    algorithm: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fulcio_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rekor_url: Option<String>,
    /// Keyless: the trusted root every new bundle was verified against.
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted_root: Option<String>,
    /// Keyless: who the OIDC token names (email, else subject). The certificates name Fulcio's
    /// mapping of it (GitHub: the workflow's URI), shown in the summary and verified against.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_issuer: Option<String>,
}

/// The signatures made so far.
struct Made {
    module: crate::signer::ModuleInfo,
    entries: Vec<SignatureEntry>,
    attestations: usize,
}

impl Made {
    fn new(module: crate::signer::ModuleInfo) -> Self {
        Self {
            module,
            entries: Vec::new(),
            attestations: 0,
        }
    }

    fn entry(&mut self, artifact: &str, bundle_rel: &str, signer: &BundleSigner) {
        self.entries.push(SignatureEntry {
            artifact: artifact.to_string(),
            bundle: format!("{SIGN_STAGE}/{bundle_rel}"),
            algorithm: signer.algorithm().sigstore_key_details().to_string(),
            module: 0,
        });
    }

    /// Writes the bundle that signs evidence file `path` and lists it.
    fn record(
        &mut self,
        signer: &BundleSigner,
        writer: &mut StageWriter,
        path: &str,
        bundle: &sigstore_sign::types::Bundle,
    ) -> anyhow::Result<()> {
        let rel = layout::attestation_bundle(path);
        writer.write_artifact(&rel, bundle_json(bundle)?.as_bytes(), BUNDLE_MEDIA)?;
        self.entry(path, &rel, signer);
        self.attestations += 1;
        Ok(())
    }
}

/// Statements signed at once: keyless signing waits on Fulcio and Rekor for each, and a few in
/// flight cut a run's signing time by about that factor without hammering the services.
const SIGNING_CONCURRENCY: usize = 4;

/// Signs `(path, statement)` pairs, up to [`SIGNING_CONCURRENCY`] at a time, and returns the
/// bundles in the same order; the first failure (naming its file) stops the rest.
async fn sign_statements(
    signer: &BundleSigner,
    statements: &[(String, Vec<u8>)],
    image: &ImageSubject,
) -> anyhow::Result<Vec<sigstore_sign::types::Bundle>> {
    use futures_util::{StreamExt as _, TryStreamExt as _};
    futures_util::stream::iter(statements)
        .map(|(path, payload)| async move {
            signer
                .sign_statement(payload, &image.sha256)
                .await
                .with_context(|| format!("signing {path}"))
        })
        .buffered(SIGNING_CONCURRENCY)
        .try_collect()
        .await
}

fn bundle_json(bundle: &sigstore_sign::types::Bundle) -> anyhow::Result<String> {
    let mut json = bundle.to_json_pretty().context("serializing a bundle")?;
    json.push('\n');
    Ok(json)
}

/// The image the evidence is about: the `image` stage's subject (or, without one, the `sbom`
/// stage's), which must carry a SHA-256 manifest digest.
fn image_subject(dir: &EvidenceDir) -> anyhow::Result<ImageSubject> {
    let stages = dir.stages()?;
    for stage in ["image", "sbom", "scan"] {
        if !stages.iter().any(|s| s == stage) {
            continue;
        }
        let record = dir.read_record(stage)?;
        if let Some(subject) = record.subject
            && let Some(digest) = &subject.digest
        {
            return ImageSubject::new(&subject.name, digest).with_context(|| {
                format!(
                    "the {stage} stage recorded the digest {digest}, which is not a SHA-256 digest"
                )
            });
        }
    }
    bail!(
        "nothing to sign in {}: no stage recorded an image digest; run the pipeline (or the sbom stage on an image) first",
        dir.path().display()
    )
}

/// The repository of `name` without tag or digest, as the reference parser reads it
/// (`ghcr.io/acme/app:1.0` → `ghcr.io/acme/app`, `oci:path:tag` → `oci:path`); a name the
/// parser does not take is used as given.
fn docker_reference(name: &str) -> String {
    match name.parse::<proofline_oci::ImageRef>() {
        Ok(proofline_oci::ImageRef::Registry(r)) => format!("{}/{}", r.registry, r.repository),
        Ok(proofline_oci::ImageRef::Layout { path, .. }) => format!("oci:{}", path.display()),
        Ok(proofline_oci::ImageRef::DockerArchive { path }) => {
            format!("docker-archive:{}", path.display())
        }
        Err(_) => name.to_string(),
    }
}

/// The signer the settings (and the CI) call for. Returns whether a key file was decrypted.
async fn choose_signer(
    ci: &StageCi,
    settings: &SignSettings,
) -> anyhow::Result<(BundleSigner, bool)> {
    if let Some(algorithm) = settings.algorithm
        && !settings.ephemeral_key
    {
        bail!(
            "--algorithm {algorithm} applies only to --ephemeral-key: a key file's algorithm is its own, and keyless keys are Fulcio's ECDSA P-256 (to make a key of that algorithm, run `proofline sign keygen --algorithm {algorithm}`)"
        );
    }
    if let Some(path) = &settings.key {
        let pem = std::fs::read(path)
            .with_context(|| format!("reading the signing key {}: check --key", path.display()))?;
        let password = keys::password_from_env()?.with_context(|| {
            format!(
                "{} is encrypted: set PROOFLINE_SIGN_PASSWORD (or COSIGN_PASSWORD) to its password (empty for none)",
                path.display()
            )
        })?;
        let key = keys::import_cosign_key(&pem, password.as_bytes())
            .with_context(|| format!("opening the signing key {}", path.display()))?;
        return Ok((BundleSigner::keyed(Box::new(key))?, true));
    }
    if settings.ephemeral_key {
        let key = keys::SoftwareSigner::generate(settings.algorithm.unwrap_or_default())
            .context("generating the ephemeral key")?;
        return Ok((BundleSigner::keyed(Box::new(key))?, false));
    }
    if settings.keyless {
        let private = settings.fulcio_url.trim_end_matches('/') != PUBLIC_FULCIO
            || settings.rekor_url.trim_end_matches('/') != PUBLIC_REKOR;
        if private && settings.trusted_root.is_none() {
            bail!(
                "--fulcio-url {} / --rekor-url {} are not the public Sigstore's: pass that instance's trusted_root.json with --trusted-root (PROOFLINE_TRUSTED_ROOT), so each new signature is verified before it is recorded",
                settings.fulcio_url,
                settings.rekor_url
            );
        }
        let trust = Trust::any_identity(load_trusted_root(settings.trusted_root.as_deref())?)?;
        let platform = ci.ci().platform();
        let tokens = ci.ci().tokens();
        let sources = TokenSources {
            explicit: settings.identity_token.clone().map(Secret::new),
            sigstore_id_token: tokens.sigstore_id_token().cloned(),
            github_request: tokens.actions_id_token_request(),
            on_github: platform == Platform::GithubActions,
            on_gitlab: platform == Platform::GitlabCi,
        };
        if let Some(token) = sources
            .explicit
            .as_ref()
            .or(sources.sigstore_id_token.as_ref())
        {
            ci.ci().mask(token).context("masking the identity token")?;
        }
        let client = http_client().context("building the HTTP client")?;
        let token = identity_token(&sources, &client).await?;
        // The token fetched from GitHub is a secret like the ones given.
        ci.ci()
            .mask(&Secret::new(token.expose_secret()))
            .context("masking the identity token")?;
        let keyless = Keyless::new(
            token,
            &settings.fulcio_url,
            &settings.rekor_url,
            client,
            trust,
        );
        tracing::info!(
            "keyless signing for {} (issuer {}) with Fulcio {} and Rekor {}, each bundle verified against the trusted root {}",
            keyless.identity(),
            keyless.issuer(),
            settings.fulcio_url,
            settings.rekor_url,
            keyless.trusted_root()
        );
        return Ok((BundleSigner::Keyless(Box::new(keyless)), false));
    }
    bail!(
        "say how to sign: --key cosign.key (password in PROOFLINE_SIGN_PASSWORD), --keyless (CI OIDC identity via Fulcio and Rekor), or --ephemeral-key (a key for this run only)"
    )
}

fn summary(
    image: &ImageSubject,
    signer: &BundleSigner,
    made: &Made,
    identity: Option<&(String, String)>,
) -> String {
    let mut md = format!(
        "## Proofline sign\n\nSigned `{}` (`{}`): **{} signatures** ({} attestations, the image signature in cosign v3 and v2 form).\n\n",
        image.name,
        image.digest(),
        made.entries.len(),
        made.attestations
    );
    match identity {
        Some((id, issuer)) => md.push_str(&format!(
            "Keyless: certificate for `{id}` (issuer `{issuer}`), every signature logged in Rekor.\n\n"
        )),
        None => md.push_str(&format!(
            "Keyed: {} key, public key in `sign/{PUBLIC_KEY}`; not logged in a transparency log.\n\n",
            signer.algorithm()
        )),
    }
    md.push_str(&format!(
        "Crypto module: {} {} (FIPS mode: {}). Details: `sign/{CRYPTO_MODULE}`.\n\n| signed | bundle |\n|---|---|\n",
        made.module.name,
        made.module.version,
        if made.module.fips_mode { "yes" } else { "no" }
    ));
    for e in &made.entries {
        md.push_str(&format!("| `{}` | `{}` |\n", e.artifact, e.bundle));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_reference_drops_tag_and_digest() {
        assert_eq!(docker_reference("ghcr.io/acme/app:1.0"), "ghcr.io/acme/app");
        assert_eq!(docker_reference("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(
            docker_reference(&format!("localhost:5000/app:v2@sha256:{}", "ab".repeat(32))),
            "localhost:5000/app"
        );
        assert_eq!(
            docker_reference("oci:fixtures/images/app:1.0"),
            "oci:fixtures/images/app"
        );
    }
}
