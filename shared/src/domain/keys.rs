//! The S3 layout. Keys are deterministic (the same file always lands at the same key, so a repeated
//! download overwrites rather than duplicates), readable, and under a per-tenant prefix:
//!
//! `tenants/<tenant>/<folder>/<segment>_<kind>[-<layout>]_<file>.<ext>`
//!
//! where `<folder>` is the connection's [`FolderLayout`], by default
//! `<vendor>/<account>/<yyyy>/<mm>/<dd>/<meeting>/<instance>`:
//!
//! where the date is the recording's UTC start ([`crate::model::Recording::filed_at`]: its earliest segment, not
//! the meeting's `start_time`, which for a recurring meeting can be weeks earlier), `<segment>` the UTC start of the file's segment
//! (`20260101T090110Z`), and vendor ids are made key-safe with [`crate::ids::InstanceId::key_safe_in`] by
//! the alphabet the vendor writes them in (Zoom meeting uuids and Webex org ids are base64: `+`→`.`,
//! `/`→`_`; Zoom account ids and Webex meeting ids keep their `_`), so no character a vendor uses is
//! percent-encoded.

use crate::ids::{AccountId, Category, IdAlphabet, InstanceId, TenantId, UserId, Vendor};
use crate::model::{FileKind, RecordingFile};
use crate::template::Template;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

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

/// The folder of the tenant's quarantine (without the trailing `/`): recordings no rule found an owner for,
/// under `owner.unmatched: quarantine`, until one is assigned or the quarantine expires.
pub fn quarantine_prefix(tenant: &TenantId) -> String {
    format!("{}/quarantine", tenant_prefix(tenant))
}

/// `folder` (a recording's folder under the tenant's prefix) moved into the tenant's quarantine:
/// `tenants/<t>/<rest>` → `tenants/<t>/quarantine/<rest>`.
pub fn quarantine_folder(tenant: &TenantId, folder: &str) -> String {
    let base = format!("{}/", tenant_prefix(tenant));
    let rest = folder.strip_prefix(&base).unwrap_or(folder);
    format!("{}/{rest}", quarantine_prefix(tenant))
}

/// The folder of one recording (meeting instance) by the default layout.
pub fn recording_prefix(
    tenant: &TenantId,
    vendor: Vendor,
    account: &AccountId,
    start: DateTime<Utc>,
    meeting_id: &str,
    instance: &InstanceId,
) -> String {
    FolderLayout::default().prefix(&Placed {
        tenant,
        vendor,
        account,
        filed_at: start,
        meeting_id,
        instance,
        topic: "",
        owner: None,
        categories: &[],
    })
}

/// The key of one file under its recording's prefix.
pub fn file_key(recording_prefix: &str, file: &RecordingFile) -> String {
    key_of(
        recording_prefix,
        &file.kind,
        file.segment_start,
        &file.id,
        &file.extension,
    )
}

/// The key of a file of `kind` in the segment started at `segment`, under `recording_prefix`.
pub fn key_of(
    recording_prefix: &str,
    kind: &FileKind,
    segment: DateTime<Utc>,
    id: &crate::ids::FileId,
    extension: &str,
) -> String {
    let kind = match kind {
        FileKind::Video { layout } => format!("video-{}", label(layout)),
        FileKind::Other { vendor_type } => format!("other-{}", label(vendor_type)),
        k => k.slug().to_owned(),
    };
    format!(
        "{recording_prefix}{}_{kind}_{}.{}",
        segment.format("%Y%m%dT%H%M%SZ"),
        id.key_safe(),
        label(extension)
    )
}

/// The placeholders of a [`FolderLayout`].
const FOLDER_FIELDS: [&str; 11] = [
    "vendor",
    "account",
    "yyyy",
    "mm",
    "dd",
    "meeting",
    "instance",
    "instance_hash",
    "owner",
    "category",
    "topic",
];

/// The folder of each recording below `tenants/<tenant>/`, as a template of `{placeholders}` and literal
/// text (letters, digits, `-`, `_`, `.`, and `/` between folders). The placeholders: `{vendor}`,
/// `{account}`, `{yyyy}`, `{mm}`, `{dd}` (the recording's UTC start), `{meeting}` (the meeting number),
/// `{instance}` (the meeting instance, key-safe), `{instance_hash}` (12 hex digits of its SHA-256: short, and
/// as unique), `{owner}`, `{category}` (the first category, its `/` nesting kept; `uncategorised`) and
/// `{topic}` (the topic with spaces and signs as `-`). It must hold `{instance}` or `{instance_hash}`, so that
/// two recordings never share a folder.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FolderLayout(Template);

/// Today's layout, and the default: `{vendor}/{account}/{yyyy}/{mm}/{dd}/{meeting}/{instance}`.
pub const DEFAULT_LAYOUT: &str = "{vendor}/{account}/{yyyy}/{mm}/{dd}/{meeting}/{instance}";

impl Default for FolderLayout {
    fn default() -> Self {
        Self::parse(DEFAULT_LAYOUT).expect("the default layout parses")
    }
}

impl FolderLayout {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("is empty".into());
        }
        if s.starts_with('/') || s.ends_with('/') || s.contains("//") {
            return Err(format!(
                "{s:?} must not start or end with '/', nor hold '//'"
            ));
        }
        let t = Template::parse(s, &FOLDER_FIELDS)?;
        if let Some(c) = t
            .texts()
            .flat_map(str::chars)
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
        {
            return Err(format!(
                "{c:?} in {s:?}: literal text may only hold letters, digits, - _ . and /"
            ));
        }
        if !t.uses("instance") && !t.uses("instance_hash") {
            return Err(format!(
                "{s:?} holds neither {{instance}} nor {{instance_hash}}: two recordings could share a folder"
            ));
        }
        Ok(Self(t))
    }

    /// The prefix (ending in `/`) of a recording by this layout.
    pub fn prefix(&self, r: &Placed<'_>) -> String {
        format!(
            "{}/{}/",
            tenant_prefix(r.tenant),
            self.0.render(|f| value(f, r))
        )
    }
}

impl fmt::Display for FolderLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Debug for FolderLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FolderLayout({self})")
    }
}
impl TryFrom<String> for FolderLayout {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}
impl From<FolderLayout> for String {
    fn from(l: FolderLayout) -> String {
        l.to_string()
    }
}

/// What a recording's folder is made of.
#[derive(Debug, Clone, Copy)]
pub struct Placed<'a> {
    pub tenant: &'a TenantId,
    pub vendor: Vendor,
    pub account: &'a AccountId,
    /// The recording's UTC start ([`crate::model::Recording::filed_at`]).
    pub filed_at: DateTime<Utc>,
    pub meeting_id: &'a str,
    pub instance: &'a InstanceId,
    pub topic: &'a str,
    pub owner: Option<&'a UserId>,
    pub categories: &'a [Category],
}

fn value(f: &str, r: &Placed<'_>) -> String {
    match f {
        "vendor" => r.vendor.to_string(),
        "account" => InstanceId::parse(r.account.as_str())
            .map(|a| {
                a.key_safe_in(match r.vendor {
                    Vendor::Zoom => IdAlphabet::Word,
                    Vendor::Webex => IdAlphabet::Base64,
                })
            })
            .unwrap_or_else(|_| "account".into()),
        "yyyy" => r.filed_at.format("%Y").to_string(),
        "mm" => r.filed_at.format("%m").to_string(),
        "dd" => r.filed_at.format("%d").to_string(),
        "meeting" if r.meeting_id.is_empty() => "meeting".into(),
        "meeting" => label(r.meeting_id),
        "instance" => r.instance.key_safe_in(match r.vendor {
            Vendor::Zoom => IdAlphabet::Base64,
            Vendor::Webex => IdAlphabet::Word,
        }),
        "instance_hash" => {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(r.instance.as_str().as_bytes()))[..12].to_owned()
        }
        "owner" => r.owner.map_or_else(|| "unowned".into(), |o| o.to_string()),
        "category" => r.categories.first().map_or_else(
            || "uncategorised".into(),
            |c| {
                c.as_str()
                    .split('/')
                    .map(slug)
                    .collect::<Vec<_>>()
                    .join("/")
            },
        ),
        "topic" => {
            let s = slug(r.topic);
            if s.is_empty() { "untitled".into() } else { s }
        }
        _ => String::new(),
    }
}

/// Readable in a key and safe in it: letters and digits (any script) kept, `-`, `_` and `.` kept, anything
/// else (spaces, signs) one `-`; at most 60 characters.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_alphanumeric() || matches!(c, '_' | '.') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
        if out.chars().count() >= 60 {
            break;
        }
    }
    out.trim_matches(['-', '.']).to_owned()
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
    fn nothing_a_vendor_puts_in_its_ids_is_percent_encoded_in_the_default_layout() {
        let t = TenantId::parse("uni").unwrap();
        let at = "2026-01-01T09:00:00Z".parse().unwrap();
        let zoom = recording_prefix(
            &t,
            Vendor::Zoom,
            &AccountId::parse("r8j_zAez-gbj").unwrap(),
            at,
            "81234567890",
            &InstanceId::parse("/Ab+cd//EfGh==").unwrap(),
        );
        assert_eq!(
            zoom,
            "tenants/uni/zoom/r8j_zAez-gbj/2026/01/01/81234567890/_Ab.cd__EfGh/"
        );
        let webex = recording_prefix(
            &t,
            Vendor::Webex,
            &AccountId::parse("Y2lzY29z+cGFy/a2").unwrap(),
            at,
            "4a4bb9fd",
            &InstanceId::parse("4a4bb9fd_I_4641625905").unwrap(),
        );
        assert_eq!(
            webex,
            "tenants/uni/webex/Y2lzY29z.cGFy_a2/2026/01/01/4a4bb9fd/4a4bb9fd_I_4641625905/"
        );
        assert!(!zoom.contains('%') && !webex.contains('%'));
    }

    #[test]
    fn quarantine_takes_the_folder_below_the_tenant_into_its_own_prefix() {
        let t = TenantId::parse("uni").unwrap();
        assert_eq!(
            quarantine_folder(&t, "tenants/uni/zoom/A/2026/01/01/m/i/"),
            "tenants/uni/quarantine/zoom/A/2026/01/01/m/i/"
        );
        assert!(quarantine_folder(&t, "tenants/uni/x/").starts_with(&tenant_prefix(&t)));
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
    fn a_layout_files_by_owner_category_date_and_topic_without_encoding() {
        let tenant = TenantId::parse("uni").unwrap();
        let account = AccountId::parse("ACCT123").unwrap();
        let instance = InstanceId::parse("/Ab+cd//EfGh==").unwrap();
        let owner = UserId::parse("jdoe").unwrap();
        let cats = [Category::parse("Lectures/Spring term").unwrap()];
        let placed = Placed {
            tenant: &tenant,
            vendor: Vendor::Zoom,
            account: &account,
            filed_at: "2026-03-16T09:00:00Z".parse().unwrap(),
            meeting_id: "81234567890",
            instance: &instance,
            topic: "CHEM 101: Lecture #3 (Acids & Bases) — Müller",
            owner: Some(&owner),
            categories: &cats,
        };
        let layout =
            FolderLayout::parse("{category}/{owner}/{yyyy}-{mm}-{dd}_{topic}_{instance_hash}")
                .unwrap();
        let prefix = layout.prefix(&placed);
        assert_eq!(
            prefix,
            format!(
                "tenants/uni/Lectures/Spring-term/jdoe/2026-03-16_CHEM-101-Lecture-3-Acids-Bases-Müller_{}/",
                &prefix[prefix.len() - 13..prefix.len() - 1]
            )
        );
        assert!(
            prefix[prefix.len() - 13..prefix.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_hexdigit())
        );
        assert_eq!(
            layout.to_string(),
            "{category}/{owner}/{yyyy}-{mm}-{dd}_{topic}_{instance_hash}"
        );
        // The default reproduces the layout before templates.
        assert_eq!(
            FolderLayout::default().prefix(&placed),
            "tenants/uni/zoom/ACCT123/2026/03/16/81234567890/_Ab.cd__EfGh/"
        );
        // Without owner or category yet, and with an empty topic, the words say so.
        let bare = Placed {
            owner: None,
            categories: &[],
            topic: " ?! ",
            ..placed
        };
        assert_eq!(
            FolderLayout::parse("{owner}/{category}/{topic}/{instance}")
                .unwrap()
                .prefix(&bare),
            "tenants/uni/unowned/uncategorised/untitled/_Ab.cd__EfGh/"
        );
        // Round trip as stored.
        let json = serde_json::to_string(&layout).unwrap();
        assert_eq!(serde_json::from_str::<FolderLayout>(&json).unwrap(), layout);
    }

    #[test]
    fn a_layout_that_could_mix_recordings_or_names_nothing_known_is_refused() {
        for (bad, why) in [
            ("{owner}/{yyyy}", "neither {instance}"),
            ("{owner}/{instanceid}", "not a placeholder"),
            ("/{instance}", "must not start"),
            ("{owner}//{instance}", "'//'"),
            ("{owner} x/{instance}", "literal text"),
            ("{owner/{instance}", "not a placeholder"),
            ("{instance", "without its"),
            ("", "is empty"),
        ] {
            let e = FolderLayout::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
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
