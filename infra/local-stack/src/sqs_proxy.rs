//! A pass-through proxy in front of the SQS endpoint, for the functions: it forwards every call
//! unchanged and notes the receipt handles whose visibility a function changed
//! (`ChangeMessageVisibility`, `ChangeMessageVisibilityBatch`), so that the [bridge](crate::bridge)
//! can leave those messages alone instead of setting its own retry delay over the function's.
//!
//! The local stack points only the functions' SQS client at it (`AWS_ENDPOINT_URL_SQS`, which
//! aws-config prefers to `AWS_ENDPOINT_URL` for SQS); their S3, DynamoDB and Secrets Manager
//! calls go to the endpoint directly. The bridge's own calls go to the endpoint directly too.
//!
//! It understands the AWS JSON protocol (`X-Amz-Target: AmazonSQS.<Operation>`), which the AWS
//! SDKs speak to SQS; a change made through the older query protocol is forwarded but not noted.
//! Only changes the endpoint accepted (2xx; for a batch, its `Successful` entries) are noted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

/// Largest request the proxy forwards (SQS's own limit on a message is 1 MiB).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// How long a noted change is kept when the bridge never asks about it (a change to a message
/// the bridge did not deliver, e.g. one a test received itself).
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// The receipt handles whose visibility a function changed, noted by [`SqsProxy`] and asked for
/// by the bridge. Cheap to clone (shared). Empty when nothing goes through a proxy.
#[derive(Debug, Clone, Default)]
pub struct VisibilityChanges(Arc<Mutex<HashMap<String, Instant>>>);

impl VisibilityChanges {
    /// Notes that the visibility of the message received with `receipt_handle` was changed.
    pub fn record(&self, receipt_handle: &str) {
        let mut map = self.0.lock().unwrap();
        let now = Instant::now();
        if map.len() >= 1024 {
            map.retain(|_, at| now.duration_since(*at) < FORGET_AFTER);
        }
        map.insert(receipt_handle.to_string(), now);
    }

    /// Whether the visibility of the message received with `receipt_handle` was changed since it
    /// was received (receipt handles are unique per receive); forgets the note.
    pub fn take(&self, receipt_handle: &str) -> bool {
        self.0.lock().unwrap().remove(receipt_handle).is_some()
    }

    /// How many changes are noted and not yet taken.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// Whether no change is noted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The receipt handles a successful SQS JSON call changed the visibility of: `target` is the
/// `X-Amz-Target` header, `request` and `response` the JSON bodies.
pub fn changed_handles(target: &str, request: &[u8], response: &[u8]) -> Vec<String> {
    let op = target.strip_prefix("AmazonSQS.").unwrap_or_default();
    let json = |b: &[u8]| serde_json::from_slice::<Value>(b).unwrap_or(Value::Null);
    match op {
        "ChangeMessageVisibility" => json(request)["ReceiptHandle"]
            .as_str()
            .map(|h| vec![h.to_string()])
            .unwrap_or_default(),
        "ChangeMessageVisibilityBatch" => {
            let response = json(response);
            let ok: Vec<&str> = response["Successful"]
                .as_array()
                .map(|a| a.iter().filter_map(|e| e["Id"].as_str()).collect())
                .unwrap_or_default();
            json(request)["Entries"]
                .as_array()
                .map(|entries| {
                    entries
                        .iter()
                        .filter(|e| e["Id"].as_str().is_some_and(|id| ok.contains(&id)))
                        .filter_map(|e| e["ReceiptHandle"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    http: reqwest::Client,
    changes: VisibilityChanges,
}

/// The running proxy; stops when dropped.
#[derive(Debug)]
pub struct SqsProxy {
    url: String,
    changes: VisibilityChanges,
    task: JoinHandle<()>,
}

impl SqsProxy {
    /// Starts the proxy on a free port of 127.0.0.1, forwarding to `upstream` (the SQS endpoint,
    /// e.g. moto's URL).
    pub async fn start(upstream: &str) -> std::io::Result<SqsProxy> {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(std::io::Error::other)?;
        let changes = VisibilityChanges::default();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http,
            changes: changes.clone(),
        });
        let app = axum::Router::new().fallback(forward).with_state(shared);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                warn!(error = %e, "SQS proxy stopped");
            }
        });
        debug!(%url, %upstream, "SQS proxy ready");
        Ok(SqsProxy { url, changes, task })
    }

    /// `http://127.0.0.1:<port>`: the endpoint to give the functions for SQS.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The changes the proxy notes (give them to the bridge).
    pub fn changes(&self) -> VisibilityChanges {
        self.changes.clone()
    }
}

impl Drop for SqsProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Hop-by-hop and framing headers are not forwarded; the client library sets its own.
fn forwardable(headers: &HeaderMap) -> HeaderMap {
    let mut out = headers.clone();
    for h in [
        header::HOST,
        header::CONTENT_LENGTH,
        header::CONNECTION,
        header::TRANSFER_ENCODING,
    ] {
        out.remove(h);
    }
    out
}

/// Sends a request on to `url` (hop-by-hop headers dropped) and reads the whole answer; an upstream that
/// does not answer is a 502 for the caller, logged as `who`'s.
pub(crate) async fn relay(
    http: &reqwest::Client,
    method: axum::http::Method,
    url: String,
    headers: &HeaderMap,
    body: axum::body::Bytes,
    who: &str,
) -> Result<(StatusCode, HeaderMap, axum::body::Bytes), Response> {
    let resp = http
        .request(method, url)
        .headers(forwardable(headers))
        .body(body)
        .send()
        .await
        .map_err(|e| {
            warn!(error = %e, "{who}: the upstream did not answer");
            (StatusCode::BAD_GATEWAY, e.to_string()).into_response()
        })?;
    let status = resp.status();
    let headers = forwardable(resp.headers());
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()).into_response())?;
    Ok((status, headers, bytes))
}

/// The relayed answer, as the caller's response.
pub(crate) fn reply(status: StatusCode, headers: HeaderMap, bytes: axum::body::Bytes) -> Response {
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

async fn forward(State(p): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let (status, headers, bytes) = match relay(
        &p.http,
        parts.method,
        format!("{}{path}", p.upstream),
        &parts.headers,
        body.clone(),
        &format!("SQS proxy ({target})"),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return e,
    };
    if status.is_success() {
        for handle in changed_handles(&target, &body, &bytes) {
            p.changes.record(&handle);
        }
    }
    reply(status, headers, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_read_from_single_and_batch_calls() {
        assert_eq!(
            changed_handles(
                "AmazonSQS.ChangeMessageVisibility",
                br#"{"QueueUrl":"u","ReceiptHandle":"rh-1","VisibilityTimeout":30}"#,
                b"{}"
            ),
            ["rh-1"]
        );
        assert_eq!(
            changed_handles(
                "AmazonSQS.ChangeMessageVisibilityBatch",
                br#"{"QueueUrl":"u","Entries":[
                    {"Id":"a","ReceiptHandle":"rh-a","VisibilityTimeout":5},
                    {"Id":"b","ReceiptHandle":"rh-b","VisibilityTimeout":5}]}"#,
                br#"{"Successful":[{"Id":"b"}],"Failed":[{"Id":"a","Code":"ReceiptHandleIsInvalid"}]}"#
            ),
            ["rh-b"]
        );
        for target in [
            "AmazonSQS.SendMessage",
            "AmazonSQS.DeleteMessage",
            "",
            "ChangeMessageVisibility",
        ] {
            assert!(
                changed_handles(target, br#"{"ReceiptHandle":"rh"}"#, b"{}").is_empty(),
                "{target}"
            );
        }
        assert!(changed_handles("AmazonSQS.ChangeMessageVisibility", b"not json", b"").is_empty());
    }

    #[test]
    fn a_noted_change_is_taken_once() {
        let c = VisibilityChanges::default();
        c.record("rh-1");
        assert_eq!(c.len(), 1);
        assert!(!c.take("rh-2"));
        assert!(c.take("rh-1"));
        assert!(!c.take("rh-1"));
        assert!(c.is_empty());
    }
}
