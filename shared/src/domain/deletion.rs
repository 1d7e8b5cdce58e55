//! Deleting the vendor copy of an archived recording: when it is due ([`plan`]), how a sweep takes one attempt
//! ([`claim`]) and settles it ([`settle`]), what must hold before any call ([`verify`]), how a vendor's answer
//! is read ([`answer`], [`CallResult`]) and what each attempt leaves behind ([`AuditRecord`]). Pure rules;
//! the sweep that applies them reads S3 and the vendor, and the exact vendor calls are each vendor's
//! (`zoom`/`webex` `deletion`).
//!
//! The status moves (every move a conditional write on the entry's revision):
//!
//! ```text
//! retained                      (the plan keeps the vendor copy)
//! scheduled ─claim─▶ deleting ─▶ deleted | already_gone        (verified; the vendor answered 2xx / 404)
//! retrying  ─claim─▶    │     ─▶ retrying  (429, 5xx, a check unreadable: due again after a back-off)
//! paused    ─claim─▶    │     ─▶ paused    (401/403: due again in an hour, by when credentials may be fixed)
//!                       │     ─▶ refused   (verification failed: nothing deleted, the reason kept)
//!                       │     ─▶ failed    (any other vendor refusal: left for an admin)
//! deleting (claim ran out: the sweep died) ─claim─▶ deleting
//! ```

use crate::catalog::{DeletionEntry, DeletionStatus};
use crate::config::{DeleteAction, DeletePlan};
use crate::error::{Class, Error, Kind};
use crate::ids::{ConnectionId, TenantId};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The calls the execution stage will make at the vendor, and what it must know or check first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorCalls {
    pub calls: Vec<String>,
    pub notes: Vec<String>,
}

/// When a recording archived at `archived_at` and first announced at `first_seen` is due: the plan's delay
/// after archiving, but never before the plan's wait for late files has passed. `None`: never (retained).
pub fn due_at(
    delete_plan: &DeletePlan,
    archived_at: DateTime<Utc>,
    first_seen: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    match delete_plan {
        DeletePlan::Retain => None,
        DeletePlan::DeleteAfter {
            days,
            hours,
            late_file_hours,
            ..
        } => {
            let after =
                archived_at + Duration::days(i64::from(*days)) + Duration::hours(i64::from(*hours));
            let late = first_seen + Duration::hours(i64::from(*late_file_hours));
            Some(after.max(late))
        }
    }
}

/// Plans what to do with the vendor copy of a recording archived at `archived_at` (first announced at
/// `first_seen`). `calls` gives the vendor's calls for the plan's action; it is asked only when something
/// will be deleted. A late file reopens the recording; its archive plans again, which moves the due time.
pub fn plan(
    delete_plan: &DeletePlan,
    archived_at: DateTime<Utc>,
    first_seen: DateTime<Utc>,
    now: DateTime<Utc>,
    calls: impl FnOnce(DeleteAction) -> VendorCalls,
) -> DeletionEntry {
    match delete_plan {
        DeletePlan::Retain => DeletionEntry {
            plan: delete_plan.clone(),
            status: DeletionStatus::Retained,
            due_at: None,
            planned_at: now,
            vendor_calls: vec![],
            notes: vec![],
            rev: 0,
            attempts: 0,
            lease_until: None,
            reason: None,
            settled_at: None,
        },
        DeletePlan::DeleteAfter { action, .. } => {
            let VendorCalls { calls, notes } = calls(*action);
            DeletionEntry {
                plan: delete_plan.clone(),
                status: DeletionStatus::Scheduled,
                due_at: due_at(delete_plan, archived_at, first_seen),
                planned_at: now,
                vendor_calls: calls,
                notes,
                rev: 0,
                attempts: 0,
                lease_until: None,
                reason: None,
                settled_at: None,
            }
        }
    }
}

/// A file as the catalog knows it: archived (or not) under a key with a size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogFile {
    pub file_id: String,
    pub archived: bool,
    pub s3_key: String,
    pub bytes: Option<u64>,
    pub sha256: Option<String>,
}

/// The files a deletion covers, as the catalog knows them: every file of the recording (those registered but
/// without an entry count as not archived), or with the plan's file scope only the archived ones. The
/// archived object's own record (`stored`) gives the key, size and SHA-256.
pub fn covered_files(
    rec: &crate::catalog::RecordingEntry,
    files: &[crate::catalog::FileEntry],
    scope: crate::config::DeleteScope,
) -> Vec<CatalogFile> {
    let mut out: Vec<CatalogFile> = files
        .iter()
        .filter(|f| {
            scope == crate::config::DeleteScope::Recording
                || f.state == crate::model::FileState::Archived
        })
        .map(|f| CatalogFile {
            file_id: f.file_id.to_string(),
            archived: f.state == crate::model::FileState::Archived && f.stored.is_some(),
            s3_key: f
                .stored
                .as_ref()
                .map_or(f.s3_key.clone(), |s| s.key.clone()),
            bytes: f.stored.as_ref().map(|s| s.bytes),
            sha256: f.stored.as_ref().map(|s| s.sha256.clone()),
        })
        .collect();
    if scope == crate::config::DeleteScope::Recording {
        for id in &rec.file_ids {
            if !out.iter().any(|f| &f.file_id == id) {
                out.push(CatalogFile {
                    file_id: id.clone(),
                    archived: false,
                    s3_key: String::new(),
                    bytes: None,
                    sha256: None,
                });
            }
        }
    }
    out
}

/// An object as S3 answers for it now (HeadObject and its SHA-256 tag), not as the catalog remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEvidence {
    pub bytes: u64,
    /// The `sha256` tag the downloader put on the object, if S3 has it.
    pub sha256: Option<String>,
}

/// A file as the vendor lists it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorFile {
    pub file_id: String,
    pub bytes: Option<u64>,
}

/// What the vendor says of the recording now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "listing", content = "files", rename_all = "snake_case")]
pub enum VendorListing {
    Listed(Vec<VendorFile>),
    /// The recording no longer exists at the vendor (deleted there by a person, or by an earlier attempt).
    Gone,
}

/// One file's evidence, with every value compared: kept in the audit record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEvidence {
    pub file_id: String,
    pub s3_key: String,
    pub catalog_bytes: Option<u64>,
    pub catalog_sha256: Option<String>,
    pub stored: Option<StoredEvidence>,
    pub vendor_bytes: Option<u64>,
}

/// Why a deletion must not happen (yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Refusal {
    #[error("file {file_id} is not archived")]
    NotArchived { file_id: String },
    #[error("the object of file {file_id} ({s3_key}) is missing in S3")]
    ObjectMissing { file_id: String, s3_key: String },
    #[error("the object of file {file_id} has {stored} bytes, the catalog {catalog}")]
    SizeMismatch {
        file_id: String,
        catalog: u64,
        stored: u64,
    },
    #[error("the object of file {file_id} has no readable SHA-256 to compare")]
    ChecksumUnknown { file_id: String },
    #[error("the object of file {file_id} has SHA-256 {stored}, the catalog {catalog}")]
    ChecksumMismatch {
        file_id: String,
        catalog: String,
        stored: String,
    },
    #[error("the vendor lists file {file_id} that was not archived (changed after we copied it)")]
    VendorFileNotArchived { file_id: String },
    #[error("the vendor's file {file_id} has {vendor} bytes, our copy {ours}")]
    VendorSizeChanged {
        file_id: String,
        vendor: u64,
        ours: u64,
    },
}

/// The result of checking a recording before deleting it at the vendor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed: the call may be made.
    Delete(Vec<FileEvidence>),
    /// Our copy is whole and the vendor has nothing left: done without a call.
    AlreadyGone(Vec<FileEvidence>),
    Refused(Refusal, Vec<FileEvidence>),
}

/// Checks, for the files `files` of one recording (all of them, or the one file of a per-file deletion),
/// that each is archived in the catalog, that its object exists in S3 with the catalogued size and SHA-256,
/// and that the vendor still lists the same files with the same sizes (a file at the vendor that we did not
/// archive means the recording changed after we copied it: refused, to be archived first). `stored` is keyed
/// by S3 key; a missing key is a missing object. `whole`: the deletion removes the whole recording, and these
/// files are not archived on purpose (a kind switched off): the vendor may list them, and they go with it.
/// `None`: a per-file deletion.
pub fn verify(
    files: &[CatalogFile],
    stored: &BTreeMap<String, StoredEvidence>,
    vendor: &VendorListing,
    whole: Option<&BTreeSet<String>>,
) -> Verdict {
    let listed: BTreeMap<&str, &VendorFile> = match vendor {
        VendorListing::Listed(v) => v.iter().map(|f| (f.file_id.as_str(), f)).collect(),
        VendorListing::Gone => BTreeMap::new(),
    };
    let evidence: Vec<FileEvidence> = files
        .iter()
        .map(|f| FileEvidence {
            file_id: f.file_id.clone(),
            s3_key: f.s3_key.clone(),
            catalog_bytes: f.bytes,
            catalog_sha256: f.sha256.clone(),
            stored: stored.get(&f.s3_key).cloned(),
            vendor_bytes: listed.get(f.file_id.as_str()).and_then(|v| v.bytes),
        })
        .collect();
    match first_refusal(files, &evidence, &listed, whole) {
        Some(r) => Verdict::Refused(r, evidence),
        None if *vendor == VendorListing::Gone => Verdict::AlreadyGone(evidence),
        None => Verdict::Delete(evidence),
    }
}

fn first_refusal(
    files: &[CatalogFile],
    evidence: &[FileEvidence],
    listed: &BTreeMap<&str, &VendorFile>,
    whole: Option<&BTreeSet<String>>,
) -> Option<Refusal> {
    for (f, e) in files.iter().zip(evidence) {
        let file_id = f.file_id.clone();
        let (true, Some(catalog), Some(sha)) = (f.archived, f.bytes, f.sha256.as_deref()) else {
            return Some(Refusal::NotArchived { file_id });
        };
        let Some(obj) = &e.stored else {
            return Some(Refusal::ObjectMissing {
                file_id,
                s3_key: f.s3_key.clone(),
            });
        };
        if obj.bytes != catalog {
            return Some(Refusal::SizeMismatch {
                file_id,
                catalog,
                stored: obj.bytes,
            });
        }
        match obj.sha256.as_deref() {
            None => return Some(Refusal::ChecksumUnknown { file_id }),
            Some(s) if !s.eq_ignore_ascii_case(sha) => {
                return Some(Refusal::ChecksumMismatch {
                    file_id,
                    catalog: sha.to_owned(),
                    stored: s.to_owned(),
                });
            }
            Some(_) => {}
        }
        if let Some(vendor) = e.vendor_bytes
            && vendor != catalog
        {
            return Some(Refusal::VendorSizeChanged {
                file_id,
                vendor,
                ours: catalog,
            });
        }
    }
    if let Some(left_out) = whole {
        let ours: BTreeSet<&str> = files.iter().map(|f| f.file_id.as_str()).collect();
        if let Some(extra) = listed
            .keys()
            .find(|id| !ours.contains(*id) && !left_out.contains(**id))
        {
            return Some(Refusal::VendorFileNotArchived {
                file_id: (*extra).to_owned(),
            });
        }
    }
    None
}

/// A recording in quarantine until `until` (no owner found yet) keeps its vendor copy: the attempt ends
/// without a check or a call, due again when the quarantine ends (by then an owner is assigned and it is
/// deleted as planned, or the quarantine expired and its deletion plan went with our copy). `None`: not held.
pub fn held_in_quarantine(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Settlement> {
    let until = until?;
    Some(Settlement::Retry {
        reason: format!(
            "held: in quarantine until {until} (no owner yet); the vendor copy stays until an owner is assigned"
        ),
        wait_secs: Some((until - now).num_seconds().max(0) as u64),
    })
}

/// How a vendor's answer to a deletion call is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// Deleted (or moved to the vendor's trash).
    Done,
    /// Already gone (404): done, with a note.
    AlreadyGone,
    /// Throttled or a server fault: not done, retried with back-off.
    Retry,
    /// Our credentials were refused: not done; the connection is flagged and retried once they are fixed.
    CredentialsRefused,
    /// Refused for another reason: not done, left for an admin.
    Failed,
}

/// Reads the HTTP status of a deletion call. Nothing but a success or a 404 counts as done.
pub fn answer(status: u16) -> Answer {
    match status {
        200..=299 => Answer::Done,
        404 | 410 => Answer::AlreadyGone,
        401 | 403 => Answer::CredentialsRefused,
        408 | 423 | 429 | 500..=599 => Answer::Retry,
        _ => Answer::Failed,
    }
}

/// Whether the vendor copy's removal is our own doing: the deletion sweep holds the entry or settled it as
/// deleted. A vendor's removal event for such a recording is our deletion's echo.
pub fn is_ours(d: Option<&DeletionEntry>) -> bool {
    d.is_some_and(|d| {
        matches!(
            d.status,
            DeletionStatus::Deleting | DeletionStatus::Deleted | DeletionStatus::AlreadyGone
        )
    })
}

/// How long a sweep's claim on one recording lasts: longer than the sweep function may run.
pub const CLAIM: Duration = Duration::minutes(15);
/// After the vendor refused our credentials, the next attempt waits this long (an admin may fix them).
pub const CREDENTIALS_RECHECK: Duration = Duration::hours(1);
/// The first retry's back-off; it doubles per attempt up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::minutes(5);
pub const MAX_BACKOFF: Duration = Duration::hours(6);

/// The wait before attempt `attempts + 1` after a failed attempt: 5 min, 10, 20, … at most 6 h.
pub fn backoff(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    (FIRST_BACKOFF * 2i32.pow(doublings)).min(MAX_BACKOFF)
}

/// Whether the deletion is pending and due at `now` (a claim that ran out counts as due).
pub fn is_due(d: &DeletionEntry, now: DateTime<Utc>) -> bool {
    d.status.is_pending() && d.next_look().is_some_and(|t| t <= now)
}

/// Takes a due deletion for one attempt: `deleting` until `now + claim_for`, the revision and attempt count
/// bumped. `None` if it is not pending or not due (another sweep holds it, or it was settled meanwhile).
pub fn claim(d: &DeletionEntry, now: DateTime<Utc>, claim_for: Duration) -> Option<DeletionEntry> {
    if !is_due(d, now) {
        return None;
    }
    let mut next = d.clone();
    next.status = DeletionStatus::Deleting;
    next.rev += 1;
    next.attempts += 1;
    next.lease_until = Some(now + claim_for);
    Some(next)
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Settlement {
    /// The vendor confirmed the deletion of everything verified.
    Deleted,
    /// Verified, and the vendor had nothing left.
    AlreadyGone,
    /// Verification failed; no call was made.
    Refused { refusal: Refusal },
    /// Can heal: throttled, a 5xx, a check that could not be read. `wait_secs`: what the vendor asked for.
    Retry {
        reason: String,
        wait_secs: Option<u64>,
    },
    /// The vendor refused our credentials (or their scopes).
    CredentialsRefused { reason: String },
    /// The vendor refused for another reason, or the plan no longer allows it.
    Failed { reason: String },
    /// The connection's plan is now to keep vendor copies: nothing is deleted.
    NowRetained,
}

/// The entry after an attempt that ended with `s`: the claim released, the revision bumped, the reason kept.
pub fn settle(claimed: &DeletionEntry, s: &Settlement, now: DateTime<Utc>) -> DeletionEntry {
    let mut n = claimed.clone();
    n.rev += 1;
    n.lease_until = None;
    let (status, reason) = match s {
        Settlement::Deleted => (DeletionStatus::Deleted, None),
        Settlement::AlreadyGone => (
            DeletionStatus::AlreadyGone,
            Some("the vendor had nothing left to delete (deleted there before)".to_owned()),
        ),
        Settlement::Refused { refusal } => (DeletionStatus::Refused, Some(refusal.to_string())),
        Settlement::Retry { reason, wait_secs } => {
            let asked = Duration::seconds(wait_secs.unwrap_or(0) as i64);
            n.due_at = Some(now + asked.max(backoff(n.attempts)));
            (DeletionStatus::Retrying, Some(reason.clone()))
        }
        Settlement::CredentialsRefused { reason } => {
            n.due_at = Some(now + CREDENTIALS_RECHECK);
            (DeletionStatus::Paused, Some(reason.clone()))
        }
        Settlement::Failed { reason } => (DeletionStatus::Failed, Some(reason.clone())),
        Settlement::NowRetained => (
            DeletionStatus::Retained,
            Some("the connection's delete plan is now retain".to_owned()),
        ),
    };
    if status.is_done() {
        n.settled_at = Some(now);
    }
    n.status = status;
    n.reason = reason;
    n
}

/// One deletion call and the vendor's answer, as the audit keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallResult {
    /// Method and path, without host, token or e-mail (`DELETE /meetings/{uuid}/recordings?action=trash`).
    pub request: String,
    /// The vendor's HTTP status, when it answered.
    pub status: Option<u16>,
    pub answer: Answer,
    /// What went wrong, when something did (never a token or a signed URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

impl CallResult {
    /// Reads what a vendor client returned for a call: the status of an answer it accepted (2xx, 404), or
    /// the error of one it did not, by its kind (a status, refused credentials, the network).
    pub fn of(request: impl Into<String>, sent: Result<u16, Error>) -> Self {
        let request = request.into();
        match sent {
            Ok(status) => Self {
                request,
                status: Some(status),
                answer: answer(status),
                detail: None,
                retry_after_secs: None,
            },
            Err(e) => {
                let (status, answer) = match e.kind() {
                    Kind::Status(s) => (Some(s), answer(s)),
                    Kind::Auth => (None, Answer::CredentialsRefused),
                    _ if e.class() == Class::Retryable => (None, Answer::Retry),
                    _ => (None, Answer::Failed),
                };
                Self {
                    request,
                    status,
                    answer,
                    detail: Some(e.to_string()),
                    retry_after_secs: e.retry_after().map(|d| d.as_secs()),
                }
            }
        }
    }

    pub fn done(&self) -> bool {
        matches!(self.answer, Answer::Done | Answer::AlreadyGone)
    }
}

/// Makes one deletion call per target, in order, stopping at the first that does not succeed. `call` names
/// the request (for the audit) and starts it.
pub async fn in_order<T, F, Fut>(
    targets: impl IntoIterator<Item = T>,
    mut call: F,
) -> Vec<CallResult>
where
    F: FnMut(T) -> (String, Fut),
    Fut: std::future::Future<Output = Result<u16, Error>>,
{
    let mut results = Vec::new();
    for target in targets {
        let (request, sent) = call(target);
        let result = CallResult::of(request, sent.await);
        let done = result.done();
        results.push(result);
        if !done {
            break;
        }
    }
    results
}

/// How the calls of one attempt (made in order, stopping at the first that did not succeed) end it: deleted
/// if every call succeeded and one deleted something, already gone if every one found nothing; otherwise the
/// first failed call decides. Nothing but a success or a 404 ever counts as done.
pub fn outcome(calls: &[CallResult]) -> Settlement {
    if calls.is_empty() {
        return Settlement::Failed {
            reason: "no deletion call to make".into(),
        };
    }
    let reason = |c: &CallResult| {
        format!(
            "{}: {}",
            c.request,
            c.detail
                .clone()
                .unwrap_or_else(|| format!("HTTP {}", c.status.unwrap_or_default()))
        )
    };
    match calls.iter().find(|c| !c.done()) {
        None if calls.iter().any(|c| c.answer == Answer::Done) => Settlement::Deleted,
        None => Settlement::AlreadyGone,
        Some(c) => match c.answer {
            Answer::Retry => Settlement::Retry {
                reason: reason(c),
                wait_secs: c.retry_after_secs,
            },
            Answer::CredentialsRefused => Settlement::CredentialsRefused { reason: reason(c) },
            _ => Settlement::Failed { reason: reason(c) },
        },
    }
}

/// How a failure to read a check (S3, the vendor's listing) ends an attempt: refused credentials pause it,
/// anything that can heal retries it, the rest fails it for an admin.
pub fn unreadable(what: &str, e: &Error) -> Settlement {
    let reason = format!("{what}: {e}");
    match (e.kind(), e.class()) {
        (Kind::Auth, _) | (Kind::Status(401 | 403), _) => Settlement::CredentialsRefused { reason },
        (_, Class::Retryable) => Settlement::Retry {
            reason,
            wait_secs: e.retry_after().map(|d| d.as_secs()),
        },
        _ => Settlement::Failed { reason },
    }
}

/// What one attempt leaves behind, whatever its end: never changed or removed, kept after the entry changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub recording: crate::model::RecordingKey,
    pub tenant: TenantId,
    pub connection_id: ConnectionId,
    pub at: DateTime<Utc>,
    /// Which attempt this was (1, 2, …).
    pub attempt: u32,
    /// Who made it: the scheduled sweep, or an admin's `deletions --execute`.
    pub by: String,
    pub plan: DeletePlan,
    /// Every file checked, with the catalog's, S3's and the vendor's values.
    pub evidence: Vec<FileEvidence>,
    /// What the vendor listed (`None`: not read, the attempt ended before).
    pub vendor: Option<VendorListing>,
    pub calls: Vec<CallResult>,
    pub settlement: Settlement,
    /// The status the entry took.
    pub status: DeletionStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_keeps_the_vendor_copy_and_asks_for_no_calls() {
        let at: DateTime<Utc> = "2026-01-01T10:00:00Z".parse().unwrap();
        let p = plan(&DeletePlan::Retain, at, at, at, |_| {
            unreachable!("no calls")
        });
        assert_eq!((p.status, p.due_at), (DeletionStatus::Retained, None));
        assert!(p.vendor_calls.is_empty());
    }

    #[test]
    fn delete_after_is_due_days_after_archiving_with_the_vendor_calls() {
        let at: DateTime<Utc> = "2026-01-01T10:00:00Z".parse().unwrap();
        let trash = DeletePlan::after_days(30, DeleteAction::Trash);
        let p = plan(&trash, at, at, at, |action| VendorCalls {
            calls: vec![format!("{action:?}")],
            notes: vec!["n".into()],
        });
        assert_eq!(p.status, DeletionStatus::Scheduled);
        assert_eq!(p.due_at, Some("2026-01-31T10:00:00Z".parse().unwrap()));
        assert_eq!(
            (p.vendor_calls, p.notes),
            (vec!["Trash".into()], vec!["n".into()])
        );
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn due_is_the_delay_after_archiving_but_not_before_the_wait_for_late_files() {
        let plan = |days, hours, late| DeletePlan::DeleteAfter {
            days,
            hours,
            action: DeleteAction::Trash,
            scope: crate::config::DeleteScope::Recording,
            late_file_hours: late,
        };
        let seen = t("2026-01-01T10:00:00Z");
        let archived = t("2026-01-01T11:00:00Z");
        assert_eq!(
            due_at(&plan(0, 6, 24), archived, seen),
            Some(t("2026-01-02T10:00:00Z")),
            "6 h after archiving is inside the 24 h wait for a transcript"
        );
        assert_eq!(
            due_at(&plan(400, 0, 24), archived, seen),
            Some(t("2027-02-05T11:00:00Z")),
            "no look-back window: 400 days is 400 days"
        );
        assert_eq!(
            due_at(&plan(0, 2, 0), archived, seen),
            Some(t("2026-01-01T13:00:00Z"))
        );
        // A late file archived later moves the due time.
        assert_eq!(
            due_at(&plan(0, 2, 0), t("2026-01-01T20:00:00Z"), seen),
            Some(t("2026-01-01T22:00:00Z"))
        );
        assert_eq!(due_at(&DeletePlan::Retain, archived, seen), None);
    }

    fn file(id: &str, bytes: u64) -> CatalogFile {
        CatalogFile {
            file_id: id.into(),
            archived: true,
            s3_key: format!("k/{id}"),
            bytes: Some(bytes),
            sha256: Some(format!("{id:0>64}")),
        }
    }

    fn in_s3(files: &[CatalogFile]) -> BTreeMap<String, StoredEvidence> {
        files
            .iter()
            .map(|f| {
                (
                    f.s3_key.clone(),
                    StoredEvidence {
                        bytes: f.bytes.unwrap(),
                        sha256: f.sha256.clone(),
                    },
                )
            })
            .collect()
    }

    fn at_vendor(files: &[CatalogFile]) -> VendorListing {
        VendorListing::Listed(
            files
                .iter()
                .map(|f| VendorFile {
                    file_id: f.file_id.clone(),
                    bytes: f.bytes,
                })
                .collect(),
        )
    }

    fn refusal(v: Verdict) -> Refusal {
        match v {
            Verdict::Refused(r, _) => r,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_whole_copy_still_listed_unchanged_at_the_vendor_may_be_deleted() {
        let files = vec![file("a", 10), file("b", 20)];
        let Verdict::Delete(evidence) = verify(
            &files,
            &in_s3(&files),
            &at_vendor(&files),
            Some(&BTreeSet::new()),
        ) else {
            panic!("expected delete")
        };
        assert_eq!(evidence.len(), 2);
        assert_eq!(evidence[1].stored.as_ref().unwrap().bytes, 20);
        assert_eq!(evidence[1].vendor_bytes, Some(20));
        assert!(matches!(
            verify(
                &files,
                &in_s3(&files),
                &VendorListing::Gone,
                Some(&BTreeSet::new())
            ),
            Verdict::AlreadyGone(_)
        ));
    }

    #[test]
    fn every_doubt_about_our_copy_or_the_vendors_refuses_the_deletion() {
        let files = vec![file("a", 10), file("b", 20)];
        let s3 = in_s3(&files);
        let vendor = at_vendor(&files);

        let mut not_done = files.clone();
        not_done[1].archived = false;
        assert_eq!(
            refusal(verify(&not_done, &s3, &vendor, Some(&BTreeSet::new()))),
            Refusal::NotArchived {
                file_id: "b".into()
            }
        );

        let mut missing = s3.clone();
        missing.remove("k/a");
        assert!(matches!(
            refusal(verify(&files, &missing, &vendor, Some(&BTreeSet::new()))),
            Refusal::ObjectMissing { .. }
        ));

        let mut shorter = s3.clone();
        shorter.get_mut("k/b").unwrap().bytes = 19;
        assert!(matches!(
            refusal(verify(&files, &shorter, &vendor, Some(&BTreeSet::new()))),
            Refusal::SizeMismatch {
                catalog: 20,
                stored: 19,
                ..
            }
        ));

        let mut other_sum = s3.clone();
        other_sum.get_mut("k/a").unwrap().sha256 = Some("f".repeat(64));
        assert!(matches!(
            refusal(verify(&files, &other_sum, &vendor, Some(&BTreeSet::new()))),
            Refusal::ChecksumMismatch { .. }
        ));
        let mut no_sum = s3.clone();
        no_sum.get_mut("k/a").unwrap().sha256 = None;
        assert!(matches!(
            refusal(verify(&files, &no_sum, &vendor, Some(&BTreeSet::new()))),
            Refusal::ChecksumUnknown { .. }
        ));

        let mut grown = files.clone();
        grown.push(file("c", 5));
        let changed = at_vendor(&grown);
        assert_eq!(
            refusal(verify(&files, &s3, &changed, Some(&BTreeSet::new()))),
            Refusal::VendorFileNotArchived {
                file_id: "c".into()
            }
        );
        // Deleting one file alone does not need the others archived.
        assert!(matches!(
            verify(&files[..1], &s3, &changed, None),
            Verdict::Delete(_)
        ));
        // A file the vendor lists that the connection does not archive on purpose (`filters.files`) goes
        // with the recording.
        let left_out: BTreeSet<String> = ["c".to_owned()].into();
        assert!(matches!(
            verify(&files, &s3, &changed, Some(&left_out)),
            Verdict::Delete(_)
        ));

        let mut resized = files.clone();
        resized[0].bytes = Some(11);
        assert!(matches!(
            refusal(verify(
                &files,
                &s3,
                &at_vendor(&resized),
                Some(&BTreeSet::new())
            )),
            Refusal::VendorSizeChanged {
                vendor: 11,
                ours: 10,
                ..
            }
        ));
    }

    fn scheduled(due: &str) -> DeletionEntry {
        let at = t("2026-01-01T00:00:00Z");
        let mut d = plan(
            &DeletePlan::after_days(1, DeleteAction::Trash),
            at,
            at,
            at,
            |_| VendorCalls::default(),
        );
        d.due_at = Some(t(due));
        d
    }

    #[test]
    fn a_claim_takes_a_due_entry_once_and_a_dead_sweeps_claim_runs_out() {
        let d = scheduled("2026-01-02T00:00:00Z");
        assert_eq!(claim(&d, t("2026-01-01T23:59:59Z"), CLAIM), None, "not due");
        let c = claim(&d, t("2026-01-02T00:00:00Z"), CLAIM).unwrap();
        assert_eq!(
            (c.status, c.rev, c.attempts),
            (DeletionStatus::Deleting, 1, 1)
        );
        assert_eq!(c.lease_until, Some(t("2026-01-02T00:15:00Z")));
        assert_eq!(c.next_look(), c.lease_until);
        assert_eq!(claim(&c, t("2026-01-02T00:14:59Z"), CLAIM), None, "held");
        let again = claim(&c, t("2026-01-02T00:15:00Z"), CLAIM).unwrap();
        assert_eq!((again.rev, again.attempts), (2, 2));
        for status in DeletionStatus::ALL {
            let mut other = d.clone();
            other.status = status;
            let pending = matches!(
                status,
                DeletionStatus::Scheduled | DeletionStatus::Retrying | DeletionStatus::Paused
            );
            assert_eq!(
                claim(&other, t("2027-01-01T00:00:00Z"), CLAIM).is_some(),
                pending || status == DeletionStatus::Deleting,
                "{status:?}"
            );
            assert_eq!(
                other.next_look().is_some(),
                status.is_pending(),
                "{status:?}"
            );
        }
        assert!(!DeletionStatus::Deleted.may_replan() && !DeletionStatus::Deleting.may_replan());
        assert!(DeletionStatus::Refused.may_replan() && DeletionStatus::Scheduled.may_replan());
    }

    #[test]
    fn settling_keeps_the_reason_and_only_a_success_is_done() {
        let now = t("2026-01-02T00:00:00Z");
        let c = claim(&scheduled("2026-01-02T00:00:00Z"), now, CLAIM).unwrap();
        let done = settle(&c, &Settlement::Deleted, now);
        assert_eq!(
            (done.status, done.settled_at, done.rev),
            (DeletionStatus::Deleted, Some(now), 2)
        );
        assert_eq!(done.next_look(), None);
        let retry = settle(
            &c,
            &Settlement::Retry {
                reason: "429".into(),
                wait_secs: Some(3600),
            },
            now,
        );
        assert_eq!(retry.status, DeletionStatus::Retrying);
        assert_eq!(
            retry.due_at,
            Some(now + Duration::hours(1)),
            "Retry-After beats a shorter back-off"
        );
        assert_eq!(retry.settled_at, None);
        let paused = settle(
            &c,
            &Settlement::CredentialsRefused {
                reason: "401".into(),
            },
            now,
        );
        assert_eq!(
            (paused.status, paused.due_at),
            (DeletionStatus::Paused, Some(now + CREDENTIALS_RECHECK))
        );
        let refused = settle(
            &c,
            &Settlement::Refused {
                refusal: Refusal::NotArchived {
                    file_id: "a".into(),
                },
            },
            now,
        );
        assert_eq!(refused.reason.as_deref(), Some("file a is not archived"));
        assert_eq!(refused.next_look(), None, "left for an admin");
        assert_eq!(backoff(1), Duration::minutes(5));
        assert_eq!(backoff(3), Duration::minutes(20));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn the_calls_of_an_attempt_end_it_by_the_first_that_failed() {
        let ok = CallResult::of("DELETE a", Ok(204));
        let gone = CallResult::of("DELETE b", Ok(404));
        let throttled = CallResult::of(
            "DELETE c",
            Err(Error::status(429, "slow down").wait(std::time::Duration::from_secs(90))),
        );
        assert_eq!(
            (throttled.status, throttled.retry_after_secs),
            (Some(429), Some(90))
        );
        let denied = CallResult::of(
            "DELETE d",
            Err(Error::new(Class::Retryable, Kind::Auth, "401")),
        );
        let broken = CallResult::of("DELETE e", Err(Error::status(500, "oops")));
        let bad = CallResult::of("DELETE f", Err(Error::status(400, "no")));
        assert_eq!(outcome(&[ok.clone(), gone.clone()]), Settlement::Deleted);
        assert_eq!(
            outcome(std::slice::from_ref(&gone)),
            Settlement::AlreadyGone
        );
        assert!(matches!(
            outcome(&[ok.clone(), throttled]),
            Settlement::Retry {
                wait_secs: Some(90),
                ..
            }
        ));
        assert!(matches!(
            outcome(&[denied]),
            Settlement::CredentialsRefused { .. }
        ));
        assert!(matches!(outcome(&[broken]), Settlement::Retry { .. }));
        assert!(
            matches!(outcome(&[bad]), Settlement::Failed { reason } if reason.contains("DELETE f"))
        );
        assert!(matches!(outcome(&[]), Settlement::Failed { .. }));
        let net = Error::transient("reset").kind_of(Kind::Network);
        assert!(matches!(unreadable("S3", &net), Settlement::Retry { .. }));
        assert!(matches!(
            unreadable("S3", &Error::data("x")),
            Settlement::Failed { .. }
        ));
    }

    #[test]
    fn only_a_success_or_not_found_counts_as_done() {
        assert_eq!(answer(204), Answer::Done);
        assert_eq!(answer(200), Answer::Done);
        assert_eq!(answer(404), Answer::AlreadyGone);
        assert_eq!(answer(429), Answer::Retry);
        assert_eq!(answer(503), Answer::Retry);
        assert_eq!(answer(500), Answer::Retry);
        assert_eq!(answer(401), Answer::CredentialsRefused);
        assert_eq!(answer(403), Answer::CredentialsRefused);
        assert_eq!(answer(400), Answer::Failed);
        assert_eq!(answer(302), Answer::Failed);
    }
}
