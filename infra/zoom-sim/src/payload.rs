//! The JSON Zoom sends: webhook envelopes and recording objects (field order as Zoom's).

use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;

use crate::spec::{FileSpec, RecordingSpec};

/// Characters left alone in a path segment we build (file ids, tokens).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.');

pub(crate) fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `2026-01-05T09:00:00Z`
pub(crate) fn zoom_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Serialize)]
pub(crate) struct Envelope<'a> {
    pub event: &'a str,
    pub event_ts: i64,
    /// Absent from `recording.deleted`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_token: Option<&'a str>,
    pub payload: Payload<'a>,
}

#[derive(Serialize)]
pub(crate) struct Payload<'a> {
    pub account_id: &'a str,
    /// E-mail of who trashed/deleted it (`recording.trashed` / `recording.deleted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<&'a str>,
    pub object: RecordingObject,
}

/// `app_deauthorized` (field order as in Zoom's documentation example).
#[derive(Serialize)]
pub(crate) struct DeauthEnvelope<'a> {
    pub event: &'a str,
    pub event_ts: i64,
    pub payload: DeauthPayload<'a>,
}

#[derive(Serialize)]
pub(crate) struct DeauthPayload<'a> {
    pub user_data_retention: &'a str,
    pub account_id: &'a str,
    pub user_id: &'a str,
    pub signature: String,
    pub deauthorization_time: String,
    pub client_id: &'a str,
}

#[derive(Serialize)]
pub(crate) struct RecordingObject {
    pub uuid: String,
    pub id: u64,
    pub account_id: String,
    pub host_id: String,
    /// Absent from `recording.deleted` (as in Zoom's sample).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_email: Option<String>,
    pub topic: String,
    /// A number in webhooks, a string in the REST response (see the protocol reference).
    #[serde(rename = "type")]
    pub object_type: serde_json::Value,
    pub start_time: String,
    pub timezone: String,
    pub duration: u64,
    pub total_size: u64,
    pub recording_count: usize,
    pub share_url: String,
    /// Absent from `recording.deleted` (as in Zoom's sample).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_play_passcode: Option<String>,
    pub recording_files: Vec<FileObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_access_token: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct FileObject {
    pub id: String,
    pub meeting_id: String,
    pub recording_start: String,
    pub recording_end: String,
    pub file_type: String,
    pub file_extension: String,
    pub file_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub play_url: Option<String>,
    pub download_url: String,
    pub status: &'static str,
    pub recording_type: String,
}

/// Everything a recording object needs beyond the spec.
pub(crate) struct ObjectCtx<'a> {
    pub api_base: &'a str,
    /// Query appended to every `download_url` (re-deliveries differ in it).
    pub url_query: Option<&'a str>,
    pub share_url: &'a str,
    pub password: &'a str,
    pub play_passcode: &'a str,
    pub type_as_string: bool,
}

pub(crate) fn download_url(api_base: &str, file_id: &str, query: Option<&str>) -> String {
    let mut u = format!("{api_base}/rec/download/{}", encode_segment(file_id));
    if let Some(q) = query {
        u.push('?');
        u.push_str(q);
    }
    u
}

pub(crate) fn recording_object<'f>(
    spec: &RecordingSpec,
    files: impl IntoIterator<Item = &'f FileSpec>,
    ctx: &ObjectCtx<'_>,
) -> RecordingObject {
    let files: Vec<&FileSpec> = files.into_iter().collect();
    let last_end = spec
        .files
        .iter()
        .filter(|f| !f.is_transcript())
        .map(|f| f.recording_end)
        .max()
        .unwrap_or(spec.start_time);
    let duration = ((last_end - spec.start_time).num_seconds().max(0) as u64).div_ceil(60);
    RecordingObject {
        uuid: spec.uuid.clone(),
        id: spec.meeting_id,
        account_id: spec.account_id.clone(),
        host_id: spec.host_id.clone(),
        host_email: Some(spec.host_email.clone()),
        topic: spec.topic.clone(),
        object_type: if ctx.type_as_string {
            spec.object_type.to_string().into()
        } else {
            spec.object_type.into()
        },
        start_time: zoom_time(&spec.start_time),
        timezone: spec.timezone.clone(),
        duration,
        total_size: files.iter().map(|f| f.size).sum(),
        recording_count: files.len(),
        share_url: ctx.share_url.to_owned(),
        password: Some(ctx.password.to_owned()),
        recording_play_passcode: Some(ctx.play_passcode.to_owned()),
        recording_files: files
            .iter()
            .map(|f| FileObject {
                id: f.id.clone(),
                meeting_id: spec.uuid.clone(),
                recording_start: zoom_time(&f.recording_start),
                recording_end: zoom_time(&f.recording_end),
                file_type: f.file_type.clone(),
                file_extension: f.file_extension.clone(),
                file_size: f.size,
                play_url: has_play_url(f)
                    .then(|| format!("{}/rec/play/{}", ctx.api_base, encode_segment(&f.id))),
                download_url: download_url(ctx.api_base, &f.id, ctx.url_query),
                status: "completed",
                recording_type: f.recording_type.clone(),
            })
            .collect(),
        download_access_token: None,
    }
}

fn has_play_url(f: &FileSpec) -> bool {
    matches!(
        f.file_type.to_ascii_uppercase().as_str(),
        "MP4" | "M4A" | "TRANSCRIPT" | "CC"
    )
}
