//! Sweeper (scheduled): finds work that stopped moving and sets it going again, or says why it cannot.
//!
//! - **Stuck recordings**: `pending_owner` or `archiving`, started and last changed longer ago than
//!   `stuck_after`. Their
//!   `planned` files are handed to the owner resolver again; `queued` files, `retrying` files past their
//!   `not_before_ms`, and `downloading` files whose lease expired (a killed run) get a new download job —
//!   the downloader's lease makes a duplicate a no-op, and a checkpoint lets it continue where it stopped.
//!   A file that used up `max_attempts` is failed with the reason, so that an admin sees it (`retry`).
//! - **Dead-letter queues**: a download job is re-driven while its file still waits (and settled if the
//!   file is done or failed); other messages are re-driven up to `max_redrives` times, then kept in the
//!   dead-letter queue and reported.
//! - **Abandoned uploads**: multipart uploads started longer ago than `abandoned_after` are aborted; a
//!   transfer whose checkpoint pointed at one starts afresh.
//! - **Quarantine** (`owner.unmatched: quarantine`): a recording whose quarantine ran out with no owner
//!   assigned is recorded as skipped (`quarantine_expired`), our objects of it under the quarantine folder are
//!   removed and its files wait again (the vendor copy is kept: `archiver-admin retry` archives it again).
//!   The rules are [`shared::quarantine`]: one still in transfer waits, one whose vendor copy is gone is kept.

use async_trait::async_trait;
use serde::Serialize;
use shared::batch::{Handler, Invocation};
use shared::catalog::{
    Assignment, CatalogReader, FileEntry, Lease, QuarantineCatalog, QuarantineHold, RecordingEntry,
    TransferCatalog,
};
use shared::error::Error;
use shared::messages::{DownloadMessage, ResolveOwnerMessage};
use shared::model::{FileState, RecordingState};
use shared::ports::{
    ConfigStore, ConnectionList, DeadLetters, Queue, RemoveObjects, Uploads, send_json,
};
use shared::quarantine::Next;
use std::time::Duration;

/// When work counts as stuck, and when the sweep gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    pub stuck_after: Duration,
    pub abandoned_after: Duration,
    pub max_attempts: u32,
    pub max_redrives: u32,
    /// Recordings looked at per connection and state, and dead letters per queue, in one run.
    pub batch: i32,
    /// The lease the sweep takes to fail a file that used up its attempts.
    pub lease: Duration,
}

/// What one run did (logged, and returned as the function's result).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub recordings_checked: usize,
    pub owner_handoffs: usize,
    pub downloads_redriven: usize,
    pub files_given_up: usize,
    pub dead_letters_redriven: usize,
    pub dead_letters_settled: usize,
    pub dead_letters_kept: usize,
    pub uploads_aborted: usize,
    /// Quarantines that ran out with no owner: recorded as skipped, our copy removed.
    pub quarantine_expired: usize,
    /// Quarantines that ran out when the vendor copy was gone: ours kept, held by the default owner.
    pub quarantine_kept: usize,
    /// Quarantines due but left for a later sweep (files still in transfer).
    pub quarantine_waiting: usize,
    /// Objects removed from expired quarantines.
    pub objects_removed: usize,
}

pub struct Sweeper<C, K, Q, U> {
    pub config: C,
    pub catalog: K,
    pub owners: Q,
    pub downloads: Q,
    /// The download queue's dead letters (file-aware).
    pub download_dlq: Box<dyn DeadLetters>,
    /// The other dead-letter queues (re-driven a bounded number of times).
    pub other_dlqs: Vec<Box<dyn DeadLetters>>,
    /// The media bucket: abandoned multipart uploads, and the objects of expired quarantines.
    pub uploads: U,
    pub rules: Rules,
}

#[async_trait]
impl<C, K, Q, U> Handler for Sweeper<C, K, Q, U>
where
    C: ConfigStore + ConnectionList,
    K: CatalogReader + TransferCatalog + QuarantineCatalog,
    Q: Queue,
    U: Uploads + RemoveObjects,
{
    type Input = serde_json::Value;
    type Output = Result<Report, Error>;

    async fn handle(&self, _event: serde_json::Value, at: &Invocation) -> Result<Report, Error> {
        let mut report = Report::default();
        self.stuck_recordings(at, &mut report).await?;
        self.download_dead_letters(at, &mut report).await?;
        for dlq in &self.other_dlqs {
            self.other_dead_letters(dlq.as_ref(), &mut report).await?;
        }
        let before =
            at.now - chrono::Duration::from_std(self.rules.abandoned_after).unwrap_or_default();
        for (key, id) in self.uploads.started_before(before).await? {
            self.uploads.abort(&key, &id).await?;
            tracing::warn!(key, "abandoned multipart upload aborted");
            report.uploads_aborted += 1;
        }
        self.quarantines(at, &mut report).await?;
        tracing::info!(
            checked = report.recordings_checked,
            owner_handoffs = report.owner_handoffs,
            downloads_redriven = report.downloads_redriven,
            given_up = report.files_given_up,
            dlq_redriven = report.dead_letters_redriven,
            dlq_settled = report.dead_letters_settled,
            dlq_kept = report.dead_letters_kept,
            uploads_aborted = report.uploads_aborted,
            quarantine_expired = report.quarantine_expired,
            quarantine_kept = report.quarantine_kept,
            quarantine_waiting = report.quarantine_waiting,
            objects_removed = report.objects_removed,
            "sweep done"
        );
        Ok(report)
    }
}

/// What the sweep does with one file of a stuck recording.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    HandOver,
    Redrive,
    GiveUp,
    Leave,
}

impl<C, K, Q, U> Sweeper<C, K, Q, U>
where
    C: ConfigStore + ConnectionList,
    K: CatalogReader + TransferCatalog + QuarantineCatalog,
    Q: Queue,
    U: Uploads + RemoveObjects,
{
    fn verdict(&self, f: &FileEntry, now_ms: i64) -> Verdict {
        let pending = match f.state {
            FileState::Planned => return Verdict::HandOver,
            FileState::Queued => true,
            FileState::Retrying => f.not_before_ms.is_none_or(|t| t <= now_ms),
            FileState::Downloading => f.lease_until_ms.is_none_or(|t| t < now_ms),
            FileState::Archived | FileState::Failed => false,
        };
        match pending {
            false => Verdict::Leave,
            true if f.attempts >= self.rules.max_attempts => Verdict::GiveUp,
            true => Verdict::Redrive,
        }
    }

    async fn stuck_recordings(&self, at: &Invocation, report: &mut Report) -> Result<(), Error> {
        let before =
            at.now - chrono::Duration::from_std(self.rules.stuck_after).unwrap_or_default();
        let now_ms = at.now.timestamp_millis();
        for conn in self.config.connections().await? {
            for state in [RecordingState::PendingOwner, RecordingState::Archiving] {
                let stuck = self
                    .catalog
                    .list_started_before(&conn.tenant, state, before, self.rules.batch)
                    .await?;
                // Started long ago is not enough: nothing may have moved it for as long (a backfilled or
                // late-delivered recording of an old meeting is not stuck).
                for rec in stuck
                    .into_iter()
                    .filter(|r| r.connection_id == conn.id && r.updated_at < before)
                {
                    report.recordings_checked += 1;
                    self.unstick(&rec, now_ms, at, report).await?;
                }
            }
        }
        Ok(())
    }

    async fn unstick(
        &self,
        rec: &RecordingEntry,
        now_ms: i64,
        at: &Invocation,
        report: &mut Report,
    ) -> Result<(), Error> {
        let key = rec.key();
        let mut hand_over = Vec::new();
        for f in self.catalog.list_files(&key).await? {
            match self.verdict(&f, now_ms) {
                Verdict::HandOver => hand_over.push(f.file_id.clone()),
                Verdict::Redrive => {
                    send_json(
                        &self.downloads,
                        &DownloadMessage {
                            connection_id: rec.connection_id.clone(),
                            recording: key.clone(),
                            file_id: f.file_id.clone(),
                            continuation: 0,
                        },
                    )
                    .await?;
                    tracing::info!(recording = %key, file = %f.file_id, state = f.state.as_str(), "stuck file re-driven");
                    report.downloads_redriven += 1;
                }
                Verdict::GiveUp => {
                    if self.give_up(&key, &f, at).await? {
                        report.files_given_up += 1;
                    }
                }
                Verdict::Leave => {}
            }
        }
        if !hand_over.is_empty() {
            send_json(
                &self.owners,
                &ResolveOwnerMessage {
                    connection_id: rec.connection_id.clone(),
                    recording: key.clone(),
                    file_ids: hand_over,
                },
            )
            .await?;
            report.owner_handoffs += 1;
        }
        Ok(())
    }

    /// Fails a file that used up its attempts, saying so (under a short lease of the sweep's own).
    async fn give_up(
        &self,
        key: &shared::model::RecordingKey,
        f: &FileEntry,
        at: &Invocation,
    ) -> Result<bool, Error> {
        let lease = self
            .catalog
            .acquire(
                key,
                &f.file_id,
                at.now.timestamp_millis(),
                self.rules.lease.as_millis() as i64,
            )
            .await?;
        if !matches!(lease, Lease::Acquired(_)) {
            return Ok(false);
        }
        let reason = format!(
            "gave up after {} attempts; last error: {}",
            f.attempts,
            f.last_error.as_deref().unwrap_or("none recorded")
        );
        self.catalog.fail(key, &f.file_id, &reason).await?;
        tracing::warn!(recording = %key, file = %f.file_id, attempts = f.attempts, "file given up");
        Ok(true)
    }

    async fn download_dead_letters(
        &self,
        at: &Invocation,
        report: &mut Report,
    ) -> Result<(), Error> {
        let dlq = self.download_dlq.as_ref();
        for letter in dlq.receive(self.rules.batch as usize).await? {
            let Ok(msg) = serde_json::from_str::<DownloadMessage>(&letter.body) else {
                tracing::error!(
                    queue = dlq.name(),
                    "unreadable dead letter kept for inspection"
                );
                report.dead_letters_kept += 1;
                continue;
            };
            let file = self
                .catalog
                .list_files(&msg.recording)
                .await?
                .into_iter()
                .find(|f| f.file_id == msg.file_id);
            let Some(file) = file else {
                dlq.discard(&letter).await?;
                report.dead_letters_settled += 1;
                continue;
            };
            match self.verdict(&file, at.now.timestamp_millis()) {
                Verdict::Leave | Verdict::HandOver => {
                    // Done, failed, waiting for a due retry, or not handed over yet: nothing to re-drive.
                    dlq.discard(&letter).await?;
                    report.dead_letters_settled += 1;
                }
                Verdict::GiveUp => {
                    if self.give_up(&msg.recording, &file, at).await? {
                        report.files_given_up += 1;
                    }
                    dlq.discard(&letter).await?;
                    report.dead_letters_settled += 1;
                }
                Verdict::Redrive => {
                    dlq.redrive(&letter).await?;
                    report.dead_letters_redriven += 1;
                }
            }
        }
        Ok(())
    }

    /// Ends the quarantines that ran out ([`shared::quarantine::next`] decides each).
    async fn quarantines(&self, at: &Invocation, report: &mut Report) -> Result<(), Error> {
        for conn in self.config.connections().await? {
            let due = self
                .catalog
                .quarantine_due(&conn.id, at.now, self.rules.batch)
                .await?;
            for hold in due {
                self.end_quarantine(&hold, at, report).await?;
            }
        }
        Ok(())
    }

    async fn end_quarantine(
        &self,
        hold: &QuarantineHold,
        at: &Invocation,
        report: &mut Report,
    ) -> Result<(), Error> {
        let key = &hold.recording;
        let rec = CatalogReader::get_recording(&self.catalog, key).await?;
        match shared::quarantine::next(rec.as_ref(), at.now) {
            Next::Wait(why) => {
                tracing::info!(recording = %key, why, "quarantine: left for a later sweep");
                report.quarantine_waiting += 1;
            }
            Next::Release => self.catalog.release_quarantine(key).await?,
            Next::Keep { line } => {
                let Some(holder) = rec.as_ref().and_then(|r| r.owner.clone()) else {
                    return Ok(());
                };
                let kept = Assignment {
                    owner: holder,
                    rule: shared::quarantine::QUARANTINE_KEPT.into(),
                    line: line.clone(),
                    titled: None,
                };
                if self.catalog.end_quarantine(key, &kept, at.now).await? {
                    tracing::warn!(recording = %key, line, "quarantine ran out with the vendor copy gone: ours kept");
                    report.quarantine_kept += 1;
                }
                self.catalog.release_quarantine(key).await?;
            }
            Next::Expire { reason } => {
                let until = rec.as_ref().and_then(|r| r.quarantine_until);
                let Some(until) = until else {
                    return Ok(());
                };
                // The one write that decides between this expiry and an owner assigned meanwhile.
                if self
                    .catalog
                    .expire_quarantine(key, until, &reason, at.now)
                    .await?
                {
                    tracing::info!(recording = %key, %until, "quarantine expired: removing our copy");
                    report.quarantine_expired += 1;
                    self.finish_expiry(key, report).await?;
                }
            }
            Next::Finish => self.finish_expiry(key, report).await?,
        }
        Ok(())
    }

    /// After the expiry is recorded: our objects under the quarantine folder go, the files wait again, and the
    /// hold goes last (a sweep that dies half way is finished by the next).
    async fn finish_expiry(
        &self,
        key: &shared::model::RecordingKey,
        report: &mut Report,
    ) -> Result<(), Error> {
        let Some(rec) = CatalogReader::get_recording(&self.catalog, key).await? else {
            return self.catalog.release_quarantine(key).await;
        };
        let files = CatalogReader::list_files(&self.catalog, key).await?;
        let (remove, kept) = shared::quarantine::objects_to_remove(&rec, &files);
        for k in &remove {
            self.uploads.remove(k).await?;
            report.objects_removed += 1;
        }
        if !kept.is_empty() {
            tracing::warn!(recording = %key, kept = kept.len(), "objects outside the quarantine folder kept");
        }
        for f in files
            .iter()
            .filter(|f| matches!(f.state, FileState::Archived | FileState::Failed))
        {
            self.catalog.expire_file(key, &f.file_id).await?;
        }
        self.catalog.release_quarantine(key).await
    }

    async fn other_dead_letters(
        &self,
        dlq: &dyn DeadLetters,
        report: &mut Report,
    ) -> Result<(), Error> {
        for letter in dlq.receive(self.rules.batch as usize).await? {
            if letter.redrives >= self.rules.max_redrives {
                tracing::error!(
                    queue = dlq.name(),
                    redrives = letter.redrives,
                    "dead letter kept: re-driven too often; an admin must look"
                );
                report.dead_letters_kept += 1;
                continue;
            }
            dlq.redrive(&letter).await?;
            report.dead_letters_redriven += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::fakes::contract::{sample_file, sample_key, sample_recording};
    use shared::fakes::{MemoryCatalog, MemoryConfig, MemoryQueue, connection};
    use shared::ids::Vendor;
    use shared::ports::{DeadLetter, SecretString};
    use std::sync::{Arc, Mutex};

    /// A dead-letter queue in memory: what is in it, what was sent back, what was discarded.
    #[derive(Default, Clone)]
    struct MemoryDlq {
        letters: Arc<Mutex<Vec<DeadLetter>>>,
        redriven: Arc<Mutex<Vec<String>>>,
        discarded: Arc<Mutex<Vec<String>>>,
    }

    #[async_trait]
    impl DeadLetters for MemoryDlq {
        fn name(&self) -> &str {
            "memory-dlq"
        }
        async fn receive(&self, max: usize) -> Result<Vec<DeadLetter>, Error> {
            let mut l = self.letters.lock().unwrap();
            let n = l.len().min(max);
            Ok(l.drain(..n).collect())
        }
        async fn redrive(&self, letter: &DeadLetter) -> Result<(), Error> {
            self.redriven.lock().unwrap().push(letter.body.clone());
            Ok(())
        }
        async fn discard(&self, letter: &DeadLetter) -> Result<(), Error> {
            self.discarded.lock().unwrap().push(letter.body.clone());
            Ok(())
        }
    }

    #[derive(Default, Clone)]
    struct MemoryUploads {
        old: Arc<Mutex<Vec<(String, String)>>>,
        aborted: Arc<Mutex<Vec<String>>>,
        removed: Arc<Mutex<Vec<String>>>,
    }

    #[async_trait]
    impl RemoveObjects for MemoryUploads {
        async fn remove(&self, key: &str) -> Result<(), Error> {
            self.removed.lock().unwrap().push(key.to_owned());
            Ok(())
        }
    }

    #[async_trait]
    impl Uploads for MemoryUploads {
        async fn started_before(
            &self,
            _before: chrono::DateTime<chrono::Utc>,
        ) -> Result<Vec<(String, String)>, Error> {
            Ok(self.old.lock().unwrap().clone())
        }
        async fn abort(&self, _key: &str, id: &str) -> Result<(), Error> {
            self.aborted.lock().unwrap().push(id.to_owned());
            Ok(())
        }
    }

    struct World {
        sweeper: Sweeper<MemoryConfig, MemoryCatalog, MemoryQueue, MemoryUploads>,
        download_dlq: MemoryDlq,
        events_dlq: MemoryDlq,
    }

    fn world() -> World {
        let download_dlq = MemoryDlq::default();
        let events_dlq = MemoryDlq::default();
        World {
            sweeper: Sweeper {
                config: MemoryConfig {
                    connections: vec![connection(Vendor::Zoom)],
                    users: vec![],
                },
                catalog: MemoryCatalog::default(),
                owners: MemoryQueue::default(),
                downloads: MemoryQueue::default(),
                download_dlq: Box::new(download_dlq.clone()),
                other_dlqs: vec![Box::new(events_dlq.clone())],
                uploads: MemoryUploads::default(),
                rules: Rules {
                    stuck_after: Duration::from_secs(3600),
                    abandoned_after: Duration::from_secs(2 * 86_400),
                    max_attempts: 5,
                    max_redrives: 3,
                    batch: 100,
                    lease: Duration::from_secs(60),
                },
            },
            download_dlq,
            events_dlq,
        }
    }

    /// An `archiving` recording of the test connection that started `hours_ago`, with these files.
    fn recording(
        w: &World,
        name: &str,
        hours_ago: i64,
        files: Vec<FileEntry>,
    ) -> shared::model::RecordingKey {
        let conn = connection(Vendor::Zoom);
        let key = sample_key(name);
        let ids: Vec<String> = files.iter().map(|f| f.file_id.to_string()).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut rec = sample_recording(&key, RecordingState::Archiving, &ids, false);
        rec.connection_id = conn.id.clone();
        rec.tenant = conn.tenant.clone();
        rec.start_time = chrono::Utc::now() - chrono::Duration::hours(hours_ago);
        rec.updated_at = rec.start_time;
        w.sweeper.catalog.put_recording(rec);
        for f in files {
            w.sweeper.catalog.put_file(&key, f);
        }
        key
    }

    fn file(id: &str, state: FileState, edit: impl FnOnce(&mut FileEntry)) -> FileEntry {
        let mut f = sample_file(id, state, None);
        edit(&mut f);
        f
    }

    #[tokio::test]
    async fn stuck_files_are_redriven_handed_over_or_given_up_and_live_work_is_left_alone() {
        let w = world();
        let now = chrono::Utc::now().timestamp_millis();
        let key = recording(
            &w,
            "sweep-stuck",
            3,
            vec![
                // Killed mid-transfer: its lease ran out.
                file("killed", FileState::Downloading, |f| {
                    f.lease_until_ms = Some(now - 1_000);
                    f.attempts = 1;
                }),
                // Still being downloaded.
                file("live", FileState::Downloading, |f| {
                    f.lease_until_ms = Some(now + 600_000)
                }),
                // Waiting for a Retry-After that is not over.
                file("waiting", FileState::Retrying, |f| {
                    f.not_before_ms = Some(now + 3_600_000)
                }),
                // Its message went missing.
                file("lost", FileState::Queued, |_| {}),
                file("unhanded", FileState::Planned, |_| {}),
                file("hopeless", FileState::Retrying, |f| {
                    f.attempts = 5;
                    f.last_error = Some("storage: AccessDenied".into());
                }),
                file("done", FileState::Archived, |_| {}),
            ],
        );
        // A recording that started ten minutes ago is not stuck, whatever its files say.
        recording(
            &w,
            "sweep-young",
            0,
            vec![file("young", FileState::Queued, |_| {})],
        );
        // Nor one of a meeting long ago that arrived (or moved) just now: a backfill, a late delivery.
        let late = recording(
            &w,
            "sweep-late",
            48,
            vec![file("late", FileState::Queued, |_| {})],
        );
        let mut fresh = w.sweeper.catalog.entry(&late).unwrap();
        fresh.updated_at = chrono::Utc::now();
        w.sweeper.catalog.put_recording(fresh);
        let report = w
            .sweeper
            .handle(serde_json::json!({}), &Invocation::now())
            .await
            .unwrap();
        assert_eq!(report.recordings_checked, 1);
        let redriven: Vec<String> = w
            .sweeper
            .downloads
            .bodies()
            .iter()
            .map(|b| {
                serde_json::from_str::<DownloadMessage>(b)
                    .unwrap()
                    .file_id
                    .to_string()
            })
            .collect();
        assert_eq!(redriven, ["killed", "lost"]);
        let handed: ResolveOwnerMessage =
            serde_json::from_str(&w.sweeper.owners.bodies()[0]).unwrap();
        assert_eq!(handed.file_ids.len(), 1);
        assert_eq!(handed.file_ids[0].as_str(), "unhanded");
        assert_eq!(report.files_given_up, 1);
        let hopeless = w
            .sweeper
            .catalog
            .files(&key)
            .into_iter()
            .find(|f| f.file_id.as_str() == "hopeless")
            .unwrap();
        assert_eq!(hopeless.state, FileState::Failed);
        assert!(
            hopeless
                .last_error
                .unwrap()
                .contains("gave up after 5 attempts; last error: storage: AccessDenied")
        );
        assert_eq!(
            w.sweeper.catalog.entry(&key).unwrap().state,
            RecordingState::Failed,
            "visible to an admin, who can retry it"
        );
    }

    #[tokio::test]
    async fn dead_letters_are_redriven_while_their_work_waits_and_settled_or_kept_otherwise() {
        let w = world();
        let key = recording(
            &w,
            "sweep-dlq",
            0,
            vec![
                file("pending", FileState::Retrying, |_| {}),
                file("finished", FileState::Archived, |_| {}),
            ],
        );
        let job = |id: &str| {
            serde_json::to_string(&DownloadMessage {
                connection_id: connection(Vendor::Zoom).id,
                recording: key.clone(),
                file_id: shared::ids::FileId::parse(id).unwrap(),
                continuation: 0,
            })
            .unwrap()
        };
        let letter = |body: String, redrives| DeadLetter {
            body,
            receipt: SecretString::new("r"),
            redrives,
        };
        *w.download_dlq.letters.lock().unwrap() = vec![
            letter(job("pending"), 0),
            letter(job("finished"), 0),
            letter("not json".into(), 0),
        ];
        *w.events_dlq.letters.lock().unwrap() =
            vec![letter("{\"a\":1}".into(), 0), letter("{\"b\":2}".into(), 3)];
        w.sweeper
            .uploads
            .old
            .lock()
            .unwrap()
            .push(("k".into(), "u-old".into()));
        let report = w
            .sweeper
            .handle(serde_json::json!({}), &Invocation::now())
            .await
            .unwrap();
        assert_eq!(*w.download_dlq.redriven.lock().unwrap(), [job("pending")]);
        assert_eq!(*w.download_dlq.discarded.lock().unwrap(), [job("finished")]);
        assert_eq!(*w.events_dlq.redriven.lock().unwrap(), ["{\"a\":1}"]);
        assert_eq!(
            report.dead_letters_kept, 2,
            "the unreadable one and the one re-driven too often"
        );
        assert_eq!(*w.sweeper.uploads.aborted.lock().unwrap(), ["u-old"]);
        assert_eq!(report.uploads_aborted, 1);
    }

    /// A recording archived in quarantine until `until`, with an archived file under the quarantine folder and
    /// a deletion planned; listed in the quarantine index.
    async fn quarantined(
        w: &World,
        name: &str,
        until: chrono::DateTime<chrono::Utc>,
    ) -> shared::model::RecordingKey {
        use shared::catalog::OwnerCatalog;
        let key = recording(
            w,
            name,
            30,
            vec![file("v", FileState::Archived, |f| {
                f.s3_key = format!("tenants/uni/quarantine/zoom/{name}/v.mp4");
                f.stored = None;
            })],
        );
        let mut rec = w.sweeper.catalog.entry(&key).unwrap();
        rec.state = RecordingState::Archived;
        rec.done_ids = rec.file_ids.clone();
        rec.owner = Some(shared::ids::UserId::parse("media").unwrap());
        rec.owner_rule = Some(shared::owner::QUARANTINE.into());
        rec.quarantine_until = Some(until);
        rec.deletion = Some(shared::deletion::plan(
            &shared::config::DeletePlan::Retain,
            until,
            until,
            until,
            |_| Default::default(),
        ));
        w.sweeper.catalog.put_recording(rec);
        w.sweeper
            .catalog
            .hold_quarantine(&QuarantineHold {
                recording: key.clone(),
                connection_id: connection(Vendor::Zoom).id,
                until,
            })
            .await
            .unwrap();
        key
    }

    #[tokio::test]
    async fn an_expired_quarantine_removes_our_copy_only_and_an_owner_assigned_first_keeps_it() {
        use shared::catalog::OwnerCatalog;
        let w = world();
        let now = chrono::Utc::now();
        let expired = quarantined(&w, "q-expired", now - chrono::Duration::minutes(5)).await;
        let assigned = quarantined(&w, "q-assigned", now - chrono::Duration::minutes(5)).await;
        let running = quarantined(&w, "q-running", now + chrono::Duration::hours(3)).await;
        // An admin assigns an owner to one before the sweep.
        let a = Assignment {
            owner: shared::ids::UserId::parse("prof").unwrap(),
            rule: shared::quarantine::ASSIGNED.into(),
            line: "assigned: prof, by an admin".into(),
            titled: None,
        };
        assert!(
            w.sweeper
                .catalog
                .end_quarantine(&assigned, &a, now)
                .await
                .unwrap()
        );

        let report = w
            .sweeper
            .handle(serde_json::json!({}), &Invocation::now())
            .await
            .unwrap();
        assert_eq!(
            (
                report.quarantine_expired,
                report.objects_removed,
                report.quarantine_waiting
            ),
            (1, 1, 0),
            "{report:?}"
        );
        assert_eq!(
            *w.sweeper.uploads.removed.lock().unwrap(),
            ["tenants/uni/quarantine/zoom/q-expired/v.mp4"],
            "only the expired recording's object"
        );
        let rec = w.sweeper.catalog.entry(&expired).unwrap();
        assert_eq!(
            (
                rec.state,
                rec.owner_rule.as_deref(),
                rec.owner.as_ref(),
                rec.deletion.as_ref()
            ),
            (
                RecordingState::Skipped,
                Some("quarantine_expired"),
                None,
                None
            )
        );
        assert!(
            rec.skip_reason
                .as_deref()
                .unwrap()
                .contains("retry --instance")
        );
        assert!(rec.skipped_at_owner(), "retry archives it again");
        let files = w.sweeper.catalog.files(&expired);
        assert_eq!(
            files[0].state,
            FileState::Planned,
            "waits for the vendor copy again"
        );
        // The assigned one keeps its copy and owner; the running one is untouched; the index keeps only it.
        let kept = OwnerCatalog::get_recording(&w.sweeper.catalog, &assigned)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (
                kept.state,
                kept.owner.unwrap().as_str(),
                kept.owner_rule.as_deref()
            ),
            (RecordingState::Archived, "prof", Some("assigned"))
        );
        assert_eq!(
            w.sweeper.catalog.files(&assigned)[0].state,
            FileState::Archived
        );
        assert_eq!(
            w.sweeper
                .catalog
                .quarantine_holds()
                .iter()
                .map(|h| &h.recording)
                .collect::<Vec<_>>(),
            [&running]
        );
        // A second sweep does nothing more.
        let again = w
            .sweeper
            .handle(serde_json::json!({}), &Invocation::now())
            .await
            .unwrap();
        assert_eq!((again.quarantine_expired, again.objects_removed), (0, 0));
    }

    #[tokio::test]
    async fn a_sweep_that_died_after_the_expiry_is_finished_and_one_in_transfer_waits() {
        let w = world();
        let past = chrono::Utc::now() - chrono::Duration::minutes(5);
        let key = quarantined(&w, "q-half", past).await;
        // The expiry was recorded, then the sweep died: objects and files are left.
        assert!(
            w.sweeper
                .catalog
                .expire_quarantine(&key, past, "expired", chrono::Utc::now())
                .await
                .unwrap()
        );
        let busy = quarantined(&w, "q-busy", past).await;
        let mut rec = w.sweeper.catalog.entry(&busy).unwrap();
        rec.state = RecordingState::Archiving;
        w.sweeper.catalog.put_recording(rec);

        let report = w
            .sweeper
            .handle(serde_json::json!({}), &Invocation::now())
            .await
            .unwrap();
        assert_eq!(
            (report.objects_removed, report.quarantine_waiting),
            (1, 1),
            "{report:?}"
        );
        assert_eq!(w.sweeper.catalog.files(&key)[0].state, FileState::Planned);
        assert_eq!(
            w.sweeper
                .catalog
                .quarantine_holds()
                .iter()
                .map(|h| &h.recording)
                .collect::<Vec<_>>(),
            [&busy],
            "the finished hold is gone; the busy one stays"
        );
    }

    #[tokio::test]
    async fn a_quarantine_whose_vendor_copy_is_gone_keeps_ours() {
        let w = world();
        let past = chrono::Utc::now() - chrono::Duration::minutes(5);
        let key = quarantined(&w, "q-only", past).await;
        let mut rec = w.sweeper.catalog.entry(&key).unwrap();
        rec.removed_at_vendor = Some(shared::catalog::VendorRemoval {
            event: "recording.deleted".into(),
            operator: None,
            at: past,
            archived_before: true,
        });
        w.sweeper.catalog.put_recording(rec);
        let report = w
            .sweeper
            .handle(serde_json::json!({}), &Invocation::now())
            .await
            .unwrap();
        assert_eq!(
            (report.quarantine_kept, report.objects_removed),
            (1, 0),
            "{report:?}"
        );
        let rec = w.sweeper.catalog.entry(&key).unwrap();
        assert_eq!(
            (rec.state, rec.owner_rule.as_deref(), rec.quarantine_until),
            (RecordingState::Archived, Some("quarantine_kept"), None)
        );
        assert!(w.sweeper.uploads.removed.lock().unwrap().is_empty());
    }
}
