//! Verifies Zoom and Webex webhooks and puts accepted events on the events queue.
//!
//! Order of checks: route → body size → connection → signature (over the raw bytes, constant time) →
//! timestamp window (Zoom; Webex signs none) → JSON. A Zoom recording event is accepted when it normalises, even
//! with notes (see `shared::zoom::event`), and refused (400, saying which fields) only when nothing usable is
//! left. Every rejection is logged with its reason and never with the secret, the signature or the body.

use async_trait::async_trait;
use shared::batch::{Handler, Invocation};
use shared::error::Error;
use shared::ids::{ConnectionId, Vendor};
use shared::messages::IngestMessage;
use shared::ports::{ConfigStore, Queue, SecretStore};
use shared::webex::event::{self as webex_event, WebexWebhook};
use shared::webex::signature::{self as webex_signature, SignatureError as WebexSignatureError};
use shared::zoom::event::{ZoomEventError, ZoomWebhook, classify};
use shared::zoom::signature::{self, SignatureError};
use std::collections::HashMap;

/// Bodies above this are refused with 413. Zoom recording events are a few KiB to tens of KiB.
pub const MAX_BODY_BYTES: usize = 192 * 1024;
/// SQS's message limit; a body whose queued form (JSON-escaped) would exceed it is refused with 413 too.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// A response: status and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

fn reply(status: u16, body: serde_json::Value) -> Reply {
    Reply {
        status,
        body: body.to_string(),
    }
}

fn reject(status: u16, connection: &str, reason: &str) -> Reply {
    tracing::warn!(status, connection, reason, "webhook rejected");
    reply(status, serde_json::json!({ "error": reason }))
}

/// The request parts the validator looks at.
#[derive(Debug, Clone, Default)]
pub struct Incoming {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Incoming {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).cloned()
    }
}

/// The validator with its ports.
pub struct Validator<C, S, Q> {
    pub config: C,
    pub secrets: S,
    pub events: Q,
}

/// Extracts `(vendor, connection id)` from `.../webhooks/{vendor}/{connection_id}`.
pub fn route(path: &str) -> Option<(&str, &str)> {
    let rest = &path[path.find("/webhooks/")? + "/webhooks/".len()..];
    let (vendor, conn) = rest.split_once('/')?;
    let conn = conn.trim_end_matches('/');
    (!vendor.is_empty() && !conn.is_empty() && !conn.contains('/')).then_some((vendor, conn))
}

#[async_trait]
impl<C: ConfigStore, S: SecretStore, Q: Queue> Handler for Validator<C, S, Q> {
    type Input = Incoming;
    type Output = Reply;

    async fn handle(&self, req: Incoming, at: &Invocation) -> Reply {
        let now_secs = at.now.timestamp();
        let Some((vendor, conn_raw)) = route(&req.path) else {
            return reject(404, "", "no such route");
        };
        if req.method != "POST" {
            return reject(405, conn_raw, "only POST is accepted");
        }
        if req.body.len() > MAX_BODY_BYTES {
            return reject(413, conn_raw, "body larger than 192 KiB");
        }
        let (Ok(vendor), Ok(conn_id)) = (Vendor::parse(vendor), ConnectionId::parse(conn_raw))
        else {
            return reject(404, conn_raw, "unknown connection");
        };
        let conn = match self.config.connection(&conn_id).await {
            Ok(Some(c)) if c.vendor == vendor && c.enabled => c,
            Ok(_) => return reject(404, conn_raw, "unknown connection"),
            Err(e) => return unavailable(conn_raw, "configuration", &e),
        };
        let secret = match self.secrets.secret(&conn.webhook_secret_ref).await {
            Ok(s) => s,
            Err(e) => return unavailable(conn_raw, "secret", &e),
        };
        let accepted = match vendor {
            Vendor::Zoom => match zoom(&req, &conn, secret.expose(), conn_raw, now_secs) {
                Ok(event) => event,
                Err(reply) => return reply,
            },
            Vendor::Webex => match webex(&req, secret.expose(), conn_raw) {
                Ok(event) => event,
                Err(reply) => return reply,
            },
        };
        let msg = IngestMessage {
            vendor,
            connection_id: conn_id,
            event: accepted.clone(),
            received_at_ms: now_secs * 1000,
            body: String::from_utf8_lossy(&req.body).into_owned(),
        };
        let Ok(queued) = serde_json::to_string(&msg) else {
            return reject(400, conn_raw, "body is not UTF-8 JSON");
        };
        if queued.len() > MAX_MESSAGE_BYTES {
            return reject(413, conn_raw, "event too large to queue");
        }
        match self.events.send(queued).await {
            Ok(()) => {
                tracing::info!(connection = conn_raw, event = accepted, "event accepted");
                reply(
                    200,
                    serde_json::json!({ "status": "accepted", "event": accepted }),
                )
            }
            Err(e) => unavailable(conn_raw, "events queue", &e),
        }
    }
}

/// Zoom: signature and timestamp, then the event. `Ok(event)` to queue; `Err(reply)` answers at once
/// (rejections, `endpoint.url_validation`, ignored events).
fn zoom(
    req: &Incoming,
    conn: &shared::config::Connection,
    secret: &str,
    conn_raw: &str,
    now_secs: i64,
) -> Result<String, Reply> {
    let sig = req.header("x-zm-signature");
    let ts = req.header("x-zm-request-timestamp");
    if let Err(e) = signature::verify(
        secret.as_bytes(),
        sig.as_deref(),
        ts.as_deref(),
        &req.body,
        now_secs,
        conn.timestamp_window(),
    ) {
        let reason = match e {
            SignatureError::Stale { .. } => "stale timestamp",
            SignatureError::MissingSignature => "missing signature",
            SignatureError::BadTimestamp => "missing or bad timestamp",
            SignatureError::Malformed | SignatureError::Mismatch => "bad signature",
        };
        tracing::warn!(connection = conn_raw, detail = %e, "zoom signature check failed");
        return Err(reject(401, conn_raw, reason));
    }
    // A recording event that normalises with notes (an odd field left out, a file skipped) is accepted: a 4xx
    // would make Zoom give it up after three retries. Only one with nothing usable left is refused, saying why.
    let event = classify(&req.body).map_err(|e| match e {
        ZoomEventError::NotJson(_) => {
            tracing::warn!(connection = conn_raw, detail = %e, "malformed zoom event");
            reject(400, conn_raw, "malformed event body")
        }
        unusable => reject(400, conn_raw, &format!("unusable event: {unusable}")),
    })?;
    match event {
        ZoomWebhook::UrlValidation { plain_token } => {
            let encrypted = signature::url_validation_token(secret.as_bytes(), &plain_token);
            tracing::info!(connection = conn_raw, "answered endpoint.url_validation");
            Err(reply(
                200,
                serde_json::json!({ "plainToken": plain_token, "encryptedToken": encrypted }),
            ))
        }
        ZoomWebhook::Ignored { event } => Err(ignored(conn_raw, event)),
        // Recorded downstream: whether it was our own deletion, a person's, or the app's removal.
        ZoomWebhook::Removed { event } => Ok(event),
        ZoomWebhook::Deauthorized => Ok(shared::zoom::event::DEAUTHORIZED.to_owned()),
        ZoomWebhook::Recording { event, notes } => {
            if !notes.is_empty() {
                // Enqueue logs the notes themselves, once per recording.
                tracing::info!(
                    connection = conn_raw,
                    event,
                    notes = notes.len(),
                    "recording event is degraded but usable"
                );
            }
            Ok(event)
        }
    }
}

/// Webex: `X-Spark-Signature` (HMAC-SHA1 of the raw body), then the notification. Webex signs no timestamp;
/// replays are absorbed by per-file idempotency downstream.
fn webex(req: &Incoming, secret: &str, conn_raw: &str) -> Result<String, Reply> {
    let sig = req.header("x-spark-signature");
    if let Err(e) = webex_signature::verify(secret.as_bytes(), sig.as_deref(), &req.body) {
        let reason = match e {
            WebexSignatureError::MissingSignature => "missing signature",
            WebexSignatureError::Malformed | WebexSignatureError::Mismatch => "bad signature",
        };
        if sig.is_none() && req.header("x-webex-signature").is_some() {
            tracing::warn!(
                connection = conn_raw,
                "request carries X-Webex-Signature, which is not a documented Webex header; only X-Spark-Signature is verified"
            );
        }
        tracing::warn!(connection = conn_raw, detail = %e, "webex signature check failed");
        return Err(reject(401, conn_raw, reason));
    }
    match webex_event::classify(&req.body) {
        Ok(WebexWebhook::Ingest(n)) => Ok(n.event),
        Ok(WebexWebhook::Ignored { event }) => Err(ignored(conn_raw, event)),
        Err(e) => {
            tracing::warn!(connection = conn_raw, detail = %e, "malformed webex notification");
            Err(reject(400, conn_raw, "malformed event body"))
        }
    }
}

fn ignored(conn_raw: &str, event: String) -> Reply {
    tracing::info!(
        connection = conn_raw,
        event,
        "event acknowledged, not ingested"
    );
    reply(
        200,
        serde_json::json!({ "status": "ignored", "event": event }),
    )
}

fn unavailable(connection: &str, what: &str, e: &Error) -> Reply {
    tracing::error!(connection, what, error = %e, "dependency failed; the vendor will retry");
    reply(
        503,
        serde_json::json!({ "error": format!("{what} unavailable, retry later") }),
    )
}
