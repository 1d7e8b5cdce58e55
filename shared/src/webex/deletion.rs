//! Webex's side of deleting a recording: every stop/start segment is its own recording id, and an admin token
//! addresses another user's recording only with `hostEmail`. What Webex lists now ([`listing`]: each segment's
//! `GET /recordings/{id}`), and the calls ([`delete`]: `DELETE /recordings/{id}` per segment, or one
//! `POST /recordings/softDelete` into the recycle bin for `trash`).

use super::api::WebexApi;
use crate::catalog::RecordingEntry;
use crate::config::{BaseUrl, DeleteAction, DeleteScope};
use crate::deletion::{CallResult, VendorCalls, VendorFile, VendorListing, in_order};
use crate::error::{Error, Kind};
use crate::model::WebexLink;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// `DELETE /recordings/{id}?hostEmail=` per segment, or for `trash` one `POST /recordings/softDelete`.
pub fn calls(rec: &RecordingEntry, api: &BaseUrl, action: DeleteAction) -> VendorCalls {
    let mut notes = vec![
        "Webex: an admin token addresses another user's recording only with hostEmail=<host>"
            .to_owned(),
        "Webex: each stop/start segment is its own recording id; delete every one".to_owned(),
    ];
    let host = match &rec.host_email {
        Some(e) => enc(e.as_str()),
        None => {
            notes.push(
                "host e-mail unknown: resolve it (admin list or meetingParticipants) before deleting"
                    .into(),
            );
            "{hostEmail}".into()
        }
    };
    let calls = match action {
        // The recycle bin keeps it recoverable, like Zoom's trash.
        DeleteAction::Trash => vec![format!(
            "POST {}?hostEmail={host} {{\"recordingIds\":{}}}",
            api.join("/recordings/softDelete"),
            serde_json::to_string(&rec.vendor_recording_ids).unwrap_or_default()
        )],
        DeleteAction::Delete => rec
            .vendor_recording_ids
            .iter()
            .map(|id| {
                format!(
                    "DELETE {}?hostEmail={host}",
                    api.join(&format!("/recordings/{}", enc(id)))
                )
            })
            .collect(),
    };
    VendorCalls { calls, notes }
}

/// Most recording ids one `softDelete` call takes.
const SOFT_DELETE_MAX: usize = 100;

/// Each segment Webex still has (not deleted, not in the recycle bin), with the files the archive plans for
/// it (the video with `sizeBytes`, and the audio and transcript when Webex offers their links).
pub async fn listing(api: &dyn WebexApi, rec: &RecordingEntry) -> Result<VendorListing, Error> {
    let mut files = Vec::new();
    let mut any = false;
    for id in &rec.vendor_recording_ids {
        let seg = match api.recording(id, rec.host_email.as_ref()).await {
            Ok(seg) => seg,
            Err(e) if e.kind() == Kind::Status(404) => continue,
            Err(e) => return Err(e),
        };
        if matches!(seg.status.as_deref(), Some("deleted" | "purged")) {
            continue;
        }
        any = true;
        let links = seg.temporary_direct_download_links.unwrap_or_default();
        let file = |link| super::normalise::file_id(id, link).map(|f| f.to_string());
        let bad = |e| Error::data(format!("GET /recordings/{{id}}: {e}"));
        files.push(VendorFile {
            file_id: file(WebexLink::Recording).map_err(bad)?,
            bytes: seg.size_bytes.filter(|s| *s > 0),
        });
        for (present, link) in [
            (links.audio_download_link.is_some(), WebexLink::Audio),
            (
                links.transcript_download_link.is_some(),
                WebexLink::Transcript,
            ),
        ] {
            if present {
                files.push(VendorFile {
                    file_id: file(link).map_err(bad)?,
                    bytes: None,
                });
            }
        }
    }
    Ok(if any {
        VendorListing::Listed(files)
    } else {
        VendorListing::Gone
    })
}

/// Makes the deletion calls for the recording's segments (with the plan's file scope, only the segments
/// whose video was verified): `trash` soft-deletes them, 100 per call; `delete` removes each for good. Calls go
/// in order and stop at the first that does not succeed.
pub async fn delete(
    api: &dyn WebexApi,
    rec: &RecordingEntry,
    files: &[String],
    action: DeleteAction,
    scope: DeleteScope,
) -> Vec<CallResult> {
    let segments: Vec<String> = rec
        .vendor_recording_ids
        .iter()
        .filter(|id| scope == DeleteScope::Recording || files.contains(id))
        .cloned()
        .collect();
    let host = rec.host_email.as_ref();
    match action {
        DeleteAction::Trash => {
            let batches: Vec<&[String]> = segments.chunks(SOFT_DELETE_MAX).collect();
            in_order(batches, |ids| {
                (
                    format!("POST /recordings/softDelete {ids:?}"),
                    api.soft_delete(ids, host),
                )
            })
            .await
        }
        DeleteAction::Delete => {
            in_order(&segments, |id| {
                (
                    format!("DELETE /recordings/{id}"),
                    api.delete_recording(id, host),
                )
            })
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ConnectionId, Email, TenantId, Vendor};

    #[test]
    fn every_segment_and_the_host_are_named() {
        let raw = include_bytes!("../../../events/zoom/recording.completed.json");
        let mut rec = crate::zoom::event::normalise(raw).unwrap();
        rec.vendor = Vendor::Webex;
        rec.vendor_recording_ids = vec!["r1".into(), "r2".into()];
        let mut webex = RecordingEntry::new(
            &rec,
            TenantId::parse("uni").unwrap(),
            ConnectionId::parse("c").unwrap(),
            chrono::Utc::now(),
        );
        webex.host_email = Some(Email::parse("Host@Uni.edu").unwrap());
        let api = BaseUrl::parse("https://webexapis.com/v1").unwrap();
        let c = calls(&webex, &api, DeleteAction::Delete);
        let host = c.calls[0].split("hostEmail=").nth(1).unwrap().to_owned();
        assert_eq!(
            c.calls,
            vec![
                format!("DELETE https://webexapis.com/v1/recordings/r1?hostEmail={host}"),
                format!("DELETE https://webexapis.com/v1/recordings/r2?hostEmail={host}"),
            ]
        );
        assert!(host.contains("%40"), "{host}");
        webex.host_email = None;
        let c = calls(&webex, &api, DeleteAction::Trash);
        assert_eq!(
            c.calls,
            vec![
                r#"POST https://webexapis.com/v1/recordings/softDelete?hostEmail={hostEmail} {"recordingIds":["r1","r2"]}"#
            ]
        );
        assert!(c.notes.iter().any(|n| n.contains("host e-mail unknown")));
    }
}
