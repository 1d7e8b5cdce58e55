//! Deleter (scheduled): deletes the vendor copies whose deletion is due, each only after proving our copy
//! whole. For every enabled connection it takes at most `batch` due recordings from the catalog's due index
//! (no look-back window: a deletion due in 400 days is found on day 400) and, for each:
//!
//! 1. **claims** it (a conditional write on the entry's revision: of two sweeps, one wins; a claim that a dead
//!    sweep left runs out and is taken again);
//! 2. **verifies** it ([`shared::deletion::verify`]): every file archived in the catalog, its S3 object there
//!    now with the catalogued size and SHA-256 tag (re-read from S3), and the vendor still listing the same
//!    files with the same sizes;
//! 3. **calls** the vendor (each vendor's `deletion::delete`) only if every check passed;
//! 4. **audits** the attempt (evidence, listing, calls and answers) in a record that is never changed, then
//!    **settles** the entry ([`shared::deletion::settle`]): deleted, already gone, retrying, paused, refused or
//!    failed, with the reason.
//!
//! A disabled connection's deletions wait (counted as paused); a connection whose plan is now `retain` keeps
//! its vendor copies. [`Deleter::preview`] runs steps 2 without claiming or calling: the dry run.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shared::batch::{Handler, Invocation};
use shared::catalog::{DeleterCatalog, DeletionStatus, RecordingEntry};
use shared::config::{Connection, DeletePlan, DeleteScope};
use shared::deletion::{
    self, AuditRecord, FileEvidence, Settlement, StoredEvidence, VendorListing, Verdict,
};
use shared::error::Error;
use shared::ids::ConnectionId;
use shared::ports::{ConnectionList, Queue, StoredObjects, VendorCopies, send_json};
use std::collections::BTreeMap;

/// How much one run does, and who it says it is in the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Due recordings taken per connection in one run.
    pub batch: i32,
    /// Written into each audit record (`deletion sweep`, `archiver-admin deletions --execute`).
    pub by: String,
}

/// What to sweep: every connection (the schedule's empty input), or one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Request {
    #[serde(default)]
    pub connection: Option<ConnectionId>,
}

/// What one run did (logged, and the function's result).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub connections: usize,
    /// Due recordings of disabled connections, left waiting.
    pub paused_connections: usize,
    pub due: usize,
    /// Due, but another sweep held or settled them first.
    pub skipped: usize,
    /// How the attempts ended, by the status they left.
    pub ended: BTreeMap<String, usize>,
    /// Attempts that could not be recorded (the catalog failed); their claim runs out and they are tried
    /// again.
    pub errors: usize,
    /// Connections whose vendor refused our credentials in this run: the rest of their due recordings was
    /// left for the next run (an hour later for the refused one), so that bad credentials are not tried on
    /// every recording. An admin fixes the credentials; the deletions then resume by themselves.
    pub credentials_refused: Vec<String>,
}

/// The dry run's finding for one due recording: what the sweep would do now, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preview {
    pub recording: String,
    pub topic: String,
    pub status: DeletionStatus,
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `delete` (with the files), `already_gone`, or how the attempt would end without a call.
    pub would: Settlement,
    /// The files that would be deleted (their ids), when it would delete.
    pub files: Vec<String>,
    pub calls: Vec<String>,
}

pub struct Deleter<C, K, S, V, Q> {
    pub config: C,
    pub catalog: K,
    pub objects: S,
    pub vendors: V,
    /// The events queue: a recording the vendor lists with files we never archived goes back through
    /// enqueue (as `zoom::ingest::API_RECORDING`) to be archived before it is deleted.
    pub events: Q,
    pub rules: Rules,
}

/// What verifying one recording found.
struct Checked {
    evidence: Vec<FileEvidence>,
    vendor: Option<VendorListing>,
    next: Next,
}

enum Next {
    /// Every check passed: delete these files (ids).
    Call(Vec<String>),
    /// The attempt ends without a call.
    End(Settlement),
}

#[async_trait]
impl<C, K, S, V, Q> Handler for Deleter<C, K, S, V, Q>
where
    C: ConnectionList,
    K: DeleterCatalog,
    S: StoredObjects,
    V: VendorCopies,
    Q: Queue,
{
    type Input = serde_json::Value;
    type Output = Result<Report, Error>;

    async fn handle(&self, event: serde_json::Value, at: &Invocation) -> Result<Report, Error> {
        // The schedule sends `{}` (or nothing); an admin's run may name one connection. A name that is not a
        // connection id is refused rather than taken for "every connection".
        let req: Request = shared::batch::scheduled_input(event, "deleter")?;
        let mut report = Report::default();
        for conn in self.connections(req.connection.as_ref()).await? {
            report.connections += 1;
            let due = self.catalog.due(&conn.id, at.now, self.rules.batch).await?;
            if !conn.enabled {
                report.paused_connections += due.len();
                if !due.is_empty() {
                    tracing::warn!(connection = %conn.id, due = due.len(), "connection disabled: its deletions wait");
                }
                continue;
            }
            for rec in due {
                if at
                    .deadline
                    .is_some_and(|d| d - chrono::Utc::now() < chrono::Duration::seconds(30))
                {
                    // The rest stays due for the next run.
                    break;
                }
                report.due += 1;
                match self.attempt(&conn, rec, at).await {
                    Ok(Some(DeletionStatus::Paused)) => {
                        *report.ended.entry("paused".into()).or_default() += 1;
                        tracing::error!(connection = %conn.id, "the vendor refused our credentials: this connection's deletions are paused until they work again");
                        report.credentials_refused.push(conn.id.to_string());
                        break;
                    }
                    Ok(Some(status)) => {
                        *report.ended.entry(status.as_str().to_owned()).or_default() += 1
                    }
                    Ok(None) => report.skipped += 1,
                    Err(e) => {
                        tracing::error!(connection = %conn.id, error = %e, "deletion attempt not recorded; its claim runs out and it is tried again");
                        report.errors += 1;
                    }
                }
            }
        }
        tracing::info!(
            connections = report.connections,
            due = report.due,
            skipped = report.skipped,
            paused_connections = report.paused_connections,
            ended = ?report.ended,
            errors = report.errors,
            "deletion sweep done"
        );
        Ok(report)
    }
}

impl<C, K, S, V, Q> Deleter<C, K, S, V, Q>
where
    C: ConnectionList,
    K: DeleterCatalog,
    S: StoredObjects,
    V: VendorCopies,
    Q: Queue,
{
    async fn connections(&self, only: Option<&ConnectionId>) -> Result<Vec<Connection>, Error> {
        let mut all = self.config.connections().await?;
        if let Some(id) = only {
            all.retain(|c| &c.id == id);
        }
        Ok(all)
    }

    /// One attempt on a due recording; the status it left, or `None` if another sweep had it.
    async fn attempt(
        &self,
        conn: &Connection,
        rec: RecordingEntry,
        at: &Invocation,
    ) -> Result<Option<DeletionStatus>, Error> {
        let key = rec.key();
        let Some(current) = rec.deletion.clone() else {
            return Ok(None);
        };
        let Some(claimed) = deletion::claim(&current, at.now, deletion::CLAIM) else {
            return Ok(None);
        };
        if !self
            .catalog
            .update_deletion(&key, current.rev, &claimed)
            .await?
        {
            return Ok(None);
        }
        let checked = self.check(conn, &rec, at.now).await;
        let (calls, settlement) = match (&checked.next, &conn.delete_plan) {
            (Next::Call(files), DeletePlan::DeleteAfter { action, scope, .. }) => {
                let listed = match &checked.vendor {
                    Some(VendorListing::Listed(l)) => l.as_slice(),
                    _ => &[],
                };
                match self
                    .vendors
                    .delete(conn, &rec, files, listed, *action, *scope)
                    .await
                {
                    Ok(calls) => {
                        let s = deletion::outcome(&calls);
                        (calls, s)
                    }
                    Err(e) => (vec![], deletion::unreadable("vendor API client", &e)),
                }
            }
            (Next::Call(_), DeletePlan::Retain) => (vec![], Settlement::NowRetained),
            (Next::End(s), _) => (vec![], s.clone()),
        };
        // The invocation's time: attempts of one run are settled (and audited) as of its start.
        let now = at.now;
        let mut settled = deletion::settle(&claimed, &settlement, now);
        if let Settlement::Refused {
            refusal:
                deletion::Refusal::VendorFileNotArchived { .. }
                | deletion::Refusal::VendorSizeChanged { .. },
        } = &settlement
        {
            let followup = self.archive_first(conn, &rec).await;
            settled.reason = settled.reason.map(|r| format!("{r}; {followup}"));
        }
        let record = AuditRecord {
            recording: key.clone(),
            tenant: rec.tenant.clone(),
            connection_id: conn.id.clone(),
            at: now,
            attempt: claimed.attempts,
            by: self.rules.by.clone(),
            plan: conn.delete_plan.clone(),
            evidence: checked.evidence,
            vendor: checked.vendor,
            calls,
            settlement,
            status: settled.status,
        };
        self.catalog.put_audit(&record).await?;
        if !self
            .catalog
            .update_deletion(&key, claimed.rev, &settled)
            .await?
        {
            tracing::warn!(recording = %key, "the deletion entry changed while this sweep held it; the audit record stands");
        }
        tracing::info!(
            recording = %key,
            attempt = claimed.attempts,
            status = settled.status.as_str(),
            reason = settled.reason.as_deref().unwrap_or(""),
            calls = record.calls.len(),
            "deletion attempt settled"
        );
        Ok(Some(settled.status))
    }

    /// Hands a recording that the vendor lists with files we never archived, or with another version of one
    /// (another size), back to enqueue, so that they are archived (a changed file beside its first version)
    /// and the recording planned again before anything is deleted. Says what happened.
    async fn archive_first(&self, conn: &Connection, rec: &RecordingEntry) -> String {
        let queued = match self.vendors.rearchive(conn, rec).await {
            Ok(Some(msg)) => send_json(&self.events, &msg).await.map(|()| true),
            Ok(None) => Ok(false),
            Err(e) => Err(e),
        };
        match queued {
            Ok(true) => {
                tracing::info!(recording = %rec.key(), "the vendor lists files we never archived (or changed ones): queued to be archived first");
                "queued to be archived first; planned again once archived".into()
            }
            Ok(false) => {
                "the vendor offers no listing to archive from; archive it again by hand".into()
            }
            Err(e) => {
                tracing::warn!(recording = %rec.key(), error = %e, "could not queue the recording to be archived first");
                format!(
                    "could not be queued to be archived first ({e}); the reconcile or an admin must"
                )
            }
        }
    }

    /// Verifies a recording at `now`: catalog, S3 (re-read) and the vendor's listing; a recording in quarantine
    /// is held first. Nothing is written.
    async fn check(
        &self,
        conn: &Connection,
        rec: &RecordingEntry,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Checked {
        let end = |s| Checked {
            evidence: vec![],
            vendor: None,
            next: Next::End(s),
        };
        if let Some(held) = deletion::held_in_quarantine(rec.quarantine_until, now) {
            return end(held);
        }
        let DeletePlan::DeleteAfter { scope, .. } = conn.delete_plan else {
            return end(Settlement::NowRetained);
        };
        let files = match self.catalog.list_files(&rec.key()).await {
            Ok(f) => f,
            Err(e) => return end(deletion::unreadable("catalog files", &e)),
        };
        let chosen = deletion::covered_files(rec, &files, scope);
        let mut stored: BTreeMap<String, StoredEvidence> = BTreeMap::new();
        for f in &chosen {
            match self.objects.evidence(&f.s3_key).await {
                Ok(Some(e)) => {
                    stored.insert(f.s3_key.clone(), e);
                }
                Ok(None) => {}
                Err(e) => return end(deletion::unreadable("S3 object evidence", &e)),
            }
        }
        let listing = match self.vendors.listing(conn, rec).await {
            Ok(l) => l,
            Err(e) => return end(deletion::unreadable("vendor listing", &e)),
        };
        let whole = (scope == DeleteScope::Recording).then_some(&rec.skipped_files);
        let verdict = deletion::verify(&chosen, &stored, &listing, whole);
        let (evidence, next) = match verdict {
            Verdict::Delete(ev) => {
                let ids = ev.iter().map(|e| e.file_id.clone()).collect();
                (ev, Next::Call(ids))
            }
            Verdict::AlreadyGone(ev) => (ev, Next::End(Settlement::AlreadyGone)),
            Verdict::Refused(refusal, ev) => (ev, Next::End(Settlement::Refused { refusal })),
        };
        Checked {
            evidence,
            vendor: Some(listing),
            next,
        }
    }

    /// The dry run: for each due recording of the connection, what the sweep would do now and why (every
    /// check made, nothing claimed, called or written).
    pub async fn preview(&self, conn: &Connection, at: &Invocation) -> Result<Vec<Preview>, Error> {
        let mut out = Vec::new();
        for rec in self.catalog.due(&conn.id, at.now, self.rules.batch).await? {
            let Some(d) = rec.deletion.clone() else {
                continue;
            };
            if !deletion::is_due(&d, at.now) {
                continue;
            }
            let (would, files) = if !conn.enabled {
                (
                    Settlement::Failed {
                        reason: format!("connection {} is disabled: deletions wait", conn.id),
                    },
                    vec![],
                )
            } else {
                match self.check(conn, &rec, at.now).await.next {
                    Next::Call(files) => (Settlement::Deleted, files),
                    Next::End(s) => (s, vec![]),
                }
            };
            out.push(Preview {
                recording: rec.key().to_string(),
                topic: rec.topic.clone(),
                status: d.status,
                due_at: d.next_look(),
                calls: if would == Settlement::Deleted {
                    d.vendor_calls.clone()
                } else {
                    vec![]
                },
                would,
                files,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::catalog::FileEntry;
    use shared::catalog::{DeletionEntry, StoredObject};
    use shared::config::DeleteAction;
    use shared::error::{Class, Kind};
    use shared::fakes::contract::sample_recording;
    use shared::fakes::{
        FakeWebex, FakeZoom, MemoryCatalog, MemoryConfig, MemoryQueue, connection,
    };
    use shared::ids::Vendor;
    use shared::model::FileState;
    use shared::model::{Recording, RecordingKey, RecordingState};
    use shared::vendors::Vendors;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Objects(Arc<Mutex<BTreeMap<String, StoredEvidence>>>);

    #[async_trait]
    impl StoredObjects for Objects {
        async fn evidence(&self, key: &str) -> Result<Option<StoredEvidence>, Error> {
            Ok(self.0.lock().unwrap().get(key).cloned())
        }
    }

    type TestDeleter =
        Deleter<MemoryConfig, MemoryCatalog, Objects, Vendors<FakeZoom, FakeWebex>, MemoryQueue>;

    struct World {
        d: TestDeleter,
        key: RecordingKey,
        zoom: FakeZoom,
    }

    fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().unwrap()
    }

    fn sha(id: &str) -> String {
        format!("{id:0>64}")
    }

    /// A Zoom recording archived whole (every file in S3 with its size and SHA-256 tag), still listed by
    /// Zoom, its deletion scheduled for 2026-03-02 10:00.
    fn world(plan: DeletePlan) -> World {
        let raw = include_bytes!("../../../events/zoom/recording.completed.json");
        let vendor_rec: Recording = shared::zoom::event::normalise(raw).unwrap();
        let key = RecordingKey::of(&vendor_rec);
        let ids: Vec<&str> = vendor_rec.files.iter().map(|f| f.id.as_str()).collect();
        let mut rec = sample_recording(&key, RecordingState::Archived, &ids, true);
        let mut conn = connection(Vendor::Zoom);
        conn.delete_plan = plan.clone();
        let catalog = MemoryCatalog::default();
        let objects = Objects::default();
        for f in &vendor_rec.files {
            let mut e = FileEntry::new(f, &rec.s3_prefix);
            let bytes = f.expected_size.unwrap_or(1);
            e.state = FileState::Archived;
            e.stored = Some(StoredObject {
                bucket: "media".into(),
                key: e.s3_key.clone(),
                bytes,
                sha256: sha(f.id.as_str()),
                etag: "\"e\"".into(),
                part_size: 8,
                parts: 1,
                started_at: t("2026-03-01T10:00:00Z"),
                finished_at: t("2026-03-01T10:00:01Z"),
                duration_ms: 1000,
            });
            objects.0.lock().unwrap().insert(
                e.s3_key.clone(),
                StoredEvidence {
                    bytes,
                    sha256: Some(sha(f.id.as_str())),
                },
            );
            catalog.put_file(&key, e);
        }
        rec.deletion = Some(shared::deletion::plan(
            &plan,
            t("2026-03-01T10:00:00Z"),
            t("2026-03-01T09:00:00Z"),
            t("2026-03-01T10:00:00Z"),
            |_| Default::default(),
        ));
        catalog.put_recording(rec);
        let zoom = FakeZoom::default();
        zoom.recordings
            .lock()
            .unwrap()
            .insert(key.instance.to_string(), vendor_rec);
        World {
            d: Deleter {
                config: MemoryConfig {
                    connections: vec![conn],
                    users: vec![],
                },
                catalog,
                objects,
                vendors: Vendors {
                    zoom: zoom.clone(),
                    webex: FakeWebex::default(),
                },
                events: MemoryQueue::default(),
                rules: Rules {
                    batch: 10,
                    by: "test".into(),
                },
            },
            key,
            zoom,
        }
    }

    fn trash_after_a_day() -> DeletePlan {
        DeletePlan::DeleteAfter {
            days: 1,
            hours: 0,
            action: DeleteAction::Trash,
            scope: DeleteScope::Recording,
            late_file_hours: 0,
        }
    }

    const DUE: &str = "2026-03-02T10:00:00Z";

    async fn sweep(w: &World, at: &str) -> Report {
        w.d.handle(serde_json::json!({}), &Invocation::at(t(at)))
            .await
            .unwrap()
    }

    fn deletion(w: &World) -> DeletionEntry {
        w.d.catalog.entry(&w.key).unwrap().deletion.unwrap()
    }

    fn deletes(w: &World) -> Vec<String> {
        w.zoom.deletes.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn a_verified_recording_is_deleted_once_when_due_with_its_evidence_audited() {
        let w = world(trash_after_a_day());
        let early = sweep(&w, "2026-03-02T09:59:00Z").await;
        assert_eq!((early.due, deletes(&w).len()), (0, 0), "not due yet");

        let report = sweep(&w, DUE).await;
        assert_eq!(report.ended.get("deleted"), Some(&1), "{report:?}");
        assert_eq!(deletes(&w), vec![format!("{} None Trash", w.key.instance)]);
        let d = deletion(&w);
        assert_eq!((d.status, d.attempts), (DeletionStatus::Deleted, 1));
        assert!(d.settled_at.is_some() && d.lease_until.is_none());

        let audit = w.d.catalog.audit(&w.key).await.unwrap();
        assert_eq!(audit.len(), 1);
        let a = &audit[0];
        assert_eq!((a.attempt, a.status), (1, DeletionStatus::Deleted));
        let files = w.d.catalog.files(&w.key).len();
        assert_eq!(a.evidence.len(), files);
        assert!(
            a.evidence
                .iter()
                .all(|e| e.stored.as_ref().map(|s| s.bytes) == e.catalog_bytes
                    && e.vendor_bytes == e.catalog_bytes)
        );
        assert_eq!(a.calls.len(), 1);
        assert_eq!(a.calls[0].status, Some(204));
        assert!(
            a.calls[0].request.contains("action=trash"),
            "{}",
            a.calls[0].request
        );

        let later = sweep(&w, "2026-03-09T10:00:00Z").await;
        assert_eq!((later.due, deletes(&w).len()), (0, 1), "deleted once");
    }

    #[tokio::test]
    async fn a_recording_in_quarantine_keeps_its_vendor_copy_until_an_owner_is_assigned() {
        let w = world(trash_after_a_day());
        let mut rec = w.d.catalog.entry(&w.key).unwrap();
        rec.quarantine_until = Some(t("2026-03-02T22:00:00Z"));
        w.d.catalog.put_recording(rec.clone());
        let report = sweep(&w, DUE).await;
        assert_eq!(report.ended.get("retrying"), Some(&1), "{report:?}");
        assert!(deletes(&w).is_empty(), "no call while in quarantine");
        let d = deletion(&w);
        assert!(
            d.reason.as_deref().unwrap().contains("in quarantine"),
            "{d:?}"
        );
        assert_eq!(
            d.due_at,
            Some(t("2026-03-02T22:00:00Z")),
            "due again when it ends"
        );
        // The dry run says so too.
        let conn = w.d.config.connections[0].clone();
        let preview =
            w.d.preview(&conn, &Invocation::at(t("2026-03-02T22:00:00Z")))
                .await
                .unwrap();
        assert!(
            matches!(&preview[0].would, Settlement::Retry { reason, .. } if reason.contains("quarantine"))
        );
        // An owner assigned: deleted as planned on the next look.
        rec = w.d.catalog.entry(&w.key).unwrap();
        rec.quarantine_until = None;
        w.d.catalog.put_recording(rec);
        let report = sweep(&w, "2026-03-02T22:00:00Z").await;
        assert_eq!(report.ended.get("deleted"), Some(&1), "{report:?}");
        assert_eq!(deletes(&w).len(), 1);
    }

    #[tokio::test]
    async fn any_doubt_about_our_copy_refuses_without_a_call_and_says_why() {
        let w = world(trash_after_a_day());
        let (k, short) = {
            let mut o = w.d.objects.0.lock().unwrap();
            let (k, e) = o.iter_mut().next().unwrap();
            e.bytes -= 1;
            (k.clone(), e.bytes)
        };
        let report = sweep(&w, DUE).await;
        assert_eq!(report.ended.get("refused"), Some(&1));
        assert!(deletes(&w).is_empty());
        let d = deletion(&w);
        assert_eq!(d.status, DeletionStatus::Refused);
        assert!(
            d.reason
                .as_deref()
                .unwrap()
                .contains(&format!("has {short} bytes")),
            "{d:?}"
        );
        let audit = w.d.catalog.audit(&w.key).await.unwrap();
        assert!(matches!(
            &audit[0].settlement,
            Settlement::Refused {
                refusal: shared::deletion::Refusal::SizeMismatch { .. }
            }
        ));
        assert!(audit[0].calls.is_empty());
        // Refused stays refused: later sweeps leave it for an admin.
        assert_eq!(sweep(&w, "2026-04-01T00:00:00Z").await.due, 0);

        let w = world(trash_after_a_day());
        w.d.objects.0.lock().unwrap().remove(&k);
        sweep(&w, DUE).await;
        assert!(deletion(&w).reason.unwrap().contains("missing in S3"));

        let w = world(trash_after_a_day());
        w.d.objects.0.lock().unwrap().get_mut(&k).unwrap().sha256 = Some("f".repeat(64));
        sweep(&w, DUE).await;
        assert!(deletion(&w).reason.unwrap().contains("SHA-256"));
        assert!(deletes(&w).is_empty());
    }

    #[tokio::test]
    async fn a_recording_changed_at_the_vendor_is_refused_and_one_gone_there_is_done_without_a_call()
     {
        let w = world(trash_after_a_day());
        {
            let mut recs = w.zoom.recordings.lock().unwrap();
            let r = recs.get_mut(w.key.instance.as_str()).unwrap();
            let mut extra = r.files[0].clone();
            extra.id = shared::ids::FileId::parse("late-file").unwrap();
            r.files.push(extra);
        }
        sweep(&w, DUE).await;
        let d = deletion(&w);
        assert_eq!(d.status, DeletionStatus::Refused);
        let reason = d.reason.unwrap();
        assert!(
            reason.contains("late-file") && reason.contains("queued to be archived first"),
            "{reason}"
        );
        assert!(deletes(&w).is_empty());
        // What Zoom lists now goes back through enqueue, the new file with it.
        let queued = w.d.events.bodies();
        assert_eq!(queued.len(), 1);
        let msg: shared::messages::IngestMessage = serde_json::from_str(&queued[0]).unwrap();
        assert_eq!(msg.event, shared::zoom::ingest::API_RECORDING);
        assert!(msg.body.contains("late-file"), "{}", msg.body);

        let w = world(trash_after_a_day());
        w.zoom.recordings.lock().unwrap().clear();
        let report = sweep(&w, DUE).await;
        assert_eq!(report.ended.get("already_gone"), Some(&1));
        assert!(deletes(&w).is_empty());
        let audit = w.d.catalog.audit(&w.key).await.unwrap();
        assert_eq!(audit[0].vendor, Some(VendorListing::Gone));
    }

    #[tokio::test]
    async fn throttling_retries_later_and_refused_credentials_pause_never_done() {
        let w = world(trash_after_a_day());
        *w.zoom.fail.lock().unwrap() = Some((Class::Retryable, Kind::Status(429)));
        sweep(&w, DUE).await;
        let d = deletion(&w);
        assert_eq!(d.status, DeletionStatus::Retrying);
        assert_eq!(
            d.due_at,
            Some(t(DUE) + shared::deletion::FIRST_BACKOFF),
            "{d:?}"
        );
        assert!(d.settled_at.is_none());
        // Due again after the back-off; healed, it is deleted.
        *w.zoom.fail.lock().unwrap() = None;
        assert_eq!(sweep(&w, "2026-03-02T10:04:00Z").await.due, 0);
        sweep(&w, "2026-03-02T10:05:00Z").await;
        assert_eq!(deletion(&w).status, DeletionStatus::Deleted);
        assert_eq!(w.d.catalog.audit(&w.key).await.unwrap().len(), 2);

        let w = world(trash_after_a_day());
        *w.zoom.fail.lock().unwrap() = Some((Class::Retryable, Kind::Auth));
        let report = sweep(&w, DUE).await;
        assert_eq!(
            report.credentials_refused,
            [w.d.config.connections[0].id.to_string()]
        );
        let d = deletion(&w);
        assert_eq!(d.status, DeletionStatus::Paused);
        assert_eq!(
            d.due_at,
            Some(t(DUE) + shared::deletion::CREDENTIALS_RECHECK)
        );
    }

    #[tokio::test]
    async fn a_bad_connection_name_is_refused_not_taken_for_every_connection() {
        let w = world(trash_after_a_day());
        let at = Invocation::at(t(DUE));
        let e =
            w.d.handle(serde_json::json!({"connection": "Not A Slug!"}), &at)
                .await
                .unwrap_err();
        assert_eq!(e.kind(), Kind::Data);
        assert!(deletes(&w).is_empty());
        let other =
            w.d.handle(serde_json::json!({"connection": "other-conn"}), &at)
                .await
                .unwrap();
        assert_eq!((other.connections, other.due), (0, 0));
        let scheduled = w.d.handle(serde_json::Value::Null, &at).await.unwrap();
        assert_eq!(scheduled.due, 1);
    }

    #[tokio::test]
    async fn a_disabled_connection_waits_and_a_plan_now_retain_keeps_the_vendor_copy() {
        let mut w = world(trash_after_a_day());
        w.d.config.connections[0].enabled = false;
        let report = sweep(&w, DUE).await;
        assert_eq!((report.paused_connections, report.due), (1, 0));
        assert_eq!(deletion(&w).status, DeletionStatus::Scheduled);
        w.d.config.connections[0].enabled = true;
        w.d.config.connections[0].delete_plan = DeletePlan::Retain;
        sweep(&w, DUE).await;
        assert_eq!(deletion(&w).status, DeletionStatus::Retained);
        assert!(deletes(&w).is_empty());
    }

    #[tokio::test]
    async fn concurrent_sweeps_make_one_call_and_a_dead_sweeps_claim_runs_out() {
        let w = world(trash_after_a_day());
        let at = Invocation::at(t(DUE));
        let (a, b) = tokio::join!(
            w.d.handle(serde_json::json!({}), &at),
            w.d.handle(serde_json::json!({}), &at)
        );
        assert_eq!(a.unwrap().due + b.unwrap().due, 1);
        assert_eq!(deletes(&w).len(), 1);
        // A sweep that read the due entry before another settled it loses the claim and calls nothing.
        let w = world(trash_after_a_day());
        let stale = w.d.catalog.entry(&w.key).unwrap();
        sweep(&w, DUE).await;
        let conn = w.d.config.connections[0].clone();
        assert_eq!(w.d.attempt(&conn, stale, &at).await.unwrap(), None);
        assert_eq!(deletes(&w).len(), 1);

        // A sweep that died holding its claim: the next one takes it after the claim ends.
        let w = world(trash_after_a_day());
        let d = deletion(&w);
        let claimed = shared::deletion::claim(&d, t(DUE), shared::deletion::CLAIM).unwrap();
        assert!(
            w.d.catalog
                .update_deletion(&w.key, d.rev, &claimed)
                .await
                .unwrap()
        );
        assert_eq!(
            sweep(&w, "2026-03-02T10:10:00Z").await.due,
            0,
            "held until 10:15"
        );
        assert!(deletes(&w).is_empty());
        sweep(&w, "2026-03-02T10:16:00Z").await;
        let d = deletion(&w);
        assert_eq!((d.status, d.attempts), (DeletionStatus::Deleted, 2));
    }

    #[tokio::test]
    async fn the_dry_run_says_what_the_sweep_then_does_and_writes_nothing() {
        let w = world(trash_after_a_day());
        let conn = w.d.config.connections[0].clone();
        let at = Invocation::at(t(DUE));
        let before = w.d.catalog.entry(&w.key);
        let preview = w.d.preview(&conn, &at).await.unwrap();
        assert_eq!(preview.len(), 1);
        assert_eq!(preview[0].would, Settlement::Deleted);
        assert_eq!(preview[0].files.len(), w.d.catalog.files(&w.key).len());
        assert_eq!(w.d.catalog.entry(&w.key), before, "nothing written");
        assert!(deletes(&w).is_empty() && w.d.catalog.audit(&w.key).await.unwrap().is_empty());
        sweep(&w, DUE).await;
        assert_eq!(deletion(&w).status, DeletionStatus::Deleted);

        let w = world(trash_after_a_day());
        w.d.objects.0.lock().unwrap().clear();
        let preview = w.d.preview(&conn, &at).await.unwrap();
        assert!(matches!(&preview[0].would, Settlement::Refused { .. }));
        sweep(&w, DUE).await;
        assert_eq!(deletion(&w).status, DeletionStatus::Refused);
    }

    #[tokio::test]
    async fn per_file_scope_deletes_each_archived_file_and_leaves_an_unarchived_one() {
        let mut plan = trash_after_a_day();
        if let DeletePlan::DeleteAfter { scope, .. } = &mut plan {
            *scope = DeleteScope::File;
        }
        let w = world(plan);
        let files = w.d.catalog.files(&w.key);
        let mut late = files[0].clone();
        late.file_id = shared::ids::FileId::parse("late-transcript").unwrap();
        late.state = FileState::Downloading;
        late.stored = None;
        w.d.catalog.put_file(&w.key, late);
        sweep(&w, DUE).await;
        let calls = deletes(&w);
        assert_eq!(calls.len(), files.len(), "{calls:?}");
        assert!(
            calls
                .iter()
                .all(|c| !c.contains("late-transcript") && c.contains("Some("))
        );
        assert_eq!(deletion(&w).status, DeletionStatus::Deleted);
    }
}
