//! The local HTTP source: `GET /bytes/{n}` answers `n` bytes of [`Content`] with `Content-Length`, and honours
//! `Range: bytes=a-`, `bytes=a-b` and `bytes=-n` (206 + `Content-Range`; 416 when unsatisfiable). It runs in the
//! bench's own process, so its CPU is not counted in any case.

use crate::content::Content;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes per body chunk.
const CHUNK: usize = 512 * 1024;

#[derive(Clone)]
struct Served {
    content: Content,
    bytes: Arc<AtomicU64>,
}

/// A running source; `served` counts body bytes handed to the connection so far.
pub struct Source {
    pub addr: SocketAddr,
    pub served: Arc<AtomicU64>,
}

impl Source {
    pub fn url(&self, size: u64) -> String {
        format!("http://{}/bytes/{size}", self.addr)
    }
}

/// Binds 127.0.0.1 on a free port and serves on the current runtime.
pub async fn start() -> std::io::Result<Source> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let bytes = Arc::new(AtomicU64::new(0));
    let state = Served {
        content: Content::new(CHUNK),
        bytes: bytes.clone(),
    };
    let app = axum::Router::new()
        .route("/bytes/{n}", axum::routing::get(serve))
        .with_state(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("source server stopped: {e}");
        }
    });
    Ok(Source {
        addr,
        served: bytes,
    })
}

/// The byte range `start..end` a `Range` header asks for: `None` when there is none (or it is not a single byte
/// range, which a server may ignore), `Err` when it cannot be satisfied.
pub fn parse_range(value: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 {
            return Some(Err(()));
        }
        (size.saturating_sub(n), size)
    } else {
        let start: u64 = a.parse().ok()?;
        let end = if b.is_empty() {
            size
        } else {
            let last: u64 = b.parse().ok()?;
            if last < start {
                return None;
            }
            last.saturating_add(1).min(size)
        };
        (start, end)
    };
    if range.0 >= size {
        return Some(Err(()));
    }
    Some(Ok(range))
}

async fn serve(State(st): State<Served>, Path(size): Path<u64>, headers: HeaderMap) -> Response {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, size));
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, size),
        Some(Ok((s, e))) => (StatusCode::PARTIAL_CONTENT, s, e),
        Some(Err(())) => {
            let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            r.headers_mut().insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
            );
            return r;
        }
    };
    let counter = st.bytes.clone();
    let body = futures_util::stream::iter(st.content.chunks(start, end).map(move |c| {
        counter.fetch_add(c.len() as u64, Ordering::Relaxed);
        Ok::<_, Infallible>(c)
    }));
    let mut resp = Response::new(Body::from_stream(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        let v = format!("bytes {start}-{}/{size}", end - 1);
        h.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&v).expect("ascii"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-", 10), Some(Ok((0, 10))));
        assert_eq!(parse_range("bytes=4-", 10), Some(Ok((4, 10))));
        assert_eq!(parse_range("bytes=2-5", 10), Some(Ok((2, 6))));
        assert_eq!(parse_range("bytes=2-50", 10), Some(Ok((2, 10))));
        assert_eq!(parse_range("bytes=-3", 10), Some(Ok((7, 10))));
        assert_eq!(parse_range("bytes=10-", 10), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,4-5", 10), None);
        assert_eq!(parse_range("items=0-", 10), None);
    }
}
