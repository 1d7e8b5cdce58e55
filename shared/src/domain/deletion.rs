//! Deleting the vendor copy of an archived recording: when it is due ([`plan`]), what must hold before any
//! call ([`verify`]), and how a vendor's answer is read ([`answer`]). Pure rules; the sweep that applies them
//! reads S3 and the vendor, and the exact vendor calls are each vendor's (`zoom`/`webex` `deletion::calls`).

use crate::catalog::{DeletionEntry, DeletionStatus};
use crate::config::{DeleteAction, DeletePlan};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
/// by S3 key; a missing key is a missing object.
pub fn verify(
    files: &[CatalogFile],
    stored: &BTreeMap<String, StoredEvidence>,
    vendor: &VendorListing,
    whole_recording: bool,
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
    match first_refusal(files, &evidence, &listed, whole_recording) {
        Some(r) => Verdict::Refused(r, evidence),
        None if *vendor == VendorListing::Gone => Verdict::AlreadyGone(evidence),
        None => Verdict::Delete(evidence),
    }
}

fn first_refusal(
    files: &[CatalogFile],
    evidence: &[FileEvidence],
    listed: &BTreeMap<&str, &VendorFile>,
    whole_recording: bool,
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
    if whole_recording {
        let ours: std::collections::BTreeSet<&str> =
            files.iter().map(|f| f.file_id.as_str()).collect();
        if let Some(extra) = listed.keys().find(|id| !ours.contains(*id)) {
            return Some(Refusal::VendorFileNotArchived {
                file_id: (*extra).to_owned(),
            });
        }
    }
    None
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
        let Verdict::Delete(evidence) = verify(&files, &in_s3(&files), &at_vendor(&files), true)
        else {
            panic!("expected delete")
        };
        assert_eq!(evidence.len(), 2);
        assert_eq!(evidence[1].stored.as_ref().unwrap().bytes, 20);
        assert_eq!(evidence[1].vendor_bytes, Some(20));
        assert!(matches!(
            verify(&files, &in_s3(&files), &VendorListing::Gone, true),
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
            refusal(verify(&not_done, &s3, &vendor, true)),
            Refusal::NotArchived {
                file_id: "b".into()
            }
        );

        let mut missing = s3.clone();
        missing.remove("k/a");
        assert!(matches!(
            refusal(verify(&files, &missing, &vendor, true)),
            Refusal::ObjectMissing { .. }
        ));

        let mut shorter = s3.clone();
        shorter.get_mut("k/b").unwrap().bytes = 19;
        assert!(matches!(
            refusal(verify(&files, &shorter, &vendor, true)),
            Refusal::SizeMismatch {
                catalog: 20,
                stored: 19,
                ..
            }
        ));

        let mut other_sum = s3.clone();
        other_sum.get_mut("k/a").unwrap().sha256 = Some("f".repeat(64));
        assert!(matches!(
            refusal(verify(&files, &other_sum, &vendor, true)),
            Refusal::ChecksumMismatch { .. }
        ));
        let mut no_sum = s3.clone();
        no_sum.get_mut("k/a").unwrap().sha256 = None;
        assert!(matches!(
            refusal(verify(&files, &no_sum, &vendor, true)),
            Refusal::ChecksumUnknown { .. }
        ));

        let mut grown = files.clone();
        grown.push(file("c", 5));
        let changed = at_vendor(&grown);
        assert_eq!(
            refusal(verify(&files, &s3, &changed, true)),
            Refusal::VendorFileNotArchived {
                file_id: "c".into()
            }
        );
        // Deleting one file alone does not need the others archived.
        assert!(matches!(
            verify(&files[..1], &s3, &changed, false),
            Verdict::Delete(_)
        ));

        let mut resized = files.clone();
        resized[0].bytes = Some(11);
        assert!(matches!(
            refusal(verify(&files, &s3, &at_vendor(&resized), true)),
            Refusal::VendorSizeChanged {
                vendor: 11,
                ours: 10,
                ..
            }
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
