#!/usr/bin/env node
// Verifies one Sigstore bundle with the sigstore-js libraries (@sigstore/bundle, @sigstore/verify,
// @sigstore/protobuf-specs), fully offline: the trusted root comes from a file, never from TUF.
// Used by scripts/crosscheck-sign.sh and crates/proofline-sign/tests/interop.rs.
//
//   NODE_PATH=<dir>/node_modules node sigstore-js-verify.cjs TRUSTED_ROOT BUNDLE [ARTIFACT|-] [SAN ISSUER]
//
// ARTIFACT "-" (or absent): a DSSE bundle, verified without the artifact. TRUSTED_ROOT "-": an
// empty root (keyed bundles with no log entry). KEY=<PEM file>: keyed bundles, the key for any hint.
// TLOG_THRESHOLD / CTLOG_THRESHOLD (default 1 / 1) are set to 0 for keyed bundles with no log entry.
// Prints "OK <bundle>" and exits 0, or "FAIL <bundle> <reason>" and exits 1.
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');
const { TrustedRoot } = require('@sigstore/protobuf-specs');

const [rootPath, bundlePath, artifactPath, san, issuer] = process.argv.slice(2);
const empty = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [],
};
const rootJSON = rootPath === '-' ? empty : JSON.parse(fs.readFileSync(rootPath, 'utf8'));
const keyFinder = process.env.KEY
  ? () => ({ publicKey: crypto.createPublicKey(fs.readFileSync(process.env.KEY)), validFor: () => true })
  : undefined;
try {
  const trust = toTrustMaterial(TrustedRoot.fromJSON(rootJSON), keyFinder);
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const artifact = artifactPath && artifactPath !== '-' ? fs.readFileSync(artifactPath) : undefined;
  const verifier = new Verifier(trust, {
    tlogThreshold: Number(process.env.TLOG_THRESHOLD ?? 1),
    ctlogThreshold: Number(process.env.CTLOG_THRESHOLD ?? 1),
    tsaThreshold: 0,
  });
  const policy = {};
  if (san) policy.subjectAlternativeName = san;
  if (issuer) policy.extensions = { issuer };
  verifier.verify(toSignedEntity(bundle, artifact), policy);
  console.log('OK', bundlePath);
} catch (e) {
  console.log('FAIL', bundlePath, e.code || '', e.message);
  process.exit(1);
}
