//! The transfer engine against an in-memory source with faults and the in-memory sink.

use super::*;
use crate::fakes::MemorySink;
use async_trait::async_trait;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes served from memory, like a CDN with faults.
#[derive(Default)]
struct MemSource {
    data: Vec<u8>,
    /// Every response breaks after this many body bytes.
    cut_every: Option<usize>,
    /// Answer 200 with the whole body to a Range request.
    ignore_range: bool,
    /// Announce the whole size but end the body cleanly this early (once).
    end_early_once: Mutex<Option<usize>>,
    /// Answer 401 to every request after the first byte (the link's token expired mid-file).
    refuse_resume: bool,
    chunk: usize,
    served: Arc<AtomicU64>,
    /// Wait this long before each chunk (a slow CDN).
    pace: Option<Duration>,
    opens: Mutex<Vec<u64>>,
}

impl MemSource {
    fn new(data: Vec<u8>) -> Self {
        Self {
            data,
            chunk: 64 * 1024,
            ..Default::default()
        }
    }
    fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Source for MemSource {
    async fn open(&self, offset: u64) -> Result<Opened, TransferError> {
        self.opens.lock().unwrap().push(offset);
        if self.refuse_resume && offset > 0 {
            return Err(TransferError::Status {
                status: 401,
                retry_after: None,
            });
        }
        let start = if self.ignore_range {
            0
        } else {
            offset as usize
        };
        let mut end = self.data.len();
        if let Some(c) = self.cut_every {
            end = end.min(start + c);
        }
        let early = self.end_early_once.lock().unwrap().take();
        let clean_end = early.map(|e| end.min(start + e));
        let stop = clean_end.unwrap_or(end);
        let slice = self.data[start..stop].to_vec();
        let mut items: Vec<Result<Bytes, TransferError>> = slice
            .chunks(self.chunk)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        if clean_end.is_none() && end < self.data.len() {
            items.push(Err(TransferError::Network("connection reset".into())));
        }
        let (served, pace) = (self.served.clone(), self.pace);
        let body = futures_util::stream::iter(items).then(move |item| {
            let served = served.clone();
            async move {
                if let Some(p) = pace {
                    tokio::time::sleep(p).await;
                }
                if let Ok(b) = &item {
                    served.fetch_add(b.len() as u64, Ordering::SeqCst);
                }
                item
            }
        });
        Ok(Opened {
            body: body.boxed(),
            starts_at: start as u64,
            total: Some(self.data.len() as u64),
        })
    }
}

/// Checkpoints kept in memory; `lost` answers "the lease is no longer ours".
#[derive(Default)]
struct Saved {
    all: Mutex<Vec<Checkpoint>>,
    lost: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Progress for Saved {
    async fn save(&self, cp: &Checkpoint) -> Result<bool, crate::error::Error> {
        if self.lost.load(Ordering::SeqCst) {
            return Ok(false);
        }
        self.all.lock().unwrap().push(cp.clone());
        Ok(true)
    }
}

fn data(len: usize) -> Vec<u8> {
    // Not a web page, not all zeros: a repeating pattern with the offset mixed in.
    (0..len)
        .map(|i| (i as u64).wrapping_mul(2654435761) as u8 ^ (i >> 13) as u8 | 1)
        .collect()
}

fn sha(d: &[u8]) -> String {
    hex::encode(Sha256::digest(d))
}

fn target() -> ObjectTarget {
    ObjectTarget {
        key: "t/a.mp4".into(),
        content_type: "video/mp4".into(),
        metadata: vec![],
        tags: vec![],
    }
}

fn job<'a>(sink: &'a MemorySink, target: &'a ObjectTarget, size: Option<u64>) -> Job<'a> {
    Job {
        sink,
        target,
        expected_size: size,
        resume: None,
        stop_at: None,
        settings: Settings {
            backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
            ..Settings::default()
        },
    }
}

fn stored(r: Result<Finished, Failed>) -> Transferred {
    match r {
        Ok(Finished::Stored(t)) => t,
        other => panic!("expected stored, got {other:?}"),
    }
}

/// Every part number sent more than once.
fn resent(sink: &MemorySink) -> Vec<u32> {
    let u = sink.uploads.lock().unwrap();
    let mut seen = std::collections::HashMap::new();
    for rec in u.iter() {
        for (n, _) in &rec.sent {
            *seen.entry((rec.id.clone(), *n)).or_insert(0) += 1;
        }
    }
    let mut twice: Vec<u32> = seen
        .into_iter()
        .filter(|(_, c)| *c > 1)
        .map(|((_, n), _)| n)
        .collect();
    twice.sort();
    twice
}

#[tokio::test]
async fn a_file_of_several_parts_is_stored_byte_exact_and_checkpointed_after_each_part() {
    let d = data(20 * MIB as usize + 12345);
    let src = MemSource::new(d.clone());
    let sink = MemorySink::default();
    let t = target();
    let saved = Arc::new(Saved::default());
    let got = stored(transfer(&src, job(&sink, &t, Some(d.len() as u64)), saved.clone()).await);
    assert_eq!(got.bytes, d.len() as u64);
    assert_eq!(got.sha256, sha(&d));
    assert_eq!(got.parts, 3);
    let object = sink.object("t/a.mp4").unwrap();
    assert_eq!(object.data(), d);
    assert_eq!(sink.sha256.lock().unwrap()["t/a.mp4"], sha(&d));
    let offsets: Vec<u64> = saved.all.lock().unwrap().iter().map(|c| c.offset).collect();
    assert_eq!(offsets.last(), Some(&(d.len() as u64)), "{offsets:?}");
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
    assert_eq!(src.served(), d.len() as u64);
}

#[tokio::test]
async fn a_cdn_that_cuts_every_few_mebibytes_is_resumed_from_the_last_byte_received() {
    let d = data(40 * MIB as usize);
    let mut src = MemSource::new(d.clone());
    src.cut_every = Some(3 * MIB as usize);
    let sink = MemorySink::default();
    let t = target();
    let got = stored(
        transfer(
            &src,
            job(&sink, &t, Some(d.len() as u64)),
            Arc::new(Saved::default()),
        )
        .await,
    );
    assert_eq!(got.sha256, sha(&d));
    assert_eq!(sink.object("t/a.mp4").unwrap().data(), d);
    // Every byte was sent once: each request starts where the last one broke.
    assert_eq!(src.served(), d.len() as u64);
    let opens = src.opens.lock().unwrap().clone();
    assert_eq!(opens.len(), 14, "{opens:?}");
    assert!(opens.iter().all(|o| o % (3 * MIB) == 0), "{opens:?}");
    assert!(resent(&sink).is_empty());
}

#[tokio::test]
async fn a_source_that_ignores_range_is_read_again_and_the_known_bytes_skipped() {
    let d = data(18 * MIB as usize);
    let mut src = MemSource::new(d.clone());
    src.ignore_range = true;
    src.cut_every = Some(10 * MIB as usize);
    // Cut at 10 MiB each time; with Range ignored, each retry sends from 0 but still gets 10 MiB further?
    // No: it always stops at 10 MiB, so the transfer can never finish — the cut limit ends it, retryable.
    let sink = MemorySink::default();
    let t = target();
    let r = transfer(
        &src,
        job(&sink, &t, Some(d.len() as u64)),
        Arc::new(Saved::default()),
    )
    .await;
    let failed = r.unwrap_err();
    assert_eq!(failed.error.class(), Class::Retryable);
    assert_eq!(
        failed.checkpoint.map(|c| c.offset),
        Some(8 * MIB),
        "the stored part is kept for the next attempt"
    );

    // Without cuts, a source ignoring Range completes a resumed transfer.
    let mut src = MemSource::new(d.clone());
    src.ignore_range = true;
    *src.end_early_once.lock().unwrap() = Some(9 * MIB as usize);
    let sink = MemorySink::default();
    let got = stored(
        transfer(
            &src,
            job(&sink, &t, Some(d.len() as u64)),
            Arc::new(Saved::default()),
        )
        .await,
    );
    assert_eq!(got.sha256, sha(&d));
    assert_eq!(sink.object("t/a.mp4").unwrap().data(), d);
    assert_eq!(src.opens.lock().unwrap().clone(), vec![0, 9 * MIB]);
}

#[tokio::test]
async fn past_the_deadline_it_pauses_and_a_later_run_continues_without_sending_a_part_twice() {
    let d = data(30 * MIB as usize + 7);
    let size = Some(d.len() as u64);
    let sink = MemorySink::default();
    let t = target();
    let mut cp: Option<Checkpoint> = None;
    let mut runs = 0;
    let result = loop {
        runs += 1;
        assert!(runs < 10, "no progress");
        let src = MemSource::new(d.clone());
        let mut j = job(&sink, &t, size);
        j.resume = cp.clone();
        // The deadline has already passed: each run stores one part, then stops.
        j.stop_at = Some(Instant::now());
        match transfer(&src, j, Arc::new(Saved::default())).await {
            Ok(Finished::Paused(next)) => {
                assert!(next.offset > cp.as_ref().map_or(0, |c| c.offset));
                cp = Some(next);
            }
            other => break other,
        }
    };
    let got = stored(result);
    assert_eq!(got.sha256, sha(&d), "the hash continues across runs");
    assert_eq!(sink.object("t/a.mp4").unwrap().data(), d);
    assert!(got.resumed_from > 0);
    assert!(
        resent(&sink).is_empty(),
        "parts sent twice: {:?}",
        resent(&sink)
    );
    assert_eq!(
        sink.uploads.lock().unwrap().len(),
        1,
        "one upload across runs"
    );
    assert!(runs >= 3, "{runs}");
}

#[tokio::test]
async fn a_link_refused_mid_file_keeps_the_upload_and_checkpoint_for_fresh_credentials() {
    let d = data(3 * MIB as usize * 10 + 11);
    let size = Some(d.len() as u64);
    let sink = MemorySink::default();
    let t = target();
    // The first response breaks after 20 MiB; asking again from there, the token is refused.
    let mut expiring = MemSource::new(d.clone());
    expiring.cut_every = Some(20 * MIB as usize);
    expiring.refuse_resume = true;
    let failed = transfer(&expiring, job(&sink, &t, size), Arc::new(Saved::default()))
        .await
        .unwrap_err();
    assert!(failed.error.refused_link(), "{:?}", failed.error);
    let cp = failed.checkpoint.expect("the stored parts are kept");
    assert_eq!(cp.offset, 2 * MIN_PART_SIZE, "two whole parts were stored");
    assert!(
        sink.uploads.lock().unwrap().iter().all(|u| !u.aborted),
        "the upload is kept"
    );
    // With fresh credentials the caller continues from the checkpoint: the same upload, no part again.
    let fresh = MemSource::new(d.clone());
    let mut j = job(&sink, &t, size);
    j.resume = Some(cp.clone());
    let got = stored(transfer(&fresh, j, Arc::new(Saved::default())).await);
    assert_eq!(got.sha256, sha(&d));
    assert_eq!(got.resumed_from, cp.offset);
    assert_eq!(sink.object("t/a.mp4").unwrap().data(), d);
    assert_eq!(*fresh.opens.lock().unwrap(), vec![cp.offset]);
    assert!(resent(&sink).is_empty(), "{:?}", resent(&sink));
    assert_eq!(sink.uploads.lock().unwrap().len(), 1, "one upload");
}

/// Notes how much the source had served when each checkpoint was saved.
struct Watch {
    served: Arc<AtomicU64>,
    at: Mutex<Vec<(u64, u64)>>,
}

#[async_trait]
impl Progress for Watch {
    async fn save(&self, cp: &Checkpoint) -> Result<bool, crate::error::Error> {
        let served = self.served.load(Ordering::SeqCst);
        self.at.lock().unwrap().push((cp.offset, served));
        Ok(true)
    }
}

#[tokio::test]
async fn a_stored_part_is_checkpointed_while_the_next_one_is_still_arriving() {
    // A slow CDN (1 MiB every 10 ms) and a quick store: each part's upload ends long before the queue of
    // parts in flight is full, and its checkpoint must not wait for that.
    let d = data(4 * MIN_PART_SIZE as usize);
    let mut src = MemSource::new(d.clone());
    src.chunk = MIB as usize;
    src.pace = Some(Duration::from_millis(10));
    let sink = MemorySink::default();
    let t = target();
    let watch = Arc::new(Watch {
        served: src.served.clone(),
        at: Mutex::new(Vec::new()),
    });
    stored(transfer(&src, job(&sink, &t, Some(d.len() as u64)), watch.clone()).await);
    let at = watch.at.lock().unwrap().clone();
    let first = at
        .iter()
        .find(|(offset, _)| *offset == MIN_PART_SIZE)
        .expect("part 1 checkpointed");
    assert!(
        first.1 < 2 * MIN_PART_SIZE,
        "part 1 was checkpointed only after {} MiB had arrived",
        first.1 / MIB
    );
}

#[tokio::test]
async fn web_pages_are_refused_however_they_arrive_and_nothing_is_stored() {
    let page =
        b"\xEF\xBB\xBF\n  <!DOCTYPE html><html><body>This recording does not exist.</body></html>";
    for chunk in [1, 5, 4096] {
        let mut src = MemSource::new(page.to_vec());
        src.chunk = chunk;
        let sink = MemorySink::default();
        let t = target();
        let r = transfer(&src, job(&sink, &t, None), Arc::new(Saved::default())).await;
        let failed = r.unwrap_err();
        assert_eq!(
            failed.error,
            TransferError::HtmlInsteadOfMedia,
            "chunk {chunk}"
        );
        assert_eq!(failed.error.class(), Class::Permanent);
        let u = sink.uploads.lock().unwrap();
        assert!(u.iter().all(|u| !u.completed && u.sent.is_empty()));
    }
}

#[tokio::test]
async fn a_short_body_is_retried_and_a_long_one_refused() {
    // The source knows only 5 MiB of a file announced as 6 MiB: short, retryable, never stored.
    let d = data(5 * MIB as usize);
    let src = MemSource::new(d.clone());
    let sink = MemorySink::default();
    let t = target();
    let r = transfer(
        &src,
        job(&sink, &t, Some(6 * MIB)),
        Arc::new(Saved::default()),
    )
    .await;
    let failed = r.unwrap_err();
    assert!(
        matches!(failed.error, TransferError::Short { .. }),
        "{failed:?}"
    );
    assert_eq!(failed.error.class(), Class::Retryable);
    assert!(sink.object("t/a.mp4").is_none());

    // Announced 4 MiB, the body is 5 MiB: refused for good, the upload aborted.
    let r = transfer(
        &src,
        job(&sink, &t, Some(4 * MIB)),
        Arc::new(Saved::default()),
    )
    .await;
    let failed = r.unwrap_err();
    assert!(
        matches!(failed.error, TransferError::TooLong { .. }),
        "{failed:?}"
    );
    assert_eq!(failed.error.class(), Class::Permanent);
    assert!(sink.object("t/a.mp4").is_none());
}

#[tokio::test]
async fn a_checkpoint_whose_upload_is_gone_starts_afresh_and_a_lost_lease_stops() {
    let d = data(17 * MIB as usize);
    let size = Some(d.len() as u64);
    let sink = MemorySink::default();
    let t = target();
    let src = MemSource::new(d.clone());
    let mut j = job(&sink, &t, size);
    j.stop_at = Some(Instant::now());
    let Ok(Finished::Paused(cp)) = transfer(&src, j, Arc::new(Saved::default())).await else {
        panic!("expected a pause");
    };
    // The upload is aborted meanwhile (lifecycle rule, sweep).
    sink.uploads.lock().unwrap()[0].aborted = true;
    let mut j = job(&sink, &t, size);
    j.resume = Some(cp);
    let got = stored(transfer(&src, j, Arc::new(Saved::default())).await);
    assert_eq!(got.sha256, sha(&d));
    assert_eq!(got.resumed_from, 0);
    assert_eq!(sink.object("t/a.mp4").unwrap().data(), d);

    let saved = Arc::new(Saved::default());
    saved.lost.store(true, Ordering::SeqCst);
    let r = transfer(&src, job(&sink, &t, size), saved).await;
    assert_eq!(r.unwrap_err().error, TransferError::LeaseLost);
}

#[test]
fn part_sizes_respect_s3_limits_and_keep_checkpoints_small() {
    assert_eq!(part_size_for(Some(0)), MIN_PART_SIZE);
    assert_eq!(part_size_for(Some(100 * MIB)), MIN_PART_SIZE);
    assert_eq!(part_size_for(None), 64 * MIB);
    for size in [1u64, 31 * 1024 * MIB, 80 * 1024 * MIB, 200 * 1024 * MIB] {
        let p = part_size_for(Some(size));
        assert!(p >= MIN_PART_SIZE && p.is_multiple_of(MIB) && p <= MAX_PART_SIZE);
        assert!(size.div_ceil(p) <= MAX_PARTS, "{size}: {p}");
    }
    assert_eq!(part_size_for(Some(100_000_000_000)), 24 * MIB);
    // A checkpoint of MAX_PARTS parts, as DynamoDB would store it, is far below the 400 KB item limit.
    let cp = Checkpoint {
        upload_id: "x".repeat(200),
        part_size: 8 * MIB,
        parts: (0..MAX_PARTS)
            .map(|_| PartDone {
                etag: format!("\"{}\"", "a".repeat(32)),
                crc32: Some("AAAAAA==".into()),
                bytes: 8 * MIB,
            })
            .collect(),
        offset: MAX_PARTS * 8 * MIB,
        size: Some(MAX_PARTS * 8 * MIB),
        sha256_state: encode_hash(&Sha256::new()),
        updated_at_ms: 0,
    };
    let json = serde_json::to_string(&cp).unwrap();
    assert!(json.len() < 300_000, "{}", json.len());
}

#[test]
fn errors_say_whether_they_heal() {
    let status = |s| TransferError::Status {
        status: s,
        retry_after: None,
    };
    assert_eq!(status(429).class(), Class::Retryable);
    assert_eq!(status(503).class(), Class::Retryable);
    assert_eq!(status(404).class(), Class::Permanent);
    assert!(status(401).refused_link() && status(404).refused_link());
    assert_eq!(TransferError::HtmlInsteadOfMedia.class(), Class::Permanent);
    assert_eq!(TransferError::Network("x".into()).class(), Class::Retryable);
    assert_eq!(
        TransferError::Short {
            expected: 2,
            got: 1
        }
        .class(),
        Class::Retryable
    );
    assert_eq!(
        TransferError::from(crate::error::Error::transient("AccessDenied")).class(),
        Class::Retryable
    );
}
