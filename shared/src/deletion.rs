//! The deletion plan for an archived recording. Executing it at the vendor (with verification against the
//! archived copy) is a later stage; here the plan is computed and recorded, with the exact vendor calls.

use crate::catalog::{DeletionEntry, RecordingEntry};
use crate::config::{DeleteAction, DeletePlan};
use crate::ids::Vendor;
use chrono::{DateTime, Duration, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// Plans what to do with the vendor copy of `rec`, archived at `archived_at`. `api_base` is the connection's.
pub fn plan(
    delete_plan: &DeletePlan,
    rec: &RecordingEntry,
    api_base: &str,
    archived_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DeletionEntry {
    match delete_plan {
        DeletePlan::Retain => DeletionEntry {
            plan: delete_plan.clone(),
            status: "retained".into(),
            due_at: None,
            planned_at: now,
            vendor_calls: vec![],
            notes: vec![],
        },
        DeletePlan::DeleteAfter { days, action } => {
            let (vendor_calls, notes) = vendor_calls(rec, api_base.trim_end_matches('/'), *action);
            DeletionEntry {
                plan: delete_plan.clone(),
                status: "scheduled".into(),
                due_at: Some(archived_at + Duration::days(i64::from(*days))),
                planned_at: now,
                vendor_calls,
                notes,
            }
        }
    }
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

fn vendor_calls(
    rec: &RecordingEntry,
    api: &str,
    action: DeleteAction,
) -> (Vec<String>, Vec<String>) {
    match rec.vendor {
        Vendor::Zoom => {
            let action = match action {
                DeleteAction::Trash => "trash",
                DeleteAction::Delete => "delete",
            };
            (
                vec![format!(
                    "DELETE {api}/meetings/{}/recordings?action={action}",
                    crate::zoom::encode_uuid_for_path(rec.instance_id.as_str())
                )],
                vec![],
            )
        }
        Vendor::Webex => {
            let mut notes = vec![
                "Webex: an admin token addresses another user's recording only with hostEmail=<host>".to_owned(),
                "Webex: each stop/start segment is its own recording id; delete every one".to_owned(),
            ];
            let host = match &rec.host_email {
                Some(e) => enc(e.as_str()),
                None => {
                    notes.push("host e-mail unknown: resolve it (admin list or meetingParticipants) before deleting".into());
                    "{hostEmail}".into()
                }
            };
            let calls = match action {
                // The recycle bin keeps it recoverable, like Zoom's trash.
                DeleteAction::Trash => vec![format!(
                    "POST {api}/recordings/softDelete?hostEmail={host} {{\"recordingIds\":{}}}",
                    serde_json::to_string(&rec.vendor_recording_ids).unwrap_or_default()
                )],
                DeleteAction::Delete => rec
                    .vendor_recording_ids
                    .iter()
                    .map(|id| format!("DELETE {api}/recordings/{}?hostEmail={host}", enc(id)))
                    .collect(),
            };
            (calls, notes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ConnectionId, Email, TenantId};

    fn entry(vendor: Vendor) -> RecordingEntry {
        let raw = include_bytes!("../../events/zoom/recording.completed.json");
        let mut rec = crate::zoom::event::normalise(raw).unwrap();
        rec.vendor = vendor;
        if vendor == Vendor::Webex {
            rec.vendor_recording_ids = vec!["r1".into(), "r2".into()];
        }
        let mut e = RecordingEntry::new(
            &rec,
            TenantId::parse("uni").unwrap(),
            ConnectionId::parse("c").unwrap(),
            Utc::now(),
        );
        e.host_email = Some(Email::parse("Host@Uni.edu").unwrap());
        e
    }

    #[test]
    fn plans() {
        let at: DateTime<Utc> = "2026-01-01T10:00:00Z".parse().unwrap();
        let zoom = entry(Vendor::Zoom);
        let p = plan(&DeletePlan::Retain, &zoom, "https://api.zoom.us/v2", at, at);
        assert_eq!((p.status.as_str(), p.due_at), ("retained", None));
        assert!(p.vendor_calls.is_empty());
        let trash = DeletePlan::DeleteAfter {
            days: 30,
            action: DeleteAction::Trash,
        };
        let p = plan(&trash, &zoom, "https://api.zoom.us/v2/", at, at);
        assert_eq!(p.status, "scheduled");
        assert_eq!(p.due_at, Some("2026-01-31T10:00:00Z".parse().unwrap()));
        assert_eq!(
            p.vendor_calls,
            vec![
                "DELETE https://api.zoom.us/v2/meetings/%252FuQ8%252BfZk%252F%252FTq2Lw9xYb3Rg%253D%253D/recordings?action=trash"
            ]
        );
    }

    #[test]
    fn webex_plans_name_every_segment_and_the_host() {
        let at: DateTime<Utc> = "2026-01-01T10:00:00Z".parse().unwrap();
        let mut webex = entry(Vendor::Webex);
        let delete = DeletePlan::DeleteAfter {
            days: 7,
            action: DeleteAction::Delete,
        };
        let p = plan(&delete, &webex, "https://webexapis.com/v1", at, at);
        let host = p.vendor_calls[0].split("hostEmail=").nth(1).unwrap();
        assert_eq!(
            p.vendor_calls,
            vec![
                format!("DELETE https://webexapis.com/v1/recordings/r1?hostEmail={host}"),
                format!("DELETE https://webexapis.com/v1/recordings/r2?hostEmail={host}"),
            ]
        );
        assert!(host.contains("%40"), "{host}");
        let trash = DeletePlan::DeleteAfter {
            days: 7,
            action: DeleteAction::Trash,
        };
        webex.host_email = None;
        let p = plan(&trash, &webex, "https://webexapis.com/v1", at, at);
        assert_eq!(
            p.vendor_calls,
            vec![
                r#"POST https://webexapis.com/v1/recordings/softDelete?hostEmail={hostEmail} {"recordingIds":["r1","r2"]}"#
            ]
        );
        assert!(p.notes.iter().any(|n| n.contains("host e-mail unknown")));
    }
}
