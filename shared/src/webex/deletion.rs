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

/// Makes the deletion calls for the recording's segments that Webex still `listed` (with the plan's file
/// scope, only the segments whose video was verified): `trash` soft-deletes them, 100 per call; `delete`
/// removes each for good. Calls go in order and stop at the first that does not succeed. A soft-delete
/// answered 404 names a segment that went meanwhile, and Webex then moves none of the batch: not done,
/// listed again on the next attempt.
/// The recording handed back to enqueue when Webex has another version of a segment than we archived (its
/// size changed): a `recordings.created` notification for its first segment, which enqueue reads from the API
/// like any other (every segment of the instance, as Webex lists them now). `None` without a segment id.
pub fn rearchive(
    conn: &crate::config::Connection,
    rec: &RecordingEntry,
) -> Option<crate::messages::IngestMessage> {
    let first = rec.vendor_recording_ids.iter().next()?;
    Some(super::ingest::created(
        conn,
        first,
        rec.instance_id.as_str(),
        rec.host_email.as_ref().map(|e| e.as_str()),
    ))
}

pub async fn delete(
    api: &dyn WebexApi,
    rec: &RecordingEntry,
    files: &[String],
    listed: &[VendorFile],
    action: DeleteAction,
    scope: DeleteScope,
) -> Vec<CallResult> {
    let segments: Vec<String> = rec
        .vendor_recording_ids
        .iter()
        .filter(|id| scope == DeleteScope::Recording || files.contains(id))
        .filter(|id| listed.iter().any(|f| &f.file_id == *id))
        .cloned()
        .collect();
    let host = rec.host_email.as_ref();
    match action {
        DeleteAction::Trash => {
            let batches: Vec<&[String]> = segments.chunks(SOFT_DELETE_MAX).collect();
            let mut calls = in_order(batches, |ids| {
                (
                    format!("POST /recordings/softDelete {ids:?}"),
                    api.soft_delete(ids, host),
                )
            })
            .await;
            for c in calls.iter_mut().filter(|c| c.status == Some(404)) {
                c.answer = crate::deletion::Answer::Retry;
                c.detail = Some(
                    "a recording of the batch is no longer at Webex, so none was moved; listed again next attempt"
                        .into(),
                );
            }
            calls
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

    fn segment(id: &str, status: &str) -> crate::webex::api::WebexRecording {
        serde_json::from_value(serde_json::json!({
            "id": id, "meetingId": "inst", "topic": "T", "timeRecorded": "2026-11-20T10:00:00Z",
            "format": "MP4", "sizeBytes": 1000, "status": status, "hostEmail": "host@uni.edu",
            "temporaryDirectDownloadLinks": {"recordingDownloadLink": "https://x.webex.com/r",
                "audioDownloadLink": "https://x.webex.com/a", "expiration": "2030-01-01T00:00:00Z"}
        }))
        .unwrap()
    }

    fn webex_entry(ids: &[&str]) -> RecordingEntry {
        let raw = include_bytes!("../../../events/zoom/recording.completed.json");
        let mut rec = crate::zoom::event::normalise(raw).unwrap();
        rec.vendor = Vendor::Webex;
        rec.vendor_recording_ids = ids.iter().map(|s| s.to_string()).collect();
        let mut e = RecordingEntry::new(
            &rec,
            TenantId::parse("uni").unwrap(),
            ConnectionId::parse("c").unwrap(),
            chrono::Utc::now(),
        );
        e.host_email = Some(Email::parse("host@uni.edu").unwrap());
        e
    }

    fn listed_files(l: VendorListing) -> Vec<VendorFile> {
        match l {
            VendorListing::Listed(f) => f,
            VendorListing::Gone => vec![],
        }
    }

    /// Webex with two live segments r1 and r2, an entry that knows `ids`, and what Webex lists for it.
    async fn two_segments(
        ids: &[&str],
    ) -> (crate::fakes::FakeWebex, RecordingEntry, Vec<VendorFile>) {
        let api = crate::fakes::FakeWebex::default();
        *api.recordings.lock().unwrap() =
            vec![segment("r1", "available"), segment("r2", "available")];
        let rec = webex_entry(ids);
        let files = listed_files(listing(&api, &rec).await.unwrap());
        (api, rec, files)
    }

    #[tokio::test]
    async fn the_listing_has_each_live_segments_files_and_trash_soft_deletes_them_in_one_call() {
        let (api, rec, files) = two_segments(&["r1", "r2", "r3"]).await;
        let ids: Vec<(&str, Option<u64>)> = files
            .iter()
            .map(|f| (f.file_id.as_str(), f.bytes))
            .collect();
        assert_eq!(
            ids,
            [
                ("r1", Some(1000)),
                ("r1-audio", None),
                ("r2", Some(1000)),
                ("r2-audio", None)
            ],
            "r3 is gone (404)"
        );
        // Only what Webex still lists goes into the recycle-bin call.
        let calls = delete(
            &api,
            &rec,
            &[],
            &files,
            DeleteAction::Trash,
            DeleteScope::Recording,
        )
        .await;
        assert_eq!((calls.len(), calls[0].status), (1, Some(204)));
        assert!(
            calls[0].request.contains("\"r1\", \"r2\"]") && !calls[0].request.contains("host@")
        );
        assert_eq!(
            crate::deletion::outcome(&calls),
            crate::deletion::Settlement::Deleted
        );
        // In the recycle bin now: nothing is listed.
        assert_eq!(listing(&api, &rec).await.unwrap(), VendorListing::Gone);
    }

    #[tokio::test]
    async fn a_soft_delete_refused_for_a_vanished_segment_is_not_done() {
        let (api, rec, files) = two_segments(&["r1", "r2"]).await;
        // r2 is deleted at Webex between the listing and the call.
        api.recordings.lock().unwrap().retain(|r| r.id != "r2");
        let calls = delete(
            &api,
            &rec,
            &[],
            &files,
            DeleteAction::Trash,
            DeleteScope::Recording,
        )
        .await;
        assert_eq!(calls[0].status, Some(404));
        assert!(matches!(
            crate::deletion::outcome(&calls),
            crate::deletion::Settlement::Retry { .. }
        ));
    }

    #[tokio::test]
    async fn delete_removes_each_listed_segment_and_file_scope_only_the_verified_ones() {
        let (api, rec, files) = two_segments(&["r1", "r2"]).await;
        let calls = delete(
            &api,
            &rec,
            &["r2".into()],
            &files,
            DeleteAction::Delete,
            DeleteScope::File,
        )
        .await;
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].request, "DELETE /recordings/r2");
        // Listed when verified, gone by the call: 404, done.
        let calls = delete(
            &api,
            &rec,
            &[],
            &files,
            DeleteAction::Delete,
            DeleteScope::Recording,
        )
        .await;
        let answers: Vec<Option<u16>> = calls.iter().map(|c| c.status).collect();
        assert_eq!(answers, [Some(204), Some(404)], "r2 was gone already");
        assert_eq!(
            crate::deletion::outcome(&calls),
            crate::deletion::Settlement::Deleted
        );
    }
}
