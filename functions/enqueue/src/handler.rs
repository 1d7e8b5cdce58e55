//! Enqueue: normalises a verified vendor event into the catalog, idempotently per file, and hands the files
//! that still wait for an owner to the owner resolver.
//!
//! Zoom events carry everything. A Webex notification names a recording (or transcript) only: the rest comes
//! from the REST API here: the admin list of the meeting instance (the host's e-mail and every stop/start
//! segment), then `GET /recordings/{id}` per segment (which links exist). Download links are *not* kept: they
//! expire 3 h after that request, so the downloader fetches fresh ones.

use shared::batch::{Outcome, require};
use shared::catalog::{FileEntry, IngestCatalog, RecordingEntry};
use shared::config::Connection;
use shared::error::Class;
use shared::ids::Email;
use shared::ids::Vendor;
use shared::messages::{IngestMessage, ResolveOwnerMessage};
use shared::model::Recording;
use shared::model::{DownloadSource, FileState, RecordingKey};
use shared::ports::{ConfigStore, Queue, send_json};
use shared::webex::WebexConnections;
use shared::webex::event::{Notification, Resource, WebexWebhook};

pub struct Enqueue<C, K, Q, W> {
    pub config: C,
    pub catalog: K,
    pub owners: Q,
    /// The Webex API of each Webex connection.
    pub webex: W,
}

/// What one event did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub refreshed: usize,
    pub handed_over: usize,
}

impl<C: ConfigStore, K: IngestCatalog, Q: Queue, W: WebexConnections> Enqueue<C, K, Q, W> {
    pub async fn handle(
        &self,
        msg: IngestMessage,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Summary, Outcome> {
        let conn = require(
            self.config.connection(&msg.connection_id).await?,
            format!("connection {}", msg.connection_id),
        )?;
        let rec = match msg.vendor {
            Vendor::Zoom => shared::zoom::event::normalise(msg.body.as_bytes())
                .map_err(|e| Outcome::Dropped(format!("unusable {} event: {e}", msg.event)))?,
            Vendor::Webex => self.webex_recording(&conn, &msg).await?,
        };
        if rec.account != conn.account_id {
            return Err(Outcome::Dropped(format!(
                "event for account {} arrived on connection {} of account {}",
                rec.account, conn.id, conn.account_id
            )));
        }
        let key = RecordingKey::of(&rec);
        let entry = RecordingEntry::new(&rec, conn.tenant.clone(), conn.id.clone(), now);
        let ids: Vec<_> = rec.files.iter().map(|f| f.id.clone()).collect();
        let stored = self.catalog.upsert_recording(&entry, &ids).await?;
        let mut summary = Summary::default();
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
            // Files left `planned` by an earlier, interrupted delivery are handed over again.
            if let Some(existing) = self.catalog.get_file(&key, &file.id).await?
                && existing.state == FileState::Planned
            {
                waiting.push(file.id.clone());
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
            handed_over = summary.handed_over, "event ingested"
        );
        Ok(summary)
    }

    async fn webex_recording(
        &self,
        conn: &Connection,
        msg: &IngestMessage,
    ) -> Result<Recording, Outcome> {
        let n = match shared::webex::event::classify(msg.body.as_bytes()) {
            Ok(WebexWebhook::Ingest(n)) => n,
            Ok(WebexWebhook::Ignored { event }) => {
                return Err(Outcome::Dropped(format!("{event} is not ingested")));
            }
            Err(e) => {
                return Err(Outcome::Dropped(format!(
                    "unusable {} event: {e}",
                    msg.event
                )));
            }
        };
        if n.org_id != conn.account_id {
            // Checked again for every vendor below; checked here too so no API call is made for a stranger.
            return Err(Outcome::Dropped(format!(
                "event for org {} arrived on connection {} of org {}",
                n.org_id, conn.id, conn.account_id
            )));
        }
        let api = self.webex.api(conn).await?;
        match n.resource {
            Resource::Recordings => webex_segments(api.as_ref(), &n).await,
            Resource::MeetingTranscripts => webex_transcript(api.as_ref(), &n).await,
        }
    }
}

/// What the admin list says about a meeting instance.
struct Listing {
    host: Option<Email>,
    /// Its available recordings (stop/start segments).
    ids: Vec<String>,
    /// When its first recording started.
    first_segment: Option<chrono::DateTime<chrono::Utc>>,
}

/// The host's e-mail, the recording ids and the first segment's start of a meeting instance.
async fn instance_listing(
    api: &dyn shared::webex::api::WebexApi,
    meeting_id: &str,
) -> Result<Listing, Outcome> {
    let listed: Vec<_> = api
        .admin_recordings(meeting_id)
        .await?
        .into_iter()
        .filter(|r| r.meeting_id.as_deref() == Some(meeting_id))
        .filter(|r| r.status.as_deref().is_none_or(|s| s == "available"))
        .collect();
    Ok(Listing {
        host: listed
            .iter()
            .find_map(|r| r.host_email.as_deref().and_then(|e| Email::parse(e).ok())),
        ids: listed.iter().map(|r| r.id.clone()).collect(),
        first_segment: listed
            .iter()
            .filter_map(|r| r.time_recorded.or(r.create_time))
            .min(),
    })
}

async fn webex_segments(
    api: &dyn shared::webex::api::WebexApi,
    n: &Notification,
) -> Result<Recording, Outcome> {
    let mut host = n.host_email.clone();
    let mut ids = vec![n.data_id.clone()];
    if let Some(meeting) = &n.meeting_id {
        let listing = instance_listing(api, meeting).await?;
        host = host.or(listing.host);
        for id in listing.ids {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let mut segments = Vec::new();
    for id in &ids {
        match api.recording(id, host.as_ref()).await {
            Ok(r) => segments.push(r),
            // A sibling that vanished is skipped; its own notification (if any) will say so.
            Err(e) if id != &n.data_id && e.class() == Class::Permanent => {
                tracing::warn!(recording = id, error = %e, "sibling segment not readable; skipped");
            }
            Err(e) => return Err(e.into()),
        }
    }
    shared::webex::normalise::recording(&n.org_id, &segments, host, n.host_user_id.clone())
        .map_err(|e| Outcome::Dropped(format!("unusable webex recording: {e}")))
}

async fn webex_transcript(
    api: &dyn shared::webex::api::WebexApi,
    n: &Notification,
) -> Result<Recording, Outcome> {
    let meeting = n
        .meeting_id
        .as_deref()
        .ok_or_else(|| Outcome::Dropped("transcript without meetingId".into()))?;
    let listing = instance_listing(api, meeting).await?;
    let host = n.host_email.clone().or(listing.host);
    let listed = api.transcripts(meeting, host.as_ref()).await?;
    let Some(t) = listed.iter().find(|t| t.id == n.data_id) else {
        // Listed a little after the notification at times: let the queue try again.
        return Err(Outcome::Retry(format!(
            "transcript {} not listed for meeting {meeting} yet",
            n.data_id
        )));
    };
    shared::webex::normalise::transcript(&n.org_id, t, host, listing.first_segment)
        .map_err(|e| Outcome::Dropped(format!("unusable webex transcript: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use shared::catalog::{FileEntry, RecordingEntry};
    use shared::config::{DeletePlan, HostPattern};
    use shared::error::Error;
    use shared::fakes::{FakeWebex, MemoryConfig, MemoryQueue};
    use shared::ids::{AccountId, ConnectionId, FileId, TenantId, UserId};
    use shared::model::RecordingKey;
    use std::sync::Mutex;

    /// Just enough catalog: entries and files in memory, created once.
    #[derive(Default)]
    struct Catalog {
        entries: Mutex<Vec<RecordingEntry>>,
        files: Mutex<Vec<(RecordingKey, FileEntry)>>,
    }

    #[async_trait]
    impl IngestCatalog for Catalog {
        async fn upsert_recording(
            &self,
            entry: &RecordingEntry,
            ids: &[FileId],
        ) -> Result<RecordingEntry, Error> {
            let mut entries = self.entries.lock().unwrap();
            if !entries.iter().any(|e| e.key() == entry.key()) {
                entries.push(entry.clone());
            }
            let e = entries.iter_mut().find(|e| e.key() == entry.key()).unwrap();
            e.file_ids.extend(ids.iter().map(|i| i.to_string()));
            e.vendor_recording_ids
                .extend(entry.vendor_recording_ids.iter().cloned());
            Ok(e.clone())
        }
        async fn create_file(&self, key: &RecordingKey, file: &FileEntry) -> Result<bool, Error> {
            let mut files = self.files.lock().unwrap();
            if files
                .iter()
                .any(|(k, f)| k == key && f.file_id == file.file_id)
            {
                return Ok(false);
            }
            files.push((key.clone(), file.clone()));
            Ok(true)
        }
        async fn refresh_source(
            &self,
            _: &RecordingKey,
            _: &FileId,
            _: &DownloadSource,
            _: i64,
        ) -> Result<bool, Error> {
            Ok(false)
        }
        async fn get_file(
            &self,
            key: &RecordingKey,
            id: &FileId,
        ) -> Result<Option<FileEntry>, Error> {
            Ok(self
                .files
                .lock()
                .unwrap()
                .iter()
                .find(|(k, f)| k == key && &f.file_id == id)
                .map(|(_, f)| f.clone()))
        }
    }

    const ORG: &str =
        "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi9lMWQ3MzQ0Ny1hZjY3LTQ1ZTYtOGM2Mi0xMTVlNDQ3Y2QzMmQ";
    const INSTANCE: &str = "f91b6edce9864428af084977b7c68291_I_166641849979635652";
    const BODY: &str = include_str!("../../../events/webex/recordings.created.json");

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

    fn enqueue(webex: FakeWebex) -> Enqueue<MemoryConfig, Catalog, MemoryQueue, FakeWebex> {
        let conn = shared::config::Connection {
            id: ConnectionId::parse("webex-main").unwrap(),
            tenant: TenantId::parse("uni").unwrap(),
            vendor: Vendor::Webex,
            account_id: AccountId::parse(ORG).unwrap(),
            webhook_secret_ref: "s".into(),
            credentials_ref: Some("c".into()),
            api_base_url: "https://webexapis.com/v1".into(),
            oauth_base_url: "https://webexapis.com/v1".into(),
            download_hosts: vec![HostPattern::parse("*.webex.com").unwrap()],
            max_age_secs: 7200,
            max_future_secs: 300,
            delete_plan: DeletePlan::Retain,
            default_owner: UserId::parse("media").unwrap(),
            enabled: true,
        };
        Enqueue {
            config: MemoryConfig {
                connections: vec![conn],
                users: vec![],
            },
            catalog: Catalog::default(),
            owners: MemoryQueue::default(),
            webex,
        }
    }

    fn message(body: &str) -> IngestMessage {
        IngestMessage {
            vendor: Vendor::Webex,
            connection_id: ConnectionId::parse("webex-main").unwrap(),
            event: "recordings.created".into(),
            received_at_ms: 0,
            body: body.into(),
        }
    }

    #[tokio::test]
    async fn a_webex_notification_gathers_every_segment_of_its_instance_once() {
        let webex = FakeWebex::default();
        *webex.recordings.lock().unwrap() = vec![
            segment("4f914b1dfe3c4d11a61730f18c0f5387", "2026-11-20T10:00:00Z"),
            segment("9a9a9a9a9a9a4d11a61730f18c0f0000", "2026-11-20T10:20:00Z"),
        ];
        let e = enqueue(webex.clone());
        let now = chrono::Utc::now();
        let s = e.handle(message(BODY), now).await.unwrap();
        // Two segments × (video + audio), found through the admin list with the host's e-mail.
        assert_eq!((s.created, s.handed_over), (4, 4));
        let entry = e.catalog.entries.lock().unwrap()[0].clone();
        assert_eq!(entry.instance_id.as_str(), INSTANCE);
        assert_eq!(entry.topic, "BIO 101 Lecture");
        assert_eq!(entry.host_email.as_ref().unwrap().as_str(), "prof@uni.edu");
        assert_eq!(entry.vendor_recording_ids.len(), 2);
        assert!(
            entry
                .description()
                .contains("recorded 2026-11-20 10:00:00 UTC")
        );
        let calls = webex.calls.lock().unwrap().clone();
        assert_eq!(calls[0], format!("admin_recordings {INSTANCE}"));
        assert_eq!(calls.len(), 3, "{calls:?}");

        // The other segment's notification (or a replay) creates nothing new; files still `planned` (the
        // owner resolver has not run here) are handed over again, which the resolver absorbs.
        let s = e.handle(message(BODY), now).await.unwrap();
        assert_eq!((s.created, s.handed_over), (0, 4));
        assert_eq!(e.catalog.entries.lock().unwrap().len(), 1);
        assert_eq!(e.catalog.files.lock().unwrap().len(), 4);
    }

    #[tokio::test]
    async fn strangers_and_vanished_recordings_are_dropped() {
        let e = enqueue(FakeWebex::default());
        let other_org = BODY.replace(ORG, "T1RIRVJPUkc");
        let got = e.handle(message(&other_org), chrono::Utc::now()).await;
        assert!(
            matches!(got, Err(Outcome::Dropped(ref r)) if r.contains("arrived on connection")),
            "{got:?}"
        );
        // Deleted before we looked: Webex answers 404, nothing is created.
        let got = e.handle(message(BODY), chrono::Utc::now()).await;
        assert!(
            matches!(got, Err(Outcome::Dropped(ref r)) if r.contains("404")),
            "{got:?}"
        );
        assert!(e.catalog.entries.lock().unwrap().is_empty());
        assert!(e.owners.bodies().is_empty());
    }
}
