//! Webex ingest: a notification names a recording or a transcript only; the rest comes from the REST API.
//! The admin list of the meeting instance gives the host's e-mail and every stop/start segment (so a lost
//! notification for one segment loses nothing), then `GET /recordings/{id}` per segment says which links
//! exist. The links themselves are not kept: they expire 3 h after that request, so the downloader fetches
//! fresh ones ([`super::links`]).

use super::WebexConnections;
use super::api::WebexApi;
use super::event::{Notification, Resource, WebexWebhook};
use crate::config::Connection;
use crate::error::{Class, Error, Kind};
use crate::ids::Email;
use crate::model::Recording;
use chrono::{DateTime, Utc};

/// The recording a verified Webex notification announces, read from the connection's API. Permanent errors
/// are events that can never be ingested (not ours, not a recording, gone); a transcript that is not listed
/// yet is [`Kind::NotReady`] and retryable.
pub async fn recording<W: WebexConnections + ?Sized>(
    webex: &W,
    conn: &Connection,
    body: &[u8],
) -> Result<Recording, Error> {
    let n = match super::event::classify(body) {
        Ok(WebexWebhook::Ingest(n)) => n,
        Ok(WebexWebhook::Ignored { event }) => {
            return Err(Error::permanent(format!("{event} is not ingested")).kind_of(Kind::Data));
        }
        Err(e) => return Err(Error::data(format!("unusable webex event: {e}"))),
    };
    if n.org_id != conn.account_id {
        // Checked before any API call, so no call is made for a stranger.
        return Err(Error::data(format!(
            "event for org {} arrived on connection {} of org {}",
            n.org_id, conn.id, conn.account_id
        )));
    }
    let api = webex.api(conn).await?;
    match n.resource {
        Resource::Recordings => segments(api.as_ref(), &n).await,
        Resource::MeetingTranscripts => transcript(api.as_ref(), &n).await,
    }
}

/// A `recordings.created` notification for one recording, as the webhook would bring it, for a recording we
/// found ourselves (a backfill's list, a changed segment handed back by the deleter): enqueue ingests it like
/// the webhook, with the same idempotency keys.
pub fn created(
    conn: &Connection,
    recording_id: &str,
    meeting_id: &str,
    host_email: Option<&str>,
) -> crate::messages::IngestMessage {
    let body = serde_json::json!({
        "resource": "recordings",
        "event": "created",
        "orgId": conn.account_id.as_str(),
        "data": { "id": recording_id, "meetingId": meeting_id, "hostEmail": host_email },
    });
    crate::messages::IngestMessage {
        vendor: crate::ids::Vendor::Webex,
        connection_id: conn.id.clone(),
        event: "recordings.created".to_owned(),
        received_at_ms: chrono::Utc::now().timestamp_millis(),
        body: body.to_string(),
    }
}

/// What the admin list says about a meeting instance.
struct Listing {
    host: Option<Email>,
    /// Its available recordings (stop/start segments).
    ids: Vec<String>,
    /// When its first recording started.
    first_segment: Option<DateTime<Utc>>,
}

/// The host's e-mail, the recording ids and the first segment's start of a meeting instance.
async fn instance_listing(api: &dyn WebexApi, meeting_id: &str) -> Result<Listing, Error> {
    let listed: Vec<_> = api
        .admin_recordings(meeting_id)
        .await?
        .into_iter()
        .filter(|r| r.meeting_id.as_deref() == Some(meeting_id))
        .filter(|r| r.status.as_deref().is_none_or(|s| s == "available"))
        .collect();
    Ok(Listing {
        host: listed
            .iter()
            .find_map(|r| r.host_email.as_deref().and_then(|e| Email::parse(e).ok())),
        ids: listed.iter().map(|r| r.id.clone()).collect(),
        first_segment: listed
            .iter()
            .filter_map(|r| r.time_recorded.or(r.create_time))
            .min(),
    })
}

/// Every segment of the notification's meeting instance, as one recording.
async fn segments(api: &dyn WebexApi, n: &Notification) -> Result<Recording, Error> {
    let mut host = n.host_email.clone();
    let mut ids = vec![n.data_id.clone()];
    if let Some(meeting) = &n.meeting_id {
        let listing = instance_listing(api, meeting).await?;
        host = host.or(listing.host);
        for id in listing.ids {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let mut found = Vec::new();
    for id in &ids {
        match api.recording(id, host.as_ref()).await {
            Ok(r) => found.push(r),
            // A sibling that vanished is skipped; its own notification (if any) will say so.
            Err(e) if id != &n.data_id && e.class() == Class::Permanent => {
                tracing::warn!(recording = id, error = %e, "sibling segment not readable; skipped");
            }
            Err(e) => return Err(e),
        }
    }
    super::normalise::recording(&n.org_id, &found, host, n.host_user_id.clone())
        .map_err(|e| Error::data(format!("unusable webex recording: {e}")))
}

/// A transcript, filed on the entry of its meeting instance with the first segment.
async fn transcript(api: &dyn WebexApi, n: &Notification) -> Result<Recording, Error> {
    let meeting = n
        .meeting_id
        .as_deref()
        .ok_or_else(|| Error::data("transcript without meetingId"))?;
    let listing = instance_listing(api, meeting).await?;
    let host = n.host_email.clone().or(listing.host);
    let listed = api.transcripts(meeting, host.as_ref()).await?;
    let Some(t) = listed.iter().find(|t| t.id == n.data_id) else {
        // Listed a little after the notification at times: let the queue try again.
        return Err(Error::new(
            Class::Retryable,
            Kind::NotReady,
            format!(
                "transcript {} not listed for meeting {meeting} yet",
                n.data_id
            ),
        ));
    };
    super::normalise::transcript(&n.org_id, t, host, listing.first_segment)
        .map_err(|e| Error::data(format!("unusable webex transcript: {e}")))
}
