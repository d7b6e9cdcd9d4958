//! Layer blobs as tar streams: picks the decompressor (media type, confirmed by magic
//! bytes), counts uncompressed bytes against an image-wide budget so a decompression bomb
//! stops with a clear error, and drains the blob to its end so its digest is checked.

use std::fmt;
use std::io::{self, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use oci_spec::image::Descriptor;

use crate::digest::VerifyError;
use crate::error::OciError;
use crate::store::ImageSource;

/// Default limit on the uncompressed bytes of all layers of one image (64 GiB).
pub const DEFAULT_MAX_UNCOMPRESSED_BYTES: u64 = 64 * 1024 * 1024 * 1024;

/// Read-buffer size for compressed input: large reads keep the decompressor and the
/// hasher in their fast loops.
const INPUT_BUFFER: usize = 256 * 1024;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        })
    }
}

impl Compression {
    /// The compression a layer media type declares, or `None` when the media type is not
    /// a filesystem layer we can read. Accepts the OCI layer types (including the
    /// deprecated non-distributable ones) and Docker's `rootfs.diff` / `rootfs.foreign.diff`.
    pub fn from_media_type(media_type: &str) -> Option<Compression> {
        const OCI_LAYERS: &[&str] = &[
            "application/vnd.oci.image.layer.v1.tar",
            "application/vnd.oci.image.layer.nondistributable.v1.tar",
        ];
        const DOCKER_LAYERS: &[&str] = &[
            "application/vnd.docker.image.rootfs.diff.tar",
            "application/vnd.docker.image.rootfs.foreign.diff.tar",
        ];
        let suffix = |s: &str| match s {
            "" => Some(Compression::None),
            "gzip" => Some(Compression::Gzip),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        };
        for base in OCI_LAYERS {
            if let Some(rest) = media_type.strip_prefix(base) {
                return if rest.is_empty() {
                    Some(Compression::None)
                } else {
                    rest.strip_prefix('+').and_then(suffix)
                };
            }
        }
        for base in DOCKER_LAYERS {
            // Docker writes `tar.gzip`; accept the OCI-style `+` too.
            if let Some(rest) = media_type.strip_prefix(base) {
                return if rest.is_empty() {
                    Some(Compression::None)
                } else {
                    rest.strip_prefix('.')
                        .or_else(|| rest.strip_prefix('+'))
                        .and_then(suffix)
                };
            }
        }
        None
    }

    /// What the first bytes of a blob say it is: gzip (`1f 8b`), zstd (`28 b5 2f fd`),
    /// anything else is read as a plain tar.
    pub fn sniff(prefix: &[u8]) -> Compression {
        if prefix.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if prefix.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The OCI layer media type for this compression.
    pub fn oci_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// The uncompressed-bytes allowance shared by all layers of one walk.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: u64,
    used: Arc<AtomicU64>,
}

impl Budget {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            used: Arc::new(AtomicU64::new(0)),
        }
    }
    pub fn limit(&self) -> u64 {
        self.limit
    }
    /// Uncompressed bytes consumed so far.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
}

/// Why the stream failed below the tar parser: recorded where it happens, because
/// decompressors and the tar parser may rewrap the `io::Error` on its way up.
#[derive(Debug, Clone)]
enum Fault {
    Verify(VerifyError),
    Budget,
}

/// Turns low-level I/O errors of one layer into errors that name the layer.
#[derive(Debug, Clone)]
pub struct LayerErrors {
    fault: Arc<Mutex<Option<Fault>>>,
    image: String,
    layer: String,
    limit: u64,
}

impl LayerErrors {
    /// The error for `e`, raised while `doing` something with the layer. A digest or size
    /// mismatch of the blob and a blown budget win over whatever the decoder made of them.
    pub fn error(&self, e: io::Error, doing: &str) -> OciError {
        let fault = self.fault.lock().map(|f| f.clone()).unwrap_or(None);
        match fault {
            Some(Fault::Verify(v)) => OciError::Verify(v),
            Some(Fault::Budget) => OciError::DecompressionLimit {
                image: self.image.clone(),
                layer: self.layer.clone(),
                limit: self.limit,
            },
            None => match e.get_ref().and_then(|i| i.downcast_ref::<VerifyError>()) {
                Some(v) => OciError::Verify(v.clone()),
                None => OciError::Layer {
                    image: self.image.clone(),
                    layer: self.layer.clone(),
                    message: format!("{doing}: {e} (the layer is truncated or corrupt)"),
                },
            },
        }
    }

    /// A layer error with a message of our own.
    pub fn message(&self, message: impl Into<String>) -> OciError {
        OciError::Layer {
            image: self.image.clone(),
            layer: self.layer.clone(),
            message: message.into(),
        }
    }

    /// How the layer is named in errors (`2 (sha256:…)`).
    pub fn layer(&self) -> &str {
        &self.layer
    }
}

/// Records a verification failure of the compressed blob before passing the error on.
struct Tap<R> {
    inner: R,
    fault: Arc<Mutex<Option<Fault>>>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            if let Some(v) = e.get_ref().and_then(|i| i.downcast_ref::<VerifyError>())
                && let Ok(mut f) = self.fault.lock()
            {
                f.get_or_insert(Fault::Verify(v.clone()));
            }
        })
    }
}

type Input<'a> = BufReader<Tap<io::Chain<io::Cursor<Vec<u8>>, Box<dyn Read + Send + 'a>>>>;

// One per layer being read, never moved in the hot loop: boxing would only add a pointer chase.
#[allow(clippy::large_enum_variant)]
enum Decoder<'a> {
    Plain(Input<'a>),
    Gzip(flate2::bufread::MultiGzDecoder<Input<'a>>),
    Zstd(zstd::stream::read::Decoder<'static, Input<'a>>),
}

/// The uncompressed tar stream of one layer. Read it with `tar::Archive`, then call
/// [`LayerReader::finish`]: only then is the blob's digest known to be right.
pub struct LayerReader<'a> {
    decoder: Decoder<'a>,
    budget: Budget,
    errors: LayerErrors,
    declared: Option<Compression>,
    actual: Compression,
}

impl fmt::Debug for LayerReader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayerReader")
            .field("layer", &self.errors.layer)
            .field("compression", &self.actual)
            .finish()
    }
}

impl<'a> LayerReader<'a> {
    /// Opens layer `desc` of `source`. `layer` names it in errors (`2 (sha256:…)`), `image`
    /// names the image. The compression is what the magic bytes say (the media type is
    /// only a claim; see [`LayerReader::declared`]). Unknown layer media types are refused.
    pub fn open(
        source: &'a dyn ImageSource,
        desc: &Descriptor,
        layer: impl Into<String>,
        image: impl Into<String>,
        budget: &Budget,
    ) -> Result<Self, OciError> {
        let media_type = desc.media_type().to_string();
        let errors = LayerErrors {
            fault: Arc::new(Mutex::new(None)),
            image: image.into(),
            layer: layer.into(),
            limit: budget.limit,
        };
        let declared = Compression::from_media_type(&media_type);
        if declared.is_none() {
            return Err(OciError::UnsupportedMediaType {
                what: format!(
                    "layer {} of {} (not a filesystem layer)",
                    errors.layer, errors.image
                ),
                media_type,
            });
        }
        let mut blob = source.open_blob(desc)?;
        let mut prefix = Vec::with_capacity(4);
        (&mut blob)
            .take(4)
            .read_to_end(&mut prefix)
            .map_err(|e| errors.error(e, "reading the layer"))?;
        let actual = Compression::sniff(&prefix);
        let tap = Tap {
            inner: io::Cursor::new(prefix).chain(blob),
            fault: errors.fault.clone(),
        };
        let input = BufReader::with_capacity(INPUT_BUFFER, tap);
        let decoder = match actual {
            Compression::None => Decoder::Plain(input),
            Compression::Gzip => Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(input)),
            Compression::Zstd => Decoder::Zstd(
                zstd::stream::read::Decoder::with_buffer(input)
                    .map_err(|e| errors.error(e, "starting the zstd decoder"))?,
            ),
        };
        Ok(Self {
            decoder,
            budget: budget.clone(),
            errors,
            declared,
            actual,
        })
    }

    /// The compression the magic bytes revealed (what is really used).
    pub fn compression(&self) -> Compression {
        self.actual
    }

    /// The compression the media type claimed.
    pub fn declared(&self) -> Option<Compression> {
        self.declared
    }

    /// The error mapper for this layer (clone it before handing the reader to `tar`).
    pub fn errors(&self) -> &LayerErrors {
        &self.errors
    }

    /// Reads the rest of the uncompressed stream and of the blob, so the verifying reader
    /// underneath checks the digest and size. Call it after the tar end-of-archive marker.
    pub fn finish(mut self) -> Result<(), OciError> {
        io::copy(&mut self, &mut io::sink())
            .map_err(|e| self.errors.error(e, "reading past the end of the tar"))?;
        let errors = self.errors.clone();
        let mut input = match self.decoder {
            Decoder::Plain(i) => i,
            Decoder::Gzip(d) => d.into_inner(),
            Decoder::Zstd(d) => d.finish(),
        };
        io::copy(&mut input, &mut io::sink())
            .map_err(|e| errors.error(e, "reading the end of the blob"))?;
        Ok(())
    }
}

impl Read for LayerReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.decoder {
            Decoder::Plain(r) => r.read(buf)?,
            Decoder::Gzip(r) => r.read(buf)?,
            Decoder::Zstd(r) => r.read(buf)?,
        };
        let used = self.budget.used.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if used > self.budget.limit {
            if let Ok(mut f) = self.errors.fault.lock() {
                f.get_or_insert(Fault::Budget);
            }
            return Err(io::Error::other("uncompressed size limit reached"));
        }
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        use Compression::*;
        let m = Compression::from_media_type;
        assert_eq!(m("application/vnd.oci.image.layer.v1.tar"), Some(None));
        assert_eq!(m("application/vnd.oci.image.layer.v1.tar+gzip"), Some(Gzip));
        assert_eq!(m("application/vnd.oci.image.layer.v1.tar+zstd"), Some(Zstd));
        assert_eq!(
            m("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
            Some(Gzip)
        );
        assert_eq!(
            m("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Some(Gzip)
        );
        assert_eq!(
            m("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"),
            Some(Gzip)
        );
        assert_eq!(
            m("application/vnd.docker.image.rootfs.diff.tar.zstd"),
            Some(Zstd)
        );
        assert_eq!(
            m("application/vnd.docker.image.rootfs.diff.tar"),
            Some(None)
        );
        assert_eq!(
            m("application/vnd.oci.image.layer.v1.tarball"),
            Option::None
        );
        assert_eq!(m("application/vnd.in-toto+json"), Option::None);
        assert_eq!(
            m("application/vnd.oci.image.layer.v1.tar+bzip2"),
            Option::None
        );
    }

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(Compression::sniff(&[0x1f, 0x8b, 8, 0]), Compression::Gzip);
        assert_eq!(
            Compression::sniff(&[0x28, 0xb5, 0x2f, 0xfd]),
            Compression::Zstd
        );
        assert_eq!(Compression::sniff(b"etc/"), Compression::None);
        assert_eq!(Compression::sniff(b""), Compression::None);
    }
}
