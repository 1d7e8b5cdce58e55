//! The vendor-neutral recording model that every stage after the webhook works with.
//!
//! A [`Recording`] is one meeting *instance*. Its [`RecordingFile`]s are grouped into segments by the time
//! recording (re)started: Zoom reports stop/start as several files of one instance with distinct
//! `recording_start`; Webex creates several recordings for one instance, which become segments here too.

use crate::ids::{AccountId, Email, FileId, InstanceId, Vendor};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a file holds. Unknown vendor kinds are kept as [`FileKind::Other`] and archived, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileKind {
    /// A video; `layout` is the vendor's view name (`shared_screen_with_speaker_view`, `gallery_view`, …).
    Video {
        layout: String,
    },
    Audio,
    Transcript,
    ClosedCaptions,
    Chat,
    Timeline,
    Poll,
    Summary,
    Other {
        vendor_type: String,
    },
}

impl FileKind {
    /// A short name used in S3 keys and listings (`video`, `audio`, …, or `other`).
    pub fn slug(&self) -> &'static str {
        match self {
            FileKind::Video { .. } => "video",
            FileKind::Audio => "audio",
            FileKind::Transcript => "transcript",
            FileKind::ClosedCaptions => "captions",
            FileKind::Chat => "chat",
            FileKind::Timeline => "timeline",
            FileKind::Poll => "poll",
            FileKind::Summary => "summary",
            FileKind::Other { .. } => "other",
        }
    }
}

/// Meeting or webinar (Zoom object types 5, 6 and 9 are webinars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingKind {
    Meeting,
    Webinar,
}

/// Who hosted the meeting, as the vendor reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    /// The vendor's user id (Zoom `host_id`, Webex `hostUserId`), when known.
    pub vendor_user_id: Option<String>,
    pub email: Option<Email>,
}

/// Where the downloader gets a file's bytes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum DownloadSource {
    /// Zoom: `download_url` with the webhook's `download_token` as a Bearer header.
    /// `issued_at_ms` is the delivering event's `event_ts`, used to keep only the freshest token.
    ZoomUrl {
        url: String,
        token: Option<String>,
        issued_at_ms: i64,
    },
    /// Webex: `temporaryDirectDownloadLinks` are fetched from `GET /recordings/{recording_id}?hostEmail=` at
    /// download time (they expire 3 h after that request) and downloaded without an Authorization header.
    WebexRecording {
        recording_id: String,
        link: WebexLink,
        host_email: Option<Email>,
    },
    /// Webex: a transcript from `meetingTranscripts`, downloaded from the API (`vttDownloadLink`) with the
    /// connection's bearer token.
    WebexTranscript { transcript_id: String, url: String },
}

/// Which of a Webex recording's temporary links a file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebexLink {
    Recording,
    Audio,
    Transcript,
}

impl fmt::Debug for DownloadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print tokens or signed URLs.
        match self {
            DownloadSource::ZoomUrl { issued_at_ms, .. } => f
                .debug_struct("ZoomUrl")
                .field("issued_at_ms", issued_at_ms)
                .finish_non_exhaustive(),
            DownloadSource::WebexRecording {
                recording_id, link, ..
            } => f
                .debug_struct("WebexRecording")
                .field("recording_id", recording_id)
                .field("link", link)
                .finish_non_exhaustive(),
            DownloadSource::WebexTranscript { transcript_id, .. } => f
                .debug_struct("WebexTranscript")
                .field("transcript_id", transcript_id)
                .finish_non_exhaustive(),
        }
    }
}

/// One file of a recording, as normalised from a vendor event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingFile {
    pub id: FileId,
    pub kind: FileKind,
    /// The vendor's own type string (`MP4`, `TRANSCRIPT`, …) for reference.
    pub vendor_type: String,
    /// Lower-case extension without dot (`mp4`, `m4a`, `vtt`, …).
    pub extension: String,
    /// When recording of this file's segment started; identifies the segment.
    pub segment_start: DateTime<Utc>,
    pub recording_end: Option<DateTime<Utc>>,
    /// The size the vendor announced; the downloader insists on it when present.
    pub expected_size: Option<u64>,
    pub source: DownloadSource,
    /// What the file says about itself, kept as the vendor sent it: its name (Zoom participant audio:
    /// `Audio only - <participant>`), its `recording_type` (for every kind, not only videos) and its `status`.
    pub file_name: Option<String>,
    pub recording_type: Option<String>,
    pub status: Option<String>,
}

/// One meeting instance with the files one event announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    pub vendor: Vendor,
    pub account: AccountId,
    pub instance: InstanceId,
    /// The meeting number / series id (not unique per instance).
    pub meeting_id: String,
    pub topic: String,
    pub kind: MeetingKind,
    pub host: Host,
    pub start_time: DateTime<Utc>,
    pub timezone: Option<String>,
    pub duration_minutes: Option<u32>,
    /// The vendor's ids of what this event announced: the Zoom meeting uuid, or the Webex recording ids.
    pub vendor_recording_ids: Vec<String>,
    pub files: Vec<RecordingFile>,
    /// What normalisation left out and why (an odd field ignored, a file skipped), one human-readable line
    /// each, without tokens or URLs. Empty for a clean event.
    pub notes: Vec<String>,
}

impl Recording {
    /// When the recording itself began: the earliest segment start (Zoom's first `recording_start`), or the
    /// meeting's `start_time` for a recording without files. This, not `start_time`, dates its S3 folder: for
    /// a recurring meeting `start_time` can be the series' first occurrence, weeks earlier.
    pub fn filed_at(&self) -> DateTime<Utc> {
        self.files
            .iter()
            .map(|f| f.segment_start)
            .min()
            .unwrap_or(self.start_time)
    }

    /// Distinct segment start times, in order.
    pub fn segments(&self) -> Vec<DateTime<Utc>> {
        let mut starts: Vec<_> = self.files.iter().map(|f| f.segment_start).collect();
        starts.sort();
        starts.dedup();
        starts
    }
}

/// The catalog key of a recording: vendor + account + meeting instance. With a file id it is the per-file
/// idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordingKey {
    pub vendor: Vendor,
    pub account: AccountId,
    pub instance: InstanceId,
}

impl RecordingKey {
    pub fn of(rec: &Recording) -> Self {
        Self {
            vendor: rec.vendor,
            account: rec.account.clone(),
            instance: rec.instance.clone(),
        }
    }
    /// The DynamoDB partition key: `REC#<vendor>#<account>#<instance>` (ids kept byte-exact).
    pub fn partition_key(&self) -> String {
        format!("REC#{}#{}#{}", self.vendor, self.account, self.instance)
    }
}

impl fmt::Display for RecordingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.vendor, self.account, self.instance)
    }
}

/// Life of a recording in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    /// Known, owner not yet resolved.
    PendingOwner,
    /// Owner set, files being copied.
    Archiving,
    /// Every known file is in S3 and verified.
    Archived,
    /// At least one file failed permanently; needs an admin.
    Failed,
    /// Not archived: the connection's filters exclude it (`skip_reason` says which).
    Skipped,
}

impl RecordingState {
    pub const ALL: [RecordingState; 5] = [
        RecordingState::PendingOwner,
        RecordingState::Archiving,
        RecordingState::Archived,
        RecordingState::Failed,
        RecordingState::Skipped,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingState::PendingOwner => "pending_owner",
            RecordingState::Archiving => "archiving",
            RecordingState::Archived => "archived",
            RecordingState::Failed => "failed",
            RecordingState::Skipped => "skipped",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Life of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Known; waiting for the owner resolver to hand it to the downloader.
    Planned,
    /// A download job was sent.
    Queued,
    /// A downloader holds the lease.
    Downloading,
    /// Failed transiently; the job is retried through SQS.
    Retrying,
    /// In S3, size and SHA-256 recorded.
    Archived,
    /// Failed permanently (HTML instead of media, size mismatch, forbidden host, …).
    Failed,
}

impl FileState {
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Planned => "planned",
            FileState::Queued => "queued",
            FileState::Downloading => "downloading",
            FileState::Retrying => "retrying",
            FileState::Archived => "archived",
            FileState::Failed => "failed",
        }
    }
    /// Whether the file still waits for bytes (and so takes a fresher download token).
    pub fn is_pending(self) -> bool {
        !matches!(self, FileState::Archived | FileState::Failed)
    }
}
