//! Proofline's sign stage: signs the image and every artifact the other stages left in the
//! evidence directory, keyed (cosign keys) or keyless (Fulcio + Rekor), as Sigstore bundles.

pub mod args;
pub mod bundles;
pub mod crypto_module;
pub mod keyless;
pub mod keys;
pub mod signer;
pub mod stage;

pub use args::{KeygenArgs, SignArgs, SignCommand, SignCommandLine, SignSettings};
pub use stage::{Signed, run_in, sign_evidence};

use proofline_stagekit::{Outcome, StageCi};

/// Runs `proofline-sign` / `proofline sign` from its command line.
pub fn run_command_line(command_line: &SignCommandLine) -> anyhow::Result<Outcome> {
    match &command_line.command {
        Some(SignCommand::Keygen(args)) => keygen(args),
        None => {
            let ci = StageCi::detect(&command_line.args.evidence_dir)?;
            stage::run(&command_line.args, &ci)
        }
    }
}

fn keygen(args: &KeygenArgs) -> anyhow::Result<Outcome> {
    use anyhow::Context as _;
    let password = keys::password_from_env()?.context(
        "set PROOFLINE_SIGN_PASSWORD (or COSIGN_PASSWORD) to the password that will encrypt cosign.key (an empty value means no password)",
    )?;
    let generated = keys::keygen(&args.out, args.algorithm, password.as_bytes())?;
    tracing::info!(
        "wrote {} and {} ({})",
        generated.private_key_path.display(),
        generated.public_key_path.display(),
        args.algorithm
    );
    Ok(Outcome::Passed)
}
