//! Messages on the queues between the functions. Each queue carries exactly one of these as JSON.
//! No message carries a secret except [`IngestMessage::body`], the verified webhook body (which holds Zoom's
//! short-lived `download_token`); queues are encrypted at rest.

use crate::ids::{ConnectionId, FileId, Vendor};
use crate::model::RecordingKey;
use serde::{Deserialize, Serialize};

/// Events queue: webhook validator → enqueue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestMessage {
    pub vendor: Vendor,
    pub connection_id: ConnectionId,
    /// The vendor's event name (`recording.completed`, …).
    pub event: String,
    pub received_at_ms: i64,
    /// The raw, verified request body.
    pub body: String,
}

/// Owner queue: enqueue → owner resolver. `file_ids` are the files still waiting to be handed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveOwnerMessage {
    pub connection_id: ConnectionId,
    pub recording: RecordingKey,
    pub file_ids: Vec<FileId>,
}

/// Download queue: owner resolver → downloader, one file each; also the downloader's own continuation of a
/// transfer that did not fit in one invocation (`continuation` > 0), and the sweep's re-drive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownloadMessage {
    pub connection_id: ConnectionId,
    pub recording: RecordingKey,
    pub file_id: FileId,
    /// How many invocations this transfer already took (0 for the first).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub continuation: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Archived queue: downloader → deletion scheduler, once every known file of a recording is in S3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedMessage {
    pub connection_id: ConnectionId,
    pub recording: RecordingKey,
    pub archived_at_ms: i64,
}
