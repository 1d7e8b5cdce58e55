//! Downloader: copies one file from the vendor into S3 under a lease, verifies it, records it, and passes
//! the recording on once its last file is archived.

use shared::batch::{Outcome, require};
use shared::catalog::{Lease, StoredObject, TransferCatalog};
use shared::config::Connection;
use shared::error::Class;
use shared::messages::{ArchivedMessage, DownloadMessage};
use shared::model::{DownloadSource, FileState, WebexLink};
use shared::ports::{ConfigStore, ObjectSink, ObjectTarget, Queue, send_json};
use shared::transfer::{TransferError, copy_to_sink, http_client};
use shared::webex::WebexConnections;
use std::time::Duration;

pub struct Downloader<C, K, S, Q, W> {
    pub config: C,
    pub catalog: K,
    pub sink: S,
    pub archived: Q,
    /// The Webex API of each Webex connection (fresh temporary links, bearer for transcripts).
    pub webex: W,
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
        "mp3" => "audio/mpeg",
        "txt" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "csv" => "text/csv",
        _ => "application/octet-stream",
    }
}

/// A Webex temporary link is fetched again when it expires within this margin.
pub const LINK_MARGIN_SECS: i64 = 600;
/// How many link sets to ask for before giving up for this attempt (the queue retries later).
const LINK_FETCHES: u32 = 3;

/// Where the bytes come from for one attempt.
struct Fetch {
    url: String,
    bearer: Option<String>,
    /// Also allow this host (the Webex API host for transcript downloads).
    extra_host: Option<String>,
}

impl<C: ConfigStore, K: TransferCatalog, S: ObjectSink, Q: Queue, W: WebexConnections>
    Downloader<C, K, S, Q, W>
{
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
        let Some(source) = file.source.clone() else {
            let reason = "no usable download source";
            self.catalog
                .fail(&msg.recording, &msg.file_id, reason)
                .await?;
            return Err(Outcome::Dropped(reason.into()));
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
        tracing::info!(recording = %msg.recording, file = %msg.file_id, key = target.key, attempt = file.attempts, "download started");
        let mut refetched = false;
        let result = loop {
            let fetch = match self.fetch(&conn, &source, msg).await {
                Ok(f) => f,
                Err(e) => return self.failed_before_download(msg, e).await,
            };
            let hosts = conn.download_hosts.clone();
            let extra = fetch.extra_host.clone();
            let allowed =
                move |h: &str| hosts.iter().any(|p| p.matches(h)) || extra.as_deref() == Some(h);
            let client = http_client(allowed.clone(), self.read_timeout);
            let r = copy_to_sink(
                &client,
                &fetch.url,
                fetch.bearer.as_deref(),
                file.expected_size,
                &allowed,
                &self.sink,
                &target,
            )
            .await;
            // A Webex temporary link can die between our request for it and its use (clock skew, a slow queue):
            // the CDN then refuses with 403/404/410 or an HTML page. Ask for a fresh link once.
            let link_refused = matches!(
                &r,
                Err(TransferError::HtmlInsteadOfMedia)
                    | Err(TransferError::Status {
                        status: 403 | 404 | 410,
                        ..
                    })
            );
            if link_refused && !refetched && matches!(source, DownloadSource::WebexRecording { .. })
            {
                tracing::warn!(recording = %msg.recording, file = %msg.file_id, "webex link refused; fetching a fresh one");
                refetched = true;
                continue;
            }
            break r;
        };
        match result {
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

    /// The URL (and bearer) for this attempt. Webex links are fetched now, never kept from the webhook.
    async fn fetch(
        &self,
        conn: &Connection,
        source: &DownloadSource,
        msg: &DownloadMessage,
    ) -> Result<Fetch, shared::error::Error> {
        match source {
            DownloadSource::ZoomUrl { url, token, .. } => Ok(Fetch {
                url: url.clone(),
                bearer: token.clone(),
                extra_host: None,
            }),
            DownloadSource::WebexRecording {
                recording_id,
                link,
                host_email,
            } => {
                let api = self.webex.api(conn).await?;
                for n in 1..=LINK_FETCHES {
                    let rec = api.recording(recording_id, host_email.as_ref()).await?;
                    let links = rec.temporary_direct_download_links.unwrap_or_default();
                    let fresh = links.expiration.is_none_or(|exp| {
                        exp - chrono::Utc::now() > chrono::Duration::seconds(LINK_MARGIN_SECS)
                    });
                    if !fresh {
                        tracing::warn!(recording = %msg.recording, file = %msg.file_id, expiration = ?links.expiration, fetch = n, "webex temporary link expired or about to; asking again");
                        continue;
                    }
                    let url = match link {
                        WebexLink::Recording => links.recording_download_link,
                        WebexLink::Audio => links.audio_download_link,
                        WebexLink::Transcript => links.transcript_download_link,
                    };
                    return url.filter(|u| !u.is_empty()).map(|url| Fetch { url, bearer: None, extra_host: None }).ok_or_else(|| {
                        shared::error::Error::permanent(format!(
                            "webex gave no {link:?} link for recording {recording_id} (downloading prevented for this site? a compliance officer account can still download)"
                        ))
                    });
                }
                Err(shared::error::Error::transient(format!(
                    "webex kept returning expired links for recording {recording_id}"
                )))
            }
            DownloadSource::WebexTranscript { url, .. } => {
                let api = self.webex.api(conn).await?;
                let bearer = api.bearer().await?;
                let api_host = reqwest::Url::parse(&conn.api_base_url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned));
                Ok(Fetch {
                    url: url.clone(),
                    bearer: Some(bearer.expose().to_owned()),
                    extra_host: api_host,
                })
            }
        }
    }

    async fn failed_before_download(
        &self,
        msg: &DownloadMessage,
        e: shared::error::Error,
    ) -> Result<(), Outcome> {
        self.record_failure(msg, format!("vendor_api: {e}"), e.class())
            .await
    }

    async fn failed(&self, msg: &DownloadMessage, e: TransferError) -> Result<(), Outcome> {
        self.record_failure(msg, format!("{}: {e}", e.code()), e.class())
            .await
    }

    async fn record_failure(
        &self,
        msg: &DownloadMessage,
        reason: String,
        class: Class,
    ) -> Result<(), Outcome> {
        match class {
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
