//! Webex webhook notifications: what we accept and what they name.
//!
//! A notification carries ids only (`data.id`, `data.meetingId`); everything else comes from the REST API at
//! enqueue time. The body's `id` is the *webhook's* id, not a per-event id, so deduplication is by `data.id`.

use crate::ids::{AccountId, Email};
use serde::Deserialize;

/// Which notifications we ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `recordings` / `created`: a recording (one segment of a meeting instance) is ready.
    Recordings,
    /// `meetingTranscripts` / `created`: a transcript of an ended meeting instance is ready.
    MeetingTranscripts,
}

/// A verified notification we ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub resource: Resource,
    /// `recordings.created` or `meetingTranscripts.created`.
    pub event: String,
    pub org_id: AccountId,
    /// The recording id or the transcript id.
    pub data_id: String,
    /// The meeting instance id, when Webex sent it.
    pub meeting_id: Option<String>,
    pub host_user_id: Option<String>,
    /// Present when the webhook was filtered by `hostEmail`, or when Webex adds it.
    pub host_email: Option<Email>,
}

/// What a verified body asks of us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebexWebhook {
    Ingest(Notification),
    /// Any other resource or event: acknowledged, not ingested.
    Ignored {
        event: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebexEventError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("field {0} is missing or empty")]
    Missing(&'static str),
    #[error("field {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Body {
    #[serde(default)]
    resource: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    org_id: Option<String>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    meeting_id: Option<String>,
    #[serde(default)]
    host_user_id: Option<String>,
    #[serde(default)]
    host_email: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Parses a verified body. Malformed recording/transcript notifications are errors (a 400 at the door).
pub fn classify(raw_body: &[u8]) -> Result<WebexWebhook, WebexEventError> {
    let body: Body =
        serde_json::from_slice(raw_body).map_err(|e| WebexEventError::NotJson(e.to_string()))?;
    let event = format!("{}.{}", body.resource, body.event);
    let resource = match (body.resource.as_str(), body.event.as_str()) {
        ("recordings", "created") => Resource::Recordings,
        ("meetingTranscripts", "created") => Resource::MeetingTranscripts,
        _ => return Ok(WebexWebhook::Ignored { event }),
    };
    let org = non_empty(body.org_id).ok_or(WebexEventError::Missing("orgId"))?;
    let org_id = AccountId::parse(org).map_err(|e| WebexEventError::Invalid {
        field: "orgId",
        reason: e.reason,
    })?;
    let data = body.data.ok_or(WebexEventError::Missing("data"))?;
    let data_id = non_empty(data.id).ok_or(WebexEventError::Missing("data.id"))?;
    let host_email = match non_empty(data.host_email) {
        Some(e) => Some(Email::parse(&e).map_err(|e| WebexEventError::Invalid {
            field: "data.hostEmail",
            reason: e.reason,
        })?),
        None => None,
    };
    let meeting_id = non_empty(data.meeting_id);
    if resource == Resource::MeetingTranscripts && meeting_id.is_none() {
        // A transcript can only be attached to its meeting instance.
        return Err(WebexEventError::Missing("data.meetingId"));
    }
    Ok(WebexWebhook::Ingest(Notification {
        resource,
        event,
        org_id,
        data_id,
        meeting_id,
        host_user_id: non_empty(data.host_user_id),
        host_email,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_and_transcripts_are_ingested_others_ignored() {
        let raw = include_bytes!("../../../events/webex/recordings.created.json");
        let WebexWebhook::Ingest(n) = classify(raw).unwrap() else {
            panic!("not ingested")
        };
        assert_eq!(n.resource, Resource::Recordings);
        assert_eq!(n.event, "recordings.created");
        assert!(!n.data_id.is_empty());
        assert!(n.meeting_id.as_deref().unwrap().contains("_I_"));

        let raw = include_bytes!("../../../events/webex/meetingTranscripts.created.json");
        let WebexWebhook::Ingest(n) = classify(raw).unwrap() else {
            panic!("not ingested")
        };
        assert_eq!(n.resource, Resource::MeetingTranscripts);

        let other = br#"{"resource":"meetings","event":"ended","orgId":"O","data":{"id":"m"}}"#;
        assert_eq!(
            classify(other).unwrap(),
            WebexWebhook::Ignored {
                event: "meetings.ended".into()
            }
        );
    }

    #[test]
    fn malformed_notifications_are_errors() {
        assert!(matches!(
            classify(b"{not json"),
            Err(WebexEventError::NotJson(_))
        ));
        let cases: [(&[u8], WebexEventError); 4] = [
            (
                br#"{"resource":"recordings","event":"created","data":{"id":"r"}}"#,
                WebexEventError::Missing("orgId"),
            ),
            (
                br#"{"resource":"recordings","event":"created","orgId":"O"}"#,
                WebexEventError::Missing("data"),
            ),
            (
                br#"{"resource":"recordings","event":"created","orgId":"O","data":{"id":" "}}"#,
                WebexEventError::Missing("data.id"),
            ),
            (
                br#"{"resource":"meetingTranscripts","event":"created","orgId":"O","data":{"id":"t"}}"#,
                WebexEventError::Missing("data.meetingId"),
            ),
        ];
        for (body, err) in cases {
            assert_eq!(classify(body), Err(err));
        }
    }
}
