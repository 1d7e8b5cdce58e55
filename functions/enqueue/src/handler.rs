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

/// The host's e-mail and the recording ids of the notified recording's meeting instance, from the admin list.
async fn instance_listing(
    api: &dyn shared::webex::api::WebexApi,
    meeting_id: &str,
) -> Result<(Option<Email>, Vec<String>), Outcome> {
    let listed = api.admin_recordings(meeting_id).await?;
    let host = listed
        .iter()
        .find_map(|r| r.host_email.as_deref().and_then(|e| Email::parse(e).ok()));
    let ids = listed
        .iter()
        .filter(|r| r.meeting_id.as_deref() == Some(meeting_id))
        .filter(|r| r.status.as_deref().is_none_or(|s| s == "available"))
        .map(|r| r.id.clone())
        .collect();
    Ok((host, ids))
}

async fn webex_segments(
    api: &dyn shared::webex::api::WebexApi,
    n: &Notification,
) -> Result<Recording, Outcome> {
    let mut host = n.host_email.clone();
    let mut ids = vec![n.data_id.clone()];
    if let Some(meeting) = &n.meeting_id {
        let (listed_host, siblings) = instance_listing(api, meeting).await?;
        host = host.or(listed_host);
        for id in siblings {
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
    let host = match &n.host_email {
        Some(h) => Some(h.clone()),
        None => instance_listing(api, meeting).await?.0,
    };
    let listed = api.transcripts(meeting, host.as_ref()).await?;
    let Some(t) = listed.iter().find(|t| t.id == n.data_id) else {
        // Listed a little after the notification at times: let the queue try again.
        return Err(Outcome::Retry(format!(
            "transcript {} not listed for meeting {meeting} yet",
            n.data_id
        )));
    };
    shared::webex::normalise::transcript(&n.org_id, t, host)
        .map_err(|e| Outcome::Dropped(format!("unusable webex transcript: {e}")))
}
