//! Verifies Zoom and Webex webhooks and puts accepted events on the events queue.
//!
//! Order of checks: route → body size → connection → signature (over the raw bytes, constant time) →
//! timestamp window (Zoom; Webex signs none) → JSON. Every rejection is logged with its reason and never with the secret, the
//! signature or the body.

use shared::error::Error;
use shared::ids::{ConnectionId, Vendor};
use shared::messages::IngestMessage;
use shared::ports::{ConfigStore, Queue, SecretStore};
use shared::webex::event::{self as webex_event, WebexWebhook};
use shared::webex::signature::{self as webex_signature, SignatureError as WebexSignatureError};
use shared::zoom::event::{ZoomWebhook, classify};
use shared::zoom::signature::{self, SignatureError};

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
pub struct Incoming<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub header: &'a (dyn Fn(&str) -> Option<String> + Sync),
    pub body: &'a [u8],
    pub now_secs: i64,
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

impl<C: ConfigStore, S: SecretStore, Q: Queue> Validator<C, S, Q> {
    pub async fn handle(&self, req: Incoming<'_>) -> Reply {
        let Some((vendor, conn_raw)) = route(req.path) else {
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
            Vendor::Zoom => match self.zoom(&req, &conn, secret.expose(), conn_raw) {
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
            received_at_ms: req.now_secs * 1000,
            body: String::from_utf8_lossy(req.body).into_owned(),
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

    /// Zoom: signature and timestamp, then the event. `Ok(event)` to queue; `Err(reply)` answers at once
    /// (rejections, `endpoint.url_validation`, ignored events).
    fn zoom(
        &self,
        req: &Incoming<'_>,
        conn: &shared::config::Connection,
        secret: &str,
        conn_raw: &str,
    ) -> Result<String, Reply> {
        let sig = (req.header)("x-zm-signature");
        let ts = (req.header)("x-zm-request-timestamp");
        if let Err(e) = signature::verify(
            secret.as_bytes(),
            sig.as_deref(),
            ts.as_deref(),
            req.body,
            req.now_secs,
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
        let event = classify(req.body).map_err(|e| {
            tracing::warn!(connection = conn_raw, detail = %e, "malformed zoom event");
            reject(400, conn_raw, "malformed event body")
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
            ZoomWebhook::Recording { event } => Ok(event),
        }
    }
}

/// Webex: `X-Spark-Signature` (HMAC-SHA1 of the raw body), then the notification. Webex signs no timestamp;
/// replays are absorbed by per-file idempotency downstream.
fn webex(req: &Incoming<'_>, secret: &str, conn_raw: &str) -> Result<String, Reply> {
    let sig = (req.header)("x-spark-signature");
    if let Err(e) = webex_signature::verify(secret.as_bytes(), sig.as_deref(), req.body) {
        let reason = match e {
            WebexSignatureError::MissingSignature => "missing signature",
            WebexSignatureError::Malformed | WebexSignatureError::Mismatch => "bad signature",
        };
        if sig.is_none() && (req.header)("x-webex-signature").is_some() {
            tracing::warn!(
                connection = conn_raw,
                "request carries X-Webex-Signature, which is not a documented Webex header; only X-Spark-Signature is verified"
            );
        }
        tracing::warn!(connection = conn_raw, detail = %e, "webex signature check failed");
        return Err(reject(401, conn_raw, reason));
    }
    match webex_event::classify(req.body) {
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

#[cfg(test)]
mod tests_support {
    use super::*;
    use shared::config::{Connection, DeletePlan, HostPattern};
    use shared::fakes::{MemoryConfig, MemoryQueue, StaticSecrets};
    use shared::ids::{AccountId, TenantId, UserId};
    use std::collections::HashMap;

    pub const SECRET: &str = "4fv1RkqGQUq5sWbEz6hA5A";
    pub const COMPLETED: &[u8] = include_bytes!("../../../events/zoom/recording.completed.json");
    pub const VALIDATION: &[u8] =
        include_bytes!("../../../events/zoom/endpoint.url_validation.json");
    pub const STARTED: &[u8] = include_bytes!("../../../events/zoom/meeting.started.json");
    pub const NOW: i64 = 1_767_225_700;
    pub const WEBEX_SECRET: &str = "webex-whsec-7f3a";
    pub const WEBEX_ORG: &str =
        "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi9lMWQ3MzQ0Ny1hZjY3LTQ1ZTYtOGM2Mi0xMTVlNDQ3Y2QzMmQ";
    pub const WEBEX_RECORDING: &[u8] =
        include_bytes!("../../../events/webex/recordings.created.json");
    pub const WEBEX_TRANSCRIPT: &[u8] =
        include_bytes!("../../../events/webex/meetingTranscripts.created.json");

    pub fn spark(body: &[u8]) -> Vec<(&'static str, String)> {
        vec![(
            "x-spark-signature",
            shared::webex::signature::sign(WEBEX_SECRET.as_bytes(), body),
        )]
    }

    thread_local! {
        static CAPTURE: std::cell::RefCell<Option<std::sync::Arc<std::sync::Mutex<Vec<u8>>>>> =
            const { std::cell::RefCell::new(None) };
    }

    /// Writes log lines to this thread's capture buffer, if any.
    struct ThreadWriter;

    impl std::io::Write for ThreadWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            CAPTURE.with(|c| {
                if let Some(c) = &*c.borrow() {
                    c.lock().unwrap().extend_from_slice(buf);
                }
            });
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// One process-wide subscriber (so no callsite is cached as disabled by a test running without one);
    /// it keeps what this thread logs from now on.
    pub fn capture_logs() -> std::sync::Arc<std::sync::Mutex<Vec<u8>>> {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        CAPTURE.with(|c| *c.borrow_mut() = Some(buf.clone()));
        buf
    }

    pub fn validator() -> Validator<MemoryConfig, StaticSecrets, MemoryQueue> {
        static INIT: std::sync::Once = std::sync::Once::new();
        INIT.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(|| ThreadWriter)
                .with_ansi(false)
                .finish();
            let _ = tracing::subscriber::set_global_default(subscriber);
        });
        let conn = Connection {
            id: ConnectionId::parse("zoom-main").unwrap(),
            tenant: TenantId::parse("uni").unwrap(),
            vendor: Vendor::Zoom,
            account_id: AccountId::parse("ACCT123").unwrap(),
            webhook_secret_ref: "archiver/uni/zoom-main/webhook-secret".into(),
            credentials_ref: None,
            api_base_url: "https://api.zoom.us/v2".into(),
            oauth_base_url: "https://zoom.us".into(),
            download_hosts: vec![HostPattern::parse("*.zoom.us").unwrap()],
            max_age_secs: 300,
            max_future_secs: 60,
            delete_plan: DeletePlan::Retain,
            default_owner: UserId::parse("media").unwrap(),
            enabled: true,
        };
        let webex = Connection {
            id: ConnectionId::parse("webex-main").unwrap(),
            vendor: Vendor::Webex,
            account_id: AccountId::parse(WEBEX_ORG).unwrap(),
            webhook_secret_ref: "archiver/uni/webex-main/webhook-secret".into(),
            ..conn.clone()
        };
        Validator {
            config: MemoryConfig {
                connections: vec![conn, webex],
                users: vec![],
            },
            secrets: StaticSecrets(HashMap::from([
                (
                    "archiver/uni/zoom-main/webhook-secret".to_owned(),
                    SECRET.to_owned(),
                ),
                (
                    "archiver/uni/webex-main/webhook-secret".to_owned(),
                    WEBEX_SECRET.to_owned(),
                ),
            ])),
            events: MemoryQueue::default(),
        }
    }

    pub async fn post(
        v: &Validator<MemoryConfig, StaticSecrets, MemoryQueue>,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
        now: i64,
    ) -> Reply {
        let headers: HashMap<String, String> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let lookup = move |name: &str| headers.get(name).cloned();
        v.handle(Incoming {
            method: "POST",
            path,
            header: &lookup,
            body,
            now_secs: now,
        })
        .await
    }

    pub fn signed(ts: i64, body: &[u8]) -> Vec<(&'static str, String)> {
        vec![
            (
                "x-zm-signature",
                signature::sign(SECRET.as_bytes(), ts, body),
            ),
            ("x-zm-request-timestamp", ts.to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;

    #[tokio::test]
    async fn accepts_a_signed_recording_event() {
        let v = validator();
        let r = post(
            &v,
            "/webhooks/zoom/zoom-main",
            &signed(NOW, COMPLETED),
            COMPLETED,
            NOW,
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let sent = v.events.bodies();
        assert_eq!(sent.len(), 1);
        let msg: IngestMessage = serde_json::from_str(&sent[0]).unwrap();
        assert_eq!(msg.body.as_bytes(), COMPLETED);
        assert_eq!(msg.event, "recording.completed");
    }

    #[tokio::test]
    async fn answers_url_validation_with_the_published_vector() {
        let v = validator();
        let ts = 1720705455;
        let r = post(
            &v,
            "/webhooks/zoom/zoom-main",
            &signed(ts, VALIDATION),
            VALIDATION,
            ts,
        )
        .await;
        assert_eq!(r.status, 200);
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["plainToken"], "xys8n8PGS7mAU0m5-YJjRA");
        assert_eq!(
            body["encryptedToken"],
            "2fffc6a967dde4f68024025a5bd991c5ae1e5313b4e6365be4883e3e81d479b3"
        );
        assert!(v.events.bodies().is_empty());
    }

    #[tokio::test]
    async fn rejections_have_their_status_and_enqueue_nothing() {
        let v = validator();
        let mut forged = signed(NOW, COMPLETED);
        forged[0].1 = signature::sign(b"wrong-secret", NOW, COMPLETED);
        type Case<'a> = (&'a str, Vec<(&'a str, String)>, Vec<u8>, i64, u16);
        let cases: Vec<Case> = vec![
            (
                "/webhooks/zoom/nope",
                signed(NOW, COMPLETED),
                COMPLETED.to_vec(),
                NOW,
                404,
            ),
            (
                "/webhooks/webex/zoom-main",
                signed(NOW, COMPLETED),
                COMPLETED.to_vec(),
                NOW,
                404,
            ),
            (
                "/webhooks/zoom/webex-main",
                spark(WEBEX_RECORDING),
                WEBEX_RECORDING.to_vec(),
                NOW,
                404,
            ),
            (
                "/elsewhere",
                signed(NOW, COMPLETED),
                COMPLETED.to_vec(),
                NOW,
                404,
            ),
            (
                "/webhooks/zoom/zoom-main",
                forged,
                COMPLETED.to_vec(),
                NOW,
                401,
            ),
            (
                "/webhooks/zoom/zoom-main",
                vec![],
                COMPLETED.to_vec(),
                NOW,
                401,
            ),
            (
                "/webhooks/zoom/zoom-main",
                signed(NOW - 301, COMPLETED),
                COMPLETED.to_vec(),
                NOW,
                401,
            ),
            (
                "/webhooks/zoom/zoom-main",
                signed(NOW, b"{not json"),
                b"{not json".to_vec(),
                NOW,
                400,
            ),
            (
                "/webhooks/zoom/zoom-main",
                vec![],
                vec![b' '; MAX_BODY_BYTES + 1],
                NOW,
                413,
            ),
        ];
        for (path, headers, body, now, want) in cases {
            let r = post(&v, path, &headers, &body, now).await;
            assert_eq!(r.status, want, "{path}: {}", r.body);
            assert!(!r.body.contains(SECRET));
        }
        assert!(v.events.bodies().is_empty());
    }

    #[tokio::test]
    async fn events_we_do_not_ingest_are_acknowledged_only() {
        let v = validator();
        let r = post(
            &v,
            "/webhooks/zoom/zoom-main",
            &signed(NOW, STARTED),
            STARTED,
            NOW,
        )
        .await;
        assert_eq!(r.status, 200);
        assert!(r.body.contains("ignored"));
        assert!(v.events.bodies().is_empty());
    }

    #[tokio::test]
    async fn a_queue_outage_asks_zoom_to_retry() {
        let v = validator();
        *v.events.fail.lock().unwrap() = true;
        let r = post(
            &v,
            "/webhooks/zoom/zoom-main",
            &signed(NOW, COMPLETED),
            COMPLETED,
            NOW,
        )
        .await;
        assert_eq!(r.status, 503);
    }

    #[tokio::test]
    async fn webex_notifications_are_verified_then_queued() {
        let v = validator();
        for (body, event) in [
            (WEBEX_RECORDING, "recordings.created"),
            (WEBEX_TRANSCRIPT, "meetingTranscripts.created"),
        ] {
            // Webex signs no timestamp: any `now` is fine.
            let r = post(
                &v,
                "/webhooks/webex/webex-main",
                &spark(body),
                body,
                NOW + 86_400,
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            let msg: IngestMessage =
                serde_json::from_str(v.events.bodies().last().unwrap()).unwrap();
            assert_eq!((msg.vendor, msg.event.as_str()), (Vendor::Webex, event));
            assert_eq!(msg.body.as_bytes(), body);
        }
        assert_eq!(v.events.bodies().len(), 2);

        let ignored = br#"{"resource":"meetings","event":"ended","orgId":"O","data":{"id":"m"}}"#;
        let r = post(
            &v,
            "/webhooks/webex/webex-main",
            &spark(ignored),
            ignored,
            NOW,
        )
        .await;
        assert_eq!((r.status, r.body.contains("ignored")), (200, true));
        assert_eq!(v.events.bodies().len(), 2);
    }

    #[tokio::test]
    async fn webex_rejections_enqueue_nothing() {
        let v = validator();
        let path = "/webhooks/webex/webex-main";
        let forged = vec![(
            "x-spark-signature",
            shared::webex::signature::sign(b"guess", WEBEX_RECORDING),
        )];
        let mut tampered = WEBEX_RECORDING.to_vec();
        tampered[10] ^= 1;
        let no_data = br#"{"resource":"recordings","event":"created","orgId":"O"}"#;
        let sha256_only = vec![("x-webex-signature", "sha256=00".to_owned())];
        type Case<'a> = (Vec<(&'a str, String)>, Vec<u8>, u16);
        let cases: Vec<Case> = vec![
            (forged, WEBEX_RECORDING.to_vec(), 401),
            (vec![], WEBEX_RECORDING.to_vec(), 401),
            (sha256_only, WEBEX_RECORDING.to_vec(), 401),
            (spark(WEBEX_RECORDING), tampered, 401),
            (spark(b"{not json"), b"{not json".to_vec(), 400),
            (spark(no_data), no_data.to_vec(), 400),
            (vec![], vec![b' '; MAX_BODY_BYTES + 1], 413),
        ];
        for (headers, body, want) in cases {
            let r = post(&v, path, &headers, &body, NOW).await;
            assert_eq!(r.status, want, "{headers:?}: {}", r.body);
            assert!(!r.body.contains(WEBEX_SECRET));
        }
        assert!(v.events.bodies().is_empty());
    }

    #[test]
    fn routes() {
        assert_eq!(route("/webhooks/zoom/abc"), Some(("zoom", "abc")));
        assert_eq!(route("/prod/webhooks/zoom/abc/"), Some(("zoom", "abc")));
        assert_eq!(route("/webhooks/zoom/"), None);
        assert_eq!(route("/webhooks/zoom/a/b"), None);
    }
}

#[cfg(test)]
mod log_tests {
    use super::tests_support::*;

    #[tokio::test(flavor = "current_thread")]
    async fn rejections_are_logged_with_a_reason_and_without_secrets() {
        let v = validator();
        let captured = capture_logs();
        let good = signed(NOW, COMPLETED);
        let mut forged = good.clone();
        forged[0].1 = shared::zoom::signature::sign(b"wrong-secret", NOW, COMPLETED);
        post(&v, "/webhooks/zoom/zoom-main", &forged, COMPLETED, NOW).await;
        post(
            &v,
            "/webhooks/zoom/zoom-main",
            &signed(NOW - 999, COMPLETED),
            COMPLETED,
            NOW,
        )
        .await;
        post(&v, "/webhooks/zoom/zoom-main", &good, COMPLETED, NOW).await;
        let logs = String::from_utf8(captured.lock().unwrap().clone()).unwrap();
        assert!(
            logs.contains("webhook rejected") && logs.contains("bad signature"),
            "{logs}"
        );
        assert!(logs.contains("stale timestamp"), "{logs}");
        assert!(logs.contains("event accepted"), "{logs}");
        let body: serde_json::Value = serde_json::from_slice(COMPLETED).unwrap();
        let token = body["download_token"].as_str().unwrap();
        let topic = body["payload"]["object"]["topic"].as_str().unwrap();
        for secret in [
            SECRET,
            good[0].1.as_str(),
            forged[0].1.as_str(),
            token,
            topic,
        ] {
            assert!(!logs.contains(secret), "logs leak {secret}: {logs}");
        }
    }
}
