//! Zoom's deletion calls for a recording: `DELETE /meetings/{double-encoded uuid}/recordings?action=`.

use crate::catalog::RecordingEntry;
use crate::config::{BaseUrl, DeleteAction};
use crate::deletion::VendorCalls;

/// The call that removes every file of the meeting instance (`trash` keeps it recoverable for 30 days).
pub fn calls(rec: &RecordingEntry, api: &BaseUrl, action: DeleteAction) -> VendorCalls {
    let action = match action {
        DeleteAction::Trash => "trash",
        DeleteAction::Delete => "delete",
    };
    VendorCalls {
        calls: vec![format!(
            "DELETE {}?action={action}",
            api.join(&format!(
                "/meetings/{}/recordings",
                super::encode_uuid_for_path(rec.instance_id.as_str())
            ))
        )],
        notes: vec![],
    }
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
    }
}
