//! The streaming copy into S3 multipart uploads over moto: verified bytes, resumable across cuts and
//! invocations, abort on a final failure, nothing left behind.

use archiver_tests::{aws, unique};
use async_trait::async_trait;
use shared::aws::s3::S3Sink;
use shared::catalog::{Checkpoint, PartDone};
use shared::error::{Class, Error};
use shared::ports::{Fetch, MultipartUpload, ObjectSink, ObjectTarget, PartBody, SecretString};
use shared::transfer::{
    Failed, Finished, HostCheck, HttpSource, Job, Progress, Settings, TransferError, Transferred,
    transfer,
};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zoom_sim::{Fault, RecordingSpec, SimFile, ZoomSim};

const MIB: u64 = 1024 * 1024;

async fn bucket() -> (aws_sdk_s3::Client, String) {
    let conf = aws().await.unwrap();
    let s3 = shared::aws::s3_client(&conf);
    let name = unique("media");
    s3.create_bucket().bucket(&name).send().await.unwrap();
    (s3, name)
}

fn allow_sim() -> HostCheck {
    Arc::new(|h: &str| h == "127.0.0.1" || h == "localhost")
}

fn source(file: &SimFile, token: &str) -> HttpSource {
    HttpSource::new(
        Fetch {
            url: file.download_url.clone(),
            bearer: Some(SecretString::new(token)),
            extra_host: None,
        },
        allow_sim(),
        Duration::from_secs(30),
    )
}

fn target(key: &str) -> ObjectTarget {
    ObjectTarget {
        key: key.into(),
        content_type: "video/mp4".into(),
        metadata: vec![
            ("tenant".into(), "uni".into()),
            ("file-id".into(), "f1".into()),
        ],
        tags: vec![],
    }
}

/// Checkpoints kept in memory (the catalog's part is tested elsewhere).
#[derive(Default)]
struct Saved(Mutex<Vec<Checkpoint>>);

#[async_trait]
impl Progress for Saved {
    async fn save(&self, cp: &Checkpoint) -> Result<bool, Error> {
        self.0.lock().unwrap().push(cp.clone());
        Ok(true)
    }
}

/// The S3 sink, counting every part sent.
struct Counting {
    inner: S3Sink,
    sent: Arc<Mutex<Vec<(String, u32)>>>,
}

struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    sent: Arc<Mutex<Vec<(String, u32)>>>,
}

#[async_trait]
impl ObjectSink for Counting {
    fn bucket(&self) -> &str {
        self.inner.bucket()
    }
    async fn start(&self, t: &ObjectTarget) -> Result<Box<dyn MultipartUpload>, Error> {
        Ok(Box::new(CountingUpload {
            inner: self.inner.start(t).await?,
            sent: self.sent.clone(),
        }))
    }
    async fn resume(
        &self,
        t: &ObjectTarget,
        id: &str,
    ) -> Result<Option<Box<dyn MultipartUpload>>, Error> {
        Ok(self.inner.resume(t, id).await?.map(|inner| {
            Box::new(CountingUpload {
                inner,
                sent: self.sent.clone(),
            }) as Box<dyn MultipartUpload>
        }))
    }
    async fn stored(&self, key: &str) -> Result<Option<(u64, String)>, Error> {
        self.inner.stored(key).await
    }
    async fn record_sha256(&self, t: &ObjectTarget, sha: &str) -> Result<(), Error> {
        self.inner.record_sha256(t, sha).await
    }
}

#[async_trait]
impl MultipartUpload for CountingUpload {
    fn id(&self) -> &str {
        self.inner.id()
    }
    async fn upload_part(&self, n: u32, b: PartBody) -> Result<PartDone, Error> {
        self.sent
            .lock()
            .unwrap()
            .push((self.inner.id().to_owned(), n));
        self.inner.upload_part(n, b).await
    }
    async fn complete(&self, parts: &[PartDone]) -> Result<String, Error> {
        self.inner.complete(parts).await
    }
    async fn abort(&self) -> Result<(), Error> {
        self.inner.abort().await
    }
}

fn job<'a>(sink: &'a dyn ObjectSink, t: &'a ObjectTarget, size: u64) -> Job<'a> {
    Job {
        sink,
        target: t,
        expected_size: Some(size),
        resume: None,
        stop_at: None,
        settings: Settings {
            backoff: Duration::from_millis(10),
            ..Settings::default()
        },
    }
}

fn stored(r: Result<Finished, Failed>) -> Transferred {
    match r {
        Ok(Finished::Stored(t)) => t,
        other => panic!("expected a stored object, got {other:?}"),
    }
}

async fn leftovers(s3: &aws_sdk_s3::Client, bucket: &str) -> (usize, usize) {
    let objects = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .contents
        .unwrap_or_default()
        .len();
    let uploads = s3
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .uploads
        .unwrap_or_default()
        .len();
    (objects, uploads)
}

async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

fn sha256(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

fn largest(rec: &zoom_sim::SimRecording) -> SimFile {
    rec.media_files()
        .into_iter()
        .max_by_key(|f| f.size)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn a_multi_part_file_lands_byte_exact_with_its_sha256_as_a_tag() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("mp"), 8 * MIB));
    let file = largest(&rec);
    assert!(file.size > 16 * MIB, "needs at least three 8 MiB parts");
    let (s3, bucket) = bucket().await;
    let sink = S3Sink::new(s3.clone(), &bucket);
    let t = target("a/b.mp4");
    let got = stored(
        transfer(
            &source(&file, &rec.download_token),
            job(&sink, &t, file.size),
            Arc::new(Saved::default()),
        )
        .await,
    );
    assert_eq!(got.bytes, file.size);
    assert_eq!(got.sha256, file.sha256);
    assert_eq!(got.parts as u64, file.size.div_ceil(8 * MIB));
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key("a/b.mp4")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length, Some(file.size as i64));
    assert_eq!(head.e_tag.as_deref(), Some(got.etag.as_str()));
    let meta = head.metadata.unwrap_or_default();
    assert_eq!(meta.get("tenant").map(String::as_str), Some("uni"));
    let tags = s3
        .get_object_tagging()
        .bucket(&bucket)
        .key("a/b.mp4")
        .send()
        .await
        .unwrap();
    assert!(
        tags.tag_set
            .iter()
            .any(|t| t.key == "sha256" && t.value == file.sha256)
    );
    assert_eq!(sha256(&object(&s3, &bucket, "a/b.mp4").await), file.sha256);
    let stats = sim.stats(&file.id);
    assert_eq!(
        stats.auth_leaks, 0,
        "the bearer must not follow the redirect"
    );
    assert_eq!(stats.redirects, 1);
    assert_eq!(leftovers(&s3, &bucket).await, (1, 0));
}

#[tokio::test]
async fn web_pages_are_final_failures_and_store_nothing() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("html"), MIB));
    let file = rec.media_files()[0].clone();
    let (s3, bucket) = bucket().await;
    let sink = S3Sink::new(s3.clone(), &bucket);
    let t = target("h.mp4");
    // A wrong token, a page disguised as binary (BOM, blank lines, a first chunk of one byte), a deleted
    // file: all HTML with status 200.
    for (token, fault) in [
        ("not-a-token", None),
        (rec.download_token.as_str(), Some(Fault::HtmlDisguised)),
        (rec.download_token.as_str(), Some(Fault::Deleted)),
    ] {
        if let Some(f) = &fault {
            sim.set_fault(&file.id, f.clone());
        }
        let failed = transfer(
            &source(&file, token),
            job(&sink, &t, file.size),
            Arc::new(Saved::default()),
        )
        .await
        .unwrap_err();
        assert_eq!(failed.error, TransferError::HtmlInsteadOfMedia, "{fault:?}");
        assert_eq!(failed.error.class(), Class::Permanent);
    }
    assert_eq!(sim.stats(&file.id).disguised_html, 1);
    assert_eq!(leftovers(&s3, &bucket).await, (0, 0));
}

#[tokio::test]
async fn a_cdn_that_cuts_every_8_mib_delivers_the_file_sending_little_more_than_its_size() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::single_mp4(&unique("cut"), 40 * MIB));
    let file = largest(&rec);
    sim.set_fault(
        &file.id,
        Fault::DropAfter {
            bytes: 8 * MIB,
            times: u32::MAX,
        },
    );
    let (s3, bucket) = bucket().await;
    let sent = Arc::new(Mutex::new(Vec::new()));
    let sink = Counting {
        inner: S3Sink::new(s3.clone(), &bucket),
        sent: sent.clone(),
    };
    let t = target("c.mp4");
    let got = stored(
        transfer(
            &source(&file, &rec.download_token),
            job(&sink, &t, file.size),
            Arc::new(Saved::default()),
        )
        .await,
    );
    assert_eq!(got.sha256, file.sha256);
    let stats = sim.stats(&file.id);
    assert!(stats.dropped_connections >= 4, "{stats:?}");
    assert!(
        stats.bytes_served <= file.size + MIB,
        "resumed from the last byte: {} bytes sent for {}",
        stats.bytes_served,
        file.size
    );
    let parts = sent.lock().unwrap().len() as u64;
    assert_eq!(parts, file.size.div_ceil(8 * MIB), "no part sent twice");
    assert_eq!(sha256(&object(&s3, &bucket, "c.mp4").await), file.sha256);
}

#[tokio::test]
async fn a_transfer_paused_at_each_deadline_resumes_one_upload_even_when_range_is_ignored() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::single_mp4(&unique("dl"), 30 * MIB));
    let file = largest(&rec);
    let (s3, bucket) = bucket().await;
    let sent = Arc::new(Mutex::new(Vec::new()));
    let sink = Counting {
        inner: S3Sink::new(s3.clone(), &bucket),
        sent: sent.clone(),
    };
    let t = target("p.mp4");
    let mut cp: Option<Checkpoint> = None;
    let mut runs = 0;
    let got = loop {
        runs += 1;
        assert!(runs < 10);
        if runs == 2 {
            // From the second run on, the CDN ignores Range: 200 with the whole body.
            sim.set_fault(&file.id, Fault::IgnoreRange);
        }
        let mut j = job(&sink, &t, file.size);
        j.resume = cp.clone();
        j.stop_at = Some(Instant::now());
        match transfer(
            &source(&file, &rec.download_token),
            j,
            Arc::new(Saved::default()),
        )
        .await
        {
            Ok(Finished::Paused(next)) => cp = Some(next),
            other => break stored(other),
        }
    };
    assert!(runs >= 3, "{runs}");
    assert_eq!(
        got.sha256, file.sha256,
        "the hash state survives every pause"
    );
    assert!(sim.stats(&file.id).ignored_ranges >= 1);
    let sent = sent.lock().unwrap().clone();
    let uploads: std::collections::BTreeSet<_> = sent.iter().map(|(u, _)| u.clone()).collect();
    assert_eq!(uploads.len(), 1, "one multipart upload across runs");
    let mut numbers: Vec<u32> = sent.iter().map(|(_, n)| *n).collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), sent.len(), "no part sent twice: {sent:?}");
    assert_eq!(sha256(&object(&s3, &bucket, "p.mp4").await), file.sha256);
    assert_eq!(leftovers(&s3, &bucket).await, (1, 0));
}

#[tokio::test]
async fn a_checkpoint_whose_upload_was_aborted_starts_afresh() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::single_mp4(&unique("gone"), 20 * MIB));
    let file = largest(&rec);
    let (s3, bucket) = bucket().await;
    let sink = S3Sink::new(s3.clone(), &bucket);
    let t = target("g.mp4");
    let mut j = job(&sink, &t, file.size);
    j.stop_at = Some(Instant::now());
    let Ok(Finished::Paused(cp)) = transfer(
        &source(&file, &rec.download_token),
        j,
        Arc::new(Saved::default()),
    )
    .await
    else {
        panic!("expected a pause");
    };
    // The bucket's lifecycle rule (or the sweep) aborts the abandoned upload.
    s3.abort_multipart_upload()
        .bucket(&bucket)
        .key("g.mp4")
        .upload_id(&cp.upload_id)
        .send()
        .await
        .unwrap();
    let mut j = job(&sink, &t, file.size);
    j.resume = Some(cp);
    let got = stored(
        transfer(
            &source(&file, &rec.download_token),
            j,
            Arc::new(Saved::default()),
        )
        .await,
    );
    assert_eq!(got.resumed_from, 0);
    assert_eq!(got.sha256, file.sha256);
    assert_eq!(leftovers(&s3, &bucket).await, (1, 0));
}

#[tokio::test]
async fn rate_limits_carry_their_wait_and_foreign_hosts_are_refused() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("rl"), MIB));
    let file = rec.media_files()[0].clone();
    let (s3, bucket) = bucket().await;
    let sink = S3Sink::new(s3.clone(), &bucket);
    let t = target("r");
    for (fault, wait) in [
        (
            Fault::RateLimited {
                times: 1,
                retry_after_secs: 7,
            },
            7,
        ),
        (Fault::RateLimitedDate { times: 1, secs: 30 }, 30),
    ] {
        sim.set_fault(&file.id, fault);
        let failed = transfer(
            &source(&file, &rec.download_token),
            job(&sink, &t, file.size),
            Arc::new(Saved::default()),
        )
        .await
        .unwrap_err();
        assert_eq!(failed.error.class(), Class::Retryable);
        let got = failed.error.retry_after().expect("a wait").as_secs();
        assert!((wait - 2..=wait).contains(&got), "{got} for {wait}");
    }
    // Only the API host allowed: the redirect to the CDN host is not followed.
    let only_api: HostCheck = Arc::new(|h: &str| h == "127.0.0.1");
    let strict = HttpSource::new(
        Fetch {
            url: file.download_url.clone(),
            bearer: Some(SecretString::new(&rec.download_token)),
            extra_host: None,
        },
        only_api.clone(),
        Duration::from_secs(30),
    );
    let failed = transfer(
        &strict,
        job(&sink, &t, file.size),
        Arc::new(Saved::default()),
    )
    .await
    .unwrap_err();
    assert_eq!(
        failed.error,
        TransferError::ForbiddenHost("localhost".into())
    );
    let evil = HttpSource::new(
        Fetch::anonymous("https://evil.example.com/x".into()),
        only_api,
        Duration::from_secs(30),
    );
    let failed = transfer(&evil, job(&sink, &t, 1), Arc::new(Saved::default()))
        .await
        .unwrap_err();
    assert_eq!(
        failed.error,
        TransferError::ForbiddenHost("evil.example.com".into())
    );
    assert_eq!(leftovers(&s3, &bucket).await, (0, 0));
}

/// A sink that keeps nothing but counts: for files too large to hold.
#[derive(Default)]
struct Counter {
    bytes: Arc<std::sync::atomic::AtomicU64>,
    parts: Arc<std::sync::atomic::AtomicU32>,
}

struct CounterUpload {
    bytes: Arc<std::sync::atomic::AtomicU64>,
    parts: Arc<std::sync::atomic::AtomicU32>,
}

#[async_trait]
impl ObjectSink for Counter {
    fn bucket(&self) -> &str {
        "counter"
    }
    async fn start(&self, _t: &ObjectTarget) -> Result<Box<dyn MultipartUpload>, Error> {
        Ok(Box::new(CounterUpload {
            bytes: self.bytes.clone(),
            parts: self.parts.clone(),
        }))
    }
    async fn resume(
        &self,
        _t: &ObjectTarget,
        _id: &str,
    ) -> Result<Option<Box<dyn MultipartUpload>>, Error> {
        Ok(None)
    }
    async fn stored(&self, _key: &str) -> Result<Option<(u64, String)>, Error> {
        Ok(None)
    }
    async fn record_sha256(&self, _t: &ObjectTarget, _sha: &str) -> Result<(), Error> {
        Ok(())
    }
}

#[async_trait]
impl MultipartUpload for CounterUpload {
    fn id(&self) -> &str {
        "counter-upload"
    }
    async fn upload_part(&self, _n: u32, b: PartBody) -> Result<PartDone, Error> {
        use std::sync::atomic::Ordering::SeqCst;
        self.bytes.fetch_add(b.len(), SeqCst);
        self.parts.fetch_add(1, SeqCst);
        Ok(PartDone {
            etag: "\"e\"".into(),
            crc32: None,
            bytes: b.len(),
        })
    }
    async fn complete(&self, _parts: &[PartDone]) -> Result<String, Error> {
        Ok("\"counter\"".into())
    }
    async fn abort(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// The process's peak resident memory so far (Linux `VmHWM`), in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test]
async fn a_4_gib_file_streams_through_with_bounded_memory_and_the_right_sha256() {
    const SIZE: u64 = 4 * 1024 * MIB;
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording_sparse(RecordingSpec::single_mp4(&unique("big"), SIZE));
    let file = largest(&rec);
    assert_eq!(file.size, SIZE);
    let sink = Counter::default();
    let t = target("big.mp4");
    let before = peak_rss();
    let got = stored(
        transfer(
            &HttpSource::new(
                Fetch {
                    url: file.download_url.clone(),
                    bearer: Some(SecretString::new(&rec.download_token)),
                    extra_host: None,
                },
                allow_sim(),
                Duration::from_secs(120),
            ),
            job(&sink, &t, SIZE),
            Arc::new(Saved::default()),
        )
        .await,
    );
    let grown = peak_rss().saturating_sub(before);
    eprintln!(
        "4 GiB transfer: peak RSS grew by {} MiB, {} parts",
        grown / MIB,
        got.parts
    );
    assert_eq!(got.bytes, SIZE);
    assert_eq!(got.sha256, file.sha256);
    assert_eq!(
        sink.bytes.load(std::sync::atomic::Ordering::SeqCst),
        SIZE,
        "every byte sent once"
    );
    assert_eq!(got.parts as u64, SIZE / (8 * MIB));
    // (parts in flight + 1) × 8 MiB plus buffers; holding the file would take 4 GiB.
    assert!(
        grown < 256 * MIB,
        "peak memory grew by {} MiB for a 4 GiB file",
        grown / MIB
    );
}
