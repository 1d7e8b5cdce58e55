//! The catalog in memory: every port of [`crate::catalog`], applying the domain's state machine
//! ([`crate::state`]) directly. Handlers' unit tests run on it; `fakes::contract` checks it, and the DynamoDB
//! adapter, against the rules.

use crate::catalog::*;
use crate::error::{Class, Error, Kind};
use crate::ids::{FileId, TenantId};
use crate::model::{DownloadSource, RecordingKey, RecordingState};
use crate::state::{self, FileFacts, FileStep, RecordingStep, StepInput};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Store {
    recordings: HashMap<RecordingKey, RecordingEntry>,
    files: HashMap<RecordingKey, BTreeMap<String, FileEntry>>,
    audit: HashMap<RecordingKey, Vec<crate::deletion::AuditRecord>>,
    quarantine: HashMap<RecordingKey, QuarantineHold>,
}

/// A catalog in memory. Clones share the same store. [`MemoryCatalog::fail`] makes an operation fail
/// transiently (an outage), to test what a stage does then.
#[derive(Default, Clone)]
pub struct MemoryCatalog {
    store: Arc<Mutex<Store>>,
    failing: Arc<Mutex<HashSet<&'static str>>>,
}

fn missing(what: &str, key: &RecordingKey) -> Error {
    Error::new(
        Class::Permanent,
        Kind::NotFound,
        format!("{what} {key} does not exist"),
    )
}

fn facts(f: &FileEntry) -> FileFacts {
    FileFacts {
        state: f.state,
        lease_until_ms: f.lease_until_ms,
        source_issued_at_ms: f.source_issued_at_ms,
    }
}

impl MemoryCatalog {
    /// From now on, `operation` (a port method's name, e.g. `mark_archived`) fails transiently.
    pub fn fail(&self, operation: &'static str) {
        self.failing.lock().unwrap().insert(operation);
    }
    /// `operation` works again.
    pub fn heal(&self, operation: &'static str) {
        self.failing.lock().unwrap().remove(operation);
    }
    fn check(&self, operation: &'static str) -> Result<(), Error> {
        if self.failing.lock().unwrap().contains(operation) {
            return Err(Error::transient("catalog unavailable")
                .kind_of(Kind::Aws)
                .op(operation));
        }
        Ok(())
    }

    /// The stored entry of a recording.
    pub fn entry(&self, key: &RecordingKey) -> Option<RecordingEntry> {
        self.store.lock().unwrap().recordings.get(key).cloned()
    }
    /// Every recording, in no particular order.
    pub fn recordings(&self) -> Vec<RecordingEntry> {
        self.store
            .lock()
            .unwrap()
            .recordings
            .values()
            .cloned()
            .collect()
    }
    /// Every file of a recording, by file id.
    pub fn files(&self, key: &RecordingKey) -> Vec<FileEntry> {
        self.store
            .lock()
            .unwrap()
            .files
            .get(key)
            .map(|f| f.values().cloned().collect())
            .unwrap_or_default()
    }
    /// Stores an entry as given (for tests that start from a state).
    pub fn put_recording(&self, entry: RecordingEntry) {
        self.store
            .lock()
            .unwrap()
            .recordings
            .insert(entry.key(), entry);
    }
    /// Stores a file as given (for tests that start from a state).
    pub fn put_file(&self, key: &RecordingKey, file: FileEntry) {
        self.store
            .lock()
            .unwrap()
            .files
            .entry(key.clone())
            .or_default()
            .insert(file.file_id.to_string(), file);
    }

    /// Applies `step` to a file if the rules allow it; `None` if they do not (or it is absent).
    fn file_step(
        &self,
        key: &RecordingKey,
        id: &FileId,
        step: FileStep,
        input: StepInput,
        change: impl FnOnce(&mut FileEntry),
    ) -> Option<FileEntry> {
        let mut store = self.store.lock().unwrap();
        let f = store.files.get_mut(key)?.get_mut(id.as_str())?;
        if !state::file_allows(step, Some(&facts(f)), input) {
            return None;
        }
        if let Some(to) = step.to() {
            f.state = to;
        }
        change(f);
        Some(f.clone())
    }

    /// Applies a recording step if the rules allow it. `true` if applied.
    fn recording_step(&self, key: &RecordingKey, step: RecordingStep, now: DateTime<Utc>) -> bool {
        let mut store = self.store.lock().unwrap();
        let Some(rec) = store.recordings.get_mut(key) else {
            return false;
        };
        if !state::recording_allows(step, Some(rec.state), rec.all_done()) {
            return false;
        }
        rec.state = step.to();
        rec.updated_at = now;
        if step == RecordingStep::Archive {
            rec.archived_at = Some(now);
        }
        true
    }

    fn update_recording<T>(
        &self,
        key: &RecordingKey,
        change: impl FnOnce(&mut RecordingEntry) -> T,
    ) -> Result<T, Error> {
        let mut store = self.store.lock().unwrap();
        let rec = store
            .recordings
            .get_mut(key)
            .ok_or_else(|| missing("recording", key))?;
        rec.updated_at = Utc::now();
        Ok(change(rec))
    }

    fn file(&self, key: &RecordingKey, id: &FileId) -> Option<FileEntry> {
        self.store
            .lock()
            .unwrap()
            .files
            .get(key)
            .and_then(|f| f.get(id.as_str()))
            .cloned()
    }
}

#[async_trait]
impl RemovalCatalog for MemoryCatalog {
    async fn record_removal(
        &self,
        key: &RecordingKey,
        removal: &VendorRemoval,
    ) -> Result<RemovalOutcome, Error> {
        self.check("record_removal")?;
        if self.entry(key).is_none() {
            return Ok(RemovalOutcome::Unknown);
        }
        self.update_recording(key, |r| {
            if crate::deletion::is_ours(r.deletion.as_ref()) {
                RemovalOutcome::Ours
            } else {
                let archived_before = r.all_done();
                r.removed_at_vendor = Some(VendorRemoval {
                    archived_before,
                    ..removal.clone()
                });
                RemovalOutcome::Recorded { archived_before }
            }
        })
    }
}

#[async_trait]
impl IngestCatalog for MemoryCatalog {
    async fn upsert_recording(
        &self,
        entry: &RecordingEntry,
        file_ids: &[FileId],
    ) -> Result<RecordingEntry, Error> {
        self.check("upsert_recording")?;
        let key = entry.key();
        let rec = {
            let mut store = self.store.lock().unwrap();
            let rec = store.recordings.entry(key.clone()).or_insert_with(|| {
                // The first delivery's descriptive attributes; the managed ones start empty.
                RecordingEntry {
                    state: RecordingStep::Create.to(),
                    owner: None,
                    owner_rule: None,
                    owner_trace: Vec::new(),
                    attendees: None,
                    file_ids: Default::default(),
                    done_ids: Default::default(),
                    failed_ids: Default::default(),
                    archived_at: None,
                    deletion: None,
                    ..entry.clone()
                }
            });
            rec.file_ids.extend(file_ids.iter().map(|f| f.to_string()));
            rec.vendor_recording_ids
                .extend(entry.vendor_recording_ids.iter().cloned());
            rec.ingest_notes.extend(entry.ingest_notes.iter().cloned());
            rec.skipped_files
                .extend(entry.skipped_files.iter().cloned());
            rec.updated_at = entry.updated_at;
            rec.clone()
        };
        if let Some(step) = state::after_delivery(rec.state, rec.all_done()) {
            self.recording_step(&key, step, entry.updated_at);
        }
        Ok(self.entry(&key).expect("just stored"))
    }

    async fn retry_owner(&self, key: &RecordingKey, now: DateTime<Utc>) -> Result<bool, Error> {
        self.check("retry_owner")?;
        if !self.recording_step(key, RecordingStep::OwnerRetry, now) {
            return Ok(false);
        }
        self.update_recording(key, |r| r.skip_reason = None)?;
        Ok(true)
    }

    async fn record_skip(&self, entry: &RecordingEntry, reason: &str) -> Result<bool, Error> {
        self.check("record_skip")?;
        let key = entry.key();
        let mut store = self.store.lock().unwrap();
        let known = store.recordings.get(&key).map(|r| r.state);
        if !state::recording_allows(RecordingStep::Skip, known, false) {
            return Ok(false);
        }
        let skipped = RecordingEntry {
            state: RecordingStep::Skip.to(),
            skip_reason: Some(reason.to_owned()),
            file_ids: Default::default(),
            ..entry.clone()
        };
        store.recordings.insert(key, skipped);
        Ok(true)
    }

    async fn create_file(&self, key: &RecordingKey, file: &FileEntry) -> Result<bool, Error> {
        self.check("create_file")?;
        let mut store = self.store.lock().unwrap();
        let files = store.files.entry(key.clone()).or_default();
        let existing = files.get(file.file_id.as_str()).map(facts);
        if !state::file_allows(FileStep::Create, existing.as_ref(), StepInput::default()) {
            return Ok(false);
        }
        files.insert(file.file_id.to_string(), file.clone());
        Ok(true)
    }

    async fn refresh_source(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        source: &DownloadSource,
        issued_at_ms: i64,
    ) -> Result<bool, Error> {
        self.check("refresh_source")?;
        let input = StepInput {
            issued_at_ms,
            ..Default::default()
        };
        Ok(self
            .file_step(key, file_id, FileStep::RefreshSource, input, |f| {
                f.source = Some(source.clone());
                f.source_issued_at_ms = issued_at_ms;
            })
            .is_some())
    }

    async fn get_file(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
    ) -> Result<Option<FileEntry>, Error> {
        self.check("get_file")?;
        Ok(self.file(key, file_id))
    }

    async fn supersede_file(
        &self,
        key: &RecordingKey,
        read_key: &str,
        next: &FileEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        self.check("supersede_file")?;
        let same_version = self
            .file(key, &next.file_id)
            .is_some_and(|f| f.s3_key == read_key);
        if !same_version
            || self
                .file_step(
                    key,
                    &next.file_id,
                    FileStep::Supersede,
                    StepInput::default(),
                    |f| {
                        *f = next.clone();
                    },
                )
                .is_none()
        {
            return Ok(false);
        }
        let (state, all_done) = self.update_recording(key, |r| {
            r.done_ids.remove(next.file_id.as_str());
            (r.state, r.all_done())
        })?;
        if let Some(step) = state::after_delivery(state, all_done) {
            self.recording_step(key, step, now);
        }
        Ok(true)
    }

    async fn reopen_file(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        source: Option<(&DownloadSource, i64)>,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        self.check("reopen_file")?;
        let reopened = self.file_step(key, file_id, FileStep::Reopen, StepInput::default(), |f| {
            f.attempts = 0;
            (f.last_error, f.lease_until_ms, f.checkpoint) = (None, None, None);
            if let Some((src, issued)) = source {
                f.source = Some(src.clone());
                f.source_issued_at_ms = issued;
            }
        });
        if reopened.is_none() {
            return Ok(false);
        }
        let none_failed = self.update_recording(key, |r| {
            r.failed_ids.remove(file_id.as_str());
            r.failed_ids.is_empty()
        })?;
        if none_failed {
            self.recording_step(key, RecordingStep::Retry, now);
        }
        Ok(true)
    }
}

impl MemoryCatalog {
    /// The quarantine index, soonest first.
    pub fn quarantine_holds(&self) -> Vec<QuarantineHold> {
        let mut all: Vec<QuarantineHold> = self
            .store
            .lock()
            .unwrap()
            .quarantine
            .values()
            .cloned()
            .collect();
        all.sort_by_key(|h| h.until);
        all
    }
}

#[async_trait]
impl QuarantineCatalog for MemoryCatalog {
    async fn quarantine_due(
        &self,
        connection: &crate::ids::ConnectionId,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<QuarantineHold>, Error> {
        self.check("quarantine_due")?;
        Ok(self
            .quarantine_holds()
            .into_iter()
            .filter(|h| &h.connection_id == connection && h.until <= now)
            .take(limit.max(1) as usize)
            .collect())
    }

    async fn expire_quarantine(
        &self,
        key: &RecordingKey,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        self.check("expire_quarantine")?;
        let step = RecordingStep::QuarantineExpire;
        if self.entry(key).and_then(|r| r.quarantine_until) != Some(until)
            || !self.recording_step(key, step, now)
        {
            return Ok(false);
        }
        self.update_recording(key, |r| {
            r.owner = None;
            r.owner_rule = Some(crate::routing::QUARANTINE_EXPIRED.into());
            r.skip_reason = Some(reason.to_owned());
            r.owner_trace.push(reason.to_owned());
            r.done_ids.clear();
            r.failed_ids.clear();
            r.archived_at = None;
            r.deletion = None;
            r.quarantine_until = None;
        })?;
        Ok(true)
    }

    async fn expire_file(&self, key: &RecordingKey, file_id: &FileId) -> Result<bool, Error> {
        self.check("expire_file")?;
        Ok(self
            .file_step(key, file_id, FileStep::Expire, StepInput::default(), |f| {
                f.stored = None;
                f.attempts = 0;
                f.last_error = None;
                f.checkpoint = None;
                f.lease_until_ms = None;
                f.not_before_ms = None;
            })
            .is_some())
    }

    async fn end_quarantine(
        &self,
        key: &RecordingKey,
        a: &Assignment,
        _now: DateTime<Utc>,
    ) -> Result<bool, Error> {
        self.check("end_quarantine")?;
        if self.entry(key).is_none_or(|r| r.quarantine_until.is_none()) {
            return Ok(false);
        }
        self.update_recording(key, |r| {
            r.owner = Some(a.owner.clone());
            r.owner_rule = Some(a.rule.clone());
            r.owner_trace.push(a.line.clone());
            if a.titled.is_some() {
                r.titled = a.titled.clone();
            }
            r.quarantine_until = None;
        })?;
        Ok(true)
    }

    async fn release_quarantine(&self, key: &RecordingKey) -> Result<(), Error> {
        self.check("release_quarantine")?;
        self.store.lock().unwrap().quarantine.remove(key);
        Ok(())
    }
}

#[async_trait]
impl OwnerCatalog for MemoryCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        self.check("get_recording")?;
        Ok(self.entry(key))
    }

    async fn skip_at_owner(
        &self,
        key: &RecordingKey,
        rule: &str,
        reason: &str,
        trace: &[String],
    ) -> Result<bool, Error> {
        self.check("skip_at_owner")?;
        if !self.recording_step(key, RecordingStep::OwnerSkip, Utc::now()) {
            return Ok(false);
        }
        self.update_recording(key, |r| {
            r.skip_reason = Some(reason.to_owned());
            r.owner_rule = Some(rule.to_owned());
            r.owner_trace = trace.to_vec();
        })?;
        Ok(true)
    }

    async fn set_owner(&self, key: &RecordingKey, placement: &Placement) -> Result<(), Error> {
        self.check("set_owner")?;
        self.update_recording(key, |r| {
            r.owner = Some(placement.owner.clone());
            r.owner_rule = Some(placement.rule.clone());
            r.owner_trace = placement.trace.clone();
            r.categories = placement.categories.clone();
            r.s3_prefix = placement.s3_prefix.clone();
            if placement.titled.is_some() {
                r.titled = placement.titled.clone();
            }
            r.quarantine_until = placement.quarantine_until;
        })?;
        self.recording_step(key, RecordingStep::OwnerSet, Utc::now());
        Ok(())
    }

    async fn get_file(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
    ) -> Result<Option<FileEntry>, Error> {
        IngestCatalog::get_file(self, key, file_id).await
    }

    async fn set_attendees(&self, key: &RecordingKey, attendees: &Attendees) -> Result<(), Error> {
        self.check("set_attendees")?;
        self.update_recording(key, |r| r.attendees = Some(attendees.clone()))
    }

    async fn hold_quarantine(&self, hold: &QuarantineHold) -> Result<(), Error> {
        self.check("hold_quarantine")?;
        self.store
            .lock()
            .unwrap()
            .quarantine
            .insert(hold.recording.clone(), hold.clone());
        Ok(())
    }

    async fn mark_queued(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        s3_key: &str,
    ) -> Result<bool, Error> {
        self.check("mark_queued")?;
        Ok(self
            .file_step(key, file_id, FileStep::Queue, StepInput::default(), |f| {
                f.s3_key = s3_key.to_owned()
            })
            .is_some())
    }
}

#[async_trait]
impl TransferCatalog for MemoryCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        OwnerCatalog::get_recording(self, key).await
    }

    async fn acquire(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Lease, Error> {
        self.check("acquire")?;
        let input = StepInput {
            now_ms,
            ..Default::default()
        };
        let got = self.file_step(key, file_id, FileStep::Acquire, input, |f| {
            f.lease_until_ms = Some(now_ms + lease_ms);
            f.attempts += 1;
        });
        Ok(match got {
            Some(f) => Lease::Acquired(Box::new(f)),
            None => state::lease_refused(self.file(key, file_id).map(|f| f.state)),
        })
    }

    async fn complete(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        stored: &StoredObject,
    ) -> Result<(), Error> {
        self.check("complete")?;
        self.file_step(
            key,
            file_id,
            FileStep::Complete,
            StepInput::default(),
            |f| {
                f.stored = Some(stored.clone());
                f.s3_key = stored.key.clone();
                (f.source, f.lease_until_ms, f.last_error) = (None, None, None);
                f.checkpoint = None;
            },
        );
        Ok(())
    }

    async fn checkpoint(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        lease_until_ms: i64,
        checkpoint: &Checkpoint,
    ) -> Result<bool, Error> {
        self.check("checkpoint")?;
        let input = StepInput {
            lease_until_ms,
            ..Default::default()
        };
        Ok(self
            .file_step(key, file_id, FileStep::Checkpoint, input, |f| {
                f.checkpoint = Some(checkpoint.clone());
            })
            .is_some())
    }

    async fn retry_later(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        error: &str,
        not_before_ms: i64,
    ) -> Result<(), Error> {
        self.check("retry_later")?;
        self.file_step(
            key,
            file_id,
            FileStep::RetryLater,
            StepInput::default(),
            |f| {
                f.last_error = Some(error.to_owned());
                f.lease_until_ms = None;
                f.not_before_ms = Some(not_before_ms);
            },
        );
        Ok(())
    }

    async fn fail(&self, key: &RecordingKey, file_id: &FileId, error: &str) -> Result<(), Error> {
        self.check("fail")?;
        let applied = self.file_step(key, file_id, FileStep::Fail, StepInput::default(), |f| {
            f.last_error = Some(error.to_owned());
            (f.lease_until_ms, f.checkpoint) = (None, None);
        });
        if applied.is_none() {
            // Another worker finished the file meanwhile; the recording is not ours to fail.
            return Ok(());
        }
        self.update_recording(key, |r| r.failed_ids.insert(file_id.to_string()))?;
        self.recording_step(key, RecordingStep::Fail, Utc::now());
        Ok(())
    }

    async fn mark_done(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
    ) -> Result<RecordingEntry, Error> {
        self.check("mark_done")?;
        self.update_recording(key, |r| {
            r.done_ids.insert(file_id.to_string());
            r.clone()
        })
    }

    async fn mark_archived(&self, key: &RecordingKey, now: DateTime<Utc>) -> Result<bool, Error> {
        self.check("mark_archived")?;
        Ok(self.recording_step(key, RecordingStep::Archive, now))
    }
}

#[async_trait]
impl DeletionCatalog for MemoryCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        OwnerCatalog::get_recording(self, key).await
    }

    async fn set_deletion(
        &self,
        key: &RecordingKey,
        deletion: &DeletionEntry,
        prev: Option<u64>,
    ) -> Result<bool, Error> {
        self.check("set_deletion")?;
        self.update_recording(key, |r| {
            let allowed = match (&r.deletion, prev) {
                (None, None) => true,
                (Some(d), Some(rev)) => d.rev == rev && d.status.may_replan(),
                _ => false,
            };
            if allowed {
                r.deletion = Some(deletion.clone());
            }
            allowed
        })
    }
}

#[async_trait]
impl DeleterCatalog for MemoryCatalog {
    async fn due(
        &self,
        connection: &crate::ids::ConnectionId,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<RecordingEntry>, Error> {
        self.check("due")?;
        // As the index: by the second, soonest first.
        let second = |t: DateTime<Utc>| t.timestamp();
        let mut due: Vec<(i64, String, RecordingEntry)> = self
            .recordings()
            .into_iter()
            .filter(|r| &r.connection_id == connection)
            .filter_map(|r| {
                let at = r.deletion.as_ref()?.next_look()?;
                (second(at) <= second(now)).then(|| (second(at), r.key().partition_key(), r))
            })
            .collect();
        due.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Ok(due
            .into_iter()
            .take(limit.max(1) as usize)
            .map(|(_, _, r)| r)
            .collect())
    }

    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        OwnerCatalog::get_recording(self, key).await
    }

    async fn list_files(&self, key: &RecordingKey) -> Result<Vec<FileEntry>, Error> {
        CatalogReader::list_files(self, key).await
    }

    async fn update_deletion(
        &self,
        key: &RecordingKey,
        rev: u64,
        next: &DeletionEntry,
    ) -> Result<bool, Error> {
        self.check("update_deletion")?;
        self.update_recording(key, |r| {
            let ours = r.deletion.as_ref().is_some_and(|d| d.rev == rev);
            if ours {
                r.deletion = Some(next.clone());
            }
            ours
        })
    }

    async fn put_audit(&self, record: &crate::deletion::AuditRecord) -> Result<(), Error> {
        self.check("put_audit")?;
        let mut store = self.store.lock().unwrap();
        let records = store.audit.entry(record.recording.clone()).or_default();
        if records
            .iter()
            .any(|r| r.at == record.at && r.attempt == record.attempt)
        {
            return Err(Error::permanent("audit records are never overwritten"));
        }
        records.push(record.clone());
        Ok(())
    }

    async fn audit(&self, key: &RecordingKey) -> Result<Vec<crate::deletion::AuditRecord>, Error> {
        self.check("audit")?;
        Ok(self
            .store
            .lock()
            .unwrap()
            .audit
            .get(key)
            .cloned()
            .unwrap_or_default())
    }
}

#[async_trait]
impl CatalogReader for MemoryCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error> {
        OwnerCatalog::get_recording(self, key).await
    }

    async fn list_files(&self, key: &RecordingKey) -> Result<Vec<FileEntry>, Error> {
        self.check("list_files")?;
        Ok(self.files(key))
    }

    async fn list_by_state(
        &self,
        tenant: &TenantId,
        state: RecordingState,
        limit: i32,
    ) -> Result<Vec<RecordingEntry>, Error> {
        self.check("list_by_state")?;
        let mut found: Vec<_> = self
            .recordings()
            .into_iter()
            .filter(|r| &r.tenant == tenant && r.state == state)
            .collect();
        found.sort_by(|a, b| {
            (b.start_time, b.key().partition_key()).cmp(&(a.start_time, a.key().partition_key()))
        });
        found.truncate(limit.max(1) as usize);
        Ok(found)
    }

    async fn list_started_before(
        &self,
        tenant: &TenantId,
        state: RecordingState,
        before: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<RecordingEntry>, Error> {
        self.check("list_started_before")?;
        let mut found: Vec<_> = self
            .recordings()
            .into_iter()
            .filter(|r| &r.tenant == tenant && r.state == state && r.start_time < before)
            .collect();
        found.sort_by_key(|r| (r.start_time, r.key().partition_key()));
        found.truncate(limit.max(1) as usize);
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_catalog_follows_the_state_machine() {
        let c = MemoryCatalog::default();
        let disagreements = crate::fakes::contract::check(&c, &c).await;
        assert!(disagreements.is_empty(), "{disagreements:#?}");
    }

    #[tokio::test]
    async fn an_operation_made_to_fail_fails_transiently_until_healed() {
        let c = MemoryCatalog::default();
        let key = crate::fakes::contract::sample_key("x");
        c.fail("mark_archived");
        let e = c.mark_archived(&key, Utc::now()).await.unwrap_err();
        assert_eq!((e.class(), e.kind()), (Class::Retryable, Kind::Aws));
        c.heal("mark_archived");
        assert!(!c.mark_archived(&key, Utc::now()).await.unwrap());
    }
}
