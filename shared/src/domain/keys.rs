//! The S3 layout. Keys are deterministic (the same file always lands at the same key, so a repeated
//! download overwrites rather than duplicates), readable, and under a per-tenant prefix:
//!
//! `tenants/<tenant>/<vendor>/<account>/<yyyy>/<mm>/<dd>/<meeting>/<instance>/<segment>_<kind>[-<layout>]_<file>.<ext>`
//!
//! where the date is the recording's UTC start ([`crate::model::Recording::filed_at`]: its earliest segment, not
//! the meeting's `start_time`, which for a recurring meeting can be weeks earlier), `<segment>` the UTC start of the file's segment
//! (`20260101T090110Z`), and vendor ids are made key-safe with [`crate::ids::InstanceId::key_safe`].

use crate::ids::{AccountId, InstanceId, TenantId, Vendor};
use crate::model::{FileKind, RecordingFile};
use chrono::{DateTime, Utc};

/// Keeps `[a-z0-9_-]` of a vendor label (layouts such as `shared_screen_with_speaker_view(CC)`).
fn label(s: &str) -> String {
    let mut out: String = s
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        "unknown".into()
    } else {
        out
    }
}

/// The folder of a tenant's whole archive (without the trailing `/`): every recording prefix starts with it
/// and a `/`.
pub fn tenant_prefix(tenant: &TenantId) -> String {
    format!("tenants/{tenant}")
}

/// The folder of one recording (meeting instance).
pub fn recording_prefix(
    tenant: &TenantId,
    vendor: Vendor,
    account: &AccountId,
    start: DateTime<Utc>,
    meeting_id: &str,
    instance: &InstanceId,
) -> String {
    let account = InstanceId::parse(account.as_str())
        .map(|a| a.key_safe())
        .unwrap_or_else(|_| "account".into());
    let meeting = if meeting_id.is_empty() {
        "meeting".into()
    } else {
        label(meeting_id)
    };
    format!(
        "{}/{vendor}/{account}/{}/{meeting}/{}/",
        tenant_prefix(tenant),
        start.format("%Y/%m/%d"),
        instance.key_safe()
    )
}

/// The key of one file under its recording's prefix.
pub fn file_key(recording_prefix: &str, file: &RecordingFile) -> String {
    let kind = match &file.kind {
        FileKind::Video { layout } => format!("video-{}", label(layout)),
        FileKind::Other { vendor_type } => format!("other-{}", label(vendor_type)),
        k => k.slug().to_owned(),
    };
    format!(
        "{recording_prefix}{}_{kind}_{}.{}",
        file.segment_start.format("%Y%m%dT%H%M%SZ"),
        file.id.key_safe(),
        label(&file.extension)
    )
}

/// The key of version `n` (2, 3, …) of a file whose first version is at `key`: `.v<n>` before the extension,
/// so a changed file never overwrites the object archived before.
pub fn versioned(key: &str, n: usize) -> String {
    let name_start = key.rfind('/').map_or(0, |i| i + 1);
    match key[name_start..].rfind('.') {
        Some(dot) => {
            let (stem, ext) = key.split_at(name_start + dot);
            format!("{stem}.v{n}{ext}")
        }
        None => format!("{key}.v{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::FileId;
    use crate::model::DownloadSource;

    fn file(id: &str, kind: FileKind, start: &str) -> RecordingFile {
        RecordingFile {
            id: FileId::parse(id).unwrap(),
            kind,
            vendor_type: "MP4".into(),
            extension: "mp4".into(),
            segment_start: start.parse().unwrap(),
            recording_end: None,
            expected_size: None,
            source: DownloadSource::ZoomUrl {
                url: "https://x.zoom.us/a".into(),
                token: None,
                issued_at_ms: 0,
            },
            file_name: None,
            recording_type: None,
            status: None,
        }
    }

    #[test]
    fn layout_is_readable_and_deterministic() {
        let prefix = recording_prefix(
            &TenantId::parse("uni").unwrap(),
            Vendor::Zoom,
            &AccountId::parse("ACCT123").unwrap(),
            "2026-01-01T09:00:00Z".parse().unwrap(),
            "81234567890",
            &InstanceId::parse("/Ab+cd//EfGh==").unwrap(),
        );
        assert_eq!(
            prefix,
            "tenants/uni/zoom/ACCT123/2026/01/01/81234567890/_Ab.cd__EfGh/"
        );
        let f = file(
            "f1/x",
            FileKind::Video {
                layout: "shared_screen_with_speaker_view(CC)".into(),
            },
            "2026-01-01T09:01:10Z",
        );
        assert_eq!(
            file_key(&prefix, &f),
            "tenants/uni/zoom/ACCT123/2026/01/01/81234567890/_Ab.cd__EfGh/20260101T090110Z_video-shared_screen_with_speaker_view_cc_f1_x.mp4"
        );
        assert_eq!(file_key(&prefix, &f), file_key(&prefix, &f.clone()));
    }

    #[test]
    fn segments_and_kinds_separate_keys() {
        let a = file("a", FileKind::Audio, "2026-01-01T09:01:10Z");
        let b = file("a", FileKind::Audio, "2026-01-01T09:35:00Z");
        let c = file(
            "c",
            FileKind::Other {
                vendor_type: "SOMETHING_NEW".into(),
            },
            "2026-01-01T09:01:10Z",
        );
        assert_ne!(file_key("p/", &a), file_key("p/", &b));
        assert!(file_key("p/", &c).contains("other-something_new"));
    }

    #[test]
    fn a_new_version_gets_its_own_key_beside_the_first() {
        assert_eq!(
            versioned("t/zoom/a/2026/01/01/m/i/20260101T090110Z_audio_f.m4a", 2),
            "t/zoom/a/2026/01/01/m/i/20260101T090110Z_audio_f.v2.m4a"
        );
        // A dot in a folder is not an extension; a name without one gets the suffix at the end.
        assert_eq!(versioned("t/a.b/name", 3), "t/a.b/name.v3");
    }
}
