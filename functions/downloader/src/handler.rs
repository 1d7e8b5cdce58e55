//! Downloader: copies one file from the vendor into S3 under a lease, verifies it, records it, and passes
//! the recording on once its last file is archived. Where the bytes come from is each vendor's
//! (`zoom::links::fetch`, `webex::links::fetch`); leasing, streaming, verifying and recording are the same.

use async_trait::async_trait;
use shared::batch::{Handler, Invocation, Outcome, require};
use shared::catalog::{Lease, StoredObject, TransferCatalog};
use shared::config::Connection;
use shared::error::Class;
use shared::messages::{ArchivedMessage, DownloadMessage};
use shared::model::{DownloadSource, FileState};
use shared::ports::{ConfigStore, Fetch, ObjectSink, ObjectTarget, Queue, send_json};
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

#[async_trait]
impl<C: ConfigStore, K: TransferCatalog, S: ObjectSink, Q: Queue, W: WebexConnections> Handler
    for Downloader<C, K, S, Q, W>
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
            let fetch = match self.fetch(&conn, &source).await {
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
                fetch.bearer.as_ref().map(|b| b.expose()),
                file.expected_size,
                &allowed,
                &self.sink,
                &target,
            )
            .await;
            // A Webex temporary link can die between our request for it and its use (clock skew, a slow queue):
            // the CDN then refuses with 403/404/410 or an HTML page. Ask for a fresh link once.
            let refused = r.as_ref().err().is_some_and(TransferError::refused_link);
            if refused && !refetched && shared::webex::links::refetch_after_refusal(&source) {
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
}

impl<C: ConfigStore, K: TransferCatalog, S: ObjectSink, Q: Queue, W: WebexConnections>
    Downloader<C, K, S, Q, W>
{
    /// The URL (and bearer) for this attempt, from the source's vendor. Webex links are fetched now, never
    /// kept from the webhook.
    async fn fetch(
        &self,
        conn: &Connection,
        source: &DownloadSource,
    ) -> Result<Fetch, shared::error::Error> {
        match source {
            DownloadSource::ZoomUrl { .. } => shared::zoom::links::fetch(source),
            DownloadSource::WebexRecording { .. } | DownloadSource::WebexTranscript { .. } => {
                shared::webex::links::fetch(&self.webex, conn, source).await
            }
        }
    }

    async fn failed_before_download(
        &self,
        msg: &DownloadMessage,
        e: shared::error::Error,
    ) -> Result<(), Outcome> {
        self.record_failure(msg, format!("vendor_api: {e}"), e.class(), None)
            .await
    }

    /// A vendor's `Retry-After` (429, 503) brings the job back after that delay rather than the queue's
    /// visibility timeout.
    async fn failed(&self, msg: &DownloadMessage, e: TransferError) -> Result<(), Outcome> {
        self.record_failure(
            msg,
            format!("{}: {e}", e.code()),
            e.class(),
            e.retry_after(),
        )
        .await
    }

    async fn record_failure(
        &self,
        msg: &DownloadMessage,
        reason: String,
        class: Class,
        retry_after: Option<Duration>,
    ) -> Result<(), Outcome> {
        match class {
            Class::Retryable => {
                self.catalog
                    .retry_later(&msg.recording, &msg.file_id, &reason)
                    .await?;
                Err(Outcome::retry_maybe_after(reason, retry_after))
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

#[cfg(test)]
mod tests {
    use super::*;
    use shared::catalog::{CatalogReader, FileEntry, RecordingEntry};
    use shared::config::HostPattern;
    use shared::fakes::{
        FakeWebex, MemoryCatalog, MemoryConfig, MemoryQueue, MemorySink, connection,
    };
    use shared::ids::Vendor;
    use shared::model::{RecordingKey, RecordingState};
    use zoom_sim::{Fault, RecordingSpec, ZoomSim};

    type Subject = Downloader<MemoryConfig, MemoryCatalog, MemorySink, MemoryQueue, FakeWebex>;

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
            catalog: MemoryCatalog::default(),
            sink: MemorySink::default(),
            archived: MemoryQueue::default(),
            webex: FakeWebex::default(),
            lease: Duration::from_secs(960),
            read_timeout: Duration::from_secs(10),
        }
    }

    /// A simulated recording whose first media file is catalogued, `queued`, on an `archiving` entry that
    /// knows only that file. Returns the job and the file's size.
    fn queued(d: &Subject, sim: &ZoomSim, name: &str) -> (DownloadMessage, u64) {
        let mut spec = RecordingSpec::realistic(name, 64 * 1024);
        spec.account_id = shared::fakes::ZOOM_ACCOUNT.into();
        let sim_rec = sim.add_recording(spec);
        let rec =
            shared::zoom::ingest::recording(sim_rec.recording_completed_body().as_bytes()).unwrap();
        let file = rec.files[0].clone();
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
            },
            size,
        )
    }

    async fn file(d: &Subject, msg: &DownloadMessage) -> FileEntry {
        d.catalog.list_files(&msg.recording).await.unwrap()[0].clone()
    }

    #[tokio::test]
    async fn a_file_is_stored_verified_and_its_recording_archived_exactly_once() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, size) = queued(&d, &sim, "dl-ok");
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Archived);
        let stored = f.stored.unwrap();
        assert_eq!(stored.bytes, size);
        assert!(f.source.is_none(), "the token is dropped once archived");
        let uploads = d.sink.uploads.lock().unwrap().clone();
        assert_eq!(uploads.len(), 1);
        assert!(uploads[0].completed);
        let uploaded: usize = uploads[0].parts.iter().map(|(_, n)| n).sum();
        assert_eq!(uploaded as u64, size);
        assert_eq!(uploads[0].sha256.as_deref(), Some(stored.sha256.as_str()));
        let rec = d.catalog.entry(&msg.recording).unwrap();
        assert_eq!(rec.state, RecordingState::Archived);
        assert_eq!(d.archived.bodies().len(), 1);
        // A redelivered job finds the file archived: bookkeeping only, no second archive message.
        d.handle(msg, &Invocation::now()).await.unwrap();
        assert_eq!(d.archived.bodies().len(), 1);
        assert_eq!(d.sink.uploads.lock().unwrap().len(), 1);
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
    async fn a_failure_that_heals_is_retried_one_that_cannot_is_recorded_and_dropped() {
        let sim = ZoomSim::start().await.unwrap();
        let d = downloader();
        let (msg, _) = queued(&d, &sim, "dl-5xx");
        sim.set_fault(msg.file_id.as_str(), Fault::ServerError { times: 1 });
        let got = d.handle(msg.clone(), &Invocation::now()).await;
        assert!(matches!(got, Err(Outcome::Retry(_))), "{got:?}");
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Retrying);
        assert!(f.last_error.unwrap().starts_with("http_status"));
        // The redelivery succeeds.
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        assert_eq!(file(&d, &msg).await.state, FileState::Archived);

        let (msg, _) = queued(&d, &sim, "dl-html");
        sim.set_fault(msg.file_id.as_str(), Fault::Html200);
        let got = d.handle(msg.clone(), &Invocation::now()).await;
        assert!(matches!(got, Err(Outcome::Dropped(_))), "{got:?}");
        let f = file(&d, &msg).await;
        assert_eq!(f.state, FileState::Failed);
        assert!(f.last_error.unwrap().starts_with("html_instead_of_media"));
        let rec = d.catalog.entry(&msg.recording).unwrap();
        assert_eq!(rec.state, RecordingState::Failed);
        assert!(rec.failed_ids.contains(msg.file_id.as_str()));
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
        assert_eq!(file(&d, &msg).await.state, FileState::Retrying);
        d.handle(msg.clone(), &Invocation::now()).await.unwrap();
        assert_eq!(file(&d, &msg).await.state, FileState::Archived);
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
}
