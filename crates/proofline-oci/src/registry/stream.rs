//! A blob body as `std::io::Read`: a task on the repository's runtime pulls the HTTP body and
//! hands chunks over a bounded channel, so a layer of any size costs a few chunks of memory.

use std::io::{self, Read};

use bytes::{Buf as _, Bytes};
use futures_util::StreamExt as _;
use reqwest::Response;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

/// Chunks in flight between the HTTP task and the reader.
const CHANNEL_CHUNKS: usize = 8;

/// Reads a response body pumped by a task on the runtime.
#[derive(Debug)]
pub(crate) struct BodyReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl BodyReader {
    /// Starts pumping `resp`'s body. `what` names the blob in errors.
    pub fn spawn(handle: &Handle, resp: Response, what: String) -> Self {
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        handle.spawn(async move {
            let mut body = resp.bytes_stream();
            while let Some(item) = body.next().await {
                let failed = item.is_err();
                let item = item.map_err(|e| {
                    io::Error::other(format!("{what}: {}", super::transport::error_chain(&e)))
                });
                // The reader was dropped: stop downloading.
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        Self {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}
