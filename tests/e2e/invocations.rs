//! Downloads that do not fit in one invocation, and a downloader killed mid-part, on a stack whose
//! downloader invocations last [`TIMEOUT_SECS`] instead of the template's 900 s.
//!
//! The local stack gives each invocation the deadline of its function's `Timeout` and kills an instance
//! that overruns it, as Lambda does; [`short_invocations`] sets that `Timeout` small through
//! `StackOptions::overrides` and scales what the template ties to it the way the template does
//! (`LEASE_SECS` longer than the timeout, the download queue's visibility timeout longer than the lease; the
//! downloader's `REDELIVERY_SECS` is that visibility timeout). Failed invocations come back after the
//! queue's visibility timeout, as on Lambda (`retry_delay: None`), not after the local stack's shortcut of
//! 2 s: the lease a killed invocation held must run out first. The Zoom simulator's CDN is throttled
//! (`Fault::Throttle`), so that a file takes several invocations.

use super::{MIB, World, check, key_of};
use archiver_tests::unique;
use local_stack::{FunctionStats, PropertyOverride, StackOptions};
use shared::catalog::{CatalogReader, FileEntry};
use shared::model::RecordingState;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};
use zoom_sim::{Fault, RecordingSpec, SimRecording};

type Run<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// The downloader's `Timeout` on this stack: every invocation's deadline is this far from its start.
const TIMEOUT_SECS: u64 = 10;
/// `LEASE_SECS`: longer than the timeout (the template's 960 s against 900 s).
const LEASE_SECS: u64 = 15;
/// The backfill function's `Timeout` and `BACKFILL_UNIT_MARGIN_SECS` on this stack.
const BACKFILL_TIMEOUT_SECS: u64 = 20;
/// The download queue's `VisibilityTimeout`, longer than the lease (the template's 5400 s).
const VISIBILITY_SECS: u64 = 25;
/// The throttled CDN's rate: about 22 MiB in the three quarters of an invocation before the downloader
/// stops starting parts (`DEADLINE_MARGIN_SECS` is capped at a quarter of the time left).
const CDN_BYTES_PER_SEC: u64 = 3 * MIB;
/// The downloader's part size for files of these sizes (`shared::transfer::part_size_for`).
const PART: u64 = 8 * MIB;

/// The stack options for these scenarios, from the defaults.
pub(super) fn short_invocations(opts: StackOptions) -> StackOptions {
    let f = "DownloaderFunction";
    StackOptions {
        overrides: vec![
            PropertyOverride::new(f, "Timeout", TIMEOUT_SECS),
            PropertyOverride::new(
                f,
                "Environment.Variables.LEASE_SECS",
                LEASE_SECS.to_string(),
            ),
            PropertyOverride::new(
                f,
                "Environment.Variables.REDELIVERY_SECS",
                VISIBILITY_SECS.to_string(),
            ),
            PropertyOverride::new("DownloadQueue", "VisibilityTimeout", VISIBILITY_SECS),
            // The backfill function keeps as much time for a unit as it has: one unit per invocation.
            PropertyOverride::new("BackfillFunction", "Timeout", BACKFILL_TIMEOUT_SECS),
            PropertyOverride::new(
                "BackfillFunction",
                "Environment.Variables.BACKFILL_UNIT_MARGIN_SECS",
                BACKFILL_TIMEOUT_SECS.to_string(),
            ),
        ],
        retry_delay: None,
        ..opts
    }
}

fn stats(w: &World) -> FunctionStats {
    w.stack.function_stats("downloader").unwrap_or_default()
}

async fn file_entry(w: &World, rec: &SimRecording, id: &str) -> Option<FileEntry> {
    w.catalog
        .list_files(&key_of(rec))
        .await
        .ok()?
        .into_iter()
        .find(|f| f.file_id.as_str() == id)
}

/// A recording of one throttled MP4 of `size` bytes, announced to the pipeline.
async fn throttled_recording(w: &World, prefix: &str, size: u64) -> Result<SimRecording, String> {
    let rec = w
        .sim
        .add_recording(RecordingSpec::single_mp4(&unique(prefix), size));
    w.sim.set_fault(
        &rec.files()[0].id,
        Fault::Throttle {
            bytes_per_sec: CDN_BYTES_PER_SEC,
        },
    );
    let t = w.tenant_for(&rec).await;
    let (status, body) = w.post(&t, &rec.recording_completed_body()).await;
    check(status == 200, format!("webhook: {status} {body}"))?;
    Ok(rec)
}

/// The number of parts S3 says the object has (`ETag` `"…-N"`).
async fn object_parts(w: &World, key: &str) -> Result<u32, String> {
    let head =
        w.s3.head_object()
            .bucket(&w.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| format!("{key}: {e}"))?;
    let etag = head.e_tag.unwrap_or_default();
    etag.trim_matches('"')
        .rsplit_once('-')
        .and_then(|(_, n)| n.parse().ok())
        .ok_or(format!("{key}: not a multipart ETag: {etag}"))
}

pub(super) fn long_download_spans_invocations(w: &World) -> Run<'_> {
    Box::pin(async move {
        let size = 40 * MIB + 123_457;
        let parts = size.div_ceil(PART) as u32;
        let before = stats(w);
        let started = Instant::now();
        let rec = throttled_recording(w, "long", size).await?;
        let id = rec.files()[0].id.clone();
        let entry = w
            .wait_for(&rec, RecordingState::Archived, 1, Duration::from_secs(120))
            .await?;
        w.verify_archived(&rec, &entry, std::slice::from_ref(&id))
            .await?;
        let took = started.elapsed();
        let after = stats(w);

        // Several invocations, each stopped by itself before its deadline: none cut off, none crashed.
        let invocations = after.invocations - before.invocations;
        check(
            after.timeouts == before.timeouts && after.crashes == before.crashes,
            format!("downloader instances killed: before {before:?}, after {after:?}"),
        )?;
        let f = file_entry(w, &rec, &id)
            .await
            .ok_or("the file left the catalog")?;
        check(
            f.attempts >= 3 && invocations >= u64::from(f.attempts),
            format!(
                "{} attempts in {invocations} downloader invocations",
                f.attempts
            ),
        )?;

        // Each invocation continued exactly where the last one's stored parts ended: every CDN body
        // starts at a part boundary past the one before, and what a paused invocation read beyond it
        // was less than a part (the part it was filling, dropped), so no part was read, or sent, twice.
        let st = w.sim.stats(&id);
        let bodies = &st.bodies;
        check(
            bodies.len() == f.attempts as usize && bodies[0].start == 0,
            format!("{} attempts, CDN bodies {bodies:?}", f.attempts),
        )?;
        for pair in bodies.windows(2) {
            let (this, next) = (pair[0], pair[1]);
            check(
                next.start > this.start && next.start % PART == 0,
                format!("a resume did not start at a new part boundary: {bodies:?}"),
            )?;
            let beyond = (this.start + this.bytes).saturating_sub(next.start);
            check(
                this.start + this.bytes >= next.start && beyond < PART + MIB,
                format!("{beyond} bytes read past the next start: {bodies:?}"),
            )?;
        }
        let last = bodies[bodies.len() - 1];
        check(
            last.start + last.bytes == size && st.complete_bodies == 1,
            format!("the last body did not end the file: {bodies:?}"),
        )?;
        let stored = f.stored.as_ref().ok_or("not stored")?;
        let in_s3 = object_parts(w, &f.s3_key).await?;
        check(
            stored.parts == parts && in_s3 == parts,
            format!(
                "{} parts in the catalog, {in_s3} in S3, expected {parts}",
                stored.parts
            ),
        )?;
        println!(
            "    {:.1} MiB in {} invocations of at most {TIMEOUT_SECS} s ({:.1}s), {:.1} MiB served by the CDN, resumes at {:?} MiB",
            size as f64 / MIB as f64,
            f.attempts,
            took.as_secs_f64(),
            st.bytes_served as f64 / MIB as f64,
            bodies[1..]
                .iter()
                .map(|b| b.start / MIB)
                .collect::<Vec<_>>()
        );
        Ok(())
    })
}

pub(super) fn killed_download_resumes(w: &World) -> Run<'_> {
    Box::pin(async move {
        let size = 40 * MIB + 54_321;
        let before = stats(w);
        let rec = throttled_recording(w, "killed", size).await?;
        let id = rec.files()[0].id.clone();

        // Wait for a checkpoint with a part, then for the running invocation to be well past it (at least
        // 4 MiB read beyond the checkpoint, none of it saved yet): that invocation is killed.
        let start = Instant::now();
        let (cp_before, killed_body) = loop {
            let cp = file_entry(w, &rec, &id)
                .await
                .and_then(|f| f.checkpoint)
                .filter(|c| !c.parts.is_empty());
            if let Some(cp) = cp {
                let bodies = w.sim.stats(&id).bodies;
                let last = bodies.len() - 1;
                if bodies[last].start + bodies[last].bytes >= cp.offset + 4 * MIB {
                    break (cp.offset, last);
                }
            }
            check(
                start.elapsed() < Duration::from_secs(60),
                format!(
                    "no invocation 4 MiB past a checkpoint after 60 s: {:?}",
                    w.sim.stats(&id).bodies
                ),
            )?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        };

        // SIGKILL the downloader process that runs the invocation.
        let busy: Vec<_> = w
            .stack
            .instances("downloader")
            .into_iter()
            .filter(|i| i.request_id.is_some())
            .collect();
        check(
            busy.len() == 1,
            format!("busy downloader instances: {busy:?}"),
        )?;
        let pid = busy[0].pid.ok_or("the busy instance has no pid")?;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe")).map_err(|e| e.to_string())?;
        check(
            exe.file_name().is_some_and(|n| n == "downloader"),
            format!("pid {pid} runs {}", exe.display()),
        )?;
        let killed = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .map_err(|e| e.to_string())?;
        check(killed.success(), format!("kill -KILL {pid}: {killed}"))?;
        let killed_at = Instant::now();
        // A checkpoint write the process sent just before it died may still be on its way: read the
        // file once that has settled (the message cannot come back for many seconds).
        tokio::time::sleep(Duration::from_secs(1)).await;
        let at_kill = file_entry(w, &rec, &id)
            .await
            .ok_or("the file left the catalog")?;
        let cp = at_kill
            .checkpoint
            .clone()
            .ok_or("no checkpoint at the kill")?;
        let lease_until = at_kill.lease_until_ms.ok_or("no lease at the kill")?;

        // The message comes back once the queue's visibility timeout ends, after the lease; the next
        // invocation takes the file over (its attempt) and continues from the checkpoint.
        let mut resumed: Option<(Duration, i64)> = None;
        let entry = loop {
            if resumed.is_none()
                && let Some(f) = file_entry(w, &rec, &id).await
                && f.attempts > at_kill.attempts
            {
                resumed = Some((killed_at.elapsed(), chrono::Utc::now().timestamp_millis()));
            }
            if let Some(e) = w.entry(&rec).await
                && e.state == RecordingState::Archived
            {
                break e;
            }
            check(
                killed_at.elapsed() < Duration::from_secs(90),
                format!(
                    "not archived 90 s after the kill: {:?}",
                    file_entry(w, &rec, &id)
                        .await
                        .map(|f| (f.state, f.last_error))
                ),
            )?;
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        w.verify_archived(&rec, &entry, std::slice::from_ref(&id))
            .await?;
        let after = stats(w);
        check(
            after.crashes == before.crashes + 1 && after.timeouts == before.timeouts,
            format!("downloader: before {before:?}, after {after:?}"),
        )?;
        let (waited, resumed_ms) = resumed.ok_or("the file was never taken up again")?;
        // Taken up by the redelivered message, when the queue's visibility timeout of the killed
        // invocation's receive ended: (VISIBILITY - LEASE) s after its lease (taken just after that
        // receive), give or take the moments between receive and lease. Not by a duplicate while the
        // lease held, and not by the local stack's 2 s retry shortcut.
        let due = lease_until + ((VISIBILITY_SECS - LEASE_SECS) * 1000) as i64 - 3000;
        check(
            resumed_ms >= due,
            format!(
                "taken up at {resumed_ms}, {} ms after the lease ran out at {lease_until}",
                resumed_ms - lease_until
            ),
        )?;

        // The first body after the kill starts at the checkpoint: what the killed invocation read past it
        // is read again, nothing before it; far less than the file twice was served.
        let st = w.sim.stats(&id);
        let resume = st
            .bodies
            .get(killed_body + 1)
            .ok_or("no CDN body after the kill")?;
        check(
            cp.offset >= cp_before && resume.start == cp.offset,
            format!(
                "checkpoint at {cp_before} before the kill and {} after, CDN bodies {:?}",
                cp.offset, st.bodies
            ),
        )?;
        check(
            st.bytes_served < 2 * size,
            format!("{} bytes served for {size}", st.bytes_served),
        )?;
        println!(
            "    killed {:.1} MiB past the checkpoint at {} MiB; taken up again {:.1}s later (lease {LEASE_SECS} s, visibility {VISIBILITY_SECS} s) from {} MiB; {:.1} MiB served for {:.1} MiB",
            (st.bodies[killed_body].start + st.bodies[killed_body].bytes - cp_before) as f64
                / MIB as f64,
            cp_before / MIB,
            waited.as_secs_f64(),
            resume.start / MIB,
            st.bytes_served as f64 / MIB as f64,
            size as f64 / MIB as f64
        );
        Ok(())
    })
}
