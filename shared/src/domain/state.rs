//! The catalog's state machine: every step a stage takes on a file or a recording, the states it may start
//! from and the state it leads to. These functions are the rules; the DynamoDB adapter only translates them
//! into condition expressions and the in-memory catalog applies them directly, and a contract test
//! (`fakes::contract`) checks that both agree with them for every step and every state.

use crate::catalog::Lease;
use crate::model::{FileState, RecordingState};

/// Every step a stage takes on one file entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileStep {
    /// A new file entry; only if absent (the per-file idempotency key is its primary key).
    Create,
    /// A later delivery's fresher download source (Zoom's `download_token`), while the file waits for bytes.
    RefreshSource,
    /// The download job was sent.
    Queue,
    /// The downloader takes the lease (also from a holder whose lease expired: it is dead).
    Acquire,
    /// How far the transfer got, saved by the lease holder (the state is unchanged).
    Checkpoint,
    /// Stored and verified.
    Complete,
    /// A failure that can heal: the queue redelivers.
    RetryLater,
    /// A failure that cannot: recorded for an admin.
    Fail,
    /// A failed file is tried again: an admin's `retry`, or a later webhook with a fresher token.
    Reopen,
    /// The vendor now has another version of an archived file (its size changed): the new version is
    /// archived under a new key; the old object stays, listed on the entry as superseded (never overwritten).
    Supersede,
    /// The recording's quarantine expired and our copy was removed: the file (archived, or failed) waits for
    /// bytes again (the vendor copy is kept), for an admin's `retry`.
    Expire,
}

/// Files that still wait for bytes.
const PENDING: [FileState; 4] = [
    FileState::Planned,
    FileState::Queued,
    FileState::Retrying,
    FileState::Downloading,
];

impl FileStep {
    pub const ALL: [FileStep; 11] = [
        FileStep::Create,
        FileStep::RefreshSource,
        FileStep::Queue,
        FileStep::Acquire,
        FileStep::Checkpoint,
        FileStep::Complete,
        FileStep::RetryLater,
        FileStep::Fail,
        FileStep::Reopen,
        FileStep::Supersede,
        FileStep::Expire,
    ];

    /// The catalog operation that takes this step.
    pub fn operation(self) -> &'static str {
        match self {
            FileStep::Create => "create_file",
            FileStep::RefreshSource => "refresh_source",
            FileStep::Queue => "mark_queued",
            FileStep::Acquire => "acquire",
            FileStep::Checkpoint => "checkpoint",
            FileStep::Complete => "complete",
            FileStep::RetryLater => "retry_later",
            FileStep::Fail => "fail",
            FileStep::Reopen => "reopen_file",
            FileStep::Supersede => "supersede_file",
            FileStep::Expire => "expire_file",
        }
    }

    /// The stage that takes it.
    pub fn stage(self) -> &'static str {
        match self {
            FileStep::Create | FileStep::RefreshSource | FileStep::Supersede => "enqueue",
            FileStep::Reopen => "enqueue, admin",
            FileStep::Queue => "owner-resolver",
            FileStep::Expire => "sweeper",
            _ => "downloader",
        }
    }

    /// The states a file may be in for this step. Empty for [`FileStep::Create`]: the file must be absent.
    pub fn from(self) -> &'static [FileState] {
        match self {
            FileStep::Create => &[],
            FileStep::RefreshSource => &PENDING,
            FileStep::Queue => &[FileState::Planned],
            FileStep::Acquire => &[FileState::Planned, FileState::Queued, FileState::Retrying],
            FileStep::Checkpoint | FileStep::Complete | FileStep::RetryLater | FileStep::Fail => {
                &[FileState::Downloading]
            }
            FileStep::Reopen => &[FileState::Failed],
            FileStep::Supersede => &[FileState::Archived],
            FileStep::Expire => &[FileState::Archived, FileState::Failed],
        }
    }

    /// Whether a file `downloading` under an expired lease may also take this step (its holder is dead).
    pub fn takes_over_expired_lease(self) -> bool {
        self == FileStep::Acquire
    }

    /// Whether only the holder of the current lease may take the step (its lease end must be the stored one).
    pub fn needs_own_lease(self) -> bool {
        self == FileStep::Checkpoint
    }

    /// Whether the step also needs the file to be the version the caller read (its `s3_key` unchanged), so a
    /// version is superseded once however many deliveries announce the change.
    pub fn needs_version_read(self) -> bool {
        self == FileStep::Supersede
    }

    /// Whether the step also needs the new source to be fresher than the stored one.
    pub fn needs_fresher_source(self) -> bool {
        self == FileStep::RefreshSource
    }

    /// The state after the step; `None` when the state is unchanged.
    pub fn to(self) -> Option<FileState> {
        match self {
            FileStep::Create => Some(FileState::Planned),
            FileStep::RefreshSource => None,
            FileStep::Queue => Some(FileState::Queued),
            FileStep::Acquire => Some(FileState::Downloading),
            FileStep::Checkpoint => None,
            FileStep::Complete => Some(FileState::Archived),
            FileStep::RetryLater => Some(FileState::Retrying),
            FileStep::Fail => Some(FileState::Failed),
            FileStep::Reopen | FileStep::Supersede | FileStep::Expire => Some(FileState::Planned),
        }
    }
}

/// What the rules look at on a stored file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFacts {
    pub state: FileState,
    pub lease_until_ms: Option<i64>,
    pub source_issued_at_ms: i64,
}

/// What the step brings: the time, for [`FileStep::RefreshSource`] when the new source was issued, and for a
/// step that needs its own lease the end of the lease the caller holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepInput {
    pub now_ms: i64,
    pub issued_at_ms: i64,
    pub lease_until_ms: i64,
}

/// Whether `step` may be taken on `file` (`None`: absent).
pub fn file_allows(step: FileStep, file: Option<&FileFacts>, input: StepInput) -> bool {
    let Some(f) = file else {
        return step == FileStep::Create;
    };
    let by_state = step.from().contains(&f.state)
        || (step.takes_over_expired_lease()
            && f.state == FileState::Downloading
            && f.lease_until_ms.is_some_and(|until| until < input.now_ms));
    by_state
        && (!step.needs_fresher_source() || f.source_issued_at_ms < input.issued_at_ms)
        && (!step.needs_own_lease() || f.lease_until_ms == Some(input.lease_until_ms))
}

/// Why a lease was not granted, from the file's state (`None`: absent).
pub fn lease_refused(current: Option<FileState>) -> Lease {
    match current {
        None => Lease::Missing,
        Some(s @ (FileState::Archived | FileState::Failed)) => Lease::Finished(s),
        Some(_) => Lease::Busy,
    }
}

/// Every step a stage takes on a recording entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordingStep {
    /// The first delivery creates the entry. A later delivery only adds file and vendor recording ids; the
    /// descriptive attributes stay those of the first.
    Create,
    /// The owner is set.
    OwnerSet,
    /// Every known file is archived.
    Archive,
    /// A file arrived after archiving (a late transcript): archive again when it is done.
    Reopen,
    /// A file failed for good.
    Fail,
    /// Its last failed file was reopened: the recording goes through owner resolution again.
    Retry,
    /// The connection's filters exclude a new recording: recorded as skipped, with the reason, and nothing
    /// else (no file entries).
    Skip,
    /// A skipped recording delivered again that the filters no longer exclude: archived after all.
    Unskip,
    /// No rule found the host in the directory and the connection's policy is `owner.unmatched: skip`:
    /// recorded as skipped with the reason; its files stay planned, nothing is downloaded.
    OwnerSkip,
    /// An admin asks again for a recording skipped for want of an owner (`archiver-admin retry`): it goes
    /// through owner resolution again.
    OwnerRetry,
    /// A recording's quarantine (`owner.unmatched: quarantine`) ran out with no owner assigned: recorded as
    /// skipped (`quarantine_expired`) with the reason, its deletion plan dropped; our copy is then removed
    /// and its files wait again (the vendor copy is kept, for `retry`). Only if still in the quarantine the
    /// caller read, so that an owner assigned meanwhile wins.
    QuarantineExpire,
}

impl RecordingStep {
    pub const ALL: [RecordingStep; 11] = [
        RecordingStep::Create,
        RecordingStep::OwnerSet,
        RecordingStep::Archive,
        RecordingStep::Reopen,
        RecordingStep::Fail,
        RecordingStep::Retry,
        RecordingStep::Skip,
        RecordingStep::Unskip,
        RecordingStep::OwnerSkip,
        RecordingStep::OwnerRetry,
        RecordingStep::QuarantineExpire,
    ];

    /// The catalog operation that takes this step.
    pub fn operation(self) -> &'static str {
        match self {
            RecordingStep::Create | RecordingStep::Reopen | RecordingStep::Unskip => {
                "upsert_recording"
            }
            RecordingStep::Skip => "record_skip",
            RecordingStep::OwnerSet => "set_owner",
            RecordingStep::Archive => "mark_archived",
            RecordingStep::Fail => "fail",
            RecordingStep::Retry => "reopen_file",
            RecordingStep::OwnerSkip => "skip_at_owner",
            RecordingStep::OwnerRetry => "retry_owner",
            RecordingStep::QuarantineExpire => "expire_quarantine",
        }
    }

    pub fn stage(self) -> &'static str {
        match self {
            RecordingStep::Create
            | RecordingStep::Reopen
            | RecordingStep::Skip
            | RecordingStep::Unskip => "enqueue",
            RecordingStep::Retry => "enqueue, admin",
            RecordingStep::OwnerSet | RecordingStep::OwnerSkip => "owner-resolver",
            RecordingStep::OwnerRetry => "admin",
            RecordingStep::QuarantineExpire => "sweeper",
            RecordingStep::Archive | RecordingStep::Fail => "downloader",
        }
    }

    /// The states a recording may be in for this step. Empty for [`RecordingStep::Create`]: it must be absent.
    /// A `failed` recording is not reopened by a late file: it waits for its failed files to be retried.
    pub fn from(self) -> &'static [RecordingState] {
        match self {
            RecordingStep::Create | RecordingStep::Skip => &[],
            RecordingStep::Unskip => &[RecordingState::Skipped],
            RecordingStep::OwnerSet => &[RecordingState::PendingOwner],
            RecordingStep::Archive => &[RecordingState::Archiving],
            RecordingStep::Reopen => &[RecordingState::Archived],
            RecordingStep::Fail => &[RecordingState::PendingOwner, RecordingState::Archiving],
            RecordingStep::Retry => &[RecordingState::Failed],
            RecordingStep::OwnerSkip => &[RecordingState::PendingOwner],
            RecordingStep::OwnerRetry => &[RecordingState::Skipped],
            RecordingStep::QuarantineExpire => &[RecordingState::Archived, RecordingState::Failed],
        }
    }

    pub fn to(self) -> RecordingState {
        match self {
            RecordingStep::Create => RecordingState::PendingOwner,
            RecordingStep::OwnerSet | RecordingStep::Reopen => RecordingState::Archiving,
            RecordingStep::Archive => RecordingState::Archived,
            RecordingStep::Fail => RecordingState::Failed,
            RecordingStep::Retry | RecordingStep::Unskip | RecordingStep::OwnerRetry => {
                RecordingState::PendingOwner
            }
            RecordingStep::Skip | RecordingStep::OwnerSkip | RecordingStep::QuarantineExpire => {
                RecordingState::Skipped
            }
        }
    }

    /// Whether the step also needs the recording to be in the quarantine the caller read (its
    /// `quarantine_until` unchanged).
    pub fn needs_quarantine_read(self) -> bool {
        self == RecordingStep::QuarantineExpire
    }

    /// Whether the step needs every known file done ([`RecordingStep::Archive`]) or some file not done
    /// ([`RecordingStep::Reopen`]).
    pub fn needs_all_done(self) -> Option<bool> {
        match self {
            RecordingStep::Archive => Some(true),
            RecordingStep::Reopen => Some(false),
            _ => None,
        }
    }
}

/// Whether `step` may be taken on a recording in `current` (`None`: absent) whose known files are all done
/// (`all_done`) or not.
pub fn recording_allows(
    step: RecordingStep,
    current: Option<RecordingState>,
    all_done: bool,
) -> bool {
    let Some(state) = current else {
        return matches!(step, RecordingStep::Create | RecordingStep::Skip);
    };
    step.from().contains(&state) && step.needs_all_done().is_none_or(|want| want == all_done)
}

/// What a delivery (that the filters let through) does to a stored recording once its file ids are added:
/// reopen an archived one that now has a file not done, archive a skipped one after all; otherwise nothing.
pub fn after_delivery(state: RecordingState, all_done: bool) -> Option<RecordingStep> {
    [RecordingStep::Reopen, RecordingStep::Unskip]
        .into_iter()
        .find(|step| recording_allows(*step, Some(state), all_done))
}

fn states<S: Copy>(list: &[S], name: impl Fn(S) -> &'static str) -> String {
    if list.is_empty() {
        return "(absent)".into();
    }
    list.iter().map(|s| name(*s)).collect::<Vec<_>>().join(", ")
}

/// The file steps as a Markdown table (the one in `docs/architecture.md` §4 is checked against it).
pub fn file_table() -> String {
    let mut t = String::from("| Step (operation) | Stage | From | To |\n|---|---|---|---|\n");
    for step in FileStep::ALL {
        let mut from = states(step.from(), FileState::as_str);
        if step.takes_over_expired_lease() {
            from.push_str(", or downloading with an expired lease");
        }
        if step.needs_fresher_source() {
            from.push_str(" (and the new source is fresher)");
        }
        if step.needs_own_lease() {
            from.push_str(" (under the caller's own lease)");
        }
        if step.needs_version_read() {
            from.push_str(" (the version the caller read)");
        }
        let to = step.to().map_or("(unchanged)", FileState::as_str);
        t.push_str(&format!(
            "| `{}` | {} | {from} | {to} |\n",
            step.operation(),
            step.stage()
        ));
    }
    t
}

/// The recording steps as a Markdown table (checked against `docs/architecture.md` §4).
pub fn recording_table() -> String {
    let mut t = String::from("| Step (operation) | Stage | From | To |\n|---|---|---|---|\n");
    for step in RecordingStep::ALL {
        let mut from = states(step.from(), RecordingState::as_str);
        match step.needs_all_done() {
            Some(true) => from.push_str(" (every known file archived)"),
            Some(false) => from.push_str(" (a known file not archived)"),
            None => {}
        }
        if step.needs_quarantine_read() {
            from.push_str(" (in the quarantine the caller read)");
        }
        t.push_str(&format!(
            "| {:?} (`{}`) | {} | {from} | {} |\n",
            step,
            step.operation(),
            step.stage(),
            step.to().as_str()
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(state: FileState, lease: Option<i64>) -> FileFacts {
        FileFacts {
            state,
            lease_until_ms: lease,
            source_issued_at_ms: 100,
        }
    }

    const NOW: StepInput = StepInput {
        now_ms: 1_000,
        issued_at_ms: 200,
        lease_until_ms: 5_000,
    };

    #[test]
    fn which_files_may_be_leased() {
        for s in [FileState::Planned, FileState::Queued, FileState::Retrying] {
            assert!(file_allows(FileStep::Acquire, Some(&file(s, None)), NOW));
        }
        // A live lease makes a duplicate job a no-op; an expired one is taken over.
        assert!(!file_allows(
            FileStep::Acquire,
            Some(&file(FileState::Downloading, Some(5_000))),
            NOW
        ));
        assert!(file_allows(
            FileStep::Acquire,
            Some(&file(FileState::Downloading, Some(999))),
            NOW
        ));
        for s in [FileState::Archived, FileState::Failed] {
            assert!(!file_allows(FileStep::Acquire, Some(&file(s, None)), NOW));
        }
        assert!(!file_allows(FileStep::Acquire, None, NOW));
        assert_eq!(lease_refused(None), Lease::Missing);
        assert_eq!(
            lease_refused(Some(FileState::Failed)),
            Lease::Finished(FileState::Failed)
        );
        assert_eq!(lease_refused(Some(FileState::Downloading)), Lease::Busy);
    }

    #[test]
    fn only_the_holder_of_the_live_lease_checkpoints() {
        let mine = file(FileState::Downloading, Some(5_000));
        assert!(file_allows(FileStep::Checkpoint, Some(&mine), NOW));
        // Taken over by another worker (a new lease end), or no longer downloading: refused.
        let theirs = file(FileState::Downloading, Some(9_000));
        assert!(!file_allows(FileStep::Checkpoint, Some(&theirs), NOW));
        for s in [FileState::Retrying, FileState::Archived, FileState::Failed] {
            assert!(!file_allows(
                FileStep::Checkpoint,
                Some(&file(s, Some(5_000))),
                NOW
            ));
        }
        assert_eq!(FileStep::Checkpoint.to(), None, "the state is unchanged");
    }

    #[test]
    fn only_the_lease_holder_finishes_and_only_pending_files_take_a_fresher_source() {
        for step in [FileStep::Complete, FileStep::RetryLater, FileStep::Fail] {
            for s in PENDING {
                let ok = file_allows(step, Some(&file(s, Some(5_000))), NOW);
                assert_eq!(ok, s == FileState::Downloading, "{step:?} from {s:?}");
            }
        }
        assert!(file_allows(
            FileStep::RefreshSource,
            Some(&file(FileState::Queued, None)),
            NOW
        ));
        let older = StepInput {
            issued_at_ms: 50,
            ..NOW
        };
        assert!(!file_allows(
            FileStep::RefreshSource,
            Some(&file(FileState::Queued, None)),
            older
        ));
        assert!(!file_allows(
            FileStep::RefreshSource,
            Some(&file(FileState::Archived, None)),
            NOW
        ));
        assert!(file_allows(FileStep::Create, None, NOW));
        assert!(!file_allows(
            FileStep::Create,
            Some(&file(FileState::Failed, None)),
            NOW
        ));
    }

    #[test]
    fn recordings_archive_once_reopen_for_late_files_and_stay_failed() {
        use RecordingState::*;
        assert!(recording_allows(
            RecordingStep::Archive,
            Some(Archiving),
            true
        ));
        assert!(!recording_allows(
            RecordingStep::Archive,
            Some(Archiving),
            false
        ));
        assert!(!recording_allows(
            RecordingStep::Archive,
            Some(Archived),
            true
        ));
        assert_eq!(after_delivery(Archived, false), Some(RecordingStep::Reopen));
        assert_eq!(after_delivery(Archived, true), None);
        assert_eq!(
            after_delivery(Failed, false),
            None,
            "failed is never reopened"
        );
        assert!(recording_allows(
            RecordingStep::Fail,
            Some(PendingOwner),
            false
        ));
        assert!(!recording_allows(RecordingStep::Fail, Some(Archived), true));
        assert!(recording_allows(
            RecordingStep::OwnerSet,
            Some(PendingOwner),
            false
        ));
        assert!(!recording_allows(
            RecordingStep::OwnerSet,
            Some(Archiving),
            false
        ));
        assert!(recording_allows(RecordingStep::Create, None, false));
        assert!(!recording_allows(
            RecordingStep::Create,
            Some(Failed),
            false
        ));
    }

    #[test]
    fn the_architecture_doc_shows_the_state_machine_of_the_code() {
        let doc = include_str!("../../../docs/architecture.md");
        for table in [file_table(), recording_table()] {
            assert!(
                doc.contains(&table),
                "docs/architecture.md §4 must contain this table, generated from shared::state:\n{table}"
            );
        }
    }
}
