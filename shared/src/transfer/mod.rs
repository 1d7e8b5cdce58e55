//! Streaming a vendor download into an S3 multipart upload, verified on the way, resumable across cuts and
//! across invocations.
//!
//! - **Parts and memory.** The body is cut into parts of [`part_size_for`]; at most `parts_in_flight` parts
//!   upload while one more fills, so the peak is about `(parts_in_flight + 1) × part_size` plus the HTTP
//!   clients' buffers (≈ 24 MiB of parts for the 8 MiB minimum and two in flight). Each chunk of the body is
//!   hashed (SHA-256 of the file, CRC32 of the part) while it is in the CPU's cache and copied into a part
//!   buffer; a buffer is filled again once its upload let go of it, so steady state takes no new pages.
//! - **Checkpoints.** When a part is stored (and every part before it), the transfer saves a
//!   [`Checkpoint`] through [`Progress`]: the upload id, every part's ETag/CRC32/size, the byte offset and the
//!   SHA-256 state at that offset. At most one checkpoint write is in flight; a newer one replaces a waiting
//!   one. The next invocation continues the same upload from that offset with the hash state restored, so the
//!   object's SHA-256 is the source's across any number of resumes, and no stored part is sent again.
//! - **Cuts.** A connection that breaks mid-body, or a body shorter than the file, is opened again at the last
//!   byte received (`Range: bytes=N-`), with back-off, while time allows; a server that ignores `Range` (200
//!   with the whole body) is read from the start and the first N bytes skipped.
//! - **Deadline.** Past `stop_at`, no new part starts: the parts in flight finish, the checkpoint is saved,
//!   and the transfer answers [`Finished::Paused`] (the caller sends a continuation).
//! - **Integrity.** A body that begins with a web page is refused ([`sniff`]); a body longer than announced is
//!   refused for good; a shorter one is a cut. A permanent failure aborts the upload; a retryable one keeps it
//!   for the next attempt.

pub mod sniff;
pub mod source;

pub use source::{HostCheck, HttpSource, Opened, Source, http_client};

use crate::catalog::{Checkpoint, PartDone};
use crate::error::{Class, Kind};
use crate::ports::{MultipartUpload, ObjectSink, ObjectTarget, PartBody};
use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const MIB: u64 = 1024 * 1024;
/// The smallest part we use (S3's minimum is 5 MiB).
pub const MIN_PART_SIZE: u64 = 8 * MIB;
/// S3's maximum part size.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// The most parts one file is cut into (S3 allows 10,000): a checkpoint listing them all stays far below
/// DynamoDB's 400 KB item limit (about 60 bytes a part).
pub const MAX_PARTS: u64 = 4_000;

/// The part size for a file of `expected` bytes: at least 8 MiB, whole MiB, and large enough that the file
/// fits in [`MAX_PARTS`] parts (8 MiB up to 31 GiB; 25 MiB for 100 GB). Without a size, 64 MiB (files up to
/// 250 GiB).
pub fn part_size_for(expected: Option<u64>) -> u64 {
    let Some(size) = expected else {
        return 64 * MIB;
    };
    size.div_ceil(MAX_PARTS)
        .div_ceil(MIB)
        .max(1)
        .saturating_mul(MIB)
        .clamp(MIN_PART_SIZE, MAX_PART_SIZE)
}

/// What went wrong with a transfer. Never carries a token or a signed URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    #[error("download host '{0}' is not on the connection's allow-list")]
    ForbiddenHost(String),
    #[error(
        "vendor answered with a web page instead of the file (deleted, still processing, or access refused)"
    )]
    HtmlInsteadOfMedia,
    #[error("vendor answered HTTP {status}")]
    Status {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("the body is longer than announced: expected {expected} bytes, got {got}")]
    TooLong { expected: u64, got: u64 },
    #[error("the body ended at {got} of {expected} bytes")]
    Short { expected: u64, got: u64 },
    #[error("plain http to '{0}' would expose the download token; only https is allowed")]
    InsecureScheme(String),
    #[error("file needs more than {MAX_PARTS} parts")]
    TooLarge,
    #[error("network: {0}")]
    Network(String),
    #[error("storage: {0}")]
    Storage(String),
    #[error("storage refused: {0}")]
    StoragePermanent(String),
    #[error("the multipart upload no longer exists")]
    UploadGone,
    #[error("another worker took the file over (our lease expired)")]
    LeaseLost,
}

impl TransferError {
    /// Whether the source refused the link itself (401/403/404/410, or a web page instead of media): with a
    /// fresher link or token, it may work.
    pub fn refused_link(&self) -> bool {
        matches!(
            self,
            TransferError::HtmlInsteadOfMedia
                | TransferError::Status {
                    status: 401 | 403 | 404 | 410,
                    ..
                }
        )
    }

    pub fn class(&self) -> Class {
        match self {
            TransferError::Network(_)
            | TransferError::Storage(_)
            | TransferError::Short { .. }
            | TransferError::UploadGone
            | TransferError::LeaseLost => Class::Retryable,
            TransferError::Status { status, .. } => Class::of_status(*status),
            _ => Class::Permanent,
        }
    }

    /// How long the source asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            TransferError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short machine-readable reason for the catalog.
    pub fn code(&self) -> &'static str {
        match self {
            TransferError::ForbiddenHost(_) => "forbidden_host",
            TransferError::HtmlInsteadOfMedia => "html_instead_of_media",
            TransferError::Status { .. } => "http_status",
            TransferError::TooLong { .. } => "size_mismatch",
            TransferError::Short { .. } => "short_body",
            TransferError::TooLarge => "too_large",
            TransferError::InsecureScheme(_) => "insecure_scheme",
            TransferError::Network(_) => "network",
            TransferError::Storage(_) | TransferError::StoragePermanent(_) => "storage",
            TransferError::UploadGone => "upload_gone",
            TransferError::LeaseLost => "lease_lost",
        }
    }

    /// Whether another attempt in the same invocation may get further (a cut, a short body, a server hiccup).
    fn heals_soon(&self) -> bool {
        match self {
            TransferError::Network(_) | TransferError::Short { .. } => true,
            TransferError::Status { status, .. } => {
                matches!(status, 500 | 502 | 503 | 504) && self.retry_after().is_none()
            }
            _ => false,
        }
    }
}

impl From<crate::error::Error> for TransferError {
    fn from(e: crate::error::Error) -> Self {
        match (e.class(), e.kind()) {
            (_, Kind::NotFound) => TransferError::UploadGone,
            (Class::Retryable, _) => TransferError::Storage(e.to_string()),
            (Class::Permanent, _) => TransferError::StoragePermanent(e.to_string()),
        }
    }
}

/// Saves checkpoints (the catalog, under the caller's lease). `Ok(false)`: the lease is no longer ours.
#[async_trait::async_trait]
pub trait Progress: Send + Sync {
    async fn save(&self, checkpoint: &Checkpoint) -> Result<bool, crate::error::Error>;
}

/// How a transfer behaves; the defaults suit Lambda.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Parts uploading at once while the next one fills.
    pub parts_in_flight: usize,
    /// Consecutive cuts without a new byte before the transfer gives up for this invocation.
    pub max_cuts_without_progress: u32,
    /// First back-off after a cut; doubles, with jitter, up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            parts_in_flight: 2,
            max_cuts_without_progress: 5,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

/// One transfer to run.
pub struct Job<'a> {
    pub sink: &'a dyn ObjectSink,
    pub target: &'a ObjectTarget,
    /// The size the vendor announced, if it did.
    pub expected_size: Option<u64>,
    /// Where an earlier invocation stopped.
    pub resume: Option<Checkpoint>,
    /// Start no new part after this instant (the invocation's deadline minus a margin).
    pub stop_at: Option<Instant>,
    pub settings: Settings,
}

/// A verified copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transferred {
    pub bytes: u64,
    pub sha256: String,
    pub etag: String,
    pub part_size: u64,
    pub parts: u32,
    /// Where this invocation started (0 unless it continued a checkpoint).
    pub resumed_from: u64,
    pub elapsed: Duration,
}

/// How a transfer that did not fail ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished {
    Stored(Transferred),
    /// Stopped before the deadline; the checkpoint (also saved) says where to continue.
    Paused(Checkpoint),
}

/// A failed transfer, with the checkpoint to continue from when the failure can heal (already saved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub error: TransferError,
    pub checkpoint: Option<Checkpoint>,
}

/// Runs the transfer; see the module documentation. A checkpoint whose upload no longer exists (aborted by
/// the bucket's lifecycle rule or the sweep) is dropped and the file transferred afresh.
pub async fn transfer(
    source: &dyn Source,
    job: Job<'_>,
    progress: Arc<dyn Progress>,
) -> Result<Finished, Failed> {
    let resuming = job.resume.is_some();
    match Run::start(&job, job.resume.clone(), progress.clone()).await {
        Ok(run) => match run.go(source, &job).await {
            Err(Failed {
                error: TransferError::UploadGone,
                ..
            }) if resuming => {
                tracing::warn!(
                    key = job.target.key,
                    "the checkpoint's upload no longer exists; starting afresh"
                );
                let run = Run::start(&job, None, progress)
                    .await
                    .map_err(|error| Failed {
                        error,
                        checkpoint: None,
                    })?;
                run.go(source, &job).await
            }
            other => other,
        },
        Err(error) => Err(Failed {
            error,
            checkpoint: None,
        }),
    }
}

type PartTask = tokio::task::JoinHandle<Result<PartDone, crate::error::Error>>;

/// A part uploading, with the state at its end and our handle on its buffer (reused once the upload let
/// go of it, so that parts do not cost fresh pages).
struct Pending {
    task: PartTask,
    end: u64,
    hash_at_end: String,
    buffer: Bytes,
}

/// Part uploads running in the background, oldest first; aborted if dropped unfinished.
struct InFlight(VecDeque<Pending>);

impl Drop for InFlight {
    fn drop(&mut self) {
        for p in &self.0 {
            p.task.abort();
        }
    }
}

/// Writes checkpoints one at a time; a newer one replaces a waiting one.
struct Checkpointer {
    progress: Arc<dyn Progress>,
    writing: Option<tokio::task::JoinHandle<Result<bool, crate::error::Error>>>,
    waiting: Option<Checkpoint>,
}

impl Checkpointer {
    /// Takes the result of a finished write, if any.
    async fn reap(&mut self, wait: bool) -> Result<(), TransferError> {
        let done = self.writing.as_ref().is_some_and(|w| w.is_finished());
        if !(done || (wait && self.writing.is_some())) {
            return Ok(());
        }
        let w = self.writing.take().expect("checked");
        match w.await {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(TransferError::LeaseLost),
            Ok(Err(e)) => {
                // Losing a checkpoint loses no data, only the head start of a later resume; go on.
                tracing::warn!(error = %e, "checkpoint not saved; continuing");
                Ok(())
            }
            Err(e) => Err(TransferError::Storage(format!("checkpoint task: {e}"))),
        }
    }

    async fn offer(&mut self, cp: Checkpoint) -> Result<(), TransferError> {
        self.reap(false).await?;
        if self.writing.is_some() {
            self.waiting = Some(cp);
        } else {
            self.spawn(cp);
        }
        Ok(())
    }

    fn spawn(&mut self, cp: Checkpoint) {
        let progress = self.progress.clone();
        self.writing = Some(tokio::spawn(async move { progress.save(&cp).await }));
    }

    /// Waits until the newest checkpoint is written (a write that failed was logged: it costs a later resume
    /// its head start, never data); fails only when the lease is lost.
    async fn flush(&mut self) -> Result<(), TransferError> {
        self.reap(true).await?;
        if let Some(cp) = self.waiting.take() {
            self.spawn(cp);
            self.reap(true).await?;
        }
        Ok(())
    }
}

/// The state of one transfer in this invocation.
struct Run {
    /// Started with the first part (so a source that fails to open leaves no upload behind).
    upload: Option<Arc<dyn MultipartUpload>>,
    part_size: u64,
    /// Stored parts, in order.
    parts: Vec<PartDone>,
    /// Bytes in `parts`.
    stored: u64,
    /// The hash state at `stored`.
    stored_hash: String,
    /// The file's size, once known.
    size: Option<u64>,
    hasher: Sha256,
    /// Bytes hashed (stored + in flight + in the part filling).
    received: u64,
    /// The part filling, and its CRC32 so far.
    buf: BytesMut,
    crc32: crc32fast::Hasher,
    /// Part buffers whose upload is done, ready to fill again.
    spare: Vec<BytesMut>,
    in_flight: InFlight,
    checkpoints: Checkpointer,
    resumed_from: u64,
    started: Instant,
}

fn encode_hash(h: &Sha256) -> String {
    base64::engine::general_purpose::STANDARD.encode(h.serialize().as_slice())
}

fn decode_hash(s: &str) -> Option<Sha256> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
    let state = bytes.as_slice().try_into().ok()?;
    Sha256::deserialize(state).ok()
}

impl Run {
    async fn start(
        job: &Job<'_>,
        resume: Option<Checkpoint>,
        progress: Arc<dyn Progress>,
    ) -> Result<Run, TransferError> {
        let checkpoints = Checkpointer {
            progress,
            writing: None,
            waiting: None,
        };
        // A checkpoint is usable if its hash state decodes and its parts add up.
        let usable = resume.and_then(|cp| {
            let hasher = decode_hash(&cp.sha256_state)?;
            let sum: u64 = cp.parts.iter().map(|p| p.bytes).sum();
            (sum == cp.offset && cp.size.or(job.expected_size).is_none_or(|s| cp.offset <= s))
                .then_some((cp, hasher))
        });
        if let Some((cp, hasher)) = usable {
            match job.sink.resume(job.target, &cp.upload_id).await? {
                Some(upload) => {
                    return Ok(Run {
                        upload: Some(Arc::from(upload)),
                        part_size: cp.part_size,
                        stored: cp.offset,
                        stored_hash: cp.sha256_state.clone(),
                        size: cp.size.or(job.expected_size),
                        received: cp.offset,
                        resumed_from: cp.offset,
                        parts: cp.parts,
                        hasher,
                        buf: BytesMut::new(),
                        crc32: crc32fast::Hasher::new(),
                        spare: Vec::new(),
                        in_flight: InFlight(VecDeque::new()),
                        checkpoints,
                        started: Instant::now(),
                    });
                }
                None => tracing::warn!(
                    key = job.target.key,
                    "the checkpoint's upload no longer exists; starting afresh"
                ),
            }
        }
        let hasher = Sha256::new();
        Ok(Run {
            upload: None,
            part_size: part_size_for(job.expected_size),
            parts: Vec::new(),
            stored: 0,
            stored_hash: encode_hash(&hasher),
            size: job.expected_size,
            hasher,
            received: 0,
            buf: BytesMut::new(),
            crc32: crc32fast::Hasher::new(),
            spare: Vec::new(),
            in_flight: InFlight(VecDeque::new()),
            checkpoints,
            resumed_from: 0,
            started: Instant::now(),
        })
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            upload_id: self
                .upload
                .as_ref()
                .map(|u| u.id().to_owned())
                .unwrap_or_default(),
            part_size: self.part_size,
            parts: self.parts.clone(),
            offset: self.stored,
            size: self.size,
            sha256_state: self.stored_hash.clone(),
            updated_at_ms: chrono::Utc::now().timestamp_millis(),
        }
    }

    fn next_part(&self) -> u32 {
        (self.parts.len() + self.in_flight.0.len() + 1) as u32
    }

    async fn go(mut self, source: &dyn Source, job: &Job<'_>) -> Result<Finished, Failed> {
        match self.read_all(source, job).await {
            Ok(true) => self.finish(job).await,
            Ok(false) => self.pause().await,
            Err(error) => Err(self.fail(error).await),
        }
    }

    /// Reads the file to its end (`true`) or until the deadline (`false`).
    async fn read_all(
        &mut self,
        source: &dyn Source,
        job: &Job<'_>,
    ) -> Result<bool, TransferError> {
        let mut cuts = 0u32;
        let mut dispatched_here = 0u32;
        loop {
            if self.size.is_some_and(|s| self.received >= s) {
                return Ok(true);
            }
            let before = self.received;
            let ended = match self.read_once(source, job, &mut dispatched_here).await {
                Ok(Some(ended)) => ended,
                Ok(None) => return Ok(false),
                Err(e) if e.heals_soon() => {
                    tracing::info!(key = job.target.key, at = self.received, error = %e, "download cut; resuming from the last byte received");
                    if self.received > before {
                        cuts = 0;
                    }
                    cuts += 1;
                    if cuts > job.settings.max_cuts_without_progress {
                        return Err(e);
                    }
                    let wait =
                        crate::http::backoff(job.settings.backoff, cuts, job.settings.max_backoff);
                    if job.stop_at.is_some_and(|t| Instant::now() + wait >= t) {
                        return if dispatched_here > 0 || !self.parts.is_empty() {
                            Ok(false)
                        } else {
                            Err(e)
                        };
                    }
                    tokio::time::sleep(wait).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            if ended {
                match self.size {
                    Some(s) if self.received < s => {
                        // A clean end short of the size: the same as a cut.
                        cuts += 1;
                        let e = TransferError::Short {
                            expected: s,
                            got: self.received,
                        };
                        if cuts > job.settings.max_cuts_without_progress {
                            return Err(e);
                        }
                        tokio::time::sleep(crate::http::backoff(
                            job.settings.backoff,
                            cuts,
                            job.settings.max_backoff,
                        ))
                        .await;
                    }
                    _ => return Ok(true),
                }
            }
        }
    }

    /// One request from `received`: `Some(true)` when the body ended cleanly, `None` at the deadline.
    async fn read_once(
        &mut self,
        source: &dyn Source,
        job: &Job<'_>,
        dispatched_here: &mut u32,
    ) -> Result<Option<bool>, TransferError> {
        let opened = source.open(self.received).await?;
        if let Some(total) = opened.total {
            match self.size {
                Some(s) if total > s => {
                    return Err(TransferError::TooLong {
                        expected: s,
                        got: total,
                    });
                }
                Some(s) if total < s => {
                    return Err(TransferError::Short {
                        expected: s,
                        got: total,
                    });
                }
                _ => self.size = Some(total),
            }
        }
        let mut skip = self.received - opened.starts_at;
        // A body from the file's first byte is judged before any of it is kept.
        let mut head: Option<Vec<u8>> = (opened.starts_at == 0).then(Vec::new);
        let mut body = opened.body;
        loop {
            let chunk = match body.next().await {
                Some(Ok(c)) => c,
                Some(Err(e)) => return Err(e),
                None => {
                    if let Some(h) = head.take() {
                        if sniff::sniff(&h, true) == sniff::Sniff::Page {
                            return Err(TransferError::HtmlInsteadOfMedia);
                        }
                        self.accept(Bytes::from(h), &mut skip, job, dispatched_here)
                            .await?;
                    }
                    return Ok(Some(true));
                }
            };
            let chunk = match head.as_mut() {
                Some(h) => {
                    h.extend_from_slice(&chunk);
                    match sniff::sniff(h, false) {
                        sniff::Sniff::NeedMore => continue,
                        sniff::Sniff::Page => return Err(TransferError::HtmlInsteadOfMedia),
                        sniff::Sniff::File => Bytes::from(head.take().expect("present")),
                    }
                }
                None => chunk,
            };
            self.accept(chunk, &mut skip, job, dispatched_here).await?;
            self.settle_finished().await?;
            if job.stop_at.is_some_and(|t| Instant::now() >= t) && *dispatched_here > 0 {
                return Ok(None);
            }
        }
    }

    /// Takes bytes of the body: skips what we already have, hashes and buffers the rest, and sends full parts.
    async fn accept(
        &mut self,
        mut chunk: Bytes,
        skip: &mut u64,
        job: &Job<'_>,
        dispatched_here: &mut u32,
    ) -> Result<(), TransferError> {
        if *skip > 0 {
            let n = (*skip).min(chunk.len() as u64);
            *skip -= n;
            chunk = chunk.slice(n as usize..);
        }
        if let Some(s) = self.size
            && self.received + chunk.len() as u64 > s
        {
            return Err(TransferError::TooLong {
                expected: s,
                got: self.received + chunk.len() as u64,
            });
        }
        let part_size = self.part_size as usize;
        while !chunk.is_empty() {
            if self.buf.capacity() == 0 {
                self.buf = self
                    .spare
                    .pop()
                    .unwrap_or_else(|| BytesMut::with_capacity(part_size));
            }
            let take = (part_size - self.buf.len()).min(chunk.len());
            let piece = chunk.split_to(take);
            self.hasher.update(&piece);
            self.crc32.update(&piece);
            self.received += take as u64;
            self.buf.extend_from_slice(&piece);
            if self.buf.len() == part_size {
                self.dispatch(job, job.settings.parts_in_flight).await?;
                *dispatched_here += 1;
            }
        }
        Ok(())
    }

    /// Sends the buffer as the next part, first waiting for the oldest part if too many are in flight.
    async fn dispatch(&mut self, job: &Job<'_>, max_in_flight: usize) -> Result<(), TransferError> {
        let number = self.next_part();
        if u64::from(number) > MAX_PARTS {
            return Err(TransferError::TooLarge);
        }
        while self.in_flight.0.len() >= max_in_flight.max(1) {
            self.settle_oldest().await?;
        }
        let upload = match &self.upload {
            Some(u) => u.clone(),
            None => {
                let u: Arc<dyn MultipartUpload> = Arc::from(job.sink.start(job.target).await?);
                self.upload = Some(u.clone());
                u
            }
        };
        let buffer = std::mem::take(&mut self.buf).freeze();
        let part = PartBody::filled(buffer.clone(), std::mem::take(&mut self.crc32));
        self.in_flight.0.push_back(Pending {
            task: tokio::spawn(async move { upload.upload_part(number, part).await }),
            end: self.received,
            hash_at_end: encode_hash(&self.hasher),
            buffer,
        });
        Ok(())
    }

    /// Checkpoints past every part whose upload has finished, oldest first, without waiting: a part is
    /// in a checkpoint as soon as it and every part before it are stored, not only when the queue is full.
    async fn settle_finished(&mut self) -> Result<(), TransferError> {
        while self
            .in_flight
            .0
            .front()
            .is_some_and(|p| p.task.is_finished())
        {
            self.settle_oldest().await?;
        }
        Ok(())
    }

    /// Waits for the oldest part and checkpoints past it.
    async fn settle_oldest(&mut self) -> Result<(), TransferError> {
        let Some(p) = self.in_flight.0.pop_front() else {
            return Ok(());
        };
        let done = p
            .task
            .await
            .map_err(|e| TransferError::Storage(format!("part upload task: {e}")))??;
        self.parts.push(done);
        if let Ok(mut spare) = p.buffer.try_into_mut()
            && spare.capacity() >= self.part_size as usize
        {
            spare.clear();
            self.spare.push(spare);
        }
        self.stored = p.end;
        self.stored_hash = p.hash_at_end;
        let cp = self.checkpoint();
        self.checkpoints.offer(cp).await
    }

    async fn drain(&mut self) -> Result<(), TransferError> {
        while !self.in_flight.0.is_empty() {
            self.settle_oldest().await?;
        }
        self.checkpoints.flush().await
    }

    async fn finish(mut self, job: &Job<'_>) -> Result<Finished, Failed> {
        match self.complete(job).await {
            Ok(t) => Ok(Finished::Stored(t)),
            Err(error) => Err(self.fail(error).await),
        }
    }

    async fn complete(&mut self, job: &Job<'_>) -> Result<Transferred, TransferError> {
        // The last part may be short; an empty file is one empty part.
        if !self.buf.is_empty() || (self.parts.is_empty() && self.in_flight.0.is_empty()) {
            self.dispatch(job, usize::MAX).await?;
        }
        self.drain().await?;
        let size = self.stored;
        let sha256 = hex::encode(self.hasher.clone().finalize());
        let upload = self.upload.clone().expect("a part was sent");
        let etag = match upload.complete(&self.parts).await {
            Ok(e) => e,
            Err(e) if e.kind() == Kind::NotFound => {
                // Completed by an earlier run that stopped before recording it: the object is ours if its
                // size is; otherwise the upload was aborted and the file starts again.
                match job.sink.stored(&job.target.key).await? {
                    Some((bytes, etag)) if bytes == size => etag,
                    _ => return Err(TransferError::UploadGone),
                }
            }
            Err(e) => return Err(e.into()),
        };
        job.sink.record_sha256(job.target, &sha256).await?;
        Ok(Transferred {
            bytes: size,
            sha256,
            etag,
            part_size: self.part_size,
            parts: self.parts.len() as u32,
            resumed_from: self.resumed_from,
            elapsed: self.started.elapsed(),
        })
    }

    async fn pause(mut self) -> Result<Finished, Failed> {
        // The partial part in the buffer is dropped: the next invocation asks for it again.
        match self.drain().await {
            Ok(()) => Ok(Finished::Paused(self.checkpoint())),
            Err(error) => Err(self.fail(error).await),
        }
    }

    /// Ends a failed run: a permanent failure aborts the upload; a retryable one, or a refused link, keeps
    /// it with the newest checkpoint saved for the next attempt.
    async fn fail(mut self, error: TransferError) -> Failed {
        // A refused link is final only if fresh credentials are refused too: the caller decides, and
        // continues this upload from the checkpoint (or aborts it) — so it is kept like a retryable failure.
        if error.class() == Class::Permanent && !error.refused_link() {
            for p in self.in_flight.0.drain(..) {
                p.task.abort();
            }
            self.abort().await;
            return Failed {
                error,
                checkpoint: None,
            };
        }
        if matches!(error, TransferError::LeaseLost | TransferError::UploadGone) {
            return Failed {
                error,
                checkpoint: None,
            };
        }
        // Keep what is already on its way: the parts in flight finish and are checkpointed.
        let saved = self.drain().await;
        if self.parts.is_empty() {
            // Nothing stored: nothing to continue.
            self.abort().await;
        }
        Failed {
            checkpoint: (saved.is_ok() && !self.parts.is_empty()).then(|| self.checkpoint()),
            error,
        }
    }

    async fn abort(&mut self) {
        if let Some(u) = self.upload.take()
            && let Err(e) = u.abort().await
        {
            tracing::warn!(error = %e, "abort of multipart upload failed; the bucket lifecycle rule cleans it up");
        }
    }
}

#[cfg(test)]
mod tests;
