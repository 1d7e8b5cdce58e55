//! Webex's deletion calls for a recording: every stop/start segment is its own recording id, and an admin
//! token addresses another user's recording only with `hostEmail`.

use crate::catalog::RecordingEntry;
use crate::config::{BaseUrl, DeleteAction};
use crate::deletion::VendorCalls;
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
