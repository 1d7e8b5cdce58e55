//! Streaming a vendor download into an S3 multipart upload, verified on the way.
//!
//! Memory: at most [`MAX_PARTS_IN_FLIGHT`] parts are being uploaded while one more fills, so the peak is about
//! `(MAX_PARTS_IN_FLIGHT + 1) × part_size` (+ the HTTP client's small read buffers). With the 8 MiB minimum
//! part that is 24 MiB; a 100 GB file (part size 10 MiB) needs 30 MiB.

use crate::error::Class;
use crate::ports::{MultipartUpload, ObjectSink, ObjectTarget};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const MIB: u64 = 1024 * 1024;
/// The smallest part we use (S3's minimum is 5 MiB).
pub const MIN_PART_SIZE: u64 = 8 * MIB;
/// S3's maximum part count.
pub const MAX_PARTS: u64 = 10_000;
/// S3's maximum part size.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// Parts uploading at once.
pub const MAX_PARTS_IN_FLIGHT: usize = 2;

/// The part size for a file of `expected` bytes: at least 8 MiB, whole MiB, and large enough that the file
/// fits in 10,000 parts. Without a size, 64 MiB (files up to 625 GiB).
pub fn part_size_for(expected: Option<u64>) -> u64 {
    let Some(size) = expected else {
        return 64 * MIB;
    };
    let needed = size.div_ceil(MAX_PARTS);
    needed
        .div_ceil(MIB)
        .max(1)
        .saturating_mul(MIB)
        .clamp(MIN_PART_SIZE, MAX_PART_SIZE)
}

/// What went wrong with a transfer. Never carries a token or a signed URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("download host '{0}' is not on the connection's allow-list")]
    ForbiddenHost(String),
    #[error(
        "vendor answered HTTP 200 with an HTML page instead of the file (deleted, or access refused)"
    )]
    HtmlInsteadOfMedia,
    #[error("vendor answered HTTP {status}")]
    Status {
        status: u16,
        retry_after_secs: Option<u64>,
    },
    #[error("size mismatch: expected {expected} bytes, got {got}")]
    SizeMismatch { expected: u64, got: u64 },
    #[error("the download redirects in a loop")]
    RedirectLoop,
    #[error("plain http to '{0}' would expose the download token; only https is allowed")]
    InsecureScheme(String),
    #[error("file needs more than {MAX_PARTS} parts")]
    TooLarge,
    #[error("network: {0}")]
    Network(String),
    #[error("storage: {0}")]
    Storage(String),
    #[error("storage refused: {0}")]
    StoragePermanent(String),
}

impl TransferError {
    /// Whether the source refused the link itself (403/404/410, or an HTML page instead of media): for a
    /// temporary link, a fresh one may work.
    pub fn refused_link(&self) -> bool {
        matches!(
            self,
            TransferError::HtmlInsteadOfMedia
                | TransferError::Status {
                    status: 403 | 404 | 410,
                    ..
                }
        )
    }

    pub fn class(&self) -> Class {
        match self {
            TransferError::Network(_) | TransferError::Storage(_) => Class::Retryable,
            TransferError::Status { status, .. } => Class::of_status(*status),
            _ => Class::Permanent,
        }
    }
    /// How long the vendor asked us to wait (`Retry-After` seconds on an error status), if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            TransferError::Status {
                retry_after_secs: Some(s),
                ..
            } => Some(std::time::Duration::from_secs(*s)),
            _ => None,
        }
    }
    /// A short machine-readable reason for the catalog.
    pub fn code(&self) -> &'static str {
        match self {
            TransferError::ForbiddenHost(_) => "forbidden_host",
            TransferError::HtmlInsteadOfMedia => "html_instead_of_media",
            TransferError::Status { .. } => "http_status",
            TransferError::SizeMismatch { .. } => "size_mismatch",
            TransferError::TooLarge => "too_large",
            TransferError::RedirectLoop => "redirect_loop",
            TransferError::InsecureScheme(_) => "insecure_scheme",
            TransferError::Network(_) => "network",
            TransferError::Storage(_) | TransferError::StoragePermanent(_) => "storage",
        }
    }
}

impl From<crate::error::Error> for TransferError {
    fn from(e: crate::error::Error) -> Self {
        match e.class() {
            Class::Retryable => TransferError::Storage(e.to_string()),
            Class::Permanent => TransferError::StoragePermanent(e.to_string()),
        }
    }
}

/// A verified copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transferred {
    pub bytes: u64,
    pub sha256: String,
    pub etag: String,
    pub part_size: u64,
    pub parts: u32,
    pub elapsed: Duration,
}

/// An HTTP client whose every redirect hop must stay on the allow-list. reqwest drops the `Authorization`
/// header itself when a redirect changes host, so the Bearer token never reaches the CDN.
pub fn http_client(
    allowed: impl Fn(&str) -> bool + Send + Sync + 'static,
    timeout: Duration,
) -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            attempt.error("too many redirects")
        } else if attempt.url().host_str().is_some_and(&allowed) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(timeout)
        .build()
        .expect("static HTTP client configuration")
}

fn looks_like_html(first: &[u8]) -> bool {
    let start = first
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(first.len());
    let head: Vec<u8> = first[start..]
        .iter()
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
}

fn retry_after(resp: &reqwest::Response) -> Option<u64> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Downloads `url` (Bearer `token` in the header when given) into a new multipart upload at `target`,
/// computing SHA-256 and counting bytes on the way. On any failure after the upload started, it is aborted,
/// so no partial object is left behind.
pub async fn copy_to_sink(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    expected_size: Option<u64>,
    allowed: &(dyn Fn(&str) -> bool + Sync),
    sink: &dyn ObjectSink,
    target: &ObjectTarget,
) -> Result<Transferred, TransferError> {
    let started = Instant::now();
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| TransferError::ForbiddenHost("<unparseable url>".into()))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    if !allowed(&host) {
        return Err(TransferError::ForbiddenHost(host));
    }
    // Plain http is only for simulators on this machine.
    if parsed.scheme() != "https" && !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]") {
        return Err(TransferError::InsecureScheme(host));
    }
    let mut req = client.get(parsed);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| TransferError::Network(without_url(&e)))?;
    let status = resp.status();
    if status.is_redirection() {
        // The policy stopped at a host outside the allow-list.
        let to = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| reqwest::Url::parse(l).ok())
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "<unknown>".into());
        return Err(TransferError::ForbiddenHost(to));
    }
    if !status.is_success() {
        return Err(TransferError::Status {
            status: status.as_u16(),
            retry_after_secs: retry_after(&resp),
        });
    }
    let is_html = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("text/html"));
    if is_html {
        return Err(TransferError::HtmlInsteadOfMedia);
    }
    if let (Some(expected), Some(len)) = (expected_size, resp.content_length())
        && expected != len
    {
        return Err(TransferError::SizeMismatch { expected, got: len });
    }
    let part_size = part_size_for(expected_size.or(resp.content_length()));
    let upload: Arc<dyn MultipartUpload> = Arc::from(sink.start(target).await?);
    match stream_parts(resp, upload.clone(), part_size, expected_size).await {
        Ok((bytes, sha256, parts)) => {
            let numbered = parts;
            let count = numbered.len() as u32;
            let etag = match upload.complete(numbered).await {
                Ok(e) => e,
                Err(e) => {
                    let _ = upload.abort().await;
                    return Err(e.into());
                }
            };
            let etag = sink
                .record_sha256(target, &sha256, bytes)
                .await?
                .unwrap_or(etag);
            Ok(Transferred {
                bytes,
                sha256,
                etag,
                part_size,
                parts: count,
                elapsed: started.elapsed(),
            })
        }
        Err(e) => {
            if let Err(abort) = upload.abort().await {
                tracing::warn!(error = %abort, "abort of multipart upload failed; the bucket lifecycle rule cleans it up");
            }
            Err(e)
        }
    }
}

/// reqwest errors print the URL, which may carry signatures; keep only the kind and causes.
fn without_url(e: &reqwest::Error) -> String {
    e.without_url_ref()
}

trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let kind = if self.is_timeout() {
            "timeout"
        } else if self.is_connect() {
            "connect"
        } else if self.is_body() || self.is_decode() {
            "body interrupted"
        } else if self.is_redirect() {
            "redirect"
        } else {
            "request"
        };
        let mut msg = kind.to_owned();
        let mut src = std::error::Error::source(self);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        msg
    }
}

type PartTask = tokio::task::JoinHandle<(u32, Result<String, crate::error::Error>)>;

/// Part uploads running in the background, oldest first; aborted if dropped unfinished.
struct InFlight(VecDeque<PartTask>);

impl InFlight {
    async fn finish_oldest(&mut self, done: &mut Vec<(u32, String)>) -> Result<(), TransferError> {
        if let Some(task) = self.0.pop_front() {
            let (n, r) = task
                .await
                .map_err(|e| TransferError::Storage(format!("part upload task: {e}")))?;
            done.push((n, r?));
        }
        Ok(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

async fn stream_parts(
    resp: reqwest::Response,
    upload: Arc<dyn MultipartUpload>,
    part_size: u64,
    expected: Option<u64>,
) -> Result<(u64, String, Vec<(u32, String)>), TransferError> {
    let mut hasher = Sha256::new();
    let mut total: u64 = 0;
    let mut buf = BytesMut::with_capacity(part_size as usize);
    let mut next_part: u32 = 1;
    let mut done: Vec<(u32, String)> = Vec::new();
    let mut in_flight = InFlight(VecDeque::new());
    let mut first = true;
    let mut body = resp.bytes_stream();
    let spawn_part = |n: u32, part: Bytes| -> PartTask {
        let upload = upload.clone();
        tokio::spawn(async move { (n, upload.upload_part(n, part).await) })
    };

    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| TransferError::Network(e.without_url_ref()))?;
        if first && !chunk.is_empty() {
            if looks_like_html(&chunk) {
                return Err(TransferError::HtmlInsteadOfMedia);
            }
            first = false;
        }
        hasher.update(&chunk);
        total += chunk.len() as u64;
        if let Some(exp) = expected
            && total > exp
        {
            return Err(TransferError::SizeMismatch {
                expected: exp,
                got: total,
            });
        }
        let mut rest: &[u8] = &chunk;
        while !rest.is_empty() {
            let room = part_size as usize - buf.len();
            let take = room.min(rest.len());
            buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if buf.len() == part_size as usize {
                if u64::from(next_part) > MAX_PARTS {
                    return Err(TransferError::TooLarge);
                }
                if in_flight.0.len() >= MAX_PARTS_IN_FLIGHT {
                    in_flight.finish_oldest(&mut done).await?;
                }
                let part = std::mem::replace(&mut buf, BytesMut::with_capacity(part_size as usize));
                in_flight.0.push_back(spawn_part(next_part, part.freeze()));
                next_part += 1;
            }
        }
    }
    if let Some(exp) = expected
        && total != exp
    {
        return Err(TransferError::SizeMismatch {
            expected: exp,
            got: total,
        });
    }
    if !buf.is_empty() || next_part == 1 {
        if u64::from(next_part) > MAX_PARTS {
            return Err(TransferError::TooLarge);
        }
        in_flight.0.push_back(spawn_part(next_part, buf.freeze()));
    }
    while !in_flight.0.is_empty() {
        in_flight.finish_oldest(&mut done).await?;
    }
    done.sort_by_key(|(n, _)| *n);
    Ok((total, hex::encode(hasher.finalize()), done))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_respect_s3_limits() {
        assert_eq!(part_size_for(Some(0)), MIN_PART_SIZE);
        assert_eq!(part_size_for(Some(100 * MIB)), MIN_PART_SIZE);
        assert_eq!(part_size_for(None), 64 * MIB);
        for size in [
            1u64,
            80 * 1024 * MIB,
            81_920 * MIB + 1,
            200 * 1024 * MIB,
            5 * 1024 * 1024 * MIB,
        ] {
            let p = part_size_for(Some(size));
            assert!(
                p >= MIN_PART_SIZE && p.is_multiple_of(MIB) && p <= MAX_PART_SIZE,
                "{size}: {p}"
            );
            assert!(
                size.div_ceil(p) <= MAX_PARTS,
                "{size} needs {} parts of {p}",
                size.div_ceil(p)
            );
        }
        // 100 GB: 10 MiB parts.
        assert_eq!(part_size_for(Some(100_000_000_000)), 10 * MIB);
    }

    #[test]
    fn html_sniffing() {
        assert!(looks_like_html(b"  <!DOCTYPE html><html>"));
        assert!(looks_like_html(b"<HTML><body>"));
        assert!(!looks_like_html(b"WEBVTT\n\n"));
        assert!(!looks_like_html(&[0, 0, 0, 0x18, b'f', b't', b'y', b'p']));
    }

    #[test]
    fn classification() {
        assert_eq!(
            TransferError::Status {
                status: 429,
                retry_after_secs: Some(1)
            }
            .class(),
            Class::Retryable
        );
        assert_eq!(
            TransferError::Status {
                status: 503,
                retry_after_secs: None
            }
            .class(),
            Class::Retryable
        );
        assert_eq!(
            TransferError::Status {
                status: 404,
                retry_after_secs: None
            }
            .class(),
            Class::Permanent
        );
        assert_eq!(TransferError::HtmlInsteadOfMedia.class(), Class::Permanent);
        assert_eq!(TransferError::Network("x".into()).class(), Class::Retryable);
        assert_eq!(
            TransferError::SizeMismatch {
                expected: 1,
                got: 2
            }
            .class(),
            Class::Permanent
        );
    }
}
