//! Downloader: copies one file from the vendor into S3 under a lease, verifies it, records it, and passes
//! the recording on once its last file is archived. Where the bytes come from is each vendor's
//! (`zoom::links::fetch` plus fresh credentials from the Zoom API, `webex::links::fetch`); leasing,
//! streaming, checkpointing, verifying and recording are the same.
//!
//! A transfer that does not fit in one invocation stops before the deadline, leaves its checkpoint on the
//! file and sends itself a continuation; the next invocation resumes the same multipart upload.

use async_trait::async_trait;
use shared::batch::{Handler, Invocation, Outcome, require};
use shared::catalog::{
    Checkpoint, FileEntry, Lease, RecordingEntry, StoredObject, TransferCatalog, VendorRemoval,
};
use shared::config::Connection;
use shared::error::{Class, Error, Kind};
use shared::ids::FileId;
use shared::messages::{ArchivedMessage, DownloadMessage};
use shared::model::{DownloadSource, FileState, RecordingKey};
use shared::ports::{ConfigStore, Fetch, ObjectSink, ObjectTarget, Queue, SecretString, send_json};
use shared::transfer::{self, Failed, Finished, HttpSource, Job, Progress, TransferError};
use shared::webex::WebexConnections;
use shared::zoom::api::ZoomConnections;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A Zoom webhook `download_token` is valid for about 24 hours; one older than this is not tried.
const ZOOM_TOKEN_LIFE_MS: i64 = 23 * 3600 * 1000;

pub struct Downloader<C, K, S, Q, W, Z> {
    pub config: C,
    pub catalog: Arc<K>,
    pub sink: S,
    pub archived: Q,
    /// The download queue itself: continuations of transfers longer than one invocation.
    pub downloads: Q,
    /// The Webex API of each Webex connection (fresh temporary links, bearer for transcripts).
    pub webex: W,
    /// The Zoom API of each Zoom connection (fresh download tokens).
    pub zoom: Z,
    /// How long a lease lasts: longer than the function timeout, shorter than the queue's visibility timeout.
    pub lease: Duration,
    /// Longest pause while reading the download before it counts as dropped.
    pub read_timeout: Duration,
    /// Stop starting parts this long before the invocation's deadline (finishing the parts in flight, saving
    /// the checkpoint and sending the continuation must fit in it).
    pub deadline_margin: Duration,
    /// When the queue brings a message back that was not deleted (its visibility timeout).
    pub redelivery: Duration,
    pub transfer: transfer::Settings,
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

/// Checkpoints go to the file entry, under our lease.
struct CatalogProgress<K> {
    catalog: Arc<K>,
    key: RecordingKey,
    file_id: FileId,
    lease_until_ms: i64,
}

#[async_trait]
impl<K: TransferCatalog + 'static> Progress for CatalogProgress<K> {
    async fn save(&self, cp: &Checkpoint) -> Result<bool, Error> {
        self.catalog
            .checkpoint(&self.key, &self.file_id, self.lease_until_ms, cp)
            .await
    }
}

/// Where the next attempt gets its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credentials {
    /// What the webhook brought (Zoom's `download_token`; Webex links are always fetched now).
    AsDelivered,
    /// A fresh `download_access_token` from the Zoom API.
    FreshZoom,
    /// A fresh Webex temporary link.
    FreshWebex,
}

/// What one file's run came to.
enum Ran {
    Stored(transfer::Transferred),
    Paused(Checkpoint),
    Failed(String, TransferFailure),
}

/// A failure and how it can heal.
struct TransferFailure {
    class: Class,
    wait: Option<Duration>,
    checkpoint: Option<Checkpoint>,
    lease_lost: bool,
    /// The vendor no longer has the recording ([`Kind::GoneAtVendor`]): recorded on the entry as a removal.
    gone_at_vendor: bool,
}

#[async_trait]
impl<C, K, S, Q, W, Z> Handler for Downloader<C, K, S, Q, W, Z>
where
    C: ConfigStore,
    K: TransferCatalog + 'static,
    S: ObjectSink,
    Q: Queue,
    W: WebexConnections,
    Z: ZoomConnections,
{
    type Input = DownloadMessage;
    type Output = Result<(), Outcome>;

    async fn handle(&self, msg: DownloadMessage, at: &Invocation) -> Result<(), Outcome> {
        let msg = &msg;
        let conn = require(
            self.config.connection(&msg.connection_id).await?,
            format!("connection {}", msg.connection_id),
        )?;
        let now = at.now;
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
        let lease_until_ms = file
            .lease_until_ms
            .unwrap_or(now.timestamp_millis() + self.lease.as_millis() as i64);
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
        let placed = placement_tags(&rec);
        let target = ObjectTarget {
            // In the recording's folder, decided with the owner before any job was sent (the file's own
            // `s3_key` is set there when it is queued, which may come after this job arrives).
            key: file.key_in_folder(&rec.s3_prefix),
            content_type: content_type(&file.extension).into(),
            metadata: vec![
                ("tenant".into(), rec.tenant.to_string()),
                ("vendor".into(), rec.vendor.to_string()),
                ("account-id".into(), rec.account_id.to_string()),
                ("meeting-id".into(), rec.meeting_id.clone()),
                ("meeting-instance".into(), rec.instance_id.to_string()),
                ("file-id".into(), file.file_id.to_string()),
                ("file-kind".into(), file.kind.slug().into()),
            ]
            .into_iter()
            .chain(placed.iter().cloned())
            .collect(),
            tags: placed,
        };
        tracing::info!(
            recording = %msg.recording, file = %msg.file_id, key = target.key, attempt = file.attempts,
            continuation = msg.continuation, resume_at = file.checkpoint.as_ref().map_or(0, |c| c.offset),
            deadline_in_ms = at.deadline.map(|d| (d - chrono::Utc::now()).num_milliseconds()),
            "download started"
        );
        let stop_at = at.deadline.map(|d| {
            let left = (d - chrono::Utc::now()).to_std().unwrap_or_default();
            // The margin never takes more than a quarter of the invocation (a short local timeout, say).
            Instant::now() + left.saturating_sub(self.deadline_margin.min(left / 4))
        });
        let progress: Arc<dyn Progress> = Arc::new(CatalogProgress {
            catalog: self.catalog.clone(),
            key: msg.recording.clone(),
            file_id: msg.file_id.clone(),
            lease_until_ms,
        });
        let ran = self
            .run(&conn, &rec, &file, &source, &target, stop_at, progress)
            .await;
        match ran {
            Ran::Stored(t) => {
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
                tracing::info!(recording = %msg.recording, file = %msg.file_id, bytes = t.bytes, sha256 = t.sha256, ms = stored.duration_ms, resumed_from = t.resumed_from, "file archived");
                self.after_archived(msg).await
            }
            Ran::Paused(cp) => self.paused(msg, &cp).await,
            Ran::Failed(reason, f) => self.failed(msg, &target, reason, f).await,
        }
    }
}

impl<C, K, S, Q, W, Z> Downloader<C, K, S, Q, W, Z>
where
    C: ConfigStore,
    K: TransferCatalog + 'static,
    S: ObjectSink,
    Q: Queue,
    W: WebexConnections,
    Z: ZoomConnections,
{
    /// Transfers the file, getting fresh credentials once when the vendor refuses the link or token.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
        file: &FileEntry,
        source: &DownloadSource,
        target: &ObjectTarget,
        stop_at: Option<Instant>,
        progress: Arc<dyn Progress>,
    ) -> Ran {
        let mut resume = file.checkpoint.clone();
        let mut creds = match source {
            DownloadSource::ZoomUrl {
                token,
                issued_at_ms,
                ..
            } if token.is_none()
                || chrono::Utc::now().timestamp_millis() - issued_at_ms > ZOOM_TOKEN_LIFE_MS =>
            {
                Credentials::FreshZoom
            }
            _ => Credentials::AsDelivered,
        };
        let mut tried_fresh = false;
        loop {
            let fetch = match self.fetch(conn, rec, source, &file.file_id, creds).await {
                Ok(f) => f,
                Err(e) => {
                    return Ran::Failed(
                        format!("vendor_api: {e}"),
                        TransferFailure {
                            class: e.class(),
                            wait: e.retry_after(),
                            checkpoint: resume,
                            lease_lost: false,
                            gone_at_vendor: e.kind() == Kind::GoneAtVendor,
                        },
                    );
                }
            };
            let hosts = conn.download_hosts.clone();
            let extra = fetch.extra_host.clone();
            let allowed: transfer::HostCheck = Arc::new(move |h: &str| {
                hosts.iter().any(|p| p.matches(h)) || extra.as_deref() == Some(h)
            });
            let src = HttpSource::new(fetch, allowed, self.read_timeout);
            let job = Job {
                sink: &self.sink,
                target,
                expected_size: file.expected_size,
                resume: resume.clone(),
                stop_at,
                settings: self.transfer,
            };
            let error = match transfer::transfer(&src, job, progress.clone()).await {
                Ok(Finished::Stored(t)) => return Ran::Stored(t),
                Ok(Finished::Paused(cp)) => return Ran::Paused(cp),
                Err(Failed { error, checkpoint }) => {
                    if checkpoint.is_some() {
                        resume = checkpoint;
                    }
                    error
                }
            };
            // A refused link or token: the vendor may hand out a fresh one. Zoom: a `download_access_token`
            // from the API; Webex: a new temporary link (it can die between our request and its use).
            if error.refused_link() && !tried_fresh {
                let next = match source {
                    DownloadSource::ZoomUrl { .. } if creds != Credentials::FreshZoom => {
                        Some(Credentials::FreshZoom)
                    }
                    _ if shared::webex::links::refetch_after_refusal(source) => {
                        Some(Credentials::FreshWebex)
                    }
                    _ => None,
                };
                if let Some(next) = next {
                    tracing::warn!(file = %target.key, code = error.code(), "the vendor refused the link; getting fresh credentials");
                    (creds, tried_fresh) = (next, true);
                    continue;
                }
            }
            return Ran::Failed(
                format!("{}: {error}", error.code()),
                TransferFailure {
                    class: error.class(),
                    wait: error.retry_after(),
                    checkpoint: resume,
                    lease_lost: error == TransferError::LeaseLost,
                    gone_at_vendor: false,
                },
            );
        }
    }

    /// The URL (and bearer) for this attempt.
    async fn fetch(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
        source: &DownloadSource,
        file_id: &FileId,
        creds: Credentials,
    ) -> Result<Fetch, Error> {
        match (source, creds) {
            (DownloadSource::ZoomUrl { .. }, Credentials::FreshZoom) => {
                self.fresh_zoom(conn, rec, source, file_id).await
            }
            (DownloadSource::ZoomUrl { .. }, _) => shared::zoom::links::fetch(source),
            _ => shared::webex::links::fetch(&self.webex, conn, source).await,
        }
    }

    /// A fresh `download_access_token` and URL for the file from the Zoom API. Only "the recording no longer
    /// exists at Zoom" is final; a file not listed yet (a transcript still processing) heals.
    async fn fresh_zoom(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
        source: &DownloadSource,
        file_id: &FileId,
    ) -> Result<Fetch, Error> {
        let api = match self.zoom.api(conn).await {
            Ok(a) => a,
            Err(e) if e.kind() == Kind::Config => {
                // No API credentials: the webhook's token is all there is.
                tracing::warn!(connection = %conn.id, "no Zoom API credentials; trying the webhook's token");
                return shared::zoom::links::fetch(source);
            }
            Err(e) => return Err(e),
        };
        let Some(found) = api
            .recording(&rec.account_id, rec.instance_id.as_str())
            .await?
        else {
            return Err(Error::permanent("the recording no longer exists at Zoom")
                .kind_of(Kind::GoneAtVendor));
        };
        let file = found
            .files
            .into_iter()
            .find(|f| &f.id == file_id)
            .ok_or_else(|| {
                Error::transient(format!(
                    "Zoom does not list file {file_id} of the recording (yet)"
                ))
                .kind_of(Kind::NotReady)
            })?;
        match file.source {
            DownloadSource::ZoomUrl { url, token, .. } => Ok(Fetch {
                url,
                bearer: token.map(SecretString::new),
                extra_host: None,
            }),
            _ => Err(Error::permanent("not a Zoom source").kind_of(Kind::Config)),
        }
    }

    /// Stopped before the deadline: the file waits (`retrying`, with its checkpoint) and a continuation is sent.
    /// A crash between the two leaves the original message, which the queue brings back.
    async fn paused(&self, msg: &DownloadMessage, cp: &Checkpoint) -> Result<(), Outcome> {
        let of = cp.size.map_or_else(|| "?".to_owned(), |s| s.to_string());
        let reason = format!(
            "paused at {} of {of} bytes before the invocation's deadline; continuing",
            cp.offset
        );
        // The continuation is due at once; give it a minute before the sweep would call the file stuck.
        let due = chrono::Utc::now().timestamp_millis() + 60_000;
        self.catalog
            .retry_later(&msg.recording, &msg.file_id, &reason, due)
            .await?;
        send_json(
            &self.downloads,
            &DownloadMessage {
                continuation: msg.continuation + 1,
                ..msg.clone()
            },
        )
        .await?;
        tracing::info!(recording = %msg.recording, file = %msg.file_id, offset = cp.offset, parts = cp.parts.len(), "transfer paused; continuation sent");
        Ok(())
    }

    async fn failed(
        &self,
        msg: &DownloadMessage,
        target: &ObjectTarget,
        reason: String,
        f: TransferFailure,
    ) -> Result<(), Outcome> {
        if f.lease_lost {
            tracing::warn!(recording = %msg.recording, file = %msg.file_id, "lease lost to another worker; leaving the file to it");
            return Ok(());
        }
        match f.class {
            Class::Retryable => {
                let wait = f.wait.unwrap_or(self.redelivery);
                let due = chrono::Utc::now().timestamp_millis() + wait.as_millis() as i64;
                self.catalog
                    .retry_later(&msg.recording, &msg.file_id, &reason, due)
                    .await?;
                Err(match f.wait {
                    Some(w) => Outcome::RetryAfter(reason, w),
                    None => Outcome::Retry(reason),
                })
            }
            Class::Permanent => {
                if let Some(cp) = &f.checkpoint
                    && let Ok(Some(upload)) = self.sink.resume(target, &cp.upload_id).await
                    && let Err(e) = upload.abort().await
                {
                    tracing::warn!(error = %e, "abort of multipart upload failed; the bucket lifecycle rule cleans it up");
                }
                if f.gone_at_vendor {
                    self.record_gone(msg).await?;
                }
                self.catalog
                    .fail(&msg.recording, &msg.file_id, &reason)
                    .await?;
                Err(Outcome::Dropped(reason))
            }
        }
    }

    /// The vendor no longer has a recording we were copying: someone removed it there before it was archived.
    /// Recorded on the entry (unless its own removal event was recorded already, which says who).
    async fn record_gone(&self, msg: &DownloadMessage) -> Result<(), Outcome> {
        let known = self.catalog.get_recording(&msg.recording).await?;
        if known.is_none_or(|r| r.removed_at_vendor.is_some()) {
            return Ok(());
        }
        let removal = VendorRemoval {
            event: shared::catalog::FOUND_GONE_AT_DOWNLOAD.to_owned(),
            operator: None,
            at: chrono::Utc::now(),
            archived_before: false,
        };
        let outcome = self
            .catalog
            .record_removal(&msg.recording, &removal)
            .await?;
        tracing::warn!(recording = %msg.recording, file = %msg.file_id, ?outcome, "the vendor no longer has the recording: removed there before it was archived");
        Ok(())
    }

    /// Marks the file done and, when it was the recording's last, announces the recording and marks it
    /// archived — in that order, so that a crash or a failed send between the two repeats the announcement
    /// on redelivery instead of losing it (the deletion scheduler takes a repeat as a no-op).
    async fn after_archived(&self, msg: &DownloadMessage) -> Result<(), Outcome> {
        let rec = self.catalog.mark_done(&msg.recording, &msg.file_id).await?;
        if !rec.all_done() || rec.state == shared::model::RecordingState::Failed {
            return Ok(());
        }
        if rec.state == shared::model::RecordingState::Archiving {
            // One instant for both, in the catalog's precision, so the plan and the entry agree.
            let now_ms = chrono::Utc::now().timestamp_millis();
            let archived_at = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
            send_json(
                &self.archived,
                &ArchivedMessage {
                    connection_id: msg.connection_id.clone(),
                    recording: msg.recording.clone(),
                    archived_at_ms: now_ms,
                },
            )
            .await?;
            if self
                .catalog
                .mark_archived(&msg.recording, archived_at)
                .await?
            {
                tracing::info!(recording = %msg.recording, files = rec.file_ids.len(), "recording archived");
            }
        }
        Ok(())
    }
}

/// Who owns the object and where it is filed, as object tags and metadata (`owner`, `categories` joined by
/// [`shared::routing::TAG_JOIN`]; both are written unchanged: ids and category names are tag-safe).
fn placement_tags(rec: &shared::catalog::RecordingEntry) -> Vec<(String, String)> {
    let mut tags = Vec::new();
    if let Some(owner) = &rec.owner {
        tags.push(("owner".to_owned(), owner.to_string()));
    }
    if !rec.categories.is_empty() {
        let names: Vec<&str> = rec.categories.iter().map(|c| c.as_str()).collect();
        tags.push((
            "categories".to_owned(),
            names.join(shared::routing::TAG_JOIN),
        ));
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::catalog::{CatalogReader, FileEntry, RecordingEntry};
    use shared::config::HostPattern;
    use shared::fakes::{
        FakeWebex, FakeZoom, MemoryCatalog, MemoryConfig, MemoryQueue, MemorySink, connection,
    };
    use shared::ids::Vendor;
    use shared::model::{RecordingKey, RecordingState};
    use zoom_sim::{Fault, RecordingSpec, SimRecording, ZoomSim};

    type Subject =
        Downloader<MemoryConfig, MemoryCatalog, MemorySink, MemoryQueue, FakeWebex, FakeZoom>;

    fn downloader() -> Subject {
        let mut conn = connection(Vendor::Zoom);
        conn.download_hosts = vec![
            HostPattern::parse("127.0.0.1").unwrap(),
            HostPattern::parse("localhost").unwrap(),
        ];
        Downloader {
            config: MemoryConfig {
                connections: vec![conn],
                users: vec![],
            },
            catalog: Arc::new(MemoryCatalog::default()),
            sink: MemorySink::default(),
            archived: MemoryQueue::default(),
            downloads: MemoryQueue::default(),
            webex: FakeWebex::default(),
            zoom: FakeZoom::default(),
            lease: Duration::from_secs(960),
            read_timeout: Duration::from_secs(10),
            deadline_margin: Duration::from_secs(1),
            redelivery: Duration::from_secs(5400),
            transfer: transfer::Settings {
                backoff: Duration::from_millis(5),
                ..transfer::Settings::default()
            },
        }
    }

    /// A simulated recording whose largest media file (of `size` bytes at least) is catalogued, `queued`, on
    /// an `archiving` entry that knows only that file.
    fn queued_sized(
        d: &Subject,
        sim: &ZoomSim,
        name: &str,
        size: u64,
    ) -> (DownloadMessage, u64, SimRecording) {
        let mut spec = RecordingSpec::realistic(name, size);
        spec.account_id = shared::fakes::ZOOM_ACCOUNT.into();
        let sim_rec = sim.add_recording(spec);
        let rec =
            shared::zoom::ingest::recording(sim_rec.recording_completed_body().as_bytes()).unwrap();
        let file = rec
            .files
            .iter()
            .filter(|f| f.kind.slug() != "transcript")
            .max_by_key(|f| f.expected_size)
            .unwrap()
            .clone();
        let conn = connection(Vendor::Zoom);
        let mut entry = RecordingEntry::new(&rec, conn.tenant, conn.id.clone(), chrono::Utc::now());
        entry.state = RecordingState::Archiving;
        entry.file_ids = [file.id.to_string()].into();
        let key = RecordingKey::of(&rec);
        let mut fe = FileEntry::new(&file, &entry.s3_prefix);
        fe.state = FileState::Queued;
        d.catalog.put_recording(entry);
        d.catalog.put_file(&key, fe);
        let size = file.expected_size.unwrap();
        (
            DownloadMessage {
                connection_id: conn.id,
                recording: key,
                file_id: file.id,
                continuation: 0,
            },
            size,
            sim_rec,
        )
    }

    fn queued(d: &Subject, sim: &ZoomSim, name: &str) -> (DownloadMessage, u64) {
        let (m, s, _) = queued_sized(d, sim, name, 64 * 1024);
        (m, s)
    }

    async fn file(d: &Subject, msg: &DownloadMessage) -> FileEntry {
        d.catalog.list_files(&msg.recording).await.unwrap()[0].clone()
    }

    /// The Zoom API (fake) lists the recording with a fresh download token, as Zoom would hand it out.
    fn listed_with_fresh_token(d: &Subject, sim_rec: &SimRecording) -> SimRecording {
        let fresh = sim_rec.with_fresh_token();
        let listed =
            shared::zoom::ingest::recording(fresh.recording_completed_body().as_bytes()).unwrap();
        d.zoom
            .recordings
            .lock()
            .unwrap()
            .insert(sim_rec.uuid.clone(), listed);
        fresh
    }

    fn sim_sha(sim_rec: &SimRecording, msg: &DownloadMessage) -> String {
        sim_rec.file(msg.file_id.as_str()).unwrap().sha256.clone()
    }

    #[tokio::test]
    async fn a_file_is_stored_verified_and_its_recording_archived_exactly_once() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, size, sim_rec) = queued_sized(&d, &sim, "dl-ok", 64 * 1024);
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Archived);
        let stored = f.stored.unwrap();
        assert_eq!(stored.bytes, size);
        assert_eq!(stored.sha256, sim_sha(&sim_rec, &msg));
        assert!(f.source.is_none(), "the token is dropped once archived");
        assert!(
            f.checkpoint.is_none(),
            "the checkpoint is dropped once archived"
        );
        let object = d.sink.object(&stored.key).unwrap();
        assert_eq!(object.data().len() as u64, size);
        assert_eq!(d.sink.sha256.lock().unwrap()[&stored.key], stored.sha256);
        let rec = d.catalog.entry(&msg.recording).unwrap();
        assert_eq!(rec.state, RecordingState::Archived);
        assert_eq!(d.archived.bodies().len(), 1);
        // A redelivered job finds the file archived: bookkeeping only, no second archive message.
        d.handle(msg, &Invocation::now()).await.unwrap();
        assert_eq!(d.archived.bodies().len(), 1);
        assert_eq!(d.sink.uploads.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_job_that_overtakes_its_queued_mark_still_files_the_object_in_the_recordings_folder()
    {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, _, _) = queued_sized(&d, &sim, "dl-folder", 16 * 1024);
        // The owner stage moved the recording to its layout's folder; the file still has its first key.
        let mut rec = d.catalog.entry(&msg.recording).unwrap();
        rec.s3_prefix = "tenants/uni/Lectures/prof/2026-03-16_topic_0123456789ab/".into();
        rec.owner = Some(shared::ids::UserId::parse("prof").unwrap());
        d.catalog.put_recording(rec.clone());
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let f = file(&d, &msg).await;
        let stored = f.stored.unwrap();
        assert!(stored.key.starts_with(&rec.s3_prefix), "{}", stored.key);
        assert_eq!(f.s3_key, stored.key, "the catalog says where it is");
        assert!(d.sink.object(&stored.key).is_some());
    }

    #[tokio::test]
    async fn a_live_lease_makes_a_duplicate_job_a_no_op() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, _) = queued(&d, &sim, "dl-busy");
        let mut f = file(&d, &msg).await;
        f.state = FileState::Downloading;
        f.lease_until_ms = Some(chrono::Utc::now().timestamp_millis() + 600_000);
        d.catalog.put_file(&msg.recording, f);
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        assert!(d.sink.uploads.lock().unwrap().is_empty());
        assert_eq!(file(&d, &msg).await.state, FileState::Downloading);
    }

    #[tokio::test]
    async fn a_server_hiccup_heals_in_the_same_run_and_a_page_for_a_deleted_file_is_final() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, _) = queued(&d, &sim, "dl-5xx");
        sim.set_fault(msg.file_id.as_str(), Fault::ServerError { times: 2 });
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        assert_eq!(file(&d, &msg).await.state, FileState::Archived);
        assert_eq!(sim.stats(msg.file_id.as_str()).server_errors, 2);

        // Deleted at Zoom: the webhook token gets a page, the API no longer lists the recording.
        let (msg, _) = queued(&d, &sim, "dl-gone");
        sim.set_fault(msg.file_id.as_str(), Fault::Deleted);
        let got = d.handle(msg.clone(), &Invocation::now()).await;
        assert!(matches!(got, Err(Outcome::Dropped(_))), "{got:?}");
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Failed);
        assert!(
            f.last_error
                .as_deref()
                .unwrap()
                .contains("no longer exists at Zoom"),
            "{:?}",
            f.last_error
        );
        assert_eq!(*d.zoom.calls.lock().unwrap(), 1, "asked the API once");
        let rec = d.catalog.entry(&msg.recording).unwrap();
        assert_eq!(rec.state, RecordingState::Failed);
        assert!(rec.failed_ids.contains(msg.file_id.as_str()));
    }

    #[tokio::test]
    async fn a_refused_webhook_token_is_replaced_by_a_fresh_one_from_the_zoom_api() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, _, sim_rec) = queued_sized(&d, &sim, "dl-fresh", 64 * 1024);
        // The webhook's token is revoked (an outage outlived it); Zoom's API hands out a new one.
        sim.revoke_token(&sim_rec.download_token);
        let fresh = listed_with_fresh_token(&d, &sim_rec);
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Archived);
        assert_eq!(f.stored.unwrap().sha256, sim_sha(&sim_rec, &msg));
        let stats = sim.stats(msg.file_id.as_str());
        assert_eq!(stats.html_responses, 1, "the old token got the page once");
        assert_eq!(
            stats.last_bearer.as_deref(),
            Some(fresh.download_token.as_str())
        );

        // The same when Zoom answers 401 instead of a page.
        let (msg, _, sim_rec) = queued_sized(&d, &sim, "dl-fresh-401", 64 * 1024);
        sim.set_fault(msg.file_id.as_str(), Fault::Unauthorized { times: 1 });
        let fresh = listed_with_fresh_token(&d, &sim_rec);
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        assert_eq!(file(&d, &msg).await.state, FileState::Archived);
        let stats = sim.stats(msg.file_id.as_str());
        assert_eq!(stats.unauthorized, 1);
        assert_eq!(
            stats.last_bearer.as_deref(),
            Some(fresh.download_token.as_str())
        );
    }

    #[tokio::test]
    async fn a_recording_removed_at_zoom_before_it_was_copied_is_recorded_and_the_file_fails() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, _, sim_rec) = queued_sized(&d, &sim, "dl-gone", 64 * 1024);
        // The webhook's token no longer works and the Zoom API does not list the recording any more.
        sim.revoke_token(&sim_rec.download_token);
        let out = d.handle(msg.clone(), &Invocation::now()).await;
        assert!(matches!(out, Err(Outcome::Dropped(_))), "{out:?}");
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Failed);
        assert!(f.last_error.unwrap().contains("no longer exists at Zoom"));
        let removal = d
            .catalog
            .entry(&msg.recording)
            .unwrap()
            .removed_at_vendor
            .unwrap();
        assert_eq!(removal.event, shared::catalog::FOUND_GONE_AT_DOWNLOAD);
        assert!(!removal.archived_before && removal.operator.is_none());

        // A removal recorded from the vendor's own event (which names who) is not replaced.
        let (msg, _, sim_rec) = queued_sized(&d, &sim, "dl-gone-known", 64 * 1024);
        sim.revoke_token(&sim_rec.download_token);
        let mut entry = d.catalog.entry(&msg.recording).unwrap();
        entry.removed_at_vendor = Some(VendorRemoval {
            event: "recording.deleted".into(),
            operator: Some("prof@uni.example.edu".into()),
            at: chrono::Utc::now(),
            archived_before: false,
        });
        d.catalog.put_recording(entry);
        let _ = d.handle(msg.clone(), &Invocation::now()).await;
        let removal = d
            .catalog
            .entry(&msg.recording)
            .unwrap()
            .removed_at_vendor
            .unwrap();
        assert_eq!(removal.event, "recording.deleted");
    }

    #[tokio::test]
    async fn a_file_not_listed_yet_is_retried_and_an_api_rate_limit_carries_its_wait() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, _, sim_rec) = queued_sized(&d, &sim, "dl-notyet", 64 * 1024);
        sim.revoke_token(&sim_rec.download_token);
        // The API lists the recording without this file yet.
        let mut listed =
            shared::zoom::ingest::recording(sim_rec.recording_completed_body().as_bytes()).unwrap();
        listed.files.retain(|f| f.id != msg.file_id);
        d.zoom
            .recordings
            .lock()
            .unwrap()
            .insert(sim_rec.uuid.clone(), listed);
        let got = d.handle(msg.clone(), &Invocation::now()).await;
        assert!(matches!(got, Err(Outcome::Retry(_))), "{got:?}");
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Retrying);
        assert!(f.last_error.unwrap().contains("(yet)"));
    }

    #[tokio::test]
    async fn a_transfer_longer_than_an_invocation_continues_in_the_next_without_resending_parts() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (first, size, sim_rec) = queued_sized(&d, &sim, "dl-long", 24 * 1024 * 1024);
        assert!(size > 16 * 1024 * 1024, "{size}");
        // Every invocation's deadline is already (almost) over: each stores one part, then continues.
        let tight = || Invocation {
            now: chrono::Utc::now(),
            deadline: Some(chrono::Utc::now()),
        };
        let mut msg = first.clone();
        let mut runs = 0;
        loop {
            runs += 1;
            assert!(runs < 20, "no progress");
            d.handle(msg.clone(), &tight()).await.unwrap();
            let f = file(&d, &msg).await;
            if f.state == FileState::Archived {
                break;
            }
            assert_eq!(f.state, FileState::Retrying);
            let cp = f.checkpoint.clone().expect("a checkpoint");
            assert_eq!(f.progress(), Some((cp.offset, Some(size))));
            let sent = d.downloads.bodies();
            msg = serde_json::from_str(sent.last().unwrap()).unwrap();
            assert_eq!(msg.continuation, runs);
        }
        assert!(runs >= 3, "{runs}");
        let stored = file(&d, &msg).await.stored.unwrap();
        assert_eq!(stored.sha256, sim_sha(&sim_rec, &msg));
        assert_eq!(
            d.sink.object(&stored.key).unwrap().data().len() as u64,
            size
        );
        let uploads = d.sink.uploads.lock().unwrap().clone();
        assert_eq!(uploads.len(), 1, "one multipart upload across invocations");
        let mut numbers: Vec<u32> = uploads[0].sent.iter().map(|(n, _)| *n).collect();
        let all = numbers.len();
        numbers.dedup();
        assert_eq!(
            numbers.len(),
            all,
            "no part sent twice: {:?}",
            uploads[0].sent
        );
        // The CDN sent the file's bytes plus at most the partial parts dropped at each pause.
        let served = sim.stats(msg.file_id.as_str()).bytes_served;
        assert!(served < size + runs as u64 * 8 * 1024 * 1024, "{served}");
        assert_eq!(d.archived.bodies().len(), 1);
    }

    #[tokio::test]
    async fn a_cdn_that_drops_the_connection_every_few_mebibytes_still_delivers_the_file() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, size, sim_rec) = queued_sized(&d, &sim, "dl-cuts", 24 * 1024 * 1024);
        sim.set_fault(
            msg.file_id.as_str(),
            Fault::DropAfter {
                bytes: 3 * 1024 * 1024,
                times: u32::MAX,
            },
        );
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Archived);
        assert_eq!(f.stored.unwrap().sha256, sim_sha(&sim_rec, &msg));
        let stats = sim.stats(msg.file_id.as_str());
        assert!(stats.dropped_connections >= 7, "{stats:?}");
        assert!(
            stats.bytes_served <= size + 64 * 1024,
            "resumed from the last byte, not from a part boundary: {} for {size}",
            stats.bytes_served
        );
    }

    #[tokio::test]
    async fn a_rate_limited_download_comes_back_after_its_retry_after() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, _) = queued(&d, &sim, "dl-429");
        sim.set_fault(
            msg.file_id.as_str(),
            Fault::RateLimited {
                times: 1,
                retry_after_secs: 120,
            },
        );
        let got = d.handle(msg.clone(), &Invocation::now()).await;
        assert!(
            matches!(&got, Err(Outcome::RetryAfter(_, delay)) if *delay == Duration::from_secs(120)),
            "{got:?}"
        );
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Retrying);
        let due = f.not_before_ms.unwrap() - chrono::Utc::now().timestamp_millis();
        assert!(
            (110_000..=120_000).contains(&due),
            "the sweep leaves it alone until then: {due}"
        );
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        assert_eq!(file(&d, &msg).await.state, FileState::Archived);
    }

    #[tokio::test]
    async fn a_run_killed_mid_transfer_is_resumed_once_its_lease_expires_without_resending_parts() {
        let sim = ZoomSim::start().await.unwrap();
        let mut d = downloader();
        d.sink.part_delay = Some(Duration::from_millis(300));
        let d = Arc::new(d);
        let (msg, size, sim_rec) = queued_sized(&d, &sim, "dl-killed", 40 * 1024 * 1024);
        let run = {
            let (d, msg) = (d.clone(), msg.clone());
            tokio::spawn(async move { d.handle(msg, &Invocation::now()).await })
        };
        // Kill it (nothing of it runs any more) once two parts are checkpointed.
        let mut waited = 0;
        while file(&d, &msg)
            .await
            .checkpoint
            .is_none_or(|c| c.parts.len() < 2)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += 1;
            assert!(waited < 1000, "no checkpoint");
        }
        run.abort();
        let _ = run.await;
        let stranded = file(&d, &msg).await;
        assert_eq!(
            stranded.state,
            FileState::Downloading,
            "a killed run leaves its lease"
        );
        let offset = stranded.checkpoint.as_ref().unwrap().offset;
        // A redelivery while the lease lives is a no-op; after it expires, the next run takes over.
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        assert_eq!(file(&d, &msg).await.state, FileState::Downloading);
        let later = Invocation::at(chrono::Utc::now() + chrono::Duration::seconds(961));
        d.handle(msg.clone(), &later).await.unwrap();
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Archived);
        let stored = f.stored.unwrap();
        assert_eq!(stored.sha256, sim_sha(&sim_rec, &msg));
        assert_eq!(stored.bytes, size);
        let uploads = d.sink.uploads.lock().unwrap().clone();
        assert_eq!(uploads.len(), 1, "the killed run's upload was continued");
        let stored_parts = offset / (8 * 1024 * 1024);
        let resent: Vec<u32> = uploads[0]
            .sent
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| u64::from(*n) <= stored_parts)
            .collect();
        let unique: std::collections::BTreeSet<_> = resent.iter().collect();
        assert_eq!(
            resent.len(),
            unique.len(),
            "checkpointed parts are never sent again"
        );
    }

    #[tokio::test]
    async fn storage_refusals_that_heal_are_retried_and_nothing_is_dropped() {
        let sim = ZoomSim::start().await.unwrap();
        let mut d = downloader();
        // S3 refuses the second part (AccessDenied during a deploy is retryable, like throttling), and
        // the catalog cannot take checkpoints for a while.
        d.sink.fail_part = Some(2);
        d.catalog.fail("checkpoint");
        let (msg, _, sim_rec) = queued_sized(&d, &sim, "dl-denied", 24 * 1024 * 1024);
        let got = d.handle(msg.clone(), &Invocation::now()).await;
        assert!(matches!(got, Err(Outcome::Retry(_))), "{got:?}");
        let f = file(&d, &msg).await;
        assert_eq!(
            f.state,
            FileState::Retrying,
            "kept for another try, not failed"
        );
        assert!(f.last_error.unwrap().starts_with("storage"));
        // The refusals end; the redelivered job completes.
        d.sink.fail_part = None;
        d.catalog.heal("checkpoint");
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Archived);
        assert_eq!(f.stored.unwrap().sha256, sim_sha(&sim_rec, &msg));
    }

    #[tokio::test]
    async fn a_catalog_outage_before_the_lease_retries_without_downloading() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, _) = queued(&d, &sim, "dl-outage");
        d.catalog.fail("acquire");
        let got = d.handle(msg.clone(), &Invocation::now()).await;
        assert!(matches!(got, Err(Outcome::Retry(_))), "{got:?}");
        assert_eq!(sim.stats(msg.file_id.as_str()).complete_bodies, 0);
        assert_eq!(file(&d, &msg).await.state, FileState::Queued);
    }

    #[tokio::test]
    async fn a_failed_archive_announcement_is_repeated_on_redelivery() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, _) = queued(&d, &sim, "dl-announce");
        *d.archived.fail.lock().unwrap() = true;
        let got = d.handle(msg.clone(), &Invocation::now()).await;
        *d.archived.fail.lock().unwrap() = false;
        assert!(matches!(got, Err(Outcome::Retry(_))), "{got:?}");
        assert_eq!(file(&d, &msg).await.state, FileState::Archived);
        assert_eq!(
            d.catalog.entry(&msg.recording).unwrap().state,
            RecordingState::Archiving,
            "not marked archived before the announcement went out"
        );
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        assert_eq!(d.archived.bodies().len(), 1);
        assert_eq!(
            d.catalog.entry(&msg.recording).unwrap().state,
            RecordingState::Archived
        );
    }
}
