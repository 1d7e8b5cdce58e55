//! Zoom webhook events: what we accept, and their normalisation into the vendor-neutral [`Recording`].
//!
//! Normalisation is tolerant. Bodies from real accounts stray from Zoom's schema (a host e-mail without a
//! dotted domain, a file without `download_url`, `null` for a list, a size sent as a float, CC and TIMELINE
//! files without `id`, a participant audio file with the mixed audio's `id`), and a 4xx answer makes Zoom retry
//! three times and then give the event up for good. So only the meeting instance (`uuid`), the account and one
//! downloadable file are required. Any other odd field is left out, or an unusable file skipped, and a note
//! ([`Recording::notes`]) says which and why; the rest of the recording is kept.

use crate::ids::{AccountId, Email, FileId, InstanceId, Vendor};
use crate::model::{DownloadSource, FileKind, Host, MeetingKind, Recording, RecordingFile};
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// What a verified Zoom webhook body asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoomWebhook {
    /// `endpoint.url_validation`: answer with the plain and encrypted token.
    UrlValidation { plain_token: String },
    /// `recording.completed` or `recording.transcript_completed`: to be ingested. `notes` says what
    /// normalisation had to leave out (empty for a clean body).
    Recording { event: String, notes: Vec<String> },
    /// `recording.trashed` / `recording.deleted`: someone removed a recording at Zoom (our own deletions
    /// included). Queued, so that a person's deletion is recorded on the entry.
    Removed { event: String },
    /// `app_deauthorized`: the app was removed from the account; the connection is disabled.
    Deauthorized,
    /// Any other event: acknowledged, not ingested.
    Ignored { event: String },
}

/// Events that carry recording files we archive.
pub const INGESTED_EVENTS: [&str; 2] = ["recording.completed", "recording.transcript_completed"];
/// Events that say a recording was removed at Zoom (to trash, or for good).
pub const REMOVAL_EVENTS: [&str; 2] = ["recording.trashed", "recording.deleted"];
pub const DEAUTHORIZED: &str = "app_deauthorized";

/// A `recording.trashed` / `recording.deleted` event: which recording, by whom, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    pub event: String,
    pub account: AccountId,
    pub instance: crate::ids::InstanceId,
    /// Who removed it (`payload.operator`, an e-mail), if Zoom says.
    pub operator: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// An `app_deauthorized` event's account.
pub fn deauthorized_account(raw_body: &[u8]) -> Result<AccountId, ZoomEventError> {
    let env: Envelope =
        serde_json::from_slice(raw_body).map_err(|e| ZoomEventError::NotJson(e.to_string()))?;
    let account = env
        .payload
        .get("account_id")
        .and_then(Value::as_str)
        .ok_or_else(|| field_err("payload.account_id", "missing"))?;
    AccountId::parse(account).map_err(|e| field_err("payload.account_id", e.reason))
}

/// Reads a `recording.trashed` / `recording.deleted` body.
pub fn removal(raw_body: &[u8]) -> Result<Removal, ZoomEventError> {
    let v: Value =
        serde_json::from_slice(raw_body).map_err(|e| ZoomEventError::NotJson(e.to_string()))?;
    let text = |path: &[&str]| {
        path.iter()
            .try_fold(&v, |v, k| v.get(*k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let event = text(&["event"]).ok_or_else(|| field_err("event", "missing"))?;
    let account = text(&["payload", "account_id"])
        .or_else(|| text(&["payload", "object", "account_id"]))
        .ok_or_else(|| field_err("payload.account_id", "missing"))?;
    let uuid = text(&["payload", "object", "uuid"])
        .ok_or_else(|| field_err("payload.object.uuid", "missing"))?;
    let at = v
        .get("event_ts")
        .and_then(Value::as_i64)
        .and_then(chrono::DateTime::from_timestamp_millis)
        .unwrap_or_else(chrono::Utc::now);
    Ok(Removal {
        event,
        account: AccountId::parse(account)
            .map_err(|e| field_err("payload.account_id", e.reason))?,
        instance: crate::ids::InstanceId::parse(uuid)
            .map_err(|e| field_err("payload.object.uuid", e.reason))?,
        operator: text(&["payload", "operator"]),
        at,
    })
}

/// Why a body could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoomEventError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("field {field}: {reason}")]
    Field { field: String, reason: String },
    /// Nothing downloadable is left: the event lists no file, or every file was skipped (the notes say why).
    #[error("no usable file: {}", describe_notes(.notes))]
    NoUsableFile { notes: Vec<String> },
}

fn describe_notes(notes: &[String]) -> String {
    if notes.is_empty() {
        "the event lists none".into()
    } else {
        notes.join("; ")
    }
}

fn field_err(field: impl Into<String>, reason: impl Into<String>) -> ZoomEventError {
    ZoomEventError::Field {
        field: field.into(),
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
struct Envelope {
    event: String,
    #[serde(default)]
    payload: Value,
}

/// Classifies a verified body. Only call this after the signature has been checked.
pub fn classify(raw_body: &[u8]) -> Result<ZoomWebhook, ZoomEventError> {
    let env: Envelope =
        serde_json::from_slice(raw_body).map_err(|e| ZoomEventError::NotJson(e.to_string()))?;
    if env.event == "endpoint.url_validation" {
        let plain_token = env
            .payload
            .get("plainToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| field_err("payload.plainToken", "missing"))?;
        return Ok(ZoomWebhook::UrlValidation {
            plain_token: plain_token.to_owned(),
        });
    }
    if INGESTED_EVENTS.contains(&env.event.as_str()) {
        // Normalise now, so an unusable recording event is a 400 at the door, not a poison message. A degraded
        // but usable one is accepted; its notes travel with the recording.
        let rec = normalise(raw_body)?;
        return Ok(ZoomWebhook::Recording {
            event: env.event,
            notes: rec.notes,
        });
    }
    if REMOVAL_EVENTS.contains(&env.event.as_str()) {
        removal(raw_body)?;
        return Ok(ZoomWebhook::Removed { event: env.event });
    }
    if env.event == DEAUTHORIZED {
        deauthorized_account(raw_body)?;
        return Ok(ZoomWebhook::Deauthorized);
    }
    Ok(ZoomWebhook::Ignored { event: env.event })
}

/// At most this many notes are kept per event; the last one says how many more there were.
const MAX_NOTES: usize = 40;

/// What one normalisation left out, in body order, each once.
#[derive(Default)]
struct Notes(Vec<String>);

impl Notes {
    fn add(&mut self, note: String) {
        if !self.0.contains(&note) {
            self.0.push(note);
        }
    }
    fn into_vec(mut self) -> Vec<String> {
        if self.0.len() > MAX_NOTES {
            let more = self.0.len() - (MAX_NOTES - 1);
            self.0.truncate(MAX_NOTES - 1);
            self.0.push(format!("… and {more} more notes"));
        }
        self.0
    }
}

/// A value as a note shows it: a string quoted, anything else as JSON; at most 60 characters, no control
/// characters. Only for fields that hold neither tokens nor URLs.
fn shown(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("'{s}'"),
        other => other.to_string(),
    };
    let mut out: String = s
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(60)
        .collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn shown_str(s: &str) -> String {
    shown(&Value::String(s.to_owned()))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A whole, non-negative number: an integer, a float without fraction (`1048576.0`, `1.048576e6`), or either
/// as a string.
fn whole_number(v: &Value) -> Option<u64> {
    fn whole(f: f64) -> Option<u64> {
        // Beyond 2^53 a float no longer holds every integer exactly.
        (f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0)
            .then_some(f as u64)
    }
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().and_then(whole)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<u64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(whole))
        }
        _ => None,
    }
}

/// An ISO-8601 time: RFC 3339, or without offset (taken as UTC, which is what Zoom sends).
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// One JSON object of the body and where it is (`payload.object`, `payload.object.recording_files[2]`).
struct At<'a> {
    obj: &'a Map<String, Value>,
    path: String,
}

impl<'a> At<'a> {
    fn path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }
    /// The value of `key`; `null` counts as absent.
    fn raw(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }
    /// The object under `key`, if it is one.
    fn child(&self, key: &str) -> Option<At<'a>> {
        self.raw(key).and_then(Value::as_object).map(|obj| At {
            obj,
            path: self.path(key),
        })
    }
    /// A text field: a string as it is, a number or boolean as its text; absent or `null` is `None`; a list or
    /// an object is noted (without its content) and ignored.
    fn text(&self, key: &str, notes: &mut Notes) -> Option<String> {
        match self.raw(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => {
                notes.add(format!(
                    "{} is {}, not text; ignored",
                    self.path(key),
                    kind_of(other)
                ));
                None
            }
        }
    }
    /// [`At::text`], trimmed, empty as absent.
    fn trimmed(&self, key: &str, notes: &mut Notes) -> Option<String> {
        self.text(key, notes)
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }
    /// A time field: `Ok(None)` if absent or empty, `Err(the value as shown)` if unreadable.
    fn time(&self, key: &str) -> Result<Option<DateTime<Utc>>, String> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => parse_time(s).map(Some).ok_or_else(|| shown_str(s)),
            Some(other) => Err(shown(other)),
        }
    }
    /// A list field: absent or `null` is empty; anything else that is not a list is noted and ignored.
    fn list(&self, key: &str, notes: &mut Notes) -> &'a [Value] {
        match self.raw(key) {
            None => &[],
            Some(Value::Array(items)) => items,
            Some(other) => {
                notes.add(format!(
                    "{} is {}, not a list; ignored",
                    self.path(key),
                    kind_of(other)
                ));
                &[]
            }
        }
    }
}

/// Zoom object types 5, 6 and 9 are webinars; the webhook sends an integer, REST a string.
fn meeting_kind(v: Option<&Value>) -> MeetingKind {
    match v.and_then(whole_number) {
        Some(5 | 6 | 9) => MeetingKind::Webinar,
        _ => MeetingKind::Meeting,
    }
}

/// Maps Zoom's `file_type` (+ `recording_type` for videos) onto [`FileKind`]; unknown types are kept.
pub fn file_kind(file_type: &str, recording_type: Option<&str>) -> FileKind {
    match file_type.to_ascii_uppercase().as_str() {
        "MP4" => FileKind::Video {
            layout: recording_type.unwrap_or("unknown").to_owned(),
        },
        "M4A" => FileKind::Audio,
        "TRANSCRIPT" => FileKind::Transcript,
        "CC" => FileKind::ClosedCaptions,
        "CHAT" | "CHAT_MESSAGE" => FileKind::Chat,
        "TIMELINE" => FileKind::Timeline,
        "CSV" => FileKind::Poll,
        "SUMMARY" => FileKind::Summary,
        other => FileKind::Other {
            vendor_type: other.to_owned(),
        },
    }
}

fn default_extension(kind: &FileKind) -> &'static str {
    match kind {
        FileKind::Video { .. } => "mp4",
        FileKind::Audio => "m4a",
        FileKind::Transcript | FileKind::ClosedCaptions => "vtt",
        FileKind::Chat => "txt",
        FileKind::Timeline | FileKind::Summary => "json",
        FileKind::Poll => "csv",
        FileKind::Other { .. } => "bin",
    }
}

/// `[a-z0-9-]` of a label, at most 32 characters (`audio_only` → `audio-only`); `fallback` if nothing is left.
fn slug(s: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
        if out.len() >= 32 {
            break;
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        fallback.to_owned()
    } else {
        out.to_owned()
    }
}

fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())[..16].to_owned()
}

/// The id of a file Zoom sent without one (its schema lets CC and TIMELINE files come without `id`):
/// `derived-<file type>-<16 hex digits of SHA-256>` over the meeting uuid, the upper-cased `file_type`, the
/// file's own `recording_start` (normalised) and its extension. It depends only on what the file says about
/// itself, so every delivery, and the REST listing the downloader reads, derive the same id.
fn derived_id(uuid: &str, file_type: &str, recording_start: &str, extension: &str) -> String {
    let file_type = file_type.to_ascii_uppercase();
    format!(
        "derived-{}-{}",
        slug(&file_type, "file"),
        short_hash(&[uuid, &file_type, recording_start, extension])
    )
}

/// A file id as built here; one too long for [`FileId`] is replaced by a derived form of itself.
fn file_id(s: String) -> FileId {
    match FileId::parse(s.as_str()) {
        Ok(id) => id,
        Err(_) => FileId::parse(format!("derived-long-{}", short_hash(&[&s])))
            .expect("a derived id is a valid file id"),
    }
}

/// One usable file of the body, before ids and fallback times are settled.
struct ZoomFile {
    path: String,
    participant: bool,
    /// The id Zoom gave it, if usable.
    id: Option<FileId>,
    url: String,
    vendor_type: String,
    kind: FileKind,
    extension: String,
    /// Its own `recording_start`; `start_key` that time normalised (or as sent, if unreadable) for ids.
    recording_start: Option<DateTime<Utc>>,
    start_key: String,
    recording_end: Option<DateTime<Utc>>,
    size: Option<u64>,
    file_name: Option<String>,
    recording_type: Option<String>,
    status: Option<String>,
}

fn parse_file(f: &At<'_>, participant: bool, notes: &mut Notes) -> Option<ZoomFile> {
    let Some(url) = f.trimmed("download_url", notes) else {
        notes.add(format!("{} has no download_url; file skipped", f.path));
        return None;
    };
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        notes.add(format!(
            "{} download_url is not an http(s) URL; file skipped",
            f.path
        ));
        return None;
    }
    let id = match f.text("id", notes).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match FileId::parse(raw.as_str()) {
            Ok(id) => Some(id),
            Err(e) => {
                notes.add(format!(
                    "{} {} is not usable ({}); a derived id is used",
                    f.path("id"),
                    shown_str(&raw),
                    e.reason
                ));
                None
            }
        },
    };
    let vendor_type = f.trimmed("file_type", notes).unwrap_or_default();
    let recording_type = f.trimmed("recording_type", notes);
    let kind = if participant && vendor_type.is_empty() {
        // Participant audio is audio, whether or not it says so.
        FileKind::Audio
    } else {
        file_kind(&vendor_type, recording_type.as_deref())
    };
    let extension = match f.trimmed("file_extension", notes) {
        Some(e) if e.len() <= 16 && e.chars().all(|c| c.is_ascii_alphanumeric()) => {
            e.to_ascii_lowercase()
        }
        Some(e) => {
            let d = default_extension(&kind);
            notes.add(format!(
                "{} {} is not a file extension; '{d}' used",
                f.path("file_extension"),
                shown_str(&e)
            ));
            d.to_owned()
        }
        None => default_extension(&kind).to_owned(),
    };
    let (recording_start, start_key) = match f.time("recording_start") {
        Ok(t) => (
            t,
            t.map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
                .unwrap_or_default(),
        ),
        Err(shown) => {
            notes.add(format!(
                "{} {shown} is not an ISO-8601 time; the recording's first segment is assumed",
                f.path("recording_start")
            ));
            (None, shown)
        }
    };
    let recording_end = f.time("recording_end").unwrap_or_else(|shown| {
        notes.add(format!(
            "{} {shown} is not an ISO-8601 time; ignored",
            f.path("recording_end")
        ));
        None
    });
    let size = f.raw("file_size").and_then(|v| match whole_number(v) {
        Some(0) => None,
        Some(n) => Some(n),
        None => {
            notes.add(format!(
                "{} {} is not a whole number of bytes; size not checked",
                f.path("file_size"),
                shown(v)
            ));
            None
        }
    });
    Some(ZoomFile {
        path: f.path.clone(),
        participant,
        id,
        url,
        vendor_type,
        kind,
        extension,
        recording_start,
        start_key,
        recording_end,
        size,
        file_name: f.trimmed("file_name", notes),
        recording_type,
        status: f.trimmed("status", notes),
    })
}

/// Normalises a `recording.completed` / `recording.transcript_completed` body.
pub fn normalise(raw_body: &[u8]) -> Result<Recording, ZoomEventError> {
    let body: Value =
        serde_json::from_slice(raw_body).map_err(|e| ZoomEventError::NotJson(e.to_string()))?;
    let top = body
        .as_object()
        .map(|obj| At {
            obj,
            path: String::new(),
        })
        .ok_or_else(|| field_err("event", "the body is not a JSON object"))?;
    let event = top.raw("event").and_then(Value::as_str).unwrap_or_default();
    if !INGESTED_EVENTS.contains(&event) {
        return Err(field_err(
            "event",
            format!("'{event}' is not a recording event"),
        ));
    }
    let mut notes = Notes::default();
    // The token is never shown in a note, only that it was unusable.
    let token = top
        .text("download_token", &mut notes)
        .filter(|t| !t.is_empty());
    let issued_at_ms = match top.raw("event_ts") {
        None => 0,
        Some(v) => whole_number(v)
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or_else(|| {
                notes.add(format!(
                    "event_ts {} is not a time in milliseconds; ignored",
                    shown(v)
                ));
                0
            }),
    };
    let payload = top
        .child("payload")
        .ok_or_else(|| field_err("payload", "missing or not an object"))?;
    let object = payload
        .child("object")
        .ok_or_else(|| field_err("payload.object", "missing or not an object"))?;
    let payload_account = payload.text("account_id", &mut notes);
    normalise_object(object, payload_account, token, issued_at_ms, notes)
}

/// A recording as `GET /meetings/{uuid}/recordings` returns it: the same object as in the webhook, normalised
/// the same way, with the `download_access_token` (asked for with `include_fields`) as every file's token.
/// `account` is the connection's (the REST object may leave it out); `issued_at_ms` when the token was issued.
pub fn from_api(
    body: &[u8],
    account: &AccountId,
    issued_at_ms: i64,
) -> Result<Recording, ZoomEventError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| field_err("recording", e.to_string()))?;
    let object = v
        .as_object()
        .map(|obj| At {
            obj,
            path: "recording".into(),
        })
        .ok_or_else(|| field_err("recording", "not a JSON object"))?;
    let mut notes = Notes::default();
    let token = object
        .text("download_access_token", &mut notes)
        .filter(|t| !t.is_empty());
    normalise_object(
        object,
        Some(account.to_string()),
        token,
        issued_at_ms,
        notes,
    )
}

fn normalise_object(
    obj: At<'_>,
    payload_account: Option<String>,
    token: Option<String>,
    issued_at_ms: i64,
    mut notes: Notes,
) -> Result<Recording, ZoomEventError> {
    let account = obj
        .text("account_id", &mut notes)
        .filter(|a| !a.is_empty())
        .or(payload_account.filter(|a| !a.is_empty()))
        .ok_or_else(|| field_err(obj.path("account_id"), "missing"))?;
    let account =
        AccountId::parse(account).map_err(|e| field_err(obj.path("account_id"), e.reason))?;
    let uuid = obj
        .text("uuid", &mut notes)
        .ok_or_else(|| field_err(obj.path("uuid"), "missing"))?;
    let instance = InstanceId::parse(uuid).map_err(|e| field_err(obj.path("uuid"), e.reason))?;
    let meeting_id = obj.trimmed("id", &mut notes).unwrap_or_default();
    let host_email = obj
        .trimmed("host_email", &mut notes)
        .and_then(|e| match Email::parse(&e) {
            Ok(email) => Some(email),
            Err(_) => {
                notes.add(format!(
                    "{} {} is not a valid address; ignored",
                    obj.path("host_email"),
                    shown_str(&e)
                ));
                None
            }
        });
    let type_value = obj.raw("type");
    if let Some(v) = type_value.filter(|v| whole_number(v).is_none()) {
        notes.add(format!(
            "{} {} is not a Zoom meeting type; taken as a meeting",
            obj.path("type"),
            shown(v)
        ));
    }
    let duration_minutes = obj.raw("duration").and_then(|v| {
        let minutes = whole_number(v).and_then(|d| u32::try_from(d).ok());
        if minutes.is_none() {
            notes.add(format!(
                "{} {} is not a whole number of minutes; ignored",
                obj.path("duration"),
                shown(v)
            ));
        }
        minutes
    });
    let meeting_start = obj.time("start_time");
    let topic = obj.text("topic", &mut notes).unwrap_or_default();
    let host_id = obj.trimmed("host_id", &mut notes);
    let timezone = obj.trimmed("timezone", &mut notes);

    let mut files = Vec::new();
    for (list, participant) in [
        ("recording_files", false),
        ("participant_audio_files", true),
    ] {
        for (i, item) in obj.list(list, &mut notes).iter().enumerate() {
            let path = format!("{}.{list}[{i}]", obj.path);
            match item.as_object() {
                Some(f) => files.extend(parse_file(&At { obj: f, path }, participant, &mut notes)),
                None => notes.add(format!("{path} is {}, not a file; skipped", kind_of(item))),
            }
        }
    }
    if files.is_empty() {
        return Err(ZoomEventError::NoUsableFile {
            notes: notes.into_vec(),
        });
    }

    // The meeting's start, for display; without it, when recording began (or, last, when Zoom sent the event).
    let first_recording = files.iter().filter_map(|f| f.recording_start).min();
    let event_time = DateTime::from_timestamp_millis(issued_at_ms).filter(|_| issued_at_ms > 0);
    let start_time = match meeting_start {
        Ok(Some(t)) => t,
        unusable => {
            let (fallback, what) = match (first_recording, event_time) {
                (Some(t), _) => (t, "the first recording_start"),
                (None, Some(t)) => (t, "the event's time"),
                (None, None) => {
                    return Err(field_err(
                        obj.path("start_time"),
                        "missing or unreadable, and no file has a recording_start",
                    ));
                }
            };
            notes.add(match unusable {
                Err(shown) => format!(
                    "{} {shown} is not an ISO-8601 time; {what} is used",
                    obj.path("start_time")
                ),
                _ => format!("{} is missing; {what} is used", obj.path("start_time")),
            });
            fallback
        }
    };
    // A file that does not say when it was recorded belongs to the first segment.
    let first_segment = first_recording.unwrap_or(start_time);

    let mut out: Vec<RecordingFile> = Vec::with_capacity(files.len());
    // Who holds each id, and each (id, URL) pair: the same file listed twice is kept once.
    let mut holder: HashMap<String, String> = HashMap::new();
    let mut listed: HashMap<(Option<String>, String), String> = HashMap::new();
    let mut used: HashSet<String> = HashSet::new();
    for f in files {
        let zoom_id = f.id.as_ref().map(|i| i.to_string());
        if let Some(first) = listed.get(&(zoom_id.clone(), f.url.clone())) {
            notes.add(format!("{} repeats {first}; skipped", f.path));
            continue;
        }
        listed.insert((zoom_id.clone(), f.url.clone()), f.path.clone());
        let base = zoom_id.unwrap_or_else(|| {
            derived_id(
                instance.as_str(),
                &f.vendor_type,
                &f.start_key,
                &f.extension,
            )
        });
        let id = if used.contains(&base) {
            // Zoom gave two files one id (its docs example does so for a participant's audio and the mixed
            // audio). Both are kept; the later one gets an id of its own, the same on every delivery.
            let label = if f.participant {
                "participant-audio".to_owned()
            } else {
                slug(
                    f.recording_type.as_deref().unwrap_or(&f.vendor_type),
                    "file",
                )
            };
            let id = (1..)
                .map(|n| match n {
                    1 => format!("{base}-{label}"),
                    n => format!("{base}-{label}-{n}"),
                })
                .find(|c| !used.contains(c))
                .expect("an unused id");
            notes.add(format!(
                "{}.id is also {}'s; this file is kept as {}",
                f.path,
                holder[&base],
                shown_str(&id)
            ));
            id
        } else {
            base
        };
        holder.insert(id.clone(), f.path.clone());
        used.insert(id.clone());
        out.push(RecordingFile {
            id: file_id(id),
            kind: f.kind,
            vendor_type: f.vendor_type,
            extension: f.extension,
            segment_start: f.recording_start.unwrap_or(first_segment),
            recording_end: f.recording_end,
            expected_size: f.size,
            source: DownloadSource::ZoomUrl {
                url: f.url,
                token: token.clone(),
                issued_at_ms,
            },
            file_name: f.file_name,
            recording_type: f.recording_type,
            status: f.status,
        });
    }
    let vendor_recording_ids = vec![instance.to_string()];
    Ok(Recording {
        vendor: Vendor::Zoom,
        account,
        instance,
        meeting_id,
        topic,
        kind: meeting_kind(type_value),
        host: Host {
            vendor_user_id: host_id,
            email: host_email,
        },
        start_time,
        timezone,
        duration_minutes,
        vendor_recording_ids,
        files: out,
        notes: notes.into_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPLETED: &[u8] = include_bytes!("../../../events/zoom/recording.completed.json");
    const WEBINAR: &[u8] = include_bytes!("../../../events/zoom/recording.completed.webinar.json");
    const TRANSCRIPT: &[u8] =
        include_bytes!("../../../events/zoom/recording.transcript_completed.json");
    const UNKNOWN: &[u8] =
        include_bytes!("../../../events/zoom/recording.completed.unknown-file-type.json");
    const VALIDATION: &[u8] = include_bytes!("../../../events/zoom/endpoint.url_validation.json");
    const MEETING_STARTED: &[u8] = include_bytes!("../../../events/zoom/meeting.started.json");
    const DOCS_EXAMPLE: &[u8] =
        include_bytes!("../../../events/zoom/recording.completed.docs-example.json");

    fn json(raw: &[u8]) -> Value {
        serde_json::from_slice(raw).unwrap()
    }

    #[test]
    fn classifies_fixtures() {
        assert_eq!(
            classify(VALIDATION).unwrap(),
            ZoomWebhook::UrlValidation {
                plain_token: "xys8n8PGS7mAU0m5-YJjRA".into()
            }
        );
        assert!(matches!(
            classify(COMPLETED).unwrap(),
            ZoomWebhook::Recording { .. }
        ));
        assert!(matches!(
            classify(TRANSCRIPT).unwrap(),
            ZoomWebhook::Recording { .. }
        ));
        assert!(matches!(
            classify(MEETING_STARTED).unwrap(),
            ZoomWebhook::Ignored { .. }
        ));
        assert!(matches!(
            classify(b"{not json"),
            Err(ZoomEventError::NotJson(_))
        ));
        assert!(classify(br#"{"event":"recording.completed","payload":{}}"#).is_err());
        // A clean body carries no notes.
        assert_eq!(
            classify(COMPLETED).unwrap(),
            ZoomWebhook::Recording {
                event: "recording.completed".into(),
                notes: vec![]
            }
        );
    }

    #[test]
    fn completed_keeps_every_file_and_segments() {
        let v = json(COMPLETED);
        let rec = normalise(COMPLETED).unwrap();
        let obj = &v["payload"]["object"];
        assert_eq!(rec.instance.as_str(), obj["uuid"].as_str().unwrap());
        assert_eq!(rec.topic, obj["topic"].as_str().unwrap());
        let n_files = obj["recording_files"].as_array().unwrap().len()
            + obj["participant_audio_files"]
                .as_array()
                .map_or(0, |a| a.len());
        assert_eq!(rec.files.len(), n_files);
        let starts: std::collections::BTreeSet<_> = obj["recording_files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["recording_start"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(rec.segments().len(), starts.len());
        assert!(rec.segments().len() >= 2, "fixture has a stop/start");
        let layouts: Vec<_> = rec
            .files
            .iter()
            .filter_map(|f| match &f.kind {
                FileKind::Video { layout } => Some(layout.as_str()),
                _ => None,
            })
            .collect();
        assert!(layouts.len() >= 2);
        assert!(rec.files.iter().any(|f| f.kind == FileKind::Audio));
        assert!(rec.files.iter().any(|f| f.kind == FileKind::Chat));
        assert_eq!(rec.kind, MeetingKind::Meeting);
        let token = v["download_token"].as_str().unwrap();
        for f in &rec.files {
            match &f.source {
                DownloadSource::ZoomUrl {
                    token: t,
                    issued_at_ms,
                    ..
                } => {
                    assert_eq!(t.as_deref(), Some(token));
                    assert_eq!(*issued_at_ms, v["event_ts"].as_i64().unwrap());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn webinar_types_are_webinars() {
        assert_eq!(normalise(WEBINAR).unwrap().kind, MeetingKind::Webinar);
        for t in ["5", "6", "9"] {
            assert_eq!(
                meeting_kind(Some(&Value::String(t.into()))),
                MeetingKind::Webinar
            );
        }
        assert_eq!(
            meeting_kind(Some(&serde_json::json!(8))),
            MeetingKind::Meeting
        );
    }

    #[test]
    fn transcript_event_attaches_to_same_instance() {
        let a = normalise(COMPLETED).unwrap();
        let b = normalise(TRANSCRIPT).unwrap();
        assert_eq!(a.instance, b.instance);
        assert_eq!(a.account, b.account);
        assert_eq!(b.files.len(), 1);
        assert_eq!(b.files[0].kind, FileKind::Transcript);
        assert_eq!(b.files[0].extension, "vtt");
    }

    #[test]
    fn unknown_file_types_are_kept_as_other() {
        let rec = normalise(UNKNOWN).unwrap();
        assert!(rec.files.iter().any(
            |f| matches!(&f.kind, FileKind::Other { vendor_type } if !vendor_type.is_empty())
        ));
    }

    #[test]
    fn uuids_with_slashes_and_padding_survive() {
        for uuid in ["/Ab+cd//EfGh==", "x//y", "+=+="] {
            let mut v = json(COMPLETED);
            v["payload"]["object"]["uuid"] = Value::String(uuid.into());
            let rec = normalise(&serde_json::to_vec(&v).unwrap()).unwrap();
            assert_eq!(rec.instance.as_str(), uuid);
        }
    }

    #[test]
    fn unusable_payloads_name_the_field() {
        let mut v = json(COMPLETED);
        v["payload"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("uuid");
        let err = normalise(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(err.to_string().contains("payload.object.uuid"), "{err}");

        let mut v = json(COMPLETED);
        v["payload"].as_object_mut().unwrap().remove("account_id");
        v["payload"]["object"]
            .as_object_mut()
            .unwrap()
            .remove("account_id");
        let err = normalise(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(err.to_string().contains("account_id"), "{err}");
    }

    /// A one-file `recording.completed` body, changed by `edit` (applied to `payload.object`).
    fn body(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut v = serde_json::json!({
            "event": "recording.completed",
            "event_ts": 1767607512345u64,
            "download_token": "tok",
            "payload": {
                "account_id": "ACCT123",
                "object": {
                    "uuid": "abc==", "id": 81234567890u64, "account_id": "ACCT123",
                    "host_id": "H1", "host_email": "host@example.org", "topic": "T", "type": 2,
                    "start_time": "2026-01-05T09:00:00Z", "duration": 49,
                    "recording_files": [{
                        "id": "f1", "recording_start": "2026-01-05T09:01:10Z",
                        "recording_end": "2026-01-05T09:30:02Z", "file_type": "MP4",
                        "file_extension": "MP4", "file_size": 1000,
                        "download_url": "https://example.zoom.us/rec/download/f1",
                        "status": "completed", "recording_type": "speaker_view"
                    }]
                }
            }
        });
        edit(&mut v["payload"]["object"]);
        serde_json::to_vec(&v).unwrap()
    }

    fn file(id: &str, file_type: &str, start: &str) -> Value {
        serde_json::json!({
            "id": id, "recording_start": start, "file_type": file_type,
            "download_url": format!("https://example.zoom.us/rec/download/{id}-{file_type}")
        })
    }

    fn has_note(rec: &Recording, parts: &[&str]) -> bool {
        rec.notes
            .iter()
            .any(|n| parts.iter().all(|p| n.contains(p)))
    }

    #[test]
    fn a_clean_body_has_no_notes() {
        let rec = normalise(&body(|_| {})).unwrap();
        assert!(rec.notes.is_empty(), "{:?}", rec.notes);
        for raw in [COMPLETED, WEBINAR, TRANSCRIPT, UNKNOWN] {
            assert!(normalise(raw).unwrap().notes.is_empty());
        }
    }

    #[test]
    fn a_host_email_without_a_dotted_domain_is_left_out_with_a_note() {
        let rec = normalise(&body(|o| o["host_email"] = "jdoe@localhost".into())).unwrap();
        assert_eq!(rec.host.email, None);
        assert_eq!(rec.host.vendor_user_id.as_deref(), Some("H1"));
        assert_eq!(rec.files.len(), 1);
        assert_eq!(
            rec.notes,
            vec![
                "payload.object.host_email 'jdoe@localhost' is not a valid address; ignored"
                    .to_owned()
            ]
        );
    }

    #[test]
    fn a_file_without_download_url_is_skipped_with_a_note_and_the_rest_kept() {
        let rec = normalise(&body(|o| {
            let files = o["recording_files"].as_array_mut().unwrap();
            files.push(file("f2", "M4A", "2026-01-05T09:01:10Z"));
            files.push(file("f3", "CHAT", "2026-01-05T09:01:10Z"));
            files[2].as_object_mut().unwrap().remove("download_url");
            files[1]["download_url"] = "ftp://example.zoom.us/x".into();
        }))
        .unwrap();
        let ids: Vec<_> = rec.files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["f1"]);
        assert!(
            has_note(
                &rec,
                &["recording_files[2] has no download_url; file skipped"]
            ),
            "{:?}",
            rec.notes
        );
        assert!(has_note(
            &rec,
            &["recording_files[1]", "not an http(s) URL"]
        ));
        // Notes never carry URLs.
        assert!(
            rec.notes.iter().all(|n| !n.contains("://")),
            "{:?}",
            rec.notes
        );
    }

    #[test]
    fn nothing_usable_left_is_an_error_that_says_why() {
        let raw = body(|o| {
            o["recording_files"][0]
                .as_object_mut()
                .unwrap()
                .remove("download_url");
        });
        let err = normalise(&raw).unwrap_err();
        assert!(matches!(err, ZoomEventError::NoUsableFile { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("recording_files[0] has no download_url"),
            "{err}"
        );
        assert!(classify(&raw).is_err());
        let err = normalise(&body(|o| o["recording_files"] = serde_json::json!([]))).unwrap_err();
        assert_eq!(err.to_string(), "no usable file: the event lists none");
    }

    #[test]
    fn unknown_enum_values_are_kept_or_defaulted() {
        let rec = normalise(&body(|o| {
            o["type"] = 42.into();
            o["recording_files"][0]["file_type"] = "HOLOGRAM".into();
            o["recording_files"][0]["recording_type"] = "hologram_view".into();
            o["recording_files"][0]["status"] = "frozen".into();
        }))
        .unwrap();
        assert_eq!(rec.kind, MeetingKind::Meeting);
        let f = &rec.files[0];
        assert_eq!(
            f.kind,
            FileKind::Other {
                vendor_type: "HOLOGRAM".into()
            }
        );
        assert_eq!(f.recording_type.as_deref(), Some("hologram_view"));
        assert_eq!(f.status.as_deref(), Some("frozen"));
        assert!(rec.notes.is_empty(), "{:?}", rec.notes);

        // A type that is no number at all is a meeting too, with a note.
        let rec = normalise(&body(|o| o["type"] = "webinar-ish".into())).unwrap();
        assert_eq!(rec.kind, MeetingKind::Meeting);
        assert!(has_note(&rec, &["payload.object.type 'webinar-ish'"]));
    }

    #[test]
    fn null_where_a_list_was_expected_is_an_empty_list() {
        let rec = normalise(&body(|o| o["participant_audio_files"] = Value::Null)).unwrap();
        assert_eq!(rec.files.len(), 1);
        assert!(rec.notes.is_empty(), "{:?}", rec.notes);
        // The whole body as Zoom's REST listing sometimes sends it: every optional field null.
        let rec = normalise(&body(|o| {
            for k in ["host_email", "topic", "timezone", "duration", "type", "id"] {
                o[k] = Value::Null;
            }
            o["participant_audio_files"] = Value::Null;
            for k in [
                "file_size",
                "recording_end",
                "status",
                "recording_type",
                "file_extension",
            ] {
                o["recording_files"][0][k] = Value::Null;
            }
        }))
        .unwrap();
        assert_eq!(rec.files.len(), 1);
        assert_eq!(rec.files[0].extension, "mp4");
        assert!(rec.notes.is_empty(), "{:?}", rec.notes);
        // Not a list at all: noted.
        let rec = normalise(&body(|o| o["participant_audio_files"] = "none".into())).unwrap();
        assert!(has_note(
            &rec,
            &["participant_audio_files is text, not a list; ignored"]
        ));
        let err = normalise(&body(|o| o["recording_files"] = Value::Null)).unwrap_err();
        assert!(matches!(err, ZoomEventError::NoUsableFile { .. }));
    }

    #[test]
    fn sizes_sent_as_floats_or_text_are_whole_numbers_or_dropped_with_a_note() {
        let size_of = |v: Value| {
            let rec = normalise(&body(|o| o["recording_files"][0]["file_size"] = v)).unwrap();
            (rec.files[0].expected_size, rec.notes)
        };
        assert_eq!(size_of(serde_json::json!(246560.0)), (Some(246560), vec![]));
        assert_eq!(size_of(serde_json::json!(2.4656e5)), (Some(246560), vec![]));
        assert_eq!(size_of(serde_json::json!("246560")), (Some(246560), vec![]));
        assert_eq!(size_of(serde_json::json!(0)), (None, vec![]));
        for odd in [
            serde_json::json!(1234.5),
            serde_json::json!(-5),
            serde_json::json!("big"),
            serde_json::json!([1]),
        ] {
            let (size, notes) = size_of(odd.clone());
            assert_eq!(size, None, "{odd}");
            assert_eq!(notes.len(), 1, "{odd}: {notes:?}");
            assert!(
                notes[0].starts_with("payload.object.recording_files[0].file_size"),
                "{notes:?}"
            );
        }
        let rec = normalise(&body(|o| o["duration"] = serde_json::json!(49.0))).unwrap();
        assert_eq!(rec.duration_minutes, Some(49));
        let rec = normalise(&body(|o| o["duration"] = serde_json::json!(49.5))).unwrap();
        assert_eq!(rec.duration_minutes, None);
        assert!(has_note(&rec, &["payload.object.duration 49.5"]));
    }

    #[test]
    fn odd_times_and_texts_degrade_with_notes() {
        let rec = normalise(&body(|o| {
            o["start_time"] = "yesterday".into();
            o["topic"] = serde_json::json!({"text": "secret topic"});
            o["recording_files"][0]["recording_end"] = "later".into();
            o["recording_files"][0]["file_extension"] = "M4A?".into();
        }))
        .unwrap();
        assert_eq!(
            rec.start_time,
            "2026-01-05T09:01:10Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(rec.topic, "");
        assert_eq!(rec.files[0].recording_end, None);
        assert_eq!(rec.files[0].extension, "mp4");
        assert!(has_note(
            &rec,
            &["start_time 'yesterday'", "first recording_start"]
        ));
        assert!(has_note(&rec, &["payload.object.topic is an object"]));
        assert!(!rec.notes.iter().any(|n| n.contains("secret topic")));
        assert!(has_note(&rec, &["recording_end 'later'"]));
        assert!(has_note(&rec, &["file_extension 'M4A?'", "'mp4' used"]));
        // No start anywhere: the event's time, with a note.
        let rec = normalise(&body(|o| {
            o.as_object_mut().unwrap().remove("start_time");
            o["recording_files"][0]
                .as_object_mut()
                .unwrap()
                .remove("recording_start");
        }))
        .unwrap();
        assert_eq!(rec.start_time.timestamp_millis(), 1767607512345);
        assert!(has_note(&rec, &["start_time is missing", "event's time"]));
    }

    #[test]
    fn files_without_id_get_a_stable_derived_id() {
        let raw = body(|o| {
            let files = o["recording_files"].as_array_mut().unwrap();
            for (ft, ext) in [("CC", "VTT"), ("TIMELINE", "JSON")] {
                let mut f = file("x", ft, "2026-01-05T09:01:10Z");
                f.as_object_mut().unwrap().remove("id");
                f["file_extension"] = ext.into();
                files.push(f);
            }
            // And one with an id that is not usable (control characters).
            let mut f = file("bad\u{7}id", "CSV", "2026-01-05T09:01:10Z");
            f["download_url"] = "https://example.zoom.us/rec/download/poll".into();
            files.push(f);
        });
        let a = normalise(&raw).unwrap();
        assert_eq!(a.files.len(), 4);
        let ids: Vec<&str> = a.files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids[0], "f1");
        assert!(ids[1].starts_with("derived-cc-") && ids[1].len() == "derived-cc-".len() + 16);
        assert!(ids[2].starts_with("derived-timeline-"), "{ids:?}");
        assert!(ids[3].starts_with("derived-csv-"), "{ids:?}");
        assert!(has_note(&a, &["recording_files[3].id", "derived id"]));
        assert_eq!(a.files[1].kind, FileKind::ClosedCaptions);
        for id in &ids {
            assert_eq!(
                FileId::parse(*id).unwrap().key_safe(),
                *id,
                "readable in S3 keys"
            );
        }
        // Every delivery (another token, another URL, another event time) derives the same ids.
        let mut v = json(&raw);
        v["download_token"] = "other".into();
        v["event_ts"] = 1767700000000u64.into();
        v["payload"]["object"]["recording_files"][1]["download_url"] =
            "https://example.zoom.us/rec/download/elsewhere".into();
        let b = normalise(&serde_json::to_vec(&v).unwrap()).unwrap();
        let again: Vec<&str> = b.files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, again);
        // The REST listing of the same recording too.
        let api = serde_json::to_vec(&v["payload"]["object"]).unwrap();
        let c = from_api(&api, &AccountId::parse("ACCT123").unwrap(), 5).unwrap();
        let from_rest: Vec<&str> = c.files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, from_rest);
        // Another recording start (another segment) is another file.
        v["payload"]["object"]["recording_files"][1]["recording_start"] =
            "2026-01-05T09:35:00Z".into();
        let d = normalise(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_ne!(d.files[1].id, a.files[1].id);
    }

    #[test]
    fn zooms_docs_example_keeps_both_audio_files_under_distinct_ids() {
        let v = json(DOCS_EXAMPLE);
        let obj = &v["payload"]["object"];
        let shared_id = obj["recording_files"][0]["id"].as_str().unwrap();
        assert_eq!(
            obj["participant_audio_files"][0]["id"], shared_id,
            "the fixture's trap"
        );
        let rec = normalise(DOCS_EXAMPLE).unwrap();
        assert_eq!(rec.files.len(), 3);
        let ids: std::collections::BTreeSet<&str> =
            rec.files.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids.len(), 3, "{ids:?}");
        // The mixed audio keeps Zoom's id (the one REST deletion and listing use); the participant's is derived.
        assert_eq!(rec.files[0].id.as_str(), shared_id);
        let participant = &rec.files[2];
        assert_eq!(
            participant.id.as_str(),
            format!("{shared_id}-participant-audio")
        );
        assert_eq!(participant.kind, FileKind::Audio);
        assert_eq!(
            participant.file_name.as_deref(),
            Some("Audio only - Student Example")
        );
        assert_eq!(participant.recording_type.as_deref(), Some("audio_only"));
        assert_eq!(participant.status.as_deref(), Some("completed"));
        assert!(has_note(
            &rec,
            &["participant_audio_files[0].id", "recording_files[0]"]
        ));
        // Their S3 keys differ.
        let keys: std::collections::BTreeSet<String> = rec
            .files
            .iter()
            .map(|f| crate::keys::file_key("p/", f))
            .collect();
        assert_eq!(keys.len(), 3);
        // Stable: the same on every delivery.
        assert_eq!(normalise(DOCS_EXAMPLE).unwrap().files, rec.files);
        // The same file listed twice (same id and URL) is one file.
        let mut v = v.clone();
        let dup = v["payload"]["object"]["recording_files"][1].clone();
        v["payload"]["object"]["recording_files"]
            .as_array_mut()
            .unwrap()
            .push(dup);
        let rec = normalise(&serde_json::to_vec(&v).unwrap()).unwrap();
        assert_eq!(rec.files.len(), 3);
        assert!(has_note(
            &rec,
            &["recording_files[2] repeats", "recording_files[1]"]
        ));
    }

    #[test]
    fn what_a_file_says_about_itself_is_kept() {
        let rec = normalise(COMPLETED).unwrap();
        let v = json(COMPLETED);
        for (f, raw) in rec.files.iter().zip(
            v["payload"]["object"]["recording_files"]
                .as_array()
                .unwrap(),
        ) {
            assert_eq!(f.recording_type.as_deref(), raw["recording_type"].as_str());
            assert_eq!(f.status.as_deref(), Some("completed"));
        }
        assert!(rec.files.iter().any(
            |f| f.kind == FileKind::Audio && f.recording_type.as_deref() == Some("audio_only")
        ));
    }

    #[test]
    fn a_recurring_meeting_is_filed_under_its_own_recording_time() {
        let rec = normalise(&body(|o| {
            o["type"] = 8.into();
            // The series began weeks before this occurrence was recorded.
            o["start_time"] = "2025-11-03T09:00:00Z".into();
            let files = o["recording_files"].as_array_mut().unwrap();
            files[0]["recording_start"] = "2026-01-05T09:35:00Z".into();
            files.push(file("f2", "M4A", "2026-01-05T09:01:10Z"));
            let mut cc = file("f3", "CC", "");
            cc.as_object_mut().unwrap().remove("recording_start");
            files.push(cc);
        }))
        .unwrap();
        let first: DateTime<Utc> = "2026-01-05T09:01:10Z".parse().unwrap();
        assert_eq!(
            rec.start_time,
            "2025-11-03T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(rec.filed_at(), first);
        // A file that does not say when it was recorded joins the first segment, not the series' start.
        assert_eq!(rec.files[2].segment_start, first);
        assert_eq!(rec.segments().len(), 2);
        let prefix = crate::keys::recording_prefix(
            &crate::ids::TenantId::parse("uni").unwrap(),
            rec.vendor,
            &rec.account,
            rec.filed_at(),
            &rec.meeting_id,
            &rec.instance,
        );
        assert!(prefix.contains("/2026/01/05/"), "{prefix}");

        let docs = normalise(DOCS_EXAMPLE).unwrap();
        assert_eq!(docs.start_time.date_naive().to_string(), "2026-02-02");
        assert_eq!(docs.filed_at().date_naive().to_string(), "2026-03-16");
    }

    #[test]
    fn notes_are_capped() {
        let rec = normalise(&body(|o| {
            let files = o["recording_files"].as_array_mut().unwrap();
            for i in 0..100 {
                files.push(serde_json::json!({ "id": format!("n{i}") }));
            }
        }))
        .unwrap();
        assert_eq!(rec.notes.len(), MAX_NOTES);
        assert_eq!(rec.notes.last().unwrap(), "… and 61 more notes");
    }

    #[test]
    fn kinds_map() {
        assert_eq!(file_kind("cc", None), FileKind::ClosedCaptions);
        assert_eq!(file_kind("CSV", None), FileKind::Poll);
        assert_eq!(file_kind("SUMMARY", None), FileKind::Summary);
        assert_eq!(file_kind("TIMELINE", None), FileKind::Timeline);
        assert_eq!(
            file_kind("MP4", Some("gallery_view")),
            FileKind::Video {
                layout: "gallery_view".into()
            }
        );
    }
}
