//! The catalog: what we know about every recording and file, and the idempotent state transitions the stages
//! make on it. Ports are split by the stage that uses them; the DynamoDB adapter implements all of them.
//!
//! Exactly-once comes from at-least-once delivery plus conditional transitions:
//! - a file entry is created only if absent (the per-file idempotency key is its primary key);
//! - a file is handed to the downloader while `planned`, downloaded under a lease, and completed only from
//!   `downloading`; a recording is archived only once all of its known files are done.

use crate::config::DeletePlan;
use crate::error::Error;
use crate::ids::{
    AccountId, Category, ConnectionId, Email, FileId, InstanceId, TenantId, UserId, Vendor,
};
use crate::model::{
    DownloadSource, FileKind, FileState, MeetingKind, Recording, RecordingFile, RecordingKey,
    RecordingState,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A recording (meeting instance) as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingEntry {
    pub tenant: TenantId,
    pub connection_id: ConnectionId,
    pub vendor: Vendor,
    pub account_id: AccountId,
    pub instance_id: InstanceId,
    pub meeting_id: String,
    pub topic: String,
    pub kind: MeetingKind,
    pub host_id: Option<String>,
    pub host_email: Option<Email>,
    pub start_time: DateTime<Utc>,
    pub timezone: Option<String>,
    pub duration_minutes: Option<u32>,
    pub state: RecordingState,
    /// The S3 folder of this recording (see [`crate::keys`]): by the default layout when created, by the
    /// connection's layout once the owner is decided (before anything is downloaded).
    pub s3_prefix: String,
    /// The recording's UTC start that dates its folder ([`Recording::filed_at`]); absent on entries made
    /// before layouts, whose folder is kept.
    #[serde(default)]
    pub filed_at: Option<DateTime<Utc>>,
    pub owner: Option<UserId>,
    /// Which owner rule decided (`host_vendor_id`, `user_id`, `host_email`, `external_id`,
    /// `participant_host`, `default_owner`; see `shared::owner`).
    pub owner_rule: Option<String>,
    /// Every rule tried and what it found, one line each, and what became of each co-host
    /// (`archiver-admin explain`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_trace: Vec<String>,
    /// The vendor's ids of the recording: the Zoom meeting uuid, or every Webex recording (segment) id.
    #[serde(default)]
    pub vendor_recording_ids: BTreeSet<String>,
    /// Who took part, as the vendor lists them (Webex `meetingParticipants`; Zoom's co-hosts, alternative
    /// hosts, participants and panelists, as far as the connection's policy uses them), for owner rules and
    /// admins.
    #[serde(default)]
    pub attendees: Option<Attendees>,
    #[serde(default)]
    pub file_ids: BTreeSet<String>,
    #[serde(default)]
    pub done_ids: BTreeSet<String>,
    #[serde(default)]
    pub failed_ids: BTreeSet<String>,
    /// What normalisation left out of the vendor's events and why ([`Recording::notes`]), merged over every
    /// delivery (a set: a repeated delivery adds nothing).
    #[serde(default)]
    pub ingest_notes: BTreeSet<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    pub deletion: Option<DeletionEntry>,
    /// Removed at the vendor by someone else than the deletion sweep (a person, the vendor's retention).
    #[serde(default)]
    pub removed_at_vendor: Option<VendorRemoval>,
    /// Why it is not archived (state `skipped`): the connection's filters, or (with `owner_rule` naming the
    /// rule) the owner stage's routing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_reason: Option<String>,
    /// Where the recording is filed (`routing.categories`), decided with the owner.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Category>,
    /// Files the vendor has that are not archived on purpose (a kind switched off in `filters.files`; the
    /// reason is among `ingest_notes`): never counted as missing, by backfill or by the deletion checks.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub skipped_files: BTreeSet<String>,
    /// Title and description by the connection's templates, rendered with the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub titled: Option<crate::naming::Titled>,
    /// In quarantine until then (`owner.unmatched: quarantine`): archived under `quarantine/`, held by the
    /// default owner, its vendor copy kept, until `archiver-admin assign-owner` gives it its owner or the
    /// sweeper removes our copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine_until: Option<DateTime<Utc>>,
}

/// A recording removed at the vendor by someone else than our deletion sweep, as its event said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorRemoval {
    /// The vendor's event (`recording.trashed`, `recording.deleted`), or [`FOUND_GONE_AT_DOWNLOAD`].
    pub event: String,
    /// Who removed it, when the vendor says (an e-mail; shown to admins, never logged).
    pub operator: Option<String>,
    pub at: DateTime<Utc>,
    /// Whether every file was archived when it happened: if not, what was missing is lost at the vendor.
    pub archived_before: bool,
}

/// The [`VendorRemoval::event`] of a removal found by the downloader: the vendor no longer had the recording
/// (Webex: 404, or `deleted`/`purged`; Zoom: no longer listed) when a file was to be copied. Nobody is named.
pub const FOUND_GONE_AT_DOWNLOAD: &str = "found_gone_at_download";

/// What recording a vendor's removal event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalOutcome {
    /// Someone else's removal, recorded on the entry; whether every file was archived by then.
    Recorded { archived_before: bool },
    /// Our own deletion's echo (the sweep holds or settled the entry): ignored.
    Ours,
    /// A recording the catalog never had: nothing to record.
    Unknown,
}

impl RecordingEntry {
    pub fn key(&self) -> RecordingKey {
        RecordingKey {
            vendor: self.vendor,
            account: self.account_id.clone(),
            instance: self.instance_id.clone(),
        }
    }

    /// A new entry for a normalised recording, filed (S3 prefix date) under [`Recording::filed_at`].
    pub fn new(
        rec: &Recording,
        tenant: TenantId,
        connection_id: ConnectionId,
        now: DateTime<Utc>,
    ) -> Self {
        let s3_prefix = crate::keys::recording_prefix(
            &tenant,
            rec.vendor,
            &rec.account,
            rec.filed_at(),
            &rec.meeting_id,
            &rec.instance,
        );
        Self {
            tenant,
            connection_id,
            vendor: rec.vendor,
            account_id: rec.account.clone(),
            instance_id: rec.instance.clone(),
            meeting_id: rec.meeting_id.clone(),
            topic: rec.topic.clone(),
            kind: rec.kind,
            host_id: rec.host.vendor_user_id.clone(),
            host_email: rec.host.email.clone(),
            start_time: rec.start_time,
            timezone: rec.timezone.clone(),
            duration_minutes: rec.duration_minutes,
            vendor_recording_ids: rec.vendor_recording_ids.iter().cloned().collect(),
            attendees: None,
            state: RecordingState::PendingOwner,
            s3_prefix,
            filed_at: Some(rec.filed_at()),
            owner: None,
            owner_rule: None,
            owner_trace: Vec::new(),
            file_ids: BTreeSet::new(),
            done_ids: BTreeSet::new(),
            failed_ids: BTreeSet::new(),
            ingest_notes: rec.notes.iter().cloned().collect(),
            created_at: now,
            updated_at: now,
            archived_at: None,
            deletion: None,
            removed_at_vendor: None,
            skip_reason: None,
            categories: Vec::new(),
            skipped_files: BTreeSet::new(),
            titled: None,
            quarantine_until: None,
        }
    }

    /// The folder of this recording by `layout` for `owner` and `categories`; an entry made before layouts
    /// keeps its own.
    pub fn folder(
        &self,
        layout: &crate::keys::FolderLayout,
        owner: Option<&UserId>,
        categories: &[Category],
    ) -> String {
        let Some(filed_at) = self.filed_at else {
            return self.s3_prefix.clone();
        };
        layout.prefix(&crate::keys::Placed {
            tenant: &self.tenant,
            vendor: self.vendor,
            account: &self.account_id,
            filed_at,
            meeting_id: &self.meeting_id,
            instance: &self.instance_id,
            topic: &self.topic,
            owner,
            categories,
        })
    }

    /// Whether the owner stage kept it out (no owner under `unmatched: skip`, an opt-out, not opted in):
    /// `archiver-admin retry` sends such a recording back to the owner stage.
    pub fn skipped_at_owner(&self) -> bool {
        self.state == RecordingState::Skipped
            && self
                .owner_rule
                .as_deref()
                .is_some_and(crate::routing::skipped_by)
    }

    /// The title and description: as rendered with the owner by the connection's templates, else (not yet
    /// decided, or decided before templates) the defaults: the topic, and meeting, instance, the vendor's
    /// recording ids and when recording started, in UTC.
    pub fn titled(&self) -> crate::naming::Titled {
        self.titled.clone().unwrap_or_else(|| {
            crate::naming::Titles::default().render(self, self.owner.as_ref(), &self.categories)
        })
    }

    /// Whether every known file is archived.
    pub fn all_done(&self) -> bool {
        !self.file_ids.is_empty() && self.file_ids.is_subset(&self.done_ids)
    }
}

/// The people of a meeting as the vendor lists them (e-mails lower-cased), the co-hosts found in the
/// tenant's directory, and the recording's co-owners by the connection's `co_owners` mapping.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Attendees {
    /// Webex: the participant flagged as host (Zoom's recording names its host itself).
    pub host: Option<Email>,
    /// Webex: participants flagged co-host; Zoom: the dashboard's past participants with role `cohost`.
    pub co_hosts: Vec<Email>,
    /// Webex: everyone listed; Zoom: the participant report (read only where `co_owners.participants` maps
    /// them).
    pub participants: Vec<Email>,
    /// Zoom: the meeting's alternative hosts (its `settings.alternative_hosts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternative_hosts: Vec<Email>,
    /// Zoom webinars: the panelists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub panelists: Vec<Email>,
    /// The lists the vendor refused for good (no scope, not on the plan, the meeting gone), one line each:
    /// `participants: not read: <why>`; the others were read. Never holds a token or URL.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
    /// Directory users among the co-hosts (whose wishes count with `routing.co_hosts`).
    pub co_users: Vec<UserId>,
    /// Who else the recording belongs to, and how: directory users, and the e-mails of people not in it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub co_owners: Vec<CoOwner>,
}

/// One co-owner of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoOwner {
    pub role: crate::config::CoRole,
    /// Which of the meeting's people they are (`co_host`, `alternative_host`, `panelist`, `participant`).
    pub from: String,
    pub email: Email,
    /// The directory user; `None`: not in the directory, kept as the e-mail.
    pub user: Option<UserId>,
}

/// What became of the vendor copy: the plan, where its execution stands ([`DeletionStatus`], whose moves are
/// the rules of [`crate::deletion`]), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletionEntry {
    pub plan: DeletePlan,
    pub status: DeletionStatus,
    /// When the next attempt is due (the plan's due time, or a retry's).
    pub due_at: Option<DateTime<Utc>>,
    pub planned_at: DateTime<Utc>,
    /// The vendor calls the deletion sweep will make, written down when planned (empty when retained).
    #[serde(default)]
    pub vendor_calls: Vec<String>,
    /// What the deletion sweep must know or check first (e.g. Webex needs the host's e-mail).
    #[serde(default)]
    pub notes: Vec<String>,
    /// Bumped by every write of the sweep: a claim and its settlement are conditional on the revision read,
    /// so two sweeps never both act on one recording.
    #[serde(default)]
    pub rev: u64,
    /// Attempts made so far (each leaves an audit record).
    #[serde(default)]
    pub attempts: u32,
    /// While `deleting`: the claim lasts until then; a sweep that died holding it is replaced after it.
    #[serde(default)]
    pub lease_until: Option<DateTime<Utc>>,
    /// Why the last attempt ended as it did: a refusal, the vendor's answer, an error.
    #[serde(default)]
    pub reason: Option<String>,
    /// When the vendor copy was found deleted (or already gone).
    #[serde(default)]
    pub settled_at: Option<DateTime<Utc>>,
}

impl DeletionEntry {
    /// When the deletion sweep should look at this entry next, if ever: a pending entry's due time, a claim's
    /// end.
    pub fn next_look(&self) -> Option<DateTime<Utc>> {
        match self.status {
            DeletionStatus::Deleting => self.lease_until.or(self.due_at),
            s if s.is_pending() => self.due_at,
            _ => None,
        }
    }
}

/// Where a recording's vendor copy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionStatus {
    /// The connection keeps vendor copies.
    Retained,
    /// Due for deletion at `due_at`.
    Scheduled,
    /// A sweep is verifying and deleting it (until `lease_until`).
    Deleting,
    /// The vendor throttled or failed, or a check could not be read: tried again at `due_at`.
    Retrying,
    /// The vendor refused our credentials: tried again at `due_at`, by when an admin may have fixed them.
    Paused,
    /// Verification failed: our copy or the vendor's is not what the catalog says. Nothing is deleted until an
    /// admin looks (`reason`); archiving the recording again plans anew.
    Refused,
    /// The vendor refused the call for a reason time will not change (`reason`); left for an admin.
    Failed,
    /// The vendor copy is deleted (or in the vendor's trash), after verification.
    Deleted,
    /// Verified, and the vendor had nothing left to delete (deleted there before, by a person or an earlier
    /// attempt whose answer was lost).
    AlreadyGone,
}

impl DeletionStatus {
    pub const ALL: [DeletionStatus; 9] = [
        DeletionStatus::Retained,
        DeletionStatus::Scheduled,
        DeletionStatus::Deleting,
        DeletionStatus::Retrying,
        DeletionStatus::Paused,
        DeletionStatus::Refused,
        DeletionStatus::Failed,
        DeletionStatus::Deleted,
        DeletionStatus::AlreadyGone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeletionStatus::Retained => "retained",
            DeletionStatus::Scheduled => "scheduled",
            DeletionStatus::Deleting => "deleting",
            DeletionStatus::Retrying => "retrying",
            DeletionStatus::Paused => "paused",
            DeletionStatus::Refused => "refused",
            DeletionStatus::Failed => "failed",
            DeletionStatus::Deleted => "deleted",
            DeletionStatus::AlreadyGone => "already_gone",
        }
    }

    /// Waiting for the deletion sweep (in its due index).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            DeletionStatus::Scheduled
                | DeletionStatus::Deleting
                | DeletionStatus::Retrying
                | DeletionStatus::Paused
        )
    }

    /// The vendor copy is gone: nothing is planned or attempted again.
    pub fn is_done(self) -> bool {
        matches!(self, DeletionStatus::Deleted | DeletionStatus::AlreadyGone)
    }

    /// Whether archiving the recording (again) may replace this with a new plan: not while a sweep holds it,
    /// and never once the vendor copy is gone.
    pub fn may_replan(self) -> bool {
        !self.is_done() && self != DeletionStatus::Deleting
    }
}

/// One file as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub file_id: FileId,
    pub kind: FileKind,
    pub vendor_type: String,
    pub extension: String,
    pub segment_start: DateTime<Utc>,
    pub recording_end: Option<DateTime<Utc>>,
    pub expected_size: Option<u64>,
    pub state: FileState,
    /// Where the bytes go.
    pub s3_key: String,
    /// Where the bytes come from; removed once archived. Holds a short-lived token: never log it.
    pub source: Option<DownloadSource>,
    /// `event_ts` of the delivery whose token is in `source`.
    pub source_issued_at_ms: i64,
    #[serde(default)]
    pub attempts: u32,
    pub lease_until_ms: Option<i64>,
    pub last_error: Option<String>,
    pub stored: Option<StoredObject>,
    /// How far an unfinished transfer got, so the next invocation continues it (see [`Checkpoint`]).
    #[serde(default)]
    pub checkpoint: Option<Checkpoint>,
    /// A `retrying` file's next attempt is due then (its message's redelivery); until then it is not stuck.
    #[serde(default)]
    pub not_before_ms: Option<i64>,
    /// What the file says about itself ([`RecordingFile::file_name`], `recording_type`, `status`).
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub recording_type: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// Earlier versions of this file, oldest first: archived, then changed at the vendor (another size). Their
    /// objects stay in S3 under their own keys; only the current version is compared before a deletion.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<StoredObject>,
}

impl FileEntry {
    /// Where this file goes in the recording's folder `s3_prefix` (decided with the owner): its key there; a
    /// later version of an archived file keeps its own key (`.v2`…), beside the first.
    pub fn key_in_folder(&self, s3_prefix: &str) -> String {
        if !self.superseded.is_empty() {
            return self.s3_key.clone();
        }
        crate::keys::key_of(
            s3_prefix,
            &self.kind,
            self.segment_start,
            &self.file_id,
            &self.extension,
        )
    }

    pub fn new(file: &RecordingFile, s3_prefix: &str) -> Self {
        let issued = match &file.source {
            DownloadSource::ZoomUrl { issued_at_ms, .. } => *issued_at_ms,
            DownloadSource::WebexRecording { .. } | DownloadSource::WebexTranscript { .. } => 0,
        };
        Self {
            file_id: file.id.clone(),
            kind: file.kind.clone(),
            vendor_type: file.vendor_type.clone(),
            extension: file.extension.clone(),
            segment_start: file.segment_start,
            recording_end: file.recording_end,
            expected_size: file.expected_size,
            state: FileState::Planned,
            s3_key: crate::keys::file_key(s3_prefix, file),
            source: Some(file.source.clone()),
            source_issued_at_ms: issued,
            attempts: 0,
            lease_until_ms: None,
            last_error: None,
            stored: None,
            checkpoint: None,
            not_before_ms: None,
            file_name: file.file_name.clone(),
            recording_type: file.recording_type.clone(),
            status: file.status.clone(),
            superseded: Vec::new(),
        }
    }

    /// The next version of this archived file, when the vendor now announces it with another size than the
    /// one we stored: a planned entry under a new, numbered key (`….v2.mp4`, `….v3.mp4`, …) that lists the
    /// stored object among the superseded ones. `None` when nothing changed, the vendor gives no size, or the
    /// file is not archived (a pending file is simply downloaded as the vendor has it now).
    pub fn next_version(&self, file: &RecordingFile, s3_prefix: &str) -> Option<FileEntry> {
        let stored = self.stored.as_ref()?;
        let size = file.expected_size?;
        if self.state != FileState::Archived || file.id != self.file_id || size == stored.bytes {
            return None;
        }
        let mut next = FileEntry::new(file, s3_prefix);
        next.superseded = self.superseded.clone();
        next.superseded.push(stored.clone());
        next.s3_key = crate::keys::versioned(&next.s3_key, next.superseded.len() + 1);
        Some(next)
    }

    /// Bytes stored so far and the size, if known: the progress an admin sees while a file transfers.
    pub fn progress(&self) -> Option<(u64, Option<u64>)> {
        self.checkpoint
            .as_ref()
            .map(|c| (c.offset, c.size.or(self.expected_size)))
    }
}

/// A multipart upload in progress, as durable as the parts it lists: written after each part, read by the
/// next invocation to continue where this one stopped. Parts are never sent twice; the SHA-256 of the whole
/// object comes from the hash state saved with the last part (the hash continues exactly where it stopped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub upload_id: String,
    pub part_size: u64,
    /// The uploaded parts in order: part number `i + 1` is `parts[i]`.
    pub parts: Vec<PartDone>,
    /// Bytes in those parts: where the next request starts (`Range: bytes=offset-`).
    pub offset: u64,
    /// The file's size, when the vendor announced it or a response told it.
    pub size: Option<u64>,
    /// The SHA-256 state after `offset` bytes (opaque to the domain; the transfer adapter encodes it).
    pub sha256_state: String,
    pub updated_at_ms: i64,
}

/// One uploaded part: what completing the upload needs. Short field names keep a 4,000-part checkpoint well
/// under DynamoDB's 400 KB item limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartDone {
    #[serde(rename = "e")]
    pub etag: String,
    /// The part's CRC32 (base64) as the store computed it, when it reports one.
    #[serde(rename = "c", default, skip_serializing_if = "Option::is_none")]
    pub crc32: Option<String>,
    /// Bytes in the part.
    #[serde(rename = "n")]
    pub bytes: u64,
}

/// What the downloader put in S3, verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredObject {
    pub bucket: String,
    pub key: String,
    pub bytes: u64,
    pub sha256: String,
    pub etag: String,
    pub part_size: u64,
    pub parts: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
}

/// Outcome of trying to take a file's download lease.
#[derive(Debug, Clone, PartialEq)]
pub enum Lease {
    /// We hold it until `lease_until_ms`.
    Acquired(Box<FileEntry>),
    /// Another worker holds a live lease: this delivery is a duplicate.
    Busy,
    /// Nothing to do: archived or failed for good.
    Finished(FileState),
    /// No such file.
    Missing,
}

/// Where a removal at the vendor is recorded: by enqueue from the vendor's event, by the downloader when the
/// vendor no longer has a file it was about to copy.
#[async_trait]
pub trait RemovalCatalog: Send + Sync {
    /// Records a removal at the vendor on the recording, unless it is our own deletion's echo
    /// ([`crate::deletion::is_ours`]). `archived_before` is set from the entry (every file archived).
    async fn record_removal(
        &self,
        key: &RecordingKey,
        removal: &VendorRemoval,
    ) -> Result<RemovalOutcome, Error>;
}

/// Enqueue's view.
#[async_trait]
pub trait IngestCatalog: RemovalCatalog {
    /// Creates the recording if new and registers the given file ids on it (idempotent). If the recording was
    /// already archived and new files arrive, it goes back to `archiving`.
    async fn upsert_recording(
        &self,
        entry: &RecordingEntry,
        file_ids: &[FileId],
    ) -> Result<RecordingEntry, Error>;
    /// Records a new recording the connection's filters exclude: `entry` as given, state `skipped`, with its
    /// reason and no files; only if the catalog does not know it yet (a recording being archived is never
    /// turned into a skipped one). `true` if this call recorded it.
    async fn record_skip(&self, entry: &RecordingEntry, reason: &str) -> Result<bool, Error>;
    /// Sends a recording skipped for want of an owner back to owner resolution (`skipped` →
    /// `pending_owner`, the reason removed). `false` if it is not skipped (any more).
    async fn retry_owner(&self, key: &RecordingKey, now: DateTime<Utc>) -> Result<bool, Error>;
    /// Creates a file entry only if absent. `true` if this call created it.
    async fn create_file(&self, key: &RecordingKey, file: &FileEntry) -> Result<bool, Error>;
    /// Replaces the download source of a still-pending file if `issued_at_ms` is fresher. `true` if replaced.
    async fn refresh_source(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        source: &DownloadSource,
        issued_at_ms: i64,
    ) -> Result<bool, Error>;
    async fn get_file(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
    ) -> Result<Option<FileEntry>, Error>;
    /// `archived` → `planned` as `next` ([`FileEntry::next_version`]), only while the stored file is still the
    /// version `read_key` names; the file leaves the recording's done set and an archived recording goes back
    /// to `archiving`. `true` if this call superseded it.
    async fn supersede_file(
        &self,
        key: &RecordingKey,
        read_key: &str,
        next: &FileEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, Error>;
    /// `failed` → `planned` (attempts, error and checkpoint cleared; `source` replaced when given); the file
    /// leaves the recording's failed set, and a `failed` recording with no failed file left goes back to
    /// `pending_owner` ([`crate::state::RecordingStep::Retry`]). `true` if the file was reopened.
    async fn reopen_file(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        source: Option<(&DownloadSource, i64)>,
        now: DateTime<Utc>,
    ) -> Result<bool, Error>;
}

/// What the owner stage decided for a recording it archives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub owner: UserId,
    /// The owner rule that chose them.
    pub rule: String,
    pub trace: Vec<String>,
    pub categories: Vec<Category>,
    /// The recording's folder by the connection's layout.
    pub s3_prefix: String,
    /// Title and description by the connection's templates (`None`: keep what is stored).
    pub titled: Option<crate::naming::Titled>,
    /// In quarantine until then (`owner.unmatched: quarantine`): the owner only holds it.
    pub quarantine_until: Option<DateTime<Utc>>,
}

impl Placement {
    /// `owner` chosen by `rule` for a recording in `s3_prefix`, with no trace and no category.
    pub fn new(owner: UserId, rule: &str, s3_prefix: &str) -> Self {
        Self {
            owner,
            rule: rule.to_owned(),
            trace: vec![],
            categories: vec![],
            s3_prefix: s3_prefix.to_owned(),
            titled: None,
            quarantine_until: None,
        }
    }
    /// What an entry already records (a redelivery moves a recording left in `pending_owner` on with it).
    pub fn recorded(entry: &RecordingEntry) -> Option<Self> {
        Some(Self {
            owner: entry.owner.clone()?,
            rule: entry.owner_rule.clone().unwrap_or_default(),
            trace: entry.owner_trace.clone(),
            categories: entry.categories.clone(),
            s3_prefix: entry.s3_prefix.clone(),
            titled: entry.titled.clone(),
            quarantine_until: entry.quarantine_until,
        })
    }
}

/// A recording held in quarantine (`owner.unmatched: quarantine`), as the quarantine index lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineHold {
    pub recording: RecordingKey,
    pub connection_id: ConnectionId,
    pub until: DateTime<Utc>,
}

/// How a quarantine ends with an owner: assigned by an admin, or kept by its holder when ours is the only copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub owner: UserId,
    /// The rule stored as `owner_rule` (`assigned`, `quarantine_kept`).
    pub rule: String,
    /// Appended to the decision's trace: who decided, and why.
    pub line: String,
    /// The titles rendered with the new owner (`None`: keep what is stored).
    pub titled: Option<crate::naming::Titled>,
}

/// The quarantine's view (the sweeper expires, `archiver-admin assign-owner` assigns).
#[async_trait]
pub trait QuarantineCatalog: Send + Sync {
    /// The connection's quarantine holds due at or before `now`, soonest first, at most `limit`.
    async fn quarantine_due(
        &self,
        connection: &ConnectionId,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<QuarantineHold>, Error>;
    /// [`crate::state::RecordingStep::QuarantineExpire`] if the recording is still in the quarantine that
    /// ends at `until`: `skipped` with `owner_rule` `quarantine_expired`, the reason (also appended to the
    /// trace); the owner, the done and failed sets, `archived_at`, the deletion plan and the quarantine go.
    /// `false` if not taken (an owner was assigned meanwhile, or another state).
    async fn expire_quarantine(
        &self,
        key: &RecordingKey,
        until: DateTime<Utc>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, Error>;
    /// [`crate::state::FileStep::Expire`]: `archived` or `failed` → `planned`, the stored object's record,
    /// the attempts and the error dropped. `false` if the file was neither.
    async fn expire_file(&self, key: &RecordingKey, file_id: &FileId) -> Result<bool, Error>;
    /// Ends the quarantine with an owner if the recording is still in one (its state unchanged). `false`
    /// otherwise.
    async fn end_quarantine(
        &self,
        key: &RecordingKey,
        assignment: &Assignment,
        now: DateTime<Utc>,
    ) -> Result<bool, Error>;
    /// Removes the recording from the quarantine index (nothing if it is not there).
    async fn release_quarantine(&self, key: &RecordingKey) -> Result<(), Error>;
}

/// The owner resolver's view.
#[async_trait]
pub trait OwnerCatalog: Send + Sync {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error>;
    /// Sets the owner, the rule that chose them, the decision's trace and the categories, and moves
    /// `pending_owner` → `archiving`.
    async fn set_owner(&self, key: &RecordingKey, placement: &Placement) -> Result<(), Error>;
    /// Records that the owner stage keeps the recording out (`pending_owner` → `skipped`): the rule (no owner
    /// under `unmatched: skip`, an opt-out, not opted in), the reason and the decision's trace; the files
    /// stay planned. `false` if the recording was not pending its owner.
    async fn skip_at_owner(
        &self,
        key: &RecordingKey,
        rule: &str,
        reason: &str,
        trace: &[String],
    ) -> Result<bool, Error>;
    async fn get_file(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
    ) -> Result<Option<FileEntry>, Error>;
    /// Records who took part in the meeting.
    async fn set_attendees(&self, key: &RecordingKey, attendees: &Attendees) -> Result<(), Error>;
    /// Lists the recording in the quarantine index until `hold.until` (written before [`Self::set_owner`]
    /// stores the quarantine, so the sweeper finds every recording in quarantine; replaces an earlier hold).
    async fn hold_quarantine(&self, hold: &QuarantineHold) -> Result<(), Error>;
    /// `planned` → `queued`, with the file's key under the recording's folder (set with the owner); `false`
    /// if the file was not `planned`.
    async fn mark_queued(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        s3_key: &str,
    ) -> Result<bool, Error>;
}

/// The downloader's view.
#[async_trait]
pub trait TransferCatalog: RemovalCatalog {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error>;
    async fn acquire(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        now_ms: i64,
        lease_ms: i64,
    ) -> Result<Lease, Error>;
    /// `downloading` → `archived`, recording what was stored; drops the download source and the checkpoint.
    async fn complete(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        stored: &StoredObject,
    ) -> Result<(), Error>;
    /// Saves how far the transfer got, while `downloading` under the lease that ends at `lease_until_ms` (ours).
    /// `false` if the lease is no longer ours (expired and taken over): stop.
    async fn checkpoint(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        lease_until_ms: i64,
        checkpoint: &Checkpoint,
    ) -> Result<bool, Error>;
    /// `downloading` → `retrying` (the queue will redeliver, not before `not_before_ms`; the sweep leaves
    /// the file alone until then). Keeps the checkpoint.
    async fn retry_later(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
        error: &str,
        not_before_ms: i64,
    ) -> Result<(), Error>;
    /// `downloading` → `failed` for good (the checkpoint is dropped: its upload was aborted; the source is
    /// kept for a retry); the recording becomes `failed`.
    async fn fail(&self, key: &RecordingKey, file_id: &FileId, error: &str) -> Result<(), Error>;
    /// Adds the file to the recording's done set; returns the recording as it is now.
    async fn mark_done(
        &self,
        key: &RecordingKey,
        file_id: &FileId,
    ) -> Result<RecordingEntry, Error>;
    /// `archiving` → `archived` when every known file is done. `true` if this call archived it.
    async fn mark_archived(&self, key: &RecordingKey, now: DateTime<Utc>) -> Result<bool, Error>;
}

/// The deletion scheduler's view.
#[async_trait]
pub trait DeletionCatalog: Send + Sync {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error>;
    /// Plans the recording's deletion if its deletion entry is still the one read — none (`prev` `None`), or
    /// one of revision `prev` — and may be replanned ([`DeletionStatus::may_replan`]: no sweep holds it, the
    /// vendor copy is not gone). `false` if not written.
    async fn set_deletion(
        &self,
        key: &RecordingKey,
        deletion: &DeletionEntry,
        prev: Option<u64>,
    ) -> Result<bool, Error>;
}

/// The deletion sweep's view.
#[async_trait]
pub trait DeleterCatalog: Send + Sync {
    /// Recordings of the connection whose deletion is pending and due at or before `now`
    /// ([`DeletionEntry::next_look`]), soonest first, at most `limit`.
    async fn due(
        &self,
        connection: &ConnectionId,
        now: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<RecordingEntry>, Error>;
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error>;
    async fn list_files(&self, key: &RecordingKey) -> Result<Vec<FileEntry>, Error>;
    /// Replaces the deletion entry with `next` if the stored one still has revision `rev` (and the same
    /// status): `false` if another writer came first.
    async fn update_deletion(
        &self,
        key: &RecordingKey,
        rev: u64,
        next: &DeletionEntry,
    ) -> Result<bool, Error>;
    /// Stores an audit record; records are never changed or removed (a second write of the same record is
    /// refused, not applied).
    async fn put_audit(&self, record: &crate::deletion::AuditRecord) -> Result<(), Error>;
    /// Every audit record of a recording, oldest first.
    async fn audit(&self, key: &RecordingKey) -> Result<Vec<crate::deletion::AuditRecord>, Error>;
}

/// Read access for admins.
#[async_trait]
pub trait CatalogReader: Send + Sync {
    async fn get_recording(&self, key: &RecordingKey) -> Result<Option<RecordingEntry>, Error>;
    async fn list_files(&self, key: &RecordingKey) -> Result<Vec<FileEntry>, Error>;
    /// Recordings of a tenant in a state, newest first.
    async fn list_by_state(
        &self,
        tenant: &TenantId,
        state: RecordingState,
        limit: i32,
    ) -> Result<Vec<RecordingEntry>, Error>;
    /// Recordings of a tenant in a state that started before `before`, oldest first (the sweep's view).
    async fn list_started_before(
        &self,
        tenant: &TenantId,
        state: RecordingState,
        before: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<RecordingEntry>, Error>;
}
