//! Zoom's side of deleting a recording: what Zoom lists for a meeting instance now ([`listed_files`]), and the
//! calls `DELETE /meetings/{double-encoded uuid}/recordings?action=` (every file) or
//! `…/recordings/{file id}?action=` (one file, the plan's file scope).

use super::api::ZoomApi;
use crate::catalog::RecordingEntry;
use crate::config::{BaseUrl, DeleteAction, DeleteScope};
use crate::deletion::{CallResult, VendorCalls, VendorFile, VendorListing};
use crate::error::Error;
use serde::Deserialize;

fn action_str(action: DeleteAction) -> &'static str {
    match action {
        DeleteAction::Trash => "trash",
        DeleteAction::Delete => "delete",
    }
}

/// The path (relative to the API base) of a deletion call; `action` is always sent (Zoom's default is not
/// documented firmly).
pub fn path(uuid: &str, file_id: Option<&str>, action: DeleteAction) -> String {
    let uuid = super::encode_uuid_for_path(uuid);
    let action = action_str(action);
    match file_id {
        None => format!("meetings/{uuid}/recordings?action={action}"),
        Some(f) => format!(
            "meetings/{uuid}/recordings/{}?action={action}",
            super::encode_uuid_for_path(f)
        ),
    }
}

/// The call that removes every file of the meeting instance (`trash` keeps it recoverable for 30 days), as
/// the deletion scheduler writes it down.
pub fn calls(rec: &RecordingEntry, api: &BaseUrl, action: DeleteAction) -> VendorCalls {
    VendorCalls {
        calls: vec![format!(
            "DELETE {}",
            api.join(&path(rec.instance_id.as_str(), None, action))
        )],
        notes: vec![],
    }
}

#[derive(Deserialize)]
struct Listed {
    #[serde(default)]
    recording_files: Vec<ListedFile>,
    #[serde(default)]
    participant_audio_files: Vec<ListedFile>,
}

#[derive(Deserialize)]
struct ListedFile {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    file_size: Option<u64>,
}

/// Every file of a `GET /meetings/{uuid}/recordings` answer, downloadable or not: a file we skipped when
/// archiving is still a file that a whole-recording deletion would remove.
pub fn listed_files(body: &[u8]) -> Result<Vec<VendorFile>, String> {
    let l: Listed = serde_json::from_slice(body).map_err(|e| format!("not a recording: {e}"))?;
    let mut files: Vec<VendorFile> = Vec::new();
    for f in l
        .recording_files
        .into_iter()
        .chain(l.participant_audio_files)
    {
        let id = f.id.filter(|i| !i.is_empty()).ok_or("a file without id")?;
        if !files.iter().any(|g| g.file_id == id) {
            files.push(VendorFile {
                file_id: id,
                bytes: f.file_size,
            });
        }
    }
    Ok(files)
}

/// What Zoom lists for the recording now.
pub async fn listing(api: &dyn ZoomApi, rec: &RecordingEntry) -> Result<VendorListing, Error> {
    Ok(match api.files(rec.instance_id.as_str()).await? {
        Some(files) => VendorListing::Listed(files),
        None => VendorListing::Gone,
    })
}

/// The events-queue message that archives what Zoom lists for the recording now ([`super::ingest::API_RECORDING`]),
/// or `None` if Zoom no longer has it.
pub async fn rearchive(
    api: &dyn ZoomApi,
    conn: &crate::config::Connection,
    rec: &RecordingEntry,
) -> Result<Option<crate::messages::IngestMessage>, Error> {
    Ok(api
        .recording_json(rec.instance_id.as_str())
        .await?
        .map(|body| crate::messages::IngestMessage {
            vendor: crate::ids::Vendor::Zoom,
            connection_id: conn.id.clone(),
            event: super::ingest::API_RECORDING.to_owned(),
            received_at_ms: chrono::Utc::now().timestamp_millis(),
            body,
        }))
}

/// Makes the deletion calls: one for the whole recording, or one per verified file (in order, stopping at
/// the first that does not succeed).
pub async fn delete(
    api: &dyn ZoomApi,
    rec: &RecordingEntry,
    files: &[String],
    action: DeleteAction,
    scope: DeleteScope,
) -> Vec<CallResult> {
    let uuid = rec.instance_id.as_str();
    let targets: Vec<Option<&str>> = match scope {
        DeleteScope::Recording => vec![None],
        DeleteScope::File => files.iter().map(|f| Some(f.as_str())).collect(),
    };
    crate::deletion::in_order(targets, |file| {
        (
            format!("DELETE /{}", path(uuid, file, action)),
            api.delete(uuid, file, action),
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ConnectionId, TenantId};

    #[test]
    fn the_instance_uuid_is_double_encoded() {
        let raw = include_bytes!("../../../events/zoom/recording.completed.json");
        let rec = super::super::event::normalise(raw).unwrap();
        let e = RecordingEntry::new(
            &rec,
            TenantId::parse("uni").unwrap(),
            ConnectionId::parse("c").unwrap(),
            chrono::Utc::now(),
        );
        let api = BaseUrl::parse("https://api.zoom.us/v2/").unwrap();
        assert_eq!(
            calls(&e, &api, DeleteAction::Trash).calls,
            vec![
                "DELETE https://api.zoom.us/v2/meetings/%252FuQ8%252BfZk%252F%252FTq2Lw9xYb3Rg%253D%253D/recordings?action=trash"
            ]
        );
        assert!(calls(&e, &api, DeleteAction::Delete).calls[0].ends_with("action=delete"));
        assert_eq!(
            path("abc", Some("f1"), DeleteAction::Delete),
            "meetings/abc/recordings/f1?action=delete"
        );
    }

    #[test]
    fn the_listing_has_every_file_downloadable_or_not_once() {
        let body = br#"{"uuid":"u","recording_files":[
            {"id":"a","file_size":10,"download_url":"https://x"},
            {"id":"b","file_size":20,"status":"processing"}],
            "participant_audio_files":[{"id":"c","file_size":5},{"id":"a","file_size":10}]}"#;
        let files = listed_files(body).unwrap();
        let ids: Vec<(&str, Option<u64>)> = files
            .iter()
            .map(|f| (f.file_id.as_str(), f.bytes))
            .collect();
        assert_eq!(ids, vec![("a", Some(10)), ("b", Some(20)), ("c", Some(5))]);
        assert!(listed_files(br#"{"recording_files":[{"file_size":1}]}"#).is_err());
        assert!(listed_files(b"<html>").is_err());
    }
}
