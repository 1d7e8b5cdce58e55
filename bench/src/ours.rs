//! The one place the benchmark calls our pipeline. When the transfer API changes, adapt [`transfer`] (and
//! [`part_size`]) here; nothing else in the bench knows how the pipeline is called.
//!
//! Today: `shared::transfer::copy_to_sink` (HTTP GET → SHA-256 → S3 multipart upload) into
//! `shared::aws::s3::S3Sink`, with the HTTP client the downloader builds.

use async_trait::async_trait;
use aws_sdk_s3::types::MetadataDirective;
use shared::aws::s3::{MAX_COPY_OBJECT, S3Sink};
use shared::error::Error;
use shared::ports::{MultipartUpload, ObjectSink, ObjectTarget};
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
    /// Of which recording the SHA-256 on the finished object (tagging, metadata copy).
    pub record_sha256: Duration,
}

/// The part size the pipeline uses for `size` bytes (the SDK sink case uploads with the same).
pub fn part_size(size: u64) -> u64 {
    shared::transfer::part_size_for(Some(size))
}

/// Moves `size` bytes from `source_url` into `bucket`/`key` with our pipeline.
///
/// `parts_in_flight`: today's `copy_to_sink` has it fixed at `MAX_PARTS_IN_FLIGHT`, so the argument is only
/// reported back; the rewrite is expected to take it.
pub async fn transfer(
    source_url: &str,
    size: u64,
    s3: aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    parts_in_flight: usize,
) -> anyhow::Result<Outcome> {
    let _requested = parts_in_flight;
    let allowed = |host: &str| host == "127.0.0.1";
    let client = shared::transfer::http_client(allowed, Duration::from_secs(60));
    let sink = LocalS3 {
        inner: S3Sink::new(s3.clone(), bucket),
        s3,
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
    };
    let t = shared::transfer::copy_to_sink(
        &client,
        source_url,
        None,
        Some(size),
        &allowed,
        &sink,
        &target,
    )
    .await
    .map_err(|e| anyhow::anyhow!("copy_to_sink: {e}"))?;
    Ok(Outcome {
        bytes: t.bytes,
        sha256: t.sha256,
        parts: t.parts,
        part_size: t.part_size,
        parts_in_flight: shared::transfer::MAX_PARTS_IN_FLIGHT,
        elapsed: t.elapsed,
        record_sha256: *sink.record_time.lock().expect("not poisoned"),
    })
}

/// `S3Sink` as it is, except where s3s-fs lacks an operation: s3s-fs answers `PutObjectTagging` with
/// NotImplemented, and then this does what `S3Sink::record_sha256` would have done next (the CopyObject onto
/// itself with the SHA-256 in the metadata), so the measured run makes the same requests as against S3.
struct LocalS3 {
    inner: S3Sink,
    s3: aws_sdk_s3::Client,
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

    async fn record_sha256(
        &self,
        target: &ObjectTarget,
        sha256: &str,
        size: u64,
    ) -> Result<Option<String>, Error> {
        let started = std::time::Instant::now();
        let r = self.record(target, sha256, size).await;
        *self.record_time.lock().expect("not poisoned") = started.elapsed();
        r
    }
}

impl LocalS3 {
    async fn record(
        &self,
        target: &ObjectTarget,
        sha256: &str,
        size: u64,
    ) -> Result<Option<String>, Error> {
        match self.inner.record_sha256(target, sha256, size).await {
            Err(e) if e.to_string().contains("NotImplemented") => {}
            other => return other,
        }
        if size > MAX_COPY_OBJECT {
            return Ok(None);
        }
        let bucket = self.inner.bucket();
        let mut req = self
            .s3
            .copy_object()
            .bucket(bucket)
            .key(&target.key)
            .copy_source(format!("{bucket}/{}", target.key))
            .metadata_directive(MetadataDirective::Replace)
            .content_type(&target.content_type)
            .metadata("sha256", sha256);
        for (k, v) in &target.metadata {
            req = req.metadata(k, v);
        }
        let out = req
            .send()
            .await
            .map_err(|e| Error::transient(format!("CopyObject(metadata): {e:?}")))?;
        Ok(out.copy_object_result.and_then(|r| r.e_tag))
    }
}
