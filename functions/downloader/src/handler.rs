//! Downloader: copies one file from the vendor into S3 under a lease, verifies it, records it, and passes
//! the recording on once its last file is archived.

use shared::batch::{Outcome, require};
use shared::catalog::{Lease, StoredObject, TransferCatalog};
use shared::error::Class;
use shared::messages::{ArchivedMessage, DownloadMessage};
use shared::model::{DownloadSource, FileState};
use shared::ports::{ConfigStore, ObjectSink, ObjectTarget, Queue, send_json};
use shared::transfer::{TransferError, copy_to_sink, http_client};
use std::time::Duration;

pub struct Downloader<C, K, S, Q> {
    pub config: C,
    pub catalog: K,
    pub sink: S,
    pub archived: Q,
    /// How long a lease lasts: longer than the function timeout, shorter than the queue's visibility timeout.
    pub lease: Duration,
    /// Longest pause while reading the download before it counts as dropped.
    pub read_timeout: Duration,
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "mp4" => "video/mp4",
        "m4a" => "audio/mp4",
        "vtt" => "text/vtt",
        "txt" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "csv" => "text/csv",
        _ => "application/octet-stream",
    }
}

impl<C: ConfigStore, K: TransferCatalog, S: ObjectSink, Q: Queue> Downloader<C, K, S, Q> {
    pub async fn handle(&self, msg: DownloadMessage) -> Outcome {
        match self.run(&msg).await {
            Ok(()) => Outcome::Done,
            Err(o) => o,
        }
    }

    async fn run(&self, msg: &DownloadMessage) -> Result<(), Outcome> {
        let conn = require(
            self.config.connection(&msg.connection_id).await?,
            format!("connection {}", msg.connection_id),
        )?;
        let now = chrono::Utc::now();
        let lease = self
            .catalog
            .acquire(
                &msg.recording,
                &msg.file_id,
                now.timestamp_millis(),
                self.lease.as_millis() as i64,
            )
            .await?;
        let file = match lease {
            Lease::Acquired(f) => f,
            Lease::Busy => {
                tracing::info!(recording = %msg.recording, file = %msg.file_id, "another worker holds the file; duplicate job dropped");
                return Ok(());
            }
            Lease::Finished(FileState::Archived) => {
                // Finish the bookkeeping an interrupted run may have left undone.
                return self.after_archived(msg).await;
            }
            Lease::Finished(state) => {
                tracing::info!(recording = %msg.recording, file = %msg.file_id, state = state.as_str(), "nothing to do");
                return Ok(());
            }
            Lease::Missing => {
                return Err(Outcome::Dropped(format!(
                    "file {} is not in the catalog",
                    msg.file_id
                )));
            }
        };
        let rec = require(
            self.catalog.get_recording(&msg.recording).await?,
            format!("recording {}", msg.recording),
        )?;
        let (url, token) = match &file.source {
            Some(DownloadSource::ZoomUrl { url, token, .. }) => (url.clone(), token.clone()),
            _ => {
                let reason = "no usable download source";
                self.catalog
                    .fail(&msg.recording, &msg.file_id, reason)
                    .await?;
                return Err(Outcome::Dropped(reason.into()));
            }
        };
        let target = ObjectTarget {
            key: file.s3_key.clone(),
            content_type: content_type(&file.extension).into(),
            metadata: vec![
                ("tenant".into(), rec.tenant.to_string()),
                ("vendor".into(), rec.vendor.to_string()),
                ("account-id".into(), rec.account_id.to_string()),
                ("meeting-id".into(), rec.meeting_id.clone()),
                ("meeting-instance".into(), rec.instance_id.to_string()),
                ("file-id".into(), file.file_id.to_string()),
                ("file-kind".into(), file.kind.slug().into()),
            ],
        };
        let hosts = conn.download_hosts.clone();
        let allowed = move |h: &str| hosts.iter().any(|p| p.matches(h));
        let client = http_client(allowed.clone(), self.read_timeout);
        tracing::info!(recording = %msg.recording, file = %msg.file_id, key = target.key, attempt = file.attempts, "download started");
        match copy_to_sink(
            &client,
            &url,
            token.as_deref(),
            file.expected_size,
            &allowed,
            &self.sink,
            &target,
        )
        .await
        {
            Ok(t) => {
                let finished = chrono::Utc::now();
                let stored = StoredObject {
                    bucket: self.sink.bucket().to_owned(),
                    key: target.key.clone(),
                    bytes: t.bytes,
                    sha256: t.sha256.clone(),
                    etag: t.etag,
                    part_size: t.part_size,
                    parts: t.parts,
                    started_at: now,
                    finished_at: finished,
                    duration_ms: t.elapsed.as_millis() as u64,
                };
                self.catalog
                    .complete(&msg.recording, &msg.file_id, &stored)
                    .await?;
                tracing::info!(recording = %msg.recording, file = %msg.file_id, bytes = t.bytes, sha256 = t.sha256, ms = stored.duration_ms, "file archived");
                self.after_archived(msg).await
            }
            Err(e) => self.failed(msg, e).await,
        }
    }

    async fn failed(&self, msg: &DownloadMessage, e: TransferError) -> Result<(), Outcome> {
        let reason = format!("{}: {e}", e.code());
        match e.class() {
            Class::Retryable => {
                self.catalog
                    .retry_later(&msg.recording, &msg.file_id, &reason)
                    .await?;
                Err(Outcome::Retry(reason))
            }
            Class::Permanent => {
                self.catalog
                    .fail(&msg.recording, &msg.file_id, &reason)
                    .await?;
                Err(Outcome::Dropped(reason))
            }
        }
    }

    async fn after_archived(&self, msg: &DownloadMessage) -> Result<(), Outcome> {
        let rec = self.catalog.mark_done(&msg.recording, &msg.file_id).await?;
        if rec.all_done()
            && self
                .catalog
                .mark_archived(&msg.recording, chrono::Utc::now())
                .await?
        {
            send_json(
                &self.archived,
                &ArchivedMessage {
                    connection_id: msg.connection_id.clone(),
                    recording: msg.recording.clone(),
                    archived_at_ms: chrono::Utc::now().timestamp_millis(),
                },
            )
            .await?;
            tracing::info!(recording = %msg.recording, files = rec.file_ids.len(), "recording archived");
        }
        Ok(())
    }
}
