//! The one place the benchmark calls our pipeline. When the transfer API changes, adapt [`transfer`] (and
//! [`part_size`]) here; nothing else in the bench knows how the pipeline is called.
//!
//! Today: `shared::transfer::transfer` (HTTP GET → SHA-256 → S3 multipart upload with per-part CRC32 and
//! unsigned payloads, checkpointed) from an `HttpSource` into `shared::aws::s3::S3Sink`, as the downloader
//! runs it.

use async_trait::async_trait;
use shared::aws::s3::S3Sink;
use shared::catalog::Checkpoint;
use shared::error::Error;
use shared::ports::{Fetch, MultipartUpload, ObjectSink, ObjectTarget};
use shared::transfer::{Finished, HttpSource, Job, Progress, Settings};
use std::sync::Arc;
use std::time::Duration;

/// What one run of the pipeline reports.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub bytes: u64,
    /// The SHA-256 (hex) the pipeline computed of the bytes it received.
    pub sha256: String,
    pub parts: u32,
    pub part_size: u64,
    /// Part uploads in flight the pipeline actually used.
    pub parts_in_flight: usize,
    /// Whole transfer, as the pipeline measured it.
    pub elapsed: Duration,
    /// Of which recording the SHA-256 on the finished object (the object tag).
    pub record_sha256: Duration,
}

/// The part size the pipeline uses for `size` bytes (the SDK sink case uploads with the same).
pub fn part_size(size: u64) -> u64 {
    shared::transfer::part_size_for(Some(size))
}

/// Checkpoints kept in memory: the downloader writes them to DynamoDB (one small write per part, at most
/// one in flight, off the streaming path); here they only count.
#[derive(Default)]
struct Checkpoints(std::sync::atomic::AtomicU32);

#[async_trait]
impl Progress for Checkpoints {
    async fn save(&self, _cp: &Checkpoint) -> Result<bool, Error> {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(true)
    }
}

/// Moves `size` bytes from `source_url` into `bucket`/`key` with our pipeline.
pub async fn transfer(
    source_url: &str,
    size: u64,
    s3: aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    parts_in_flight: usize,
) -> anyhow::Result<Outcome> {
    let allowed: shared::transfer::HostCheck = Arc::new(|host: &str| host == "127.0.0.1");
    let source = HttpSource::new(
        Fetch::anonymous(source_url.to_owned()),
        allowed,
        Duration::from_secs(60),
    );
    let sink = LocalS3 {
        inner: S3Sink::new(s3, bucket),
        record_time: std::sync::Mutex::new(Duration::ZERO),
    };
    let target = ObjectTarget {
        key: key.to_owned(),
        content_type: "video/mp4".into(),
        metadata: vec![
            ("tenant".into(), "bench".into()),
            ("vendor".into(), "zoom".into()),
            ("meeting-id".into(), "bench-meeting".into()),
            ("file-id".into(), "bench-file".into()),
            ("file-kind".into(), "video".into()),
        ],
        tags: vec![],
    };
    let job = Job {
        sink: &sink,
        target: &target,
        expected_size: Some(size),
        resume: None,
        stop_at: None,
        settings: Settings {
            parts_in_flight,
            ..Settings::default()
        },
    };
    let t = match shared::transfer::transfer(&source, job, Arc::new(Checkpoints::default())).await {
        Ok(Finished::Stored(t)) => t,
        Ok(Finished::Paused(_)) => anyhow::bail!("transfer paused without a deadline"),
        Err(f) => anyhow::bail!("transfer: {}", f.error),
    };
    Ok(Outcome {
        bytes: t.bytes,
        sha256: t.sha256,
        parts: t.parts,
        part_size: t.part_size,
        parts_in_flight,
        elapsed: t.elapsed,
        record_sha256: *sink.record_time.lock().expect("not poisoned"),
    })
}

/// `S3Sink` as it is, except that s3s-fs answers `PutObjectTagging` with NotImplemented: the tag is then
/// skipped (the request was made and timed, as against S3).
struct LocalS3 {
    inner: S3Sink,
    record_time: std::sync::Mutex<Duration>,
}

#[async_trait]
impl ObjectSink for LocalS3 {
    fn bucket(&self) -> &str {
        self.inner.bucket()
    }

    async fn start(&self, target: &ObjectTarget) -> Result<Box<dyn MultipartUpload>, Error> {
        self.inner.start(target).await
    }

    async fn resume(
        &self,
        target: &ObjectTarget,
        upload_id: &str,
    ) -> Result<Option<Box<dyn MultipartUpload>>, Error> {
        self.inner.resume(target, upload_id).await
    }

    async fn stored(&self, key: &str) -> Result<Option<(u64, String)>, Error> {
        self.inner.stored(key).await
    }

    async fn record_sha256(&self, target: &ObjectTarget, sha256: &str) -> Result<(), Error> {
        let started = std::time::Instant::now();
        let r = match self.inner.record_sha256(target, sha256).await {
            Err(e) if e.to_string().contains("NotImplemented") => Ok(()),
            other => other,
        };
        *self.record_time.lock().expect("not poisoned") = started.elapsed();
        r
    }
}
