//! Enqueue: turns a verified vendor event into the catalog, idempotently per file, and hands the files that
//! still wait for an owner to the owner resolver. The vendor part is one call per vendor
//! (`zoom::ingest::recording`, `webex::ingest::recording`, which reads the Webex REST API); everything after
//! the vendor-neutral `Recording` is the same for both.

use async_trait::async_trait;
use shared::batch::{Handler, Invocation, Outcome, require};
use shared::catalog::{FileEntry, IngestCatalog, RecordingEntry, RemovalOutcome, VendorRemoval};
use shared::ids::Vendor;
use shared::messages::{IngestMessage, ResolveOwnerMessage};
use shared::model::{DownloadSource, FileState, RecordingKey};
use shared::ports::{ConfigStore, ConnectionSwitch, Queue, send_json};
use shared::webex::WebexConnections;

pub struct Enqueue<C, K, Q, W, S> {
    pub config: C,
    pub catalog: K,
    pub owners: Q,
    /// The Webex API of each Webex connection.
    pub webex: W,
    /// Turns a connection off when the vendor says the app was removed (`app_deauthorized`).
    pub switch: S,
}

/// What one event did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub refreshed: usize,
    /// Failed files tried again because this delivery brought a fresher token.
    pub reopened: usize,
    /// Archived files the vendor now has in another version (another size): archived again under a new key.
    pub superseded: usize,
    pub handed_over: usize,
    /// A removal at the vendor (`recording.trashed` / `recording.deleted`): recorded, ours, or unknown.
    pub removal: Option<RemovalOutcome>,
    /// The connection was turned off (`app_deauthorized`).
    pub disabled: bool,
    /// Excluded by the connection's filters, and why (recorded as a `skipped` entry).
    pub skipped: Option<String>,
    /// Files of kinds the connection does not archive (`filters.files`), recorded on the entry.
    pub skipped_files: usize,
}

#[async_trait]
impl<C: ConfigStore, K: IngestCatalog, Q: Queue, W: WebexConnections, S: ConnectionSwitch> Handler
    for Enqueue<C, K, Q, W, S>
{
    type Input = IngestMessage;
    type Output = Result<Summary, Outcome>;

    async fn handle(&self, msg: IngestMessage, at: &Invocation) -> Result<Summary, Outcome> {
        let conn = require(
            self.config.connection(&msg.connection_id).await?,
            format!("connection {}", msg.connection_id),
        )?;
        if conn.vendor != msg.vendor {
            return Err(Outcome::Dropped(format!(
                "a {} event arrived for {} connection {}",
                msg.vendor, conn.vendor, conn.id
            )));
        }
        if msg.vendor == Vendor::Zoom {
            let event = msg.event.as_str();
            if shared::zoom::event::REMOVAL_EVENTS.contains(&event) {
                return self.removal(&conn, &msg).await;
            }
            if event == shared::zoom::event::DEAUTHORIZED {
                return self.deauthorized(&conn, &msg).await;
            }
        }
        let rec = match msg.vendor {
            // What the Zoom API lists now, sent by the deleter when Zoom has files we never archived.
            Vendor::Zoom if msg.event == shared::zoom::ingest::API_RECORDING => {
                shared::zoom::ingest::api_recording(
                    msg.body.as_bytes(),
                    &conn.account_id,
                    msg.received_at_ms,
                )?
            }
            Vendor::Zoom => shared::zoom::ingest::recording(msg.body.as_bytes())?,
            Vendor::Webex => {
                shared::webex::ingest::recording(&self.webex, &conn, msg.body.as_bytes()).await?
            }
        };
        if rec.account != conn.account_id {
            return Err(Outcome::Dropped(format!(
                "event for account {} arrived on connection {} of account {}",
                rec.account, conn.id, conn.account_id
            )));
        }
        let key = RecordingKey::of(&rec);
        if !rec.notes.is_empty() {
            // What normalisation left out, one line per recording; notes hold no tokens or URLs. They are kept
            // on the entry too (`ingest_notes`).
            tracing::warn!(
                recording = %key, event = msg.event, notes = rec.notes.join("; "),
                "recording ingested with parts of the event left out"
            );
        }
        let mut entry = RecordingEntry::new(&rec, conn.tenant.clone(), conn.id.clone(), at.now);
        if let Some(reason) = conn.filters.skip(&rec) {
            // Recorded, never silent: `list --state skipped` and `show` say why.
            let recorded = self.catalog.record_skip(&entry, &reason).await?;
            tracing::info!(recording = %key, event = msg.event, reason, recorded, "skipped by the connection's filters");
            return Ok(Summary {
                skipped: Some(reason),
                ..Summary::default()
            });
        }
        // Kinds of file switched off (`filters.files`) are recorded on the entry, each with its line, and never
        // planned.
        let mut rec = rec;
        let left_out = conn.filters.take_skipped_files(&mut rec);
        for s in &left_out {
            entry.skipped_files.insert(s.id.to_string());
            entry.ingest_notes.insert(s.line.clone());
        }
        if rec.files.is_empty() && !left_out.is_empty() {
            let reason = format!(
                "every file announced is of a kind this connection does not archive ({})",
                left_out
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            // A recording already known (its video archived, a late transcript switched off) only records the
            // left-out files; a new one is recorded as skipped, which a later delivery with video undoes.
            if !self.catalog.record_skip(&entry, &reason).await? {
                self.catalog.upsert_recording(&entry, &[]).await?;
            }
            tracing::info!(recording = %key, event = msg.event, reason, "nothing to archive in this delivery");
            return Ok(Summary {
                skipped_files: left_out.len(),
                ..Summary::default()
            });
        }
        let ids: Vec<_> = rec.files.iter().map(|f| f.id.clone()).collect();
        let stored = self.catalog.upsert_recording(&entry, &ids).await?;
        let mut summary = Summary {
            skipped_files: left_out.len(),
            ..Summary::default()
        };
        let mut waiting = Vec::new();
        for file in &rec.files {
            let fe = FileEntry::new(file, &stored.s3_prefix);
            if self.catalog.create_file(&key, &fe).await? {
                summary.created += 1;
                waiting.push(file.id.clone());
                continue;
            }
            if let DownloadSource::ZoomUrl { issued_at_ms, .. } = &file.source
                && self
                    .catalog
                    .refresh_source(&key, &file.id, &file.source, *issued_at_ms)
                    .await?
            {
                summary.refreshed += 1;
            }
            let Some(existing) = self.catalog.get_file(&key, &file.id).await? else {
                continue;
            };
            match (existing.state, &file.source) {
                // Files left `planned` by an earlier, interrupted delivery are handed over again.
                (FileState::Planned, _) => waiting.push(file.id.clone()),
                // A file that failed is tried again with a later delivery's fresher token.
                (FileState::Failed, DownloadSource::ZoomUrl { issued_at_ms, .. })
                    if *issued_at_ms > existing.source_issued_at_ms =>
                {
                    let fresh = Some((&file.source, *issued_at_ms));
                    if self
                        .catalog
                        .reopen_file(&key, &file.id, fresh, at.now)
                        .await?
                    {
                        tracing::info!(recording = %key, file = %file.id, "failed file reopened by a fresher delivery");
                        summary.reopened += 1;
                        waiting.push(file.id.clone());
                    }
                }
                // The vendor changed a file after we archived it: the new version is archived beside the old.
                (FileState::Archived, _) => {
                    if let Some(next) = existing.next_version(file, &stored.s3_prefix)
                        && self
                            .catalog
                            .supersede_file(&key, &existing.s3_key, &next, at.now)
                            .await?
                    {
                        tracing::info!(
                            recording = %key, file = %file.id,
                            archived_bytes = existing.stored.as_ref().map(|s| s.bytes),
                            vendor_bytes = file.expected_size,
                            "the vendor has another version of an archived file; archiving it beside the first"
                        );
                        summary.superseded += 1;
                        waiting.push(file.id.clone());
                    }
                }
                _ => {}
            }
        }
        summary.handed_over = waiting.len();
        if !waiting.is_empty() {
            send_json(
                &self.owners,
                &ResolveOwnerMessage {
                    connection_id: conn.id.clone(),
                    recording: key.clone(),
                    file_ids: waiting,
                },
            )
            .await?;
        }
        tracing::info!(
            recording = %key, event = msg.event, created = summary.created, refreshed = summary.refreshed,
            skipped_files = summary.skipped_files,
            superseded = summary.superseded, handed_over = summary.handed_over, "event ingested"
        );
        Ok(summary)
    }
}

impl<C: ConfigStore, K: IngestCatalog, Q: Queue, W: WebexConnections, S: ConnectionSwitch>
    Enqueue<C, K, Q, W, S>
{
    /// A recording removed at Zoom: our own deletion's echo is ignored; anyone else's is recorded on the
    /// entry (whether everything was archived first says what, if anything, was lost).
    async fn removal(
        &self,
        conn: &shared::config::Connection,
        msg: &IngestMessage,
    ) -> Result<Summary, Outcome> {
        let r = shared::zoom::event::removal(msg.body.as_bytes())
            .map_err(|e| Outcome::Dropped(format!("unusable {} event: {e}", msg.event)))?;
        if r.account != conn.account_id {
            return Err(Outcome::Dropped(format!(
                "{} for account {} arrived on connection {} of account {}",
                msg.event, r.account, conn.id, conn.account_id
            )));
        }
        let key = RecordingKey {
            vendor: Vendor::Zoom,
            account: r.account.clone(),
            instance: r.instance.clone(),
        };
        let removal = VendorRemoval {
            event: r.event.clone(),
            operator: r.operator.clone(),
            at: r.at,
            // The catalog's to say.
            archived_before: false,
        };
        let outcome = self.catalog.record_removal(&key, &removal).await?;
        match outcome {
            RemovalOutcome::Ours => {
                tracing::info!(recording = %key, event = msg.event, "our own deletion's event; ignored")
            }
            RemovalOutcome::Recorded {
                archived_before: true,
            } => {
                tracing::warn!(recording = %key, event = msg.event, "removed at Zoom by someone else, after it was archived whole")
            }
            RemovalOutcome::Recorded {
                archived_before: false,
            } => {
                tracing::error!(recording = %key, event = msg.event, "removed at Zoom by someone else before every file was archived: what was not archived is lost at the vendor")
            }
            RemovalOutcome::Unknown => {
                tracing::info!(recording = %key, event = msg.event, "removal of a recording the catalog never had")
            }
        }
        Ok(Summary {
            removal: Some(outcome),
            ..Summary::default()
        })
    }

    /// The app was removed from the Zoom account: the connection is turned off (webhooks refused, deletions
    /// wait) until an admin reconnects it.
    async fn deauthorized(
        &self,
        conn: &shared::config::Connection,
        msg: &IngestMessage,
    ) -> Result<Summary, Outcome> {
        let account = shared::zoom::event::deauthorized_account(msg.body.as_bytes())
            .map_err(|e| Outcome::Dropped(format!("unusable {} event: {e}", msg.event)))?;
        if account != conn.account_id {
            return Err(Outcome::Dropped(format!(
                "{} for account {account} arrived on connection {} of account {}",
                msg.event, conn.id, conn.account_id
            )));
        }
        self.switch.set_enabled(&conn.id, false).await?;
        tracing::warn!(connection = %conn.id, "the app was deauthorized at Zoom: connection disabled; deletions wait until it is reconnected");
        Ok(Summary {
            disabled: true,
            ..Summary::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::error::{Class, Kind};
    use shared::fakes::{
        FakeWebex, MemoryCatalog, MemoryConfig, MemoryQueue, MemorySwitch, WEBEX_ORG, connection,
    };
    use shared::ids::ConnectionId;
    use shared::model::RecordingState;

    const INSTANCE: &str = "f91b6edce9864428af084977b7c68291_I_166641849979635652";
    const BODY: &str = include_str!("../../../events/webex/recordings.created.json");
    const ZOOM: &str = include_str!("../../../events/zoom/recording.completed.json");
    const ZOOM_TRANSCRIPT: &str =
        include_str!("../../../events/zoom/recording.transcript_completed.json");
    const ZOOM_DOCS_EXAMPLE: &str =
        include_str!("../../../events/zoom/recording.completed.docs-example.json");

    fn segment(id: &str, at: &str) -> shared::webex::api::WebexRecording {
        serde_json::from_value(serde_json::json!({
            "id": id, "meetingId": INSTANCE, "meetingSeriesId": "f91b6edce9864428af084977b7c68291",
            "topic": "BIO 101 Lecture", "timeRecorded": at, "format": "MP4", "durationSeconds": 600,
            "sizeBytes": 1000, "status": "available", "hostEmail": "prof@uni.edu",
            "temporaryDirectDownloadLinks": {"recordingDownloadLink": "https://x.webex.com/r",
                "audioDownloadLink": "https://x.webex.com/a", "expiration": "2030-01-01T00:00:00Z"}
        }))
        .unwrap()
    }

    type TestEnqueue = Enqueue<MemoryConfig, MemoryCatalog, MemoryQueue, FakeWebex, MemorySwitch>;

    fn enqueue(webex: FakeWebex) -> TestEnqueue {
        Enqueue {
            config: MemoryConfig {
                connections: vec![connection(Vendor::Webex), connection(Vendor::Zoom)],
                users: vec![],
            },
            catalog: MemoryCatalog::default(),
            owners: MemoryQueue::default(),
            webex,
            switch: MemorySwitch::default(),
        }
    }

    fn message(vendor: Vendor, body: &str) -> IngestMessage {
        IngestMessage {
            vendor,
            connection_id: connection(vendor).id,
            event: "recording".into(),
            received_at_ms: 0,
            body: body.into(),
        }
    }

    fn at() -> Invocation {
        Invocation::now()
    }

    #[tokio::test]
    async fn a_webex_notification_gathers_every_segment_of_its_instance_once() {
        let webex = FakeWebex::default();
        *webex.recordings.lock().unwrap() = vec![
            segment("4f914b1dfe3c4d11a61730f18c0f5387", "2026-11-20T10:00:00Z"),
            segment("9a9a9a9a9a9a4d11a61730f18c0f0000", "2026-11-20T10:20:00Z"),
        ];
        let e = enqueue(webex.clone());
        let s = e.handle(message(Vendor::Webex, BODY), &at()).await.unwrap();
        // Two segments × (video + audio), found through the admin list with the host's e-mail.
        assert_eq!((s.created, s.handed_over), (4, 4));
        let entry = e.catalog.recordings()[0].clone();
        assert_eq!(entry.instance_id.as_str(), INSTANCE);
        assert_eq!(entry.topic, "BIO 101 Lecture");
        assert_eq!(entry.host_email.as_ref().unwrap().as_str(), "prof@uni.edu");
        assert_eq!(entry.vendor_recording_ids.len(), 2);
        assert!(
            entry
                .titled()
                .description
                .contains("recorded 2026-11-20 10:00:00 UTC")
        );
        let calls = webex.calls.lock().unwrap().clone();
        assert_eq!(calls[0], format!("admin_recordings {INSTANCE}"));
        assert_eq!(calls.len(), 3, "{calls:?}");

        // The other segment's notification (or a replay) creates nothing new; files still `planned` (the
        // owner resolver has not run here) are handed over again, which the resolver absorbs.
        let s = e.handle(message(Vendor::Webex, BODY), &at()).await.unwrap();
        assert_eq!((s.created, s.handed_over), (0, 4));
        assert_eq!(e.catalog.recordings().len(), 1);
        assert_eq!(e.catalog.files(&entry.key()).len(), 4);
    }

    #[tokio::test]
    async fn strangers_and_vanished_recordings_are_dropped() {
        let e = enqueue(FakeWebex::default());
        let other_org = BODY.replace(WEBEX_ORG, "T1RIRVJPUkc");
        let got = e.handle(message(Vendor::Webex, &other_org), &at()).await;
        assert!(
            matches!(got, Err(Outcome::Dropped(ref r)) if r.contains("arrived on connection")),
            "{got:?}"
        );
        // Deleted before we looked: Webex answers 404, nothing is created.
        let got = e.handle(message(Vendor::Webex, BODY), &at()).await;
        assert!(matches!(got, Err(Outcome::Dropped(_))), "{got:?}");
        assert!(e.catalog.recordings().is_empty());
        assert!(e.owners.bodies().is_empty());
        // A Webex event on the Zoom connection never reaches a vendor.
        let mut wrong = message(Vendor::Webex, BODY);
        wrong.connection_id = ConnectionId::parse("zoom-main").unwrap();
        assert!(matches!(
            e.handle(wrong, &at()).await,
            Err(Outcome::Dropped(_))
        ));
    }

    #[tokio::test]
    async fn a_zoom_event_creates_each_file_once_and_a_late_transcript_reopens_the_entry() {
        let e = enqueue(FakeWebex::default());
        let s = e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        assert!(s.created > 0);
        assert_eq!(s.handed_over, s.created);
        let sent: ResolveOwnerMessage = serde_json::from_str(&e.owners.bodies()[0]).unwrap();
        assert_eq!(sent.file_ids.len(), s.created);
        // A duplicate delivery (Zoom retries) creates nothing.
        let again = e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        assert_eq!(again.created, 0);
        // Archive everything, then the transcript arrives: the entry goes back to archiving.
        let key = sent.recording.clone();
        let mut rec = e.catalog.recordings()[0].clone();
        rec.state = RecordingState::Archived;
        rec.done_ids = rec.file_ids.clone();
        e.catalog.put_recording(rec);
        let late = e
            .handle(message(Vendor::Zoom, ZOOM_TRANSCRIPT), &at())
            .await
            .unwrap();
        assert_eq!(late.created, 1);
        let rec = e.catalog.entry(&key).unwrap();
        assert_eq!(rec.state, RecordingState::Archiving);
    }

    #[tokio::test]
    async fn a_later_delivery_with_a_fresher_token_reopens_a_failed_file() {
        let e = enqueue(FakeWebex::default());
        let first = e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        let sent: ResolveOwnerMessage = serde_json::from_str(&e.owners.bodies()[0]).unwrap();
        let key = sent.recording.clone();
        // One file failed for good (say, its token expired during an outage); so did the recording.
        let mut f = e.catalog.files(&key)[0].clone();
        f.state = FileState::Failed;
        f.last_error = Some("html_instead_of_media: …".into());
        let failed_id = f.file_id.clone();
        e.catalog.put_file(&key, f);
        let mut rec = e.catalog.entry(&key).unwrap();
        rec.state = RecordingState::Failed;
        rec.failed_ids = [failed_id.to_string()].into();
        e.catalog.put_recording(rec);
        // A replay of the same delivery (same token) changes nothing.
        let replay = e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        assert_eq!(replay.reopened, 0);
        // A later delivery with a fresh token reopens it and hands it over again.
        let fresher = ZOOM.replace("\"event_ts\": 1767607512345", "\"event_ts\": 1767611112345");
        let later = e
            .handle(message(Vendor::Zoom, &fresher), &at())
            .await
            .unwrap();
        assert_eq!((later.created, later.reopened), (0, 1));
        let f = e
            .catalog
            .files(&key)
            .into_iter()
            .find(|f| f.file_id == failed_id)
            .unwrap();
        assert_eq!(f.state, FileState::Planned);
        assert_eq!(f.source_issued_at_ms, 1767611112345);
        assert!(f.last_error.is_none());
        let rec = e.catalog.entry(&key).unwrap();
        assert_eq!(rec.state, RecordingState::PendingOwner);
        assert!(rec.failed_ids.is_empty());
        let handed: ResolveOwnerMessage =
            serde_json::from_str(e.owners.bodies().last().unwrap()).unwrap();
        assert!(handed.file_ids.contains(&failed_id));
        assert!(first.created > 1);
    }

    #[tokio::test]
    async fn a_catalog_outage_is_retried_and_an_unusable_event_is_dropped() {
        let e = enqueue(FakeWebex::default());
        e.catalog.fail("upsert_recording");
        let got = e.handle(message(Vendor::Zoom, ZOOM), &at()).await;
        assert!(matches!(got, Err(Outcome::Retry(_))), "{got:?}");
        let err =
            shared::zoom::ingest::recording(b"{\"event\":\"recording.completed\"}").unwrap_err();
        assert_eq!((err.class(), err.kind()), (Class::Permanent, Kind::Data));
        let got = e
            .handle(
                message(Vendor::Zoom, "{\"event\":\"recording.completed\"}"),
                &at(),
            )
            .await;
        assert!(matches!(got, Err(Outcome::Dropped(_))), "{got:?}");
    }

    #[tokio::test]
    async fn zooms_docs_example_keeps_both_audio_files_filed_under_the_recording_date() {
        let e = enqueue(FakeWebex::default());
        let s = e
            .handle(message(Vendor::Zoom, ZOOM_DOCS_EXAMPLE), &at())
            .await
            .unwrap();
        assert_eq!((s.created, s.handed_over), (3, 3));
        let entry = e.catalog.recordings()[0].clone();
        assert_eq!(entry.file_ids.len(), 3);
        // A recurring meeting: `start_time` is the series' first occurrence, the folder the recording's date.
        assert_eq!(entry.start_time.to_rfc3339(), "2026-02-02T15:00:00+00:00");
        assert!(
            entry.s3_prefix.contains("/2026/03/16/"),
            "{}",
            entry.s3_prefix
        );
        let files = e.catalog.files(&entry.key());
        let keys: std::collections::BTreeSet<_> = files.iter().map(|f| f.s3_key.clone()).collect();
        assert_eq!(keys.len(), 3);
        let participant = files
            .iter()
            .find(|f| f.file_name.is_some())
            .expect("the participant's audio");
        assert_eq!(
            participant.file_name.as_deref(),
            Some("Audio only - Student Example")
        );
        assert_eq!(participant.recording_type.as_deref(), Some("audio_only"));
        assert_eq!(participant.status.as_deref(), Some("completed"));
        assert!(
            entry
                .ingest_notes
                .iter()
                .any(|n| n.contains("participant_audio_files[0].id"))
        );
    }

    #[tokio::test]
    async fn a_degraded_zoom_event_is_ingested_and_its_notes_merge_over_deliveries() {
        let e = enqueue(FakeWebex::default());
        let captured = shared::fakes::capture_logs();
        let with = |edit: &dyn Fn(&mut serde_json::Value)| {
            let mut v: serde_json::Value = serde_json::from_str(ZOOM).unwrap();
            edit(&mut v["payload"]["object"]);
            v.to_string()
        };
        let first = with(&|o| o["host_email"] = "jdoe@localhost".into());
        let s = e
            .handle(message(Vendor::Zoom, &first), &at())
            .await
            .unwrap();
        assert_eq!(s.created, 7);
        let key = e.catalog.recordings()[0].key();
        assert_eq!(e.catalog.entry(&key).unwrap().host_email, None);
        // A second delivery with another odd field (one file without download_url) and the first again.
        let second = with(&|o| {
            o["host_email"] = "jdoe@localhost".into();
            o["recording_files"][2]
                .as_object_mut()
                .unwrap()
                .remove("download_url");
        });
        e.handle(message(Vendor::Zoom, &second), &at())
            .await
            .unwrap();
        e.handle(message(Vendor::Zoom, &first), &at())
            .await
            .unwrap();
        let notes: Vec<_> = e
            .catalog
            .entry(&key)
            .unwrap()
            .ingest_notes
            .into_iter()
            .collect();
        assert_eq!(
            notes,
            vec![
                "payload.object.host_email 'jdoe@localhost' is not a valid address; ignored"
                    .to_owned(),
                "payload.object.recording_files[2] has no download_url; file skipped".to_owned(),
            ]
        );
        let logs = String::from_utf8(captured.lock().unwrap().clone()).unwrap();
        let warned: Vec<_> = logs
            .lines()
            .filter(|l| l.contains("left out") && l.contains("WARN"))
            .collect();
        assert_eq!(warned.len(), 3, "{logs}");
        let body: serde_json::Value = serde_json::from_str(ZOOM).unwrap();
        let token = body["download_token"].as_str().unwrap();
        assert!(
            !logs.contains(token) && !logs.contains("https://"),
            "{logs}"
        );
    }

    /// The sample recording's body as `event` by `operator`.
    fn removal_body(event: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(ZOOM).unwrap();
        v["event"] = event.into();
        v["payload"]["operator"] = "someone@uni.edu".into();
        v["payload"]["operator_id"] = "u-1".into();
        v.to_string()
    }

    fn zoom_event(event: &str, body: String) -> IngestMessage {
        IngestMessage {
            event: event.into(),
            ..message(Vendor::Zoom, &body)
        }
    }

    #[tokio::test]
    async fn a_removal_by_someone_else_is_recorded_and_our_own_deletions_echo_ignored() {
        let e = enqueue(FakeWebex::default());
        let unknown = e
            .handle(
                zoom_event("recording.trashed", removal_body("recording.trashed")),
                &at(),
            )
            .await
            .unwrap();
        assert_eq!(unknown.removal, Some(RemovalOutcome::Unknown));
        assert!(e.catalog.recordings().is_empty(), "nothing is created");

        e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        let s = e
            .handle(
                zoom_event("recording.deleted", removal_body("recording.deleted")),
                &at(),
            )
            .await
            .unwrap();
        assert_eq!(
            s.removal,
            Some(RemovalOutcome::Recorded {
                archived_before: false
            })
        );
        let rec = &e.catalog.recordings()[0];
        let r = rec.removed_at_vendor.clone().unwrap();
        assert_eq!(
            (r.event.as_str(), r.operator.as_deref(), r.archived_before),
            ("recording.deleted", Some("someone@uni.edu"), false)
        );
        assert_eq!(s.created, 0, "a removal ingests nothing");

        // Once the deletion sweep holds or settled the entry, the vendor's event is our own echo.
        let mut mine = rec.clone();
        mine.removed_at_vendor = None;
        let mut d = shared::deletion::plan(
            &shared::config::DeletePlan::after_days(0, shared::config::DeleteAction::Trash),
            at().now,
            at().now,
            at().now,
            |_| Default::default(),
        );
        d.status = shared::catalog::DeletionStatus::Deleting;
        mine.deletion = Some(d);
        e.catalog.put_recording(mine);
        let s = e
            .handle(
                zoom_event("recording.trashed", removal_body("recording.trashed")),
                &at(),
            )
            .await
            .unwrap();
        assert_eq!(s.removal, Some(RemovalOutcome::Ours));
        assert_eq!(e.catalog.recordings()[0].removed_at_vendor, None);
    }

    #[tokio::test]
    async fn a_recording_the_deleter_read_from_the_zoom_api_is_ingested_like_a_webhook() {
        let e = enqueue(FakeWebex::default());
        e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        // What GET /meetings/{uuid}/recordings answers: the same files and one more, with fresh tokens.
        let mut api: serde_json::Value = serde_json::from_str(ZOOM).unwrap();
        let mut obj = api["payload"]["object"].take();
        let mut extra = obj["recording_files"][0].clone();
        extra["id"] = "added-at-zoom".into();
        obj["recording_files"].as_array_mut().unwrap().push(extra);
        obj["download_access_token"] = "fresh-token".into();
        api = obj;
        let msg = IngestMessage {
            event: shared::zoom::ingest::API_RECORDING.into(),
            ..message(Vendor::Zoom, &api.to_string())
        };
        let s = e.handle(msg, &at()).await.unwrap();
        let rec = &e.catalog.recordings()[0];
        assert_eq!(s.created, 1, "only the added file is new");
        // The earlier files still wait for their owner here (nothing ran meanwhile): handed over again.
        assert_eq!(s.handed_over, rec.file_ids.len());
        assert!(rec.file_ids.contains("added-at-zoom"));
    }

    #[tokio::test]
    async fn a_file_changed_at_zoom_after_archiving_is_archived_again_beside_the_first_version() {
        let e = enqueue(FakeWebex::default());
        e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        // Everything archived as announced.
        let mut rec = e.catalog.recordings()[0].clone();
        let key = rec.key();
        for mut f in e.catalog.files(&key) {
            f.state = FileState::Archived;
            f.stored = Some(shared::catalog::StoredObject {
                bucket: "media".into(),
                key: f.s3_key.clone(),
                bytes: f.expected_size.unwrap_or(1),
                sha256: "ab".repeat(32),
                etag: "\"e\"".into(),
                part_size: 8 << 20,
                parts: 1,
                started_at: at().now,
                finished_at: at().now,
                duration_ms: 1,
            });
            rec.done_ids.insert(f.file_id.to_string());
            e.catalog.put_file(&key, f);
        }
        rec.state = shared::model::RecordingState::Archived;
        e.catalog.put_recording(rec);
        // Zoom now lists the first file with another size.
        let mut obj: serde_json::Value = serde_json::from_str(ZOOM).unwrap();
        let mut obj = obj["payload"]["object"].take();
        let changed = obj["recording_files"][0]["id"].as_str().unwrap().to_owned();
        let old_size = obj["recording_files"][0]["file_size"].as_u64().unwrap();
        obj["recording_files"][0]["file_size"] = (old_size + 10).into();
        let msg = || IngestMessage {
            event: shared::zoom::ingest::API_RECORDING.into(),
            ..message(Vendor::Zoom, &obj.to_string())
        };
        let s = e.handle(msg(), &at()).await.unwrap();
        assert_eq!((s.superseded, s.created, s.handed_over), (1, 0, 1));
        let files = e.catalog.files(&key);
        let f = files
            .iter()
            .find(|f| f.file_id.as_str() == changed)
            .unwrap();
        assert_eq!(f.state, FileState::Planned);
        assert_eq!(f.expected_size, Some(old_size + 10));
        assert!(f.s3_key.contains(".v2."), "{}", f.s3_key);
        assert_eq!(f.superseded.len(), 1, "the archived version is kept");
        assert_ne!(f.superseded[0].key, f.s3_key, "never overwritten");
        let rec = &e.catalog.recordings()[0];
        assert_eq!(rec.state, shared::model::RecordingState::Archiving);
        assert!(!rec.done_ids.contains(&changed));
        // The same listing again supersedes nothing more (the new version is not archived yet).
        let again = e.handle(msg(), &at()).await.unwrap();
        assert_eq!(again.superseded, 0);
        assert_eq!(
            e.catalog
                .files(&key)
                .iter()
                .find(|f| f.file_id.as_str() == changed)
                .unwrap()
                .superseded
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn a_recording_the_filters_exclude_is_recorded_as_skipped_and_archived_once_they_let_it_through()
     {
        let mut e = enqueue(FakeWebex::default());
        let topic = shared::zoom::event::normalise(ZOOM.as_bytes())
            .unwrap()
            .topic;
        let word = topic.split_whitespace().next().unwrap().to_uppercase();
        e.config.connections[1].filters = shared::config::Filters {
            exclude_topics: vec![format!("^{}", regex_lite::escape(&word))],
            ..Default::default()
        };
        let s = e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        let reason = s.skipped.unwrap();
        assert!(reason.contains("exclude_topics"), "{reason}");
        assert_eq!((s.created, s.handed_over), (0, 0));
        assert!(e.owners.bodies().is_empty(), "nothing handed over");
        let rec = &e.catalog.recordings()[0];
        assert_eq!(rec.state, RecordingState::Skipped);
        assert_eq!(rec.skip_reason.as_deref(), Some(reason.as_str()));
        assert!(e.catalog.files(&rec.key()).is_empty());
        // A redelivery is skipped again and changes nothing.
        let again = e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        assert!(again.skipped.is_some());
        // The admin changes the filters: the next delivery archives it after all.
        e.config.connections[1].filters = shared::config::Filters::default();
        let s = e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        assert!(s.skipped.is_none() && s.created > 0);
        assert_eq!(
            e.catalog.recordings()[0].state,
            RecordingState::PendingOwner
        );
    }

    #[tokio::test]
    async fn kinds_switched_off_are_recorded_on_the_entry_and_a_late_transcript_alone_reopens_nothing()
     {
        let mut e = enqueue(FakeWebex::default());
        e.config.connections[1].filters.files = shared::config::FileKinds {
            chat: false,
            timeline: false,
            transcripts: false,
            ..Default::default()
        };
        let s = e.handle(message(Vendor::Zoom, ZOOM), &at()).await.unwrap();
        // 3 videos and 2 audio files are archived; chat and timeline are left out, each with its line.
        assert_eq!((s.created, s.skipped_files), (5, 2));
        let rec = e.catalog.recordings()[0].clone();
        assert_eq!((rec.file_ids.len(), rec.skipped_files.len()), (5, 2));
        assert!(rec.file_ids.is_disjoint(&rec.skipped_files));
        for kind in ["chat", "timeline"] {
            assert!(
                rec.ingest_notes
                    .iter()
                    .any(|n| n.contains(&format!("({kind} "))
                        && n.ends_with(&format!("not archived: filters.files.{kind} is off"))),
                "{:#?}",
                rec.ingest_notes
            );
        }
        // Everything archived; the late transcript is of a kind switched off: recorded, nothing reopens.
        let mut done = rec.clone();
        done.state = RecordingState::Archived;
        done.done_ids = done.file_ids.clone();
        e.catalog.put_recording(done);
        let late = e
            .handle(message(Vendor::Zoom, ZOOM_TRANSCRIPT), &at())
            .await
            .unwrap();
        assert_eq!((late.created, late.skipped_files), (0, 1));
        let rec = e.catalog.entry(&rec.key()).unwrap();
        assert_eq!(rec.state, RecordingState::Archived);
        assert_eq!(rec.skipped_files.len(), 3);
        assert_eq!(
            e.owners.bodies().len(),
            1,
            "only the first delivery handed files over"
        );
        // A recording that brings only switched-off kinds and was never seen is recorded as skipped.
        let mut fresh = enqueue(FakeWebex::default());
        fresh.config.connections[1].filters.files.transcripts = false;
        let s = fresh
            .handle(message(Vendor::Zoom, ZOOM_TRANSCRIPT), &at())
            .await
            .unwrap();
        assert_eq!((s.created, s.skipped_files), (0, 1));
        let rec = fresh.catalog.recordings()[0].clone();
        assert_eq!(rec.state, RecordingState::Skipped);
        assert!(
            rec.skip_reason
                .unwrap()
                .starts_with("every file announced is of a kind")
        );
    }

    #[tokio::test]
    async fn app_deauthorized_disables_its_own_connection_only() {
        let e = enqueue(FakeWebex::default());
        let body = |account: &str| {
            serde_json::json!({"event": "app_deauthorized", "event_ts": 1, "payload": {
                "account_id": account, "user_id": "u", "signature": "s", "client_id": "c",
                "deauthorization_time": "2026-12-01T10:00:00Z"}})
            .to_string()
        };
        let zoom = connection(Vendor::Zoom);
        let s = e
            .handle(
                zoom_event("app_deauthorized", body(zoom.account_id.as_str())),
                &at(),
            )
            .await
            .unwrap();
        assert!(s.disabled);
        assert_eq!(*e.switch.0.lock().unwrap(), vec![(zoom.id.clone(), false)]);
        assert!(matches!(
            e.handle(zoom_event("app_deauthorized", body("other-account")), &at())
                .await,
            Err(Outcome::Dropped(_))
        ));
        assert_eq!(e.switch.0.lock().unwrap().len(), 1);
    }
}
