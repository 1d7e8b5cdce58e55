//! Unit tests of the webhook validator: signatures with published vectors, every rejection's status, queue
//! outages, and that no secret, signature or body reaches a log line.

mod support {
    use crate::handler::*;
    use shared::batch::{Handler, Invocation};
    use shared::config::Connection;
    use shared::fakes::{MemoryConfig, MemoryQueue, StaticSecrets};
    use shared::ids::Vendor;
    use shared::zoom::signature;
    use std::collections::HashMap;

    pub const SECRET: &str = "4fv1RkqGQUq5sWbEz6hA5A";
    pub const COMPLETED: &[u8] = include_bytes!("../../../events/zoom/recording.completed.json");
    pub const VALIDATION: &[u8] =
        include_bytes!("../../../events/zoom/endpoint.url_validation.json");
    pub const STARTED: &[u8] = include_bytes!("../../../events/zoom/meeting.started.json");
    pub const DOCS_EXAMPLE: &[u8] =
        include_bytes!("../../../events/zoom/recording.completed.docs-example.json");

    /// `recording.completed.json` changed by `edit` (applied to `payload.object`).
    pub fn completed_with(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut v: serde_json::Value = serde_json::from_slice(COMPLETED).unwrap();
        edit(&mut v["payload"]["object"]);
        serde_json::to_vec(&v).unwrap()
    }
    pub const NOW: i64 = 1_767_225_700;
    pub const WEBEX_SECRET: &str = "webex-whsec-7f3a";
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

    pub use shared::fakes::capture_logs;

    pub fn validator() -> Validator<MemoryConfig, StaticSecrets, MemoryQueue> {
        shared::fakes::install_log_subscriber();
        // A tight window, so stale and future timestamps are quick to build.
        let conn = Connection {
            max_age_secs: 300,
            max_future_secs: 60,
            ..shared::fakes::connection(Vendor::Zoom)
        };
        let webex = shared::fakes::connection(Vendor::Webex);
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
        v.handle(
            Incoming {
                method: "POST".into(),
                path: path.into(),
                headers,
                body: body.to_vec(),
            },
            &Invocation::at(chrono::DateTime::from_timestamp(now, 0).unwrap()),
        )
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

mod cases {
    use super::support::*;
    use crate::handler::*;
    use shared::ids::Vendor;
    use shared::messages::IngestMessage;
    use shared::zoom::signature;

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
    async fn a_degraded_but_usable_recording_event_is_accepted() {
        let v = validator();
        let degraded = completed_with(|o| {
            o["host_email"] = "jdoe@localhost".into();
            o["participant_audio_files"] = serde_json::Value::Null;
            o["recording_files"][0]["file_size"] = serde_json::json!(1234.5);
            o["recording_files"][1]
                .as_object_mut()
                .unwrap()
                .remove("download_url");
            o["recording_files"][4]
                .as_object_mut()
                .unwrap()
                .remove("id");
        });
        for body in [degraded.as_slice(), DOCS_EXAMPLE] {
            let r = post(
                &v,
                "/webhooks/zoom/zoom-main",
                &signed(NOW, body),
                body,
                NOW,
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(r.body.contains("accepted"), "{}", r.body);
        }
        let sent = v.events.bodies();
        assert_eq!(sent.len(), 2);
        // The raw body is queued as it came; enqueue normalises it again (and logs the notes).
        let msg: IngestMessage = serde_json::from_str(&sent[0]).unwrap();
        assert_eq!(msg.body.as_bytes(), degraded.as_slice());
    }

    #[tokio::test]
    async fn a_recording_event_with_nothing_usable_is_refused_saying_why() {
        let v = validator();
        let body = completed_with(|o| {
            for f in o["recording_files"].as_array_mut().unwrap() {
                f.as_object_mut().unwrap().remove("download_url");
            }
        });
        let r = post(
            &v,
            "/webhooks/zoom/zoom-main",
            &signed(NOW, &body),
            &body,
            NOW,
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("no usable file"), "{}", r.body);
        assert!(
            r.body
                .contains("recording_files[0] has no download_url; file skipped"),
            "{}",
            r.body
        );
        let no_uuid = completed_with(|o| {
            o.as_object_mut().unwrap().remove("uuid");
        });
        let r = post(
            &v,
            "/webhooks/zoom/zoom-main",
            &signed(NOW, &no_uuid),
            &no_uuid,
            NOW,
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("payload.object.uuid"), "{}", r.body);
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
    async fn removals_and_deauthorization_are_queued_for_the_catalog() {
        let v = validator();
        let mut trashed: serde_json::Value = serde_json::from_slice(COMPLETED).unwrap();
        trashed["event"] = "recording.trashed".into();
        trashed["payload"]["operator"] = "someone@uni.edu".into();
        let trashed = trashed.to_string().into_bytes();
        let deauth = br#"{"event":"app_deauthorized","event_ts":1,"payload":{"account_id":"AAAAAAAAAAAAAAAAAAAAAA","user_id":"u","signature":"s","deauthorization_time":"2026-12-01T10:00:00Z","client_id":"c"}}"#;
        for body in [trashed.as_slice(), deauth.as_slice()] {
            let r = post(
                &v,
                "/webhooks/zoom/zoom-main",
                &signed(NOW, body),
                body,
                NOW,
            )
            .await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(r.body.contains("accepted"), "{}", r.body);
        }
        let queued = v.events.bodies();
        assert_eq!(queued.len(), 2);
        assert!(
            queued[0].contains("\"event\":\"recording.trashed\""),
            "{}",
            queued[0]
        );
        assert!(
            queued[1].contains("\"event\":\"app_deauthorized\""),
            "{}",
            queued[1]
        );
        // A removal without the recording's uuid is refused at the door.
        let bad = br#"{"event":"recording.deleted","payload":{"account_id":"a","object":{}}}"#;
        let r = post(&v, "/webhooks/zoom/zoom-main", &signed(NOW, bad), bad, NOW).await;
        assert_eq!(r.status, 400, "{}", r.body);
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

mod log_tests {
    use super::support::*;

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
