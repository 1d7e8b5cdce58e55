//! Zoom webhook events: what we accept, and their normalisation into the vendor-neutral [`Recording`].

use crate::ids::{AccountId, Email, FileId, InstanceId, Vendor};
use crate::model::{DownloadSource, FileKind, Host, MeetingKind, Recording, RecordingFile};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// What a verified Zoom webhook body asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoomWebhook {
    /// `endpoint.url_validation`: answer with the plain and encrypted token.
    UrlValidation { plain_token: String },
    /// `recording.completed` or `recording.transcript_completed`: to be ingested.
    Recording { event: String },
    /// Any other event: acknowledged, not ingested.
    Ignored { event: String },
}

/// Events that carry recording files we archive.
pub const INGESTED_EVENTS: [&str; 2] = ["recording.completed", "recording.transcript_completed"];

/// Why a body could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoomEventError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("field {field}: {reason}")]
    Field { field: String, reason: String },
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
        // Check the shape now so a malformed recording event is a 400 at the door, not a poison message.
        normalise(raw_body)?;
        return Ok(ZoomWebhook::Recording { event: env.event });
    }
    Ok(ZoomWebhook::Ignored { event: env.event })
}

#[derive(Deserialize)]
struct RecordingEvent {
    event: String,
    #[serde(default)]
    event_ts: Option<i64>,
    #[serde(default)]
    download_token: Option<String>,
    payload: RecordingPayload,
}

#[derive(Deserialize)]
struct RecordingPayload {
    #[serde(default)]
    account_id: Option<String>,
    object: RecordingObject,
}

#[derive(Deserialize)]
struct RecordingObject {
    uuid: String,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    host_id: Option<String>,
    #[serde(default)]
    host_email: Option<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(rename = "type", default)]
    object_type: Option<Value>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    timezone: Option<String>,
    #[serde(default)]
    duration: Option<i64>,
    #[serde(default)]
    recording_files: Vec<ZoomFile>,
    #[serde(default)]
    participant_audio_files: Vec<ZoomFile>,
}

#[derive(Deserialize)]
struct ZoomFile {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    recording_start: Option<String>,
    #[serde(default)]
    recording_end: Option<String>,
    #[serde(default)]
    file_type: Option<String>,
    #[serde(default)]
    file_extension: Option<String>,
    #[serde(default)]
    file_size: Option<u64>,
    #[serde(default)]
    download_url: Option<String>,
    #[serde(default)]
    recording_type: Option<String>,
}

fn parse_time(field: &str, s: &str) -> Result<DateTime<Utc>, ZoomEventError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| field_err(field, format!("'{s}' is not an ISO-8601 time: {e}")))
}

/// Zoom object types 5, 6 and 9 are webinars; the webhook sends an integer, REST a string.
fn meeting_kind(v: Option<&Value>) -> MeetingKind {
    let n = match v {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    match n {
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

/// Normalises a `recording.completed` / `recording.transcript_completed` body.
pub fn normalise(raw_body: &[u8]) -> Result<Recording, ZoomEventError> {
    let ev: RecordingEvent =
        serde_json::from_slice(raw_body).map_err(|e| field_err("payload.object", e.to_string()))?;
    if !INGESTED_EVENTS.contains(&ev.event.as_str()) {
        return Err(field_err(
            "event",
            format!("'{}' is not a recording event", ev.event),
        ));
    }
    let token = ev.download_token.filter(|t| !t.is_empty());
    normalise_object(
        ev.payload.object,
        ev.payload.account_id,
        token,
        ev.event_ts.unwrap_or(0),
    )
}

/// A recording as `GET /meetings/{uuid}/recordings` returns it: the same object as in the webhook, normalised
/// the same way, with the `download_access_token` (asked for with `include_fields`) as every file's token.
/// `account` is the connection's (the REST object may leave it out); `issued_at_ms` when the token was issued.
pub fn from_api(
    body: &[u8],
    account: &AccountId,
    issued_at_ms: i64,
) -> Result<Recording, ZoomEventError> {
    #[derive(Deserialize)]
    struct ApiRecording {
        #[serde(flatten)]
        object: RecordingObject,
        #[serde(default)]
        download_access_token: Option<String>,
    }
    let r: ApiRecording =
        serde_json::from_slice(body).map_err(|e| field_err("recording", e.to_string()))?;
    let token = r.download_access_token.filter(|t| !t.is_empty());
    normalise_object(r.object, Some(account.to_string()), token, issued_at_ms)
}

fn normalise_object(
    obj: RecordingObject,
    payload_account: Option<String>,
    token: Option<String>,
    issued_at_ms: i64,
) -> Result<Recording, ZoomEventError> {
    let account = obj
        .account_id
        .or(payload_account)
        .ok_or_else(|| field_err("payload.object.account_id", "missing"))?;
    let account =
        AccountId::parse(account).map_err(|e| field_err("payload.account_id", e.reason))?;
    let instance =
        InstanceId::parse(obj.uuid).map_err(|e| field_err("payload.object.uuid", e.reason))?;
    let obj_uuid = instance.to_string();
    let start_time = match obj.start_time.as_deref() {
        Some(s) => parse_time("payload.object.start_time", s)?,
        None => return Err(field_err("payload.object.start_time", "missing")),
    };
    let meeting_id = match obj.id {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    let host_email = match obj.host_email.as_deref() {
        Some(e) if !e.is_empty() => {
            Some(Email::parse(e).map_err(|e| field_err("payload.object.host_email", e.reason))?)
        }
        _ => None,
    };
    let mut files = Vec::new();
    let all = obj
        .recording_files
        .into_iter()
        .map(|f| (f, "recording_files"))
        .chain(
            obj.participant_audio_files
                .into_iter()
                .map(|f| (f, "participant_audio_files")),
        );
    for (i, (f, list)) in all.enumerate() {
        let at = |name: &str| format!("payload.object.{list}[{i}].{name}");
        let id = f.id.ok_or_else(|| field_err(at("id"), "missing"))?;
        let id = FileId::parse(id).map_err(|e| field_err(at("id"), e.reason))?;
        let url = f
            .download_url
            .filter(|u| !u.is_empty())
            .ok_or_else(|| field_err(at("download_url"), "missing"))?;
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(field_err(at("download_url"), "not an http(s) URL"));
        }
        let vendor_type = f.file_type.unwrap_or_default();
        let kind = file_kind(&vendor_type, f.recording_type.as_deref());
        let extension = f
            .file_extension
            .filter(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()))
            .map(|e| e.to_ascii_lowercase())
            .unwrap_or_else(|| default_extension(&kind).to_owned());
        let segment_start = match f.recording_start.as_deref() {
            Some(s) if !s.is_empty() => parse_time(&at("recording_start"), s)?,
            _ => start_time,
        };
        let recording_end = match f.recording_end.as_deref() {
            Some(s) if !s.is_empty() => Some(parse_time(&at("recording_end"), s)?),
            _ => None,
        };
        files.push(RecordingFile {
            id,
            kind,
            vendor_type,
            extension,
            segment_start,
            recording_end,
            expected_size: f.file_size.filter(|s| *s > 0),
            source: DownloadSource::ZoomUrl {
                url,
                token: token.clone(),
                issued_at_ms,
            },
        });
    }
    if files.is_empty() {
        return Err(field_err("payload.object.recording_files", "no files"));
    }
    Ok(Recording {
        vendor: Vendor::Zoom,
        account,
        instance,
        meeting_id,
        topic: obj.topic.unwrap_or_default(),
        kind: meeting_kind(obj.object_type.as_ref()),
        host: Host {
            vendor_user_id: obj.host_id.filter(|h| !h.is_empty()),
            email: host_email,
        },
        start_time,
        timezone: obj.timezone.filter(|t| !t.is_empty()),
        duration_minutes: obj.duration.and_then(|d| u32::try_from(d).ok()),
        vendor_recording_ids: vec![obj_uuid],
        files,
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
    fn bad_payloads_name_the_field() {
        let mut v = json(COMPLETED);
        v["payload"]["object"]["recording_files"][0]
            .as_object_mut()
            .unwrap()
            .remove("download_url");
        let err = normalise(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(
            err.to_string().contains("recording_files[0].download_url"),
            "{err}"
        );

        let mut v = json(COMPLETED);
        v["payload"]["object"]["start_time"] = Value::String("yesterday".into());
        let err = normalise(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(err.to_string().contains("start_time"), "{err}");
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
