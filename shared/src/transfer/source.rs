//! The HTTP side of a transfer: one GET of a vendor download at a byte offset, checked before its body is
//! read (allowed host, https, status, content type, `Content-Range`).

use super::TransferError;
use crate::ports::Fetch;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::sync::Arc;
use std::time::Duration;

/// A body opened at some offset of the file.
pub struct Opened {
    pub body: BoxStream<'static, Result<Bytes, TransferError>>,
    /// The file offset of the body's first byte: the offset asked for, or 0 when the server ignored `Range`.
    pub starts_at: u64,
    /// The file's whole size, when the response tells it (`Content-Length` of a full body, or the total of a
    /// `Content-Range`).
    pub total: Option<u64>,
}

/// Where the bytes come from: opened again at the last byte received after every cut.
#[async_trait]
pub trait Source: Send + Sync {
    async fn open(&self, offset: u64) -> Result<Opened, TransferError>;
}

/// Which hosts a download may touch, redirects included.
pub type HostCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// A vendor download over HTTP: the URL and bearer of one [`Fetch`], on a client whose every redirect hop
/// stays on the allow-list.
pub struct HttpSource {
    client: reqwest::Client,
    fetch: Fetch,
    allowed: HostCheck,
}

/// An HTTP client whose every redirect hop must stay on the allow-list. reqwest drops the `Authorization`
/// header itself when a redirect changes host, so a bearer token never reaches the CDN.
pub fn http_client(allowed: HostCheck, read_timeout: Duration) -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            attempt.error("too many redirects")
        } else if attempt.url().host_str().is_some_and(|h| allowed(h)) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .redirect(policy)
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(read_timeout)
        .build()
        .expect("static HTTP client configuration")
}

impl HttpSource {
    pub fn new(fetch: Fetch, allowed: HostCheck, read_timeout: Duration) -> Self {
        Self {
            client: http_client(allowed.clone(), read_timeout),
            fetch,
            allowed,
        }
    }

    /// The host, if the URL may be fetched at all: on the allow-list, and https (plain http only for
    /// simulators on this machine).
    fn checked_url(&self) -> Result<reqwest::Url, TransferError> {
        let url = reqwest::Url::parse(&self.fetch.url)
            .map_err(|_| TransferError::ForbiddenHost("<unparseable url>".into()))?;
        let host = url.host_str().unwrap_or_default().to_owned();
        if !(self.allowed)(&host) {
            return Err(TransferError::ForbiddenHost(host));
        }
        if url.scheme() != "https" && !matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]")
        {
            return Err(TransferError::InsecureScheme(host));
        }
        Ok(url)
    }
}

/// `bytes a-b/total` → (a, total).
fn content_range(resp: &reqwest::Response) -> Option<(u64, Option<u64>)> {
    let v = resp
        .headers()
        .get(reqwest::header::CONTENT_RANGE)?
        .to_str()
        .ok()?;
    let spec = v.trim().strip_prefix("bytes ")?;
    let (range, total) = spec.split_once('/')?;
    let (a, _) = range.split_once('-')?;
    Some((a.trim().parse().ok()?, total.trim().parse().ok()))
}

#[async_trait]
impl Source for HttpSource {
    async fn open(&self, offset: u64) -> Result<Opened, TransferError> {
        let url = self.checked_url()?;
        let mut req = self.client.get(url);
        if let Some(b) = &self.fetch.bearer {
            req = req.bearer_auth(b.expose());
        }
        if offset > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={offset}-"));
        }
        let resp = req
            .send()
            .await
            .map_err(|e| TransferError::Network(crate::http::describe(&e)))?;
        let status = resp.status();
        if status.is_redirection() {
            // The redirect policy stopped at a host outside the allow-list.
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
                retry_after: crate::http::retry_after(resp.headers()),
            });
        }
        let is_html = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("text/html"));
        if is_html {
            return Err(TransferError::HtmlInsteadOfMedia);
        }
        let (starts_at, total) = if status == reqwest::StatusCode::PARTIAL_CONTENT {
            let (start, total) = content_range(&resp).ok_or_else(|| {
                TransferError::Network("206 without a readable Content-Range".into())
            })?;
            if start > offset {
                return Err(TransferError::Network(format!(
                    "asked for bytes from {offset}, got a range from {start}"
                )));
            }
            (start, total)
        } else {
            // A full body, whatever we asked: the server ignored Range (or we asked from 0).
            (0, resp.content_length())
        };
        let body = resp
            .bytes_stream()
            .map(|r| r.map_err(|e| TransferError::Network(crate::http::describe(&e))))
            .boxed();
        Ok(Opened {
            body,
            starts_at,
            total,
        })
    }
}
