//! Enqueue: normalises a verified vendor event into the catalog, idempotently per file, and hands the files
//! that still wait for an owner to the owner resolver.

use shared::batch::{Outcome, require};
use shared::catalog::{FileEntry, IngestCatalog, RecordingEntry};
use shared::ids::Vendor;
use shared::messages::{IngestMessage, ResolveOwnerMessage};
use shared::model::{DownloadSource, FileState, RecordingKey};
use shared::ports::{ConfigStore, Queue, send_json};

pub struct Enqueue<C, K, Q> {
    pub config: C,
    pub catalog: K,
    pub owners: Q,
}

/// What one event did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub created: usize,
    pub refreshed: usize,
    pub handed_over: usize,
}

impl<C: ConfigStore, K: IngestCatalog, Q: Queue> Enqueue<C, K, Q> {
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
            Vendor::Webex => {
                return Err(Outcome::Dropped("webex events are not handled yet".into()));
            }
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
}
