//! `webex-sim`: an in-process stand-in for Cisco Webex, for integration and e2e tests.
//!
//! It serves on `127.0.0.1` only and behaves like Webex where our importer can tell (see
//! the project's protocol reference, sections 8 and 9):
//!
//! - OAuth: `POST /v1/access_token` with `grant_type=refresh_token` (client credentials in
//!   the form body only), rotating refresh tokens by default;
//! - every other `/v1` endpoint wants `Authorization: Bearer` with a live access token;
//! - `GET /v1/recordings/{id}?hostEmail=` with `temporaryDirectDownloadLinks` that point to
//!   a signed, expiring CDN URL; the CDN answers an HTML login page to a request that
//!   carries a bearer token and 403 HTML to an expired or forged link;
//! - `GET /v1/people` (the org's people, for the directory sync) with `Link` paging;
//! - `GET /v1/admin/recordings`, `/v1/meetingParticipants`, `/v1/meetingTranscripts` (+
//!   `/download`) with `Link: <…>; rel="next"` paging;
//! - the admin list by site and window as Webex documents it: one site per call
//!   (`siteUrl`, else the preferred site; [`WebexSim::add_site`], [`MeetingSpec::on_site`],
//!   [`WebexSim::set_preferred_site`], `GET /v1/meetingPreferences/sites`), `from`/`to` on
//!   `createTime` with a 7-day default and at most [`ADMIN_LIST_MAX_WINDOW_DAYS`] (→ 400),
//!   `max` 1-100 (default 10), newest first; every call is recorded
//!   ([`WebexSim::list_requests`], [`ListRequest`]) and the N-th next ones can be faulted
//!   ([`WebexSim::fail_list_calls`], [`ListFault`]). Meetings may lie months back: a
//!   [`MeetingSpec`]'s `start` is any time;
//! - webhook CRUD (`/v1/webhooks`, `DELETE /v1/webhooks/{id}` → 204, then gone from
//!   `GET /v1/webhooks`) and [`WebexSim::publish_recordings`] /
//!   [`WebexSim::publish_transcript`], signed with `X-Spark-Signature` ([`sign`]), to
//!   `active` webhooks only; a webhook set `inactive` ([`WebexSim::set_webhook_status`],
//!   or three failed deliveries) is listed so and is reactivated by
//!   `PUT /v1/webhooks/{id}` with `"status":"active"` ([`WebexSim::webhook_updates`]);
//! - queued API faults ([`ApiFault`]) and per-file / per-API statistics;
//! - deleting recordings, with the `hostEmail` rule of the GET (an admin token names the
//!   host with `hostEmail=`; missing or wrong → 404):
//!   `DELETE /v1/recordings/{id}?hostEmail=` → 204 and the recording is gone for good
//!   (`GET` 404, in no admin list, CDN links 404, a second DELETE 404);
//!   `POST /v1/recordings/softDelete?hostEmail=` with `{"recordingIds":[≤100],"siteUrl"?}`
//!   → 204 and the recordings move to the recycle bin (`GET` 200 with `"status":"deleted"`
//!   and no `temporaryDirectDownloadLinks`, in the admin list only with `status=deleted`,
//!   CDN links 404); more than 100 ids or a bad body → 400, an unknown (or other host's) id
//!   → 404 and nothing changes. Every deletion call, refused ones included, is recorded
//!   ([`WebexSim::deletions`], [`DeleteCall`]); the state of each recording is
//!   [`WebexSim::recording_status`] ([`RecordingStatus`]);
//! - delete-only faults ([`DeleteFault`]: 429 with `Retry-After` seconds, 500, 503, 404,
//!   401, and "deleted, then 500") for the next `times` deletion calls
//!   ([`WebexSim::fail_deletes`]);
//! - changing a meeting after it was registered: [`WebexSim::set_file_size`] (e.g.
//!   `sizeBytes`, which is the MP4's size) and [`WebexSim::add_segment`] (a further
//!   recording of the same meeting instance); [`WebexSim::meeting`] for the current state;
//! - revoking authorizations: `DELETE /v1/authorizations?clientId=…[&orgId=…]` (every
//!   authorization of that client) and `DELETE /v1/authorizations/{id}`
//!   ([`WebexSim::authorization_id`]) → 204; the access tokens then get 401 and the refresh
//!   tokens `400 invalid_grant`. Recorded without tokens ([`WebexSim::revocations`],
//!   [`RevokeCall`]).
//!
//! File bytes come from `zoom_sim::Generator`, so they are deterministic and never held in
//! memory as a whole.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use webex_sim::{MeetingSpec, WebexSim};
//! let sim = WebexSim::start().await?;
//! let m = sim.add_meeting(MeetingSpec::realistic("demo", "host@example.com", chrono::Utc::now(), 64 * 1024));
//! let creds = sim.integration_credentials();
//! let url = format!("{}/recordings/{}?hostEmail=host%40example.com", sim.api_base(), m.recordings[0].id);
//! let rec: serde_json::Value = reqwest::Client::new().get(url).bearer_auth(&creds.access_token)
//!     .send().await?.json().await?;
//! # let _ = rec; Ok(()) }
//! ```

mod server;
mod signing;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::Rng as _;
use serde::Serialize;
use zoom_sim::{ContentKind, Generator};

pub use signing::{WEBEX_USER_AGENT, deliver, sign};

/// The org's first Webex site (`siteUrl`): where a [`MeetingSpec`] takes place unless it
/// names another ([`MeetingSpec::on_site`]), and the preferred site unless
/// [`WebexSim::set_preferred_site`] picks another.
pub const SITE_URL: &str = "sim.webex.com";
/// The longest `from`/`to` interval `GET /v1/admin/recordings` accepts (Webex: "must be
/// within 30 days"); a longer one is answered 400.
pub const ADMIN_LIST_MAX_WINDOW_DAYS: i64 = 30;
/// The admin list's default window when `from` or `to` is missing (7 days before `to`,
/// 7 days after `from`, or the 7 days before now).
pub const ADMIN_LIST_DEFAULT_WINDOW_DAYS: i64 = 7;
/// Default access-token lifetime (14 days).
pub const DEFAULT_ACCESS_TOKEN_TTL_SECS: i64 = 14 * 24 * 3600;
/// `refresh_token_expires_in` the token endpoint reports (90 days).
pub const REFRESH_TOKEN_TTL_SECS: i64 = 7_776_000;
/// Default lifetime of `temporaryDirectDownloadLinks` (3 hours).
pub const DEFAULT_LINK_TTL_SECS: i64 = 3 * 3600;
/// Webhook id used in the bodies of [`SimMeeting::recording_created_body`] and
/// [`SimTranscript::created_body`].
pub const MANUAL_WEBHOOK_ID: &str = "sim-manual-webhook";
/// `scope` of the tokens the simulator issues.
pub const SCOPES: &str = "meeting:admin_recordings_read meeting:admin_transcripts_read \
     meeting:admin_participants_read meeting:admin_recordings_write spark:kms";

/// One kind of temporary direct download link of a recording.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// `recordingDownloadLink`: the MP4.
    Recording,
    /// `audioDownloadLink`: the MP3.
    Audio,
    /// `transcriptDownloadLink`: the VTT.
    Transcript,
}

impl LinkKind {
    /// The CDN path segment: `recording`, `audio`, `transcript`.
    pub fn path_segment(self) -> &'static str {
        match self {
            LinkKind::Recording => "recording",
            LinkKind::Audio => "audio",
            LinkKind::Transcript => "transcript",
        }
    }

    /// File extension: `mp4`, `mp3`, `vtt`.
    pub fn extension(self) -> &'static str {
        match self {
            LinkKind::Recording => "mp4",
            LinkKind::Audio => "mp3",
            LinkKind::Transcript => "vtt",
        }
    }

    /// `Content-Type` the CDN serves.
    pub fn content_type(self) -> &'static str {
        match self {
            LinkKind::Recording => "video/mp4",
            LinkKind::Audio => "audio/mpeg",
            LinkKind::Transcript => "text/vtt",
        }
    }

    pub(crate) fn from_segment(s: &str) -> Option<LinkKind> {
        [LinkKind::Recording, LinkKind::Audio, LinkKind::Transcript]
            .into_iter()
            .find(|k| k.path_segment() == s)
    }

    fn content_kind(self) -> ContentKind {
        match self {
            LinkKind::Transcript => ContentKind::Vtt,
            _ => ContentKind::Binary,
        }
    }
}

/// A fault injected into the `/v1` API (never the CDN, never `/v1/access_token`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiFault {
    /// The next `count` API requests answer `status` (429 or 423) with
    /// `Retry-After: <retry_after_secs>` and a JSON body `{"message","trackingId"}`.
    RateLimit {
        status: u16,
        count: u32,
        retry_after_secs: u64,
    },
    /// The next `count` API requests answer `status` (503 or 504) with a JSON body and no
    /// `Retry-After`.
    ServerError { status: u16, count: u32 },
    /// From now on, `Link: rel="next"` URLs keep only `max` and the cursor and drop every
    /// filter (as WebexPythonSDK PR #169 observed).
    DropFiltersOnNext,
}

/// A fault of the deletion calls only (`DELETE /v1/recordings/{id}` and
/// `POST /v1/recordings/softDelete`), set with [`WebexSim::fail_deletes`] for the next
/// `times` of them; every other request is not affected. A queued [`ApiFault`] comes first
/// (it applies to every `/v1` request). Like those, it is applied before the bearer token is
/// checked; every faulted call is still recorded in [`WebexSim::deletions`] (with
/// `injected: true`), and nothing changes unless the variant says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteFault {
    /// 429 with `Retry-After: <retry_after_secs>` and `{"message","trackingId"}`.
    RateLimited { retry_after_secs: u64 },
    /// 500 with Webex's error body.
    InternalError,
    /// 503 with Webex's error body, no `Retry-After`.
    ServiceUnavailable,
    /// 404 "The requested resource could not be found." although the recordings exist.
    NotFound,
    /// 401 as for a bad token, even with a good one.
    Unauthorized,
    /// The call is handled as without a fault (token, validation, host, the change itself),
    /// but a 204 is answered as 500: Webex carried it out and the answer was lost. Any other
    /// outcome is answered as it is.
    InternalErrorAfterApplying,
}

/// A fault of `GET /v1/admin/recordings` only, set with [`WebexSim::fail_list_calls`]:
/// after `after` list calls went through, the next `times` are answered with it (e.g. a
/// 429 in the middle of a backfill). Every other request is not affected. A queued
/// [`ApiFault`] comes first, and a list call it answers does not count. Like those, it is
/// applied before the bearer token is checked, and each faulted call is in
/// [`WebexSim::list_requests`] with `injected: true`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListFault {
    /// 429 with `Retry-After: <retry_after_secs>` and `{"message","trackingId"}`.
    RateLimited { retry_after_secs: u64 },
    /// `status` (500, 502, 503 or 504) with Webex's error body and no `Retry-After`.
    ServerError { status: u16 },
}

/// One `GET /v1/admin/recordings` call the simulator received, whatever its outcome
/// ([`WebexSim::list_requests`]). The query values are as the client sent them, before
/// any default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRequest {
    /// Path and query as received, e.g. `/v1/admin/recordings?from=…&max=1`.
    pub path: String,
    /// `from` (`None` when absent or not a time the simulator reads).
    pub from: Option<DateTime<Utc>>,
    /// `to` (`None` when absent or not a time the simulator reads).
    pub to: Option<DateTime<Utc>>,
    /// `siteUrl`, if any.
    pub site_url: Option<String>,
    /// `hostEmail` (decoded), if any.
    pub host_email: Option<String>,
    /// `meetingId`, if any (with it, Webex ignores `siteUrl`, `from` and `to`).
    pub meeting_id: Option<String>,
    /// `max` (`None` when absent or not a number; the default is 10).
    pub max: Option<u32>,
    /// Whether the query carried a `cursor` (a `Link: rel="next"` page rather than a
    /// first page).
    pub had_cursor: bool,
    /// The HTTP status answered (200, 400, 401, 429, 503, …).
    pub status: u16,
    /// Answered by an injected fault ([`WebexSim::fail_list_calls`] or a queued
    /// [`ApiFault`]).
    pub injected: bool,
    /// When the simulator received it.
    pub at: DateTime<Utc>,
}

/// One `PUT /v1/webhooks/{id}` that passed the API gate (faults, bearer check), whatever
/// its outcome ([`WebexSim::webhook_updates`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUpdate {
    pub webhook_id: String,
    /// The body's `status` (`active`, `inactive`, or anything else sent), if any.
    pub requested_status: Option<String>,
    /// The webhook's status before the call (`None` for an unknown webhook).
    pub status_before: Option<String>,
    /// The webhook's status after the call (`None` for an unknown webhook).
    pub status_after: Option<String>,
    /// The HTTP status answered (200, 400, 404).
    pub status: u16,
    /// When the simulator received it.
    pub at: DateTime<Utc>,
}

/// Which deletion call a [`DeleteCall`] was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeleteKind {
    /// `DELETE /v1/recordings/{id}`: gone for good.
    Delete,
    /// `POST /v1/recordings/softDelete`: to the recycle bin.
    SoftDelete,
}

/// One deletion call the simulator received, whatever its outcome
/// ([`WebexSim::deletions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteCall {
    pub kind: DeleteKind,
    /// The `{id}` of a DELETE; the `recordingIds` of a softDelete as far as the body could
    /// be read (empty for a body that is not JSON or has no string list).
    pub recording_ids: Vec<String>,
    /// The `hostEmail` query parameter (decoded), if any.
    pub host_email: Option<String>,
    /// `siteUrl`: from the softDelete body, or the DELETE's query string.
    pub site_url: Option<String>,
    /// The HTTP status answered (204, 400, 401, 404, 429, 500, 503, …).
    pub status: u16,
    /// Answered by an injected fault ([`WebexSim::fail_deletes`] or a queued [`ApiFault`])
    /// rather than by the simulated Webex's own logic.
    pub injected: bool,
    /// When the simulator received it.
    pub at: DateTime<Utc>,
}

/// Where a recording is ([`WebexSim::recording_status`]); Webex's `status` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordingStatus {
    /// `available`.
    Available,
    /// `deleted`: in the recycle bin after `softDelete` (still answered by `GET`).
    Deleted,
    /// `purged`: deleted for good by `DELETE /v1/recordings/{id}` (`GET` 404, in no list).
    Purged,
}

impl RecordingStatus {
    /// `available`, `deleted` or `purged`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordingStatus::Available => "available",
            RecordingStatus::Deleted => "deleted",
            RecordingStatus::Purged => "purged",
        }
    }
}

/// One `DELETE /v1/authorizations…` the simulator received ([`WebexSim::revocations`]).
/// Holds no token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeCall {
    /// The `clientId` query parameter (`DELETE /v1/authorizations?clientId=`).
    pub client_id: Option<String>,
    /// The `{id}` of `DELETE /v1/authorizations/{id}`.
    pub authorization_id: Option<String>,
    /// The HTTP status answered (204, 400, 401, 404, …).
    pub status: u16,
    /// Access and refresh tokens that stopped working because of it.
    pub tokens_revoked: usize,
    /// Answered by a queued [`ApiFault`].
    pub injected: bool,
    /// When the simulator received it.
    pub at: DateTime<Utc>,
}

/// What a test asks the simulator to create: one meeting instance and its recordings.
#[derive(Clone, Debug)]
pub struct MeetingSpec {
    pub topic: String,
    pub host_email: String,
    /// Webex person id of the host (`hostUserId` in webhooks).
    pub host_person_id: String,
    pub start: DateTime<Utc>,
    /// One Webex recording per segment (stopping and restarting makes several).
    pub segments: Vec<SegmentSpec>,
    /// The `meetingParticipants` items.
    pub participants: Vec<ParticipantSpec>,
    /// `serviceType`, e.g. `MeetingCenter`.
    pub service_type: String,
    /// The Webex site the meeting takes place on ([`SITE_URL`] by default). An unknown
    /// site becomes one of the org's sites ([`WebexSim::add_site`]).
    pub site_url: String,
}

/// One recording segment of a meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSpec {
    /// Seconds from the meeting start to pressing "record".
    pub offset_secs: i64,
    pub duration_secs: i64,
    /// Size of the MP4.
    pub video_bytes: u64,
    /// Size of the MP3 (`None`: no `audioDownloadLink`).
    pub audio_bytes: Option<u64>,
    /// Whether the recording has a `transcriptDownloadLink` (and the meeting instance a
    /// `meetingTranscripts` item).
    pub transcript: bool,
}

/// One person of the org, as `GET /v1/people` lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonSpec {
    /// The person id (Webex's are base64 `ciscospark://us/PEOPLE/<uuid>`).
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// `false`: deactivated in Control Hub (the person cannot sign in).
    pub login_enabled: bool,
    /// `person`, `bot` or `appuser`.
    pub kind: String,
}

impl PersonSpec {
    /// An active person `<name>@example.edu` with a new person id.
    pub fn realistic(name: &str) -> Self {
        Self {
            id: spark_id("PEOPLE", &uuid()),
            email: format!("{name}@example.edu"),
            display_name: name.replace(['.', '-'], " "),
            login_enabled: true,
            kind: "person".into(),
        }
    }
}

/// One `meetingParticipants` item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParticipantSpec {
    pub email: String,
    pub display_name: String,
    pub host: bool,
    pub co_host: bool,
}

impl Default for MeetingSpec {
    /// An empty `MeetingCenter` meeting starting now, with a random host person id.
    fn default() -> Self {
        MeetingSpec {
            topic: "Webex meeting".to_owned(),
            host_email: "host@example.com".to_owned(),
            host_person_id: spark_id("PEOPLE", &uuid()),
            start: Utc::now(),
            segments: Vec::new(),
            participants: Vec::new(),
            service_type: "MeetingCenter".to_owned(),
            site_url: SITE_URL.to_owned(),
        }
    }
}

impl MeetingSpec {
    /// One 45-minute segment (video + MP3 audio + transcript), the host, 2 co-hosts and 20
    /// attendees (3 pages of participants at `max=10`). Video is `scale_bytes` long, audio
    /// `scale_bytes / 8`, both at least 1 KiB.
    pub fn realistic(
        topic: &str,
        host_email: &str,
        start: DateTime<Utc>,
        scale_bytes: u64,
    ) -> MeetingSpec {
        let domain = host_email.split_once('@').map_or("example.com", |(_, d)| d);
        let mut participants = vec![ParticipantSpec {
            email: host_email.to_owned(),
            display_name: display_name(host_email),
            host: true,
            co_host: false,
        }];
        for i in 1..=2 {
            participants.push(ParticipantSpec {
                email: format!("cohost{i}@{domain}"),
                display_name: format!("Co-host {i}"),
                host: false,
                co_host: true,
            });
        }
        for i in 1..=20 {
            participants.push(ParticipantSpec {
                email: format!("attendee{i:02}@{domain}"),
                display_name: format!("Attendee {i:02}"),
                host: false,
                co_host: false,
            });
        }
        MeetingSpec {
            topic: topic.to_owned(),
            host_email: host_email.to_owned(),
            start,
            segments: vec![SegmentSpec {
                offset_secs: 60,
                duration_secs: 45 * 60,
                video_bytes: scale_bytes.max(1024),
                audio_bytes: Some((scale_bytes / 8).max(1024)),
                transcript: true,
            }],
            participants,
            ..MeetingSpec::default()
        }
    }

    /// The same meeting on another Webex site (`siteUrl`).
    pub fn on_site(mut self, site_url: &str) -> MeetingSpec {
        self.site_url = site_url.to_owned();
        self
    }

    /// `n` stop/start segments like the first one, each starting `duration + 60 s` after
    /// the previous one.
    pub fn with_segments(mut self, n: usize) -> MeetingSpec {
        let template = self.segments.first().cloned().unwrap_or(SegmentSpec {
            offset_secs: 0,
            duration_secs: 600,
            video_bytes: 64 * 1024,
            audio_bytes: None,
            transcript: false,
        });
        self.segments = (0..n as i64)
            .map(|i| SegmentSpec {
                offset_secs: template.offset_secs + i * (template.duration_secs + 60),
                ..template.clone()
            })
            .collect();
        self
    }
}

/// A meeting instance registered with the simulator.
#[derive(Clone, Debug)]
pub struct SimMeeting {
    /// `<32 hex>_I_<digits>`: the ended instance (`meetingId` of recordings).
    pub instance_id: String,
    /// 32 hex digits (`meetingSeriesId`).
    pub series_id: String,
    /// `<series>_<yyyymmddThhmmssZ>` (`scheduledMeetingId`).
    pub scheduled_meeting_id: String,
    pub topic: String,
    pub host_email: String,
    pub host_person_id: String,
    pub start: DateTime<Utc>,
    /// The Webex site (`siteUrl`) of its recordings and transcript.
    pub site_url: String,
    /// One per segment, in segment order.
    pub recordings: Vec<SimRecording>,
    /// The instance's `meetingTranscripts` item, when a segment has `transcript: true`.
    pub transcript: Option<SimTranscript>,
}

/// One Webex recording (one segment of a meeting).
#[derive(Clone, Debug)]
pub struct SimRecording {
    /// 32 hex digits.
    pub id: String,
    /// When "record" was pressed.
    pub time_recorded: DateTime<Utc>,
    /// When the file was generated (after the segment ended).
    pub create_time: DateTime<Utc>,
    pub duration_secs: i64,
    pub files: Vec<SimFile>,
}

impl SimRecording {
    /// The file behind one kind of link, if the recording has it.
    pub fn file(&self, kind: LinkKind) -> Option<&SimFile> {
        self.files.iter().find(|f| f.kind == kind)
    }
}

/// One downloadable file of a recording, with what a test needs to check a download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFile {
    pub kind: LinkKind,
    pub size: u64,
    /// Lower-case hex SHA-256 of the whole file.
    pub sha256: String,
    pub content_type: String,
    /// `mp4`, `mp3` or `vtt`.
    pub extension: String,
}

/// A `meetingTranscripts` item.
#[derive(Clone, Debug)]
pub struct SimTranscript {
    pub id: String,
    pub meeting_instance_id: String,
    /// Size of the VTT download.
    pub size: u64,
    /// Lower-case hex SHA-256 of the VTT bytes.
    pub sha256: String,
    topic: String,
    host_person_id: String,
    site_url: String,
    created: DateTime<Utc>,
    seed: u64,
}

/// Per-file download statistics (CDN files and transcript downloads).
#[derive(Default, Clone, Debug)]
pub struct FileStats {
    /// Requests for the file (refused ones included).
    pub requests: u64,
    /// Bodies streamed to their end.
    pub complete_bodies: u64,
    pub bytes_served: u64,
    /// Requests refused because the link had expired.
    pub expired_link_hits: u64,
    /// CDN requests that carried an `Authorization` header (answered by a login page).
    pub auth_leaks: u64,
    /// HTML answers (login page, expired or forged link).
    pub html_responses: u64,
}

/// What the `/v1` API saw.
#[derive(Default, Clone, Debug)]
pub struct ApiStats {
    /// Every `/v1` request, `/v1/access_token` included.
    pub requests: u64,
    pub rate_limited: u64,
    pub server_errors: u64,
    /// 401s for a missing, unknown, revoked or expired bearer (and
    /// [`DeleteFault::Unauthorized`]).
    pub unauthorized: u64,
    /// Successful refresh-token grants.
    pub token_refreshes: u64,
    /// `GET /v1/recordings/{id}` requests that reached the handler.
    pub recording_gets: u64,
    /// Sets of `temporaryDirectDownloadLinks` handed out.
    pub link_sets_issued: u64,
    /// Webhook POSTs made by `publish_*`.
    pub webhook_deliveries: u64,
    /// `"METHOD /v1/path?query"` of each API request, in order.
    pub paths: Vec<String>,
}

/// A webhook registered through `POST /v1/webhooks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimWebhook {
    pub id: String,
    pub name: String,
    pub target_url: String,
    pub resource: String,
    pub event: String,
    pub filter: Option<String>,
    pub secret: Option<String>,
    /// `active` or `inactive`.
    pub status: String,
    pub owned_by: Option<String>,
}

/// The simulated org's Service App.
#[derive(Clone)]
pub struct SimServiceApp {
    pub application_id: String,
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for SimServiceApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimServiceApp")
            .field("application_id", &self.application_id)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// An OAuth integration grant issued by [`WebexSim::integration_credentials`].
#[derive(Clone)]
pub struct SimCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub access_token: String,
    pub refresh_token: String,
    /// When `access_token` expires.
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for SimCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------
// Webhook bodies

/// The webhook a delivery body names.
struct HookMeta<'a> {
    id: &'a str,
    name: &'a str,
    target_url: &'a str,
    owned_by: &'a str,
    created_by: &'a str,
    app_id: &'a str,
    created: DateTime<Utc>,
}

/// The webhook named by manual bodies: [`MANUAL_WEBHOOK_ID`], owned by the org, created
/// by `created_by`.
fn manual_hook(created_by: &str) -> HookMeta<'_> {
    HookMeta {
        id: MANUAL_WEBHOOK_ID,
        name: MANUAL_WEBHOOK_ID,
        target_url: "https://archiver.example.com/webex/webhook",
        owned_by: "org",
        created_by,
        app_id: app_id(),
        created: Utc::now(),
    }
}

/// `data` of a `recordings`/`meetingTranscripts` `created` event.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct EventData {
    id: String,
    meeting_id: String,
    site_url: String,
    host_user_id: String,
    topic: String,
    create_time: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventBody<'a> {
    id: &'a str,
    name: &'a str,
    target_url: &'a str,
    resource: &'a str,
    event: &'a str,
    org_id: &'a str,
    created_by: &'a str,
    app_id: &'a str,
    owned_by: &'a str,
    status: &'a str,
    created: String,
    actor_id: &'a str,
    data: &'a EventData,
}

fn event_body(hook: &HookMeta<'_>, resource: &str, org_id: &str, data: &EventData) -> String {
    serde_json::to_string(&EventBody {
        id: hook.id,
        name: hook.name,
        target_url: hook.target_url,
        resource,
        event: "created",
        org_id,
        created_by: hook.created_by,
        app_id: hook.app_id,
        owned_by: hook.owned_by,
        status: "active",
        created: iso(hook.created),
        actor_id: &data.host_user_id,
        data,
    })
    .expect("event body serializes")
}

impl SimMeeting {
    fn recording_data(&self, i: usize) -> EventData {
        let r = &self.recordings[i];
        EventData {
            id: r.id.clone(),
            meeting_id: self.instance_id.clone(),
            site_url: self.site_url.clone(),
            host_user_id: self.host_person_id.clone(),
            topic: self.topic.clone(),
            create_time: iso(r.create_time),
        }
    }

    /// The raw JSON Webex POSTs for `recordings`/`created` about recording `i` (panics if
    /// out of range), as from a webhook with id [`MANUAL_WEBHOOK_ID`] owned by the org.
    /// `createdBy` and `actorId` are the host.
    pub fn recording_created_body(&self, i: usize, org_id: &str) -> String {
        let data = self.recording_data(i);
        event_body(
            &manual_hook(&self.host_person_id),
            "recordings",
            org_id,
            &data,
        )
    }
}

impl SimTranscript {
    fn data(&self) -> EventData {
        EventData {
            id: self.id.clone(),
            meeting_id: self.meeting_instance_id.clone(),
            site_url: self.site_url.clone(),
            host_user_id: self.host_person_id.clone(),
            topic: self.topic.clone(),
            create_time: iso(self.created),
        }
    }

    /// The raw JSON Webex POSTs for `meetingTranscripts`/`created`, as from a webhook with
    /// id [`MANUAL_WEBHOOK_ID`].
    pub fn created_body(&self, org_id: &str) -> String {
        let data = self.data();
        event_body(
            &manual_hook(&self.host_person_id),
            "meetingTranscripts",
            org_id,
            &data,
        )
    }
}

// ---------------------------------------------------------------------------------------
// State

pub(crate) struct FileEntry {
    pub generator: Generator,
    pub stats: FileStats,
}

pub(crate) struct MeetingEntry {
    pub meeting: SimMeeting,
    pub participants: Vec<ParticipantSpec>,
    pub service_type: String,
    pub password: String,
    pub host_display_name: String,
}

pub(crate) struct RecEntry {
    /// Index into `State::meetings`.
    pub meeting: usize,
    pub rec: SimRecording,
    pub files: HashMap<LinkKind, FileEntry>,
    pub status: RecordingStatus,
}

pub(crate) struct TranscriptEntry {
    pub transcript: SimTranscript,
    pub start: DateTime<Utc>,
    pub file: FileEntry,
}

pub(crate) struct HookEntry {
    pub hook: SimWebhook,
    pub created: DateTime<Utc>,
    pub failures: u32,
}

/// [`WebexSim::fail_list_calls`]: the fault, how many list calls still pass before it,
/// and how many it then answers.
pub(crate) struct ListFaultState {
    pub fault: ListFault,
    pub skip: u32,
    pub remaining: u32,
}

/// A queued [`ApiFault::RateLimit`] (with `retry_after`) or [`ApiFault::ServerError`].
pub(crate) struct QueuedFault {
    pub status: u16,
    pub remaining: u32,
    pub retry_after: Option<u64>,
}

#[derive(Default)]
pub(crate) struct State {
    pub access_tokens: HashMap<String, i64>,
    pub refresh_tokens: HashSet<String>,
    pub access_ttl: i64,
    pub rotate: bool,
    pub link_ttl: i64,
    pub expire_next: HashMap<String, u32>,
    /// Recording id → how many more CDN requests are refused although their link is in date.
    pub refuse_next: HashMap<String, u32>,
    pub faults: VecDeque<QueuedFault>,
    pub drop_filters: bool,
    pub meetings: Vec<MeetingEntry>,
    pub recordings: HashMap<String, RecEntry>,
    /// In creation order.
    pub transcripts: Vec<TranscriptEntry>,
    /// In creation order.
    pub webhooks: Vec<HookEntry>,
    pub api: ApiStats,
    /// Access or refresh token → the authorization (grant) it belongs to.
    pub token_authz: HashMap<String, String>,
    /// Authorization id → OAuth client id.
    pub authorizations: HashMap<String, String>,
    /// [`WebexSim::fail_deletes`]: the fault and how many deletion calls it still hits.
    pub delete_fault: Option<(DeleteFault, u32)>,
    pub deletions: Vec<DeleteCall>,
    pub revocations: Vec<RevokeCall>,
    /// The org's Webex sites, in the order added ([`SITE_URL`] first).
    pub sites: Vec<String>,
    /// The site `GET /v1/admin/recordings` and `softDelete` use without `siteUrl`.
    pub preferred_site: String,
    pub list_fault: Option<ListFaultState>,
    pub list_requests: Vec<ListRequest>,
    pub webhook_updates: Vec<WebhookUpdate>,
    /// The org's people (`GET /v1/people`), in the order added.
    pub people: Vec<PersonSpec>,
}

impl State {
    /// The registered spelling of a site (sites compare case-insensitively), if known.
    pub fn site(&self, url: &str) -> Option<&str> {
        self.sites
            .iter()
            .find(|s| s.eq_ignore_ascii_case(url))
            .map(String::as_str)
    }

    /// Register a site unless it is known already.
    fn add_site(&mut self, url: &str) {
        if self.site(url).is_none() {
            self.sites.push(url.to_owned());
        }
    }

    /// Revoke authorizations: their access and refresh tokens stop working. Returns how many
    /// tokens were revoked.
    pub fn revoke(&mut self, authz: &HashSet<String>) -> usize {
        let tokens: Vec<String> = self
            .token_authz
            .iter()
            .filter(|(_, a)| authz.contains(*a))
            .map(|(t, _)| t.clone())
            .collect();
        let mut n = 0;
        for t in &tokens {
            self.token_authz.remove(t);
            n += usize::from(self.access_tokens.remove(t).is_some());
            n += usize::from(self.refresh_tokens.remove(t));
        }
        self.authorizations.retain(|a, _| !authz.contains(a));
        n
    }
}

pub(crate) struct Shared {
    state: Mutex<State>,
    pub base_url: String,
    pub org_id: String,
    org_uuid: String,
    pub client_id: String,
    pub client_secret: String,
    /// The org's Service App: (application id, client id, client secret).
    pub service_app: (String, String, String),
    /// Person id of the admin the integration acts for (`createdBy` of webhooks).
    pub admin_id: String,
    pub cdn_key: [u8; 32],
    http: reqwest::Client,
}

impl Shared {
    /// Lock the state. Never held across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn api_base(&self) -> String {
        format!("{}/v1", self.base_url)
    }

    /// A Webex-looking token: `<base64>_PF84_<org uuid>`.
    fn new_token(&self) -> String {
        format!("{}_PF84_{}", b64(&(uuid() + &uuid())), self.org_uuid)
    }

    /// A new authorization (grant) of an OAuth client: its id.
    pub fn new_authorization(&self, st: &mut State, client_id: &str) -> String {
        let id = spark_id("AUTHORIZATION", &uuid());
        st.authorizations.insert(id.clone(), client_id.to_owned());
        id
    }

    /// A new access token (TTL from the state) of an authorization and its expiry (Unix
    /// seconds).
    pub fn issue_access_token(&self, st: &mut State, authz: &str) -> (String, i64) {
        let token = self.new_token();
        let exp = Utc::now().timestamp() + st.access_ttl;
        st.access_tokens.insert(token.clone(), exp);
        st.token_authz.insert(token.clone(), authz.to_owned());
        (token, exp)
    }

    /// A new refresh token of an authorization.
    pub fn issue_refresh_token(&self, st: &mut State, authz: &str) -> String {
        let token = self.new_token();
        st.refresh_tokens.insert(token.clone());
        st.token_authz.insert(token.clone(), authz.to_owned());
        token
    }
}

/// The running simulator. Serves on 127.0.0.1 until dropped or [`WebexSim::shutdown`].
pub struct WebexSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: zoom_sim::Server,
}

impl fmt::Debug for WebexSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebexSim")
            .field("addr", &self.addr)
            .finish()
    }
}

impl WebexSim {
    /// Start on an ephemeral port of 127.0.0.1. Needs a Tokio runtime.
    pub async fn start() -> anyhow::Result<WebexSim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let org_uuid = uuid();
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("building the webhook client")?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                access_ttl: DEFAULT_ACCESS_TOKEN_TTL_SECS,
                rotate: true,
                link_ttl: DEFAULT_LINK_TTL_SECS,
                sites: vec![SITE_URL.to_owned()],
                preferred_site: SITE_URL.to_owned(),
                people: Vec::new(),
                ..State::default()
            }),
            base_url: format!("http://127.0.0.1:{}", addr.port()),
            org_id: spark_id("ORGANIZATION", &org_uuid),
            org_uuid,
            client_id: format!("C{}", hex::encode(rand::rng().random::<[u8; 32]>())),
            client_secret: hex::encode(rand::rng().random::<[u8; 32]>()),
            service_app: (
                spark_id("APPLICATION", &uuid()),
                format!("C{}", hex::encode(rand::rng().random::<[u8; 32]>())),
                hex::encode(rand::rng().random::<[u8; 32]>()),
            ),
            admin_id: spark_id("PEOPLE", &uuid()),
            cdn_key: rand::rng().random(),
            http,
        });
        let server = zoom_sim::Server::spawn("webex-sim", listener, server::router(shared.clone()));
        tracing::debug!(%addr, "webex-sim listening");
        Ok(WebexSim {
            shared,
            addr,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `base_url() + "/v1"`: what `https://webexapis.com/v1` is on Webex.
    pub fn api_base(&self) -> String {
        self.shared.api_base()
    }

    /// The organisation id (Webex-style base64 of `ciscospark://us/ORGANIZATION/<uuid>`).
    pub fn org_id(&self) -> String {
        self.shared.org_id.clone()
    }

    /// [`SITE_URL`] (`sim.webex.com`): the org's first site, where meetings take place
    /// unless their [`MeetingSpec::site_url`] says otherwise.
    pub fn site_url(&self) -> String {
        SITE_URL.to_owned()
    }

    /// Add a person to the org, listed by `GET /v1/people` (paged with `max`). Returns it.
    pub fn add_person(&self, person: PersonSpec) -> PersonSpec {
        self.shared.lock().people.push(person.clone());
        person
    }

    /// Give the org a further Webex site (no-op for a known one; sites compare
    /// case-insensitively). Returns `url`. It is then a valid `siteUrl` of
    /// `GET /v1/admin/recordings` and listed by `GET /v1/meetingPreferences/sites`.
    pub fn add_site(&self, url: &str) -> String {
        self.shared.lock().add_site(url);
        url.to_owned()
    }

    /// The org's sites, in the order added ([`SITE_URL`] first).
    pub fn sites(&self) -> Vec<String> {
        self.shared.lock().sites.clone()
    }

    /// Make `url` the preferred site of the admin the integration acts for (adding it if
    /// unknown): what `GET /v1/admin/recordings` lists and `softDelete` acts on without
    /// `siteUrl`, and `"default": true` in `GET /v1/meetingPreferences/sites`. Initially
    /// [`SITE_URL`].
    pub fn set_preferred_site(&self, url: &str) {
        let mut st = self.shared.lock();
        st.add_site(url);
        st.preferred_site = st.site(url).unwrap_or(url).to_owned();
    }

    /// The preferred site (see [`WebexSim::set_preferred_site`]).
    pub fn preferred_site(&self) -> String {
        self.shared.lock().preferred_site.clone()
    }

    /// Answer list calls (`GET /v1/admin/recordings`) with `fault`: the next `after` pass,
    /// the `times` after them are faulted (see [`ListFault`]). Replaces an earlier list
    /// fault; `times: 0` removes it.
    pub fn fail_list_calls(&self, fault: ListFault, after: u32, times: u32) {
        self.shared.lock().list_fault = (times > 0).then_some(ListFaultState {
            fault,
            skip: after,
            remaining: times,
        });
    }

    /// Remove the list fault.
    pub fn clear_list_fault(&self) {
        self.shared.lock().list_fault = None;
    }

    /// Every `GET /v1/admin/recordings` received so far, in order, refused and faulted
    /// ones included.
    pub fn list_requests(&self) -> Vec<ListRequest> {
        self.shared.lock().list_requests.clone()
    }

    /// Every `PUT /v1/webhooks/{id}` that passed the API gate, in order (e.g. a reconcile
    /// reactivating an `inactive` webhook with `"status":"active"`). Status changes made
    /// with [`WebexSim::set_webhook_status`] or by failed deliveries are not in it.
    pub fn webhook_updates(&self) -> Vec<WebhookUpdate> {
        self.shared.lock().webhook_updates.clone()
    }

    /// A fresh OAuth integration grant: the sim's client id/secret, a new access token
    /// (lifetime = [`WebexSim::set_access_token_ttl`]) and a new refresh token.
    pub fn integration_credentials(&self) -> SimCredentials {
        let mut st = self.shared.lock();
        let authz = self
            .shared
            .new_authorization(&mut st, &self.shared.client_id);
        let (access_token, exp) = self.shared.issue_access_token(&mut st, &authz);
        let refresh_token = self.shared.issue_refresh_token(&mut st, &authz);
        SimCredentials {
            client_id: self.shared.client_id.clone(),
            client_secret: self.shared.client_secret.clone(),
            access_token,
            refresh_token,
            expires_at: DateTime::from_timestamp(exp, 0).unwrap_or_default(),
        }
    }

    /// The org's Service App, authorised by its admin: tokens for it come from
    /// `POST /v1/applications/{application_id}/token` (called with an integration token) and are then
    /// refreshed at `/v1/access_token` with the Service App's client id and secret.
    pub fn service_app(&self) -> SimServiceApp {
        let (application_id, client_id, client_secret) = self.shared.service_app.clone();
        SimServiceApp {
            application_id,
            client_id,
            client_secret,
        }
    }

    /// Lifetime of access tokens issued from now on (default 14 days; negative = born
    /// expired).
    pub fn set_access_token_ttl(&self, secs: i64) {
        self.shared.lock().access_ttl = secs;
    }

    /// Whether each refresh returns a new refresh token and invalidates the one used
    /// (default `true`).
    pub fn set_rotate_refresh_tokens(&self, on: bool) {
        self.shared.lock().rotate = on;
    }

    /// Lifetime of temporary direct download links issued from now on (default 3 h).
    pub fn set_link_ttl(&self, secs: i64) {
        self.shared.lock().link_ttl = secs;
    }

    /// The next `n` `GET /v1/recordings/{id}` responses for this recording carry links
    /// that have already expired.
    /// The next `n` CDN requests for this recording's files are refused with 403 + the "link expired"
    /// page although their `expiration` is still ahead (clock skew, or Webex invalidating a link early).
    pub fn refuse_next_downloads(&self, recording_id: &str, n: u32) {
        self.shared
            .lock()
            .refuse_next
            .insert(recording_id.to_owned(), n);
    }

    pub fn expire_next_links(&self, recording_id: &str, n: u32) {
        *self
            .shared
            .lock()
            .expire_next
            .entry(recording_id.to_owned())
            .or_default() += n;
    }

    /// Queue an API fault (or switch on [`ApiFault::DropFiltersOnNext`]).
    pub fn set_fault(&self, fault: ApiFault) {
        let mut st = self.shared.lock();
        let queued = match fault {
            ApiFault::DropFiltersOnNext => {
                st.drop_filters = true;
                return;
            }
            ApiFault::RateLimit {
                status,
                count,
                retry_after_secs,
            } => QueuedFault {
                status,
                remaining: count,
                retry_after: Some(retry_after_secs),
            },
            ApiFault::ServerError { status, count } => QueuedFault {
                status,
                remaining: count,
                retry_after: None,
            },
        };
        st.faults.push_back(queued);
    }

    /// Register a meeting instance: one recording per segment, file hashes computed by
    /// streaming each file's generator once, and a `meetingTranscripts` item when a
    /// segment has `transcript: true`.
    pub fn add_meeting(&self, spec: MeetingSpec) -> SimMeeting {
        let series_id = hex32();
        let instance_id = format!(
            "{series_id}_I_{}",
            rand::rng().random_range(100_000_000_000_000_000u64..1_000_000_000_000_000_000)
        );
        let scheduled_meeting_id = format!("{series_id}_{}", spec.start.format("%Y%m%dT%H%M%SZ"));
        // The meeting index is set when the entries are stored.
        let entries: Vec<RecEntry> = spec
            .segments
            .iter()
            .map(|seg| new_recording(spec.start, seg, 0))
            .collect();
        let host_display_name = spec.participants.iter().find(|p| p.host).map_or_else(
            || display_name(&spec.host_email),
            |p| p.display_name.clone(),
        );
        let mut meeting = SimMeeting {
            instance_id,
            series_id,
            scheduled_meeting_id,
            topic: spec.topic,
            host_email: spec.host_email,
            host_person_id: spec.host_person_id,
            start: spec.start,
            site_url: spec.site_url,
            recordings: entries.iter().map(|e| e.rec.clone()).collect(),
            transcript: None,
        };
        if spec.segments.iter().any(|s| s.transcript) {
            let end = meeting
                .recordings
                .iter()
                .map(|r| r.create_time)
                .max()
                .unwrap_or(meeting.start);
            let total: i64 = spec.segments.iter().map(|s| s.duration_secs).sum();
            meeting.transcript = Some(self.new_transcript(&meeting, end, total));
        }

        let mut st = self.shared.lock();
        st.add_site(&meeting.site_url);
        let idx = st.meetings.len();
        for mut e in entries {
            e.meeting = idx;
            st.recordings.insert(e.rec.id.clone(), e);
        }
        if let Some(t) = &meeting.transcript {
            push_transcript(&mut st, t.clone(), meeting.start);
        }
        st.meetings.push(MeetingEntry {
            meeting: meeting.clone(),
            participants: spec.participants,
            service_type: spec.service_type,
            password: format!("Sim{}", rand::rng().random_range(1000..9999)),
            host_display_name,
        });
        meeting
    }

    /// A further recording (stop/start segment) of an existing meeting instance, e.g. one
    /// that appeared at Webex after the meeting was copied: `GET /v1/recordings/{id}`, the
    /// admin list and the CDN serve it like the others (`segment.offset_secs` counts from
    /// the meeting's start). `meetingTranscripts` does not change (see
    /// [`WebexSim::add_transcript`]). [`SimMeeting`]s taken earlier do not change either:
    /// [`WebexSim::meeting`] gives the current one. Panics for an unknown instance id.
    pub fn add_segment(&self, meeting_instance_id: &str, segment: SegmentSpec) -> SimRecording {
        let (idx, start) = {
            let st = self.shared.lock();
            st.meetings
                .iter()
                .position(|m| m.meeting.instance_id == meeting_instance_id)
                .map(|i| (i, st.meetings[i].meeting.start))
                .unwrap_or_else(|| {
                    panic!("webex-sim: unknown meeting instance {meeting_instance_id}")
                })
        };
        // File hashes are computed here, without the lock.
        let entry = new_recording(start, &segment, idx);
        let rec = entry.rec.clone();
        let mut st = self.shared.lock();
        st.meetings[idx].meeting.recordings.push(rec.clone());
        st.recordings.insert(rec.id.clone(), entry);
        rec
    }

    /// A registered meeting instance as it is now (segments added with
    /// [`WebexSim::add_segment`] and sizes set with [`WebexSim::set_file_size`] included;
    /// deleted recordings too, see [`WebexSim::recording_status`]); `None` if unknown.
    pub fn meeting(&self, meeting_instance_id: &str) -> Option<SimMeeting> {
        self.shared
            .lock()
            .meetings
            .iter()
            .find(|m| m.meeting.instance_id == meeting_instance_id)
            .map(|m| m.meeting.clone())
    }

    /// Change the size of one file of a recording after the fact (e.g. Webex re-processed
    /// it after it was copied): the CDN serves `size` bytes of new deterministic content,
    /// the SHA-256 is recomputed, and for [`LinkKind::Recording`] the API's `sizeBytes`
    /// follows. Returns the file as it is now; `None` for an unknown recording or a kind the
    /// recording does not have. Statistics stay.
    pub fn set_file_size(&self, recording_id: &str, kind: LinkKind, size: u64) -> Option<SimFile> {
        let generator = {
            let st = self.shared.lock();
            let g = st.recordings.get(recording_id)?.files.get(&kind)?.generator;
            Generator::new(g.kind, g.seed, size)
        };
        // Hashing streams the content: not under the lock.
        let sha256 = generator.sha256_hex();
        let mut guard = self.shared.lock();
        let st = &mut *guard;
        let e = st.recordings.get_mut(recording_id)?;
        e.files.get_mut(&kind)?.generator = generator;
        let file = e.rec.files.iter_mut().find(|f| f.kind == kind)?;
        file.size = size;
        file.sha256 = sha256;
        let file = file.clone();
        let rec = e.rec.clone();
        if let Some(r) = st.meetings[e.meeting]
            .meeting
            .recordings
            .iter_mut()
            .find(|r| r.id == recording_id)
        {
            *r = rec;
        }
        Some(file)
    }

    /// Where a recording is now (`None` for an unknown id).
    pub fn recording_status(&self, recording_id: &str) -> Option<RecordingStatus> {
        self.shared
            .lock()
            .recordings
            .get(recording_id)
            .map(|e| e.status)
    }

    /// Every deletion call (`DELETE /v1/recordings/{id}`, `POST /v1/recordings/softDelete`)
    /// received so far, in order, refused and faulted ones included.
    pub fn deletions(&self) -> Vec<DeleteCall> {
        self.shared.lock().deletions.clone()
    }

    /// Inject `fault` into the next `times` deletion calls, replacing any earlier delete
    /// fault; `times: 0` removes it.
    pub fn fail_deletes(&self, fault: DeleteFault, times: u32) {
        self.shared.lock().delete_fault = (times > 0).then_some((fault, times));
    }

    /// Remove the delete fault.
    pub fn clear_delete_fault(&self) {
        self.shared.lock().delete_fault = None;
    }

    /// The authorization (grant) an access or refresh token belongs to: the `{id}` for
    /// `DELETE /v1/authorizations/{id}`. Every [`WebexSim::integration_credentials`] call and
    /// every Service App token request is one authorization; refreshing stays in it.
    /// `None` for an unknown or revoked token.
    pub fn authorization_id(&self, token: &str) -> Option<String> {
        self.shared.lock().token_authz.get(token).cloned()
    }

    /// Every `DELETE /v1/authorizations…` received so far, in order (without tokens).
    pub fn revocations(&self) -> Vec<RevokeCall> {
        self.shared.lock().revocations.clone()
    }

    /// A transcript that appears later for an existing meeting instance (panics for an
    /// unknown instance id).
    pub fn add_transcript(&self, meeting_instance_id: &str) -> SimTranscript {
        let meeting = self
            .shared
            .lock()
            .meetings
            .iter()
            .find(|m| m.meeting.instance_id == meeting_instance_id)
            .map(|m| m.meeting.clone())
            .unwrap_or_else(|| panic!("webex-sim: unknown meeting instance {meeting_instance_id}"));
        let total: i64 = meeting.recordings.iter().map(|r| r.duration_secs).sum();
        let t = self.new_transcript(&meeting, Utc::now(), total.max(600));
        push_transcript(&mut self.shared.lock(), t.clone(), meeting.start);
        t
    }

    fn new_transcript(&self, m: &SimMeeting, created: DateTime<Utc>, secs: i64) -> SimTranscript {
        let generator = Generator::new(
            ContentKind::Vtt,
            rand::rng().random(),
            transcript_size(secs),
        );
        SimTranscript {
            id: hex32(),
            meeting_instance_id: m.instance_id.clone(),
            size: generator.size,
            sha256: generator.sha256_hex(),
            topic: m.topic.clone(),
            host_person_id: m.host_person_id.clone(),
            site_url: m.site_url.clone(),
            created,
            seed: generator.seed,
        }
    }

    /// CDN statistics of one file (zero for an unknown one).
    pub fn file_stats(&self, recording_id: &str, kind: LinkKind) -> FileStats {
        self.shared
            .lock()
            .recordings
            .get(recording_id)
            .and_then(|r| r.files.get(&kind))
            .map(|f| f.stats.clone())
            .unwrap_or_default()
    }

    /// Statistics of `GET /v1/meetingTranscripts/{id}/download`.
    pub fn transcript_stats(&self, transcript_id: &str) -> FileStats {
        self.shared
            .lock()
            .transcripts
            .iter()
            .find(|t| t.transcript.id == transcript_id)
            .map(|t| t.file.stats.clone())
            .unwrap_or_default()
    }

    /// What the API saw so far.
    pub fn api_stats(&self) -> ApiStats {
        self.shared.lock().api.clone()
    }

    /// The webhooks registered through the API, in creation order.
    pub fn webhooks(&self) -> Vec<SimWebhook> {
        self.shared
            .lock()
            .webhooks
            .iter()
            .map(|h| h.hook.clone())
            .collect()
    }

    /// Set a webhook's status (e.g. `inactive`), as Webex does on its own: `GET
    /// /v1/webhooks` shows it, `publish_*` delivers only to `active` webhooks, and
    /// `PUT /v1/webhooks/{id}` with `"status":"active"` reactivates it. Not in
    /// [`WebexSim::webhook_updates`].
    pub fn set_webhook_status(&self, webhook_id: &str, status: &str) {
        if let Some(h) = self
            .shared
            .lock()
            .webhooks
            .iter_mut()
            .find(|h| h.hook.id == webhook_id)
        {
            h.hook.status = status.to_owned();
            h.failures = 0;
        }
    }

    /// Send `recordings`/`created` for every recording of the meeting to every active
    /// webhook with resource `recordings` and event `created` (filters ignored), signed
    /// with the webhook's secret when it has one. Returns `(webhook id, HTTP status or 0
    /// on a connection error)` per delivery. Three consecutive failures (non-2xx or no
    /// connection) make a webhook `inactive`.
    pub async fn publish_recordings(&self, meeting: &SimMeeting) -> Vec<(String, u16)> {
        let data: Vec<EventData> = (0..meeting.recordings.len())
            .map(|i| meeting.recording_data(i))
            .collect();
        self.publish("recordings", &data).await
    }

    /// Send `meetingTranscripts`/`created` for one transcript, as
    /// [`WebexSim::publish_recordings`] does for recordings.
    pub async fn publish_transcript(&self, t: &SimTranscript) -> Vec<(String, u16)> {
        self.publish("meetingTranscripts", &[t.data()]).await
    }

    async fn publish(&self, resource: &str, items: &[EventData]) -> Vec<(String, u16)> {
        let mut out = Vec::new();
        for data in items {
            let ids: Vec<String> = self
                .shared
                .lock()
                .webhooks
                .iter()
                .filter(|h| h.hook.resource == resource && h.hook.event == "created")
                .map(|h| h.hook.id.clone())
                .collect();
            for id in ids {
                // Built under the lock, sent without it; a webhook made inactive by an
                // earlier delivery of this call is skipped.
                let job = {
                    let st = self.shared.lock();
                    st.webhooks
                        .iter()
                        .find(|h| h.hook.id == id && h.hook.status == "active")
                        .map(|h| {
                            let meta = HookMeta {
                                id: &h.hook.id,
                                name: &h.hook.name,
                                target_url: &h.hook.target_url,
                                owned_by: h.hook.owned_by.as_deref().unwrap_or("creator"),
                                created_by: &self.shared.admin_id,
                                app_id: app_id(),
                                created: h.created,
                            };
                            let body = event_body(&meta, resource, &self.shared.org_id, data);
                            (h.hook.target_url.clone(), h.hook.secret.clone(), body)
                        })
                };
                let Some((url, secret, body)) = job else {
                    continue;
                };
                let status = match deliver(&self.shared.http, &url, secret.as_deref(), &body).await
                {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::debug!(error = %e, %url, "webex-sim: webhook delivery failed");
                        0
                    }
                };
                let mut st = self.shared.lock();
                st.api.webhook_deliveries += 1;
                if let Some(h) = st.webhooks.iter_mut().find(|h| h.hook.id == id) {
                    if (200..300).contains(&status) {
                        h.failures = 0;
                    } else {
                        h.failures += 1;
                        if h.failures >= 3 {
                            h.hook.status = "inactive".to_owned();
                        }
                    }
                }
                drop(st);
                out.push((id, status));
            }
        }
        out
    }

    /// Stop serving and wait (up to 5 s) for the server task to end.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}

// ---------------------------------------------------------------------------------------
// helpers

/// One recording of a meeting starting at `start`, its file hashes computed by streaming
/// each file's generator once.
fn new_recording(start: DateTime<Utc>, seg: &SegmentSpec, meeting: usize) -> RecEntry {
    let time_recorded = start + Duration::seconds(seg.offset_secs);
    let create_time = time_recorded + Duration::seconds(seg.duration_secs + 120);
    let mut rec = SimRecording {
        id: hex32(),
        time_recorded,
        create_time,
        duration_secs: seg.duration_secs,
        files: Vec::new(),
    };
    let mut files = HashMap::new();
    let sizes = [
        (LinkKind::Recording, Some(seg.video_bytes)),
        (LinkKind::Audio, seg.audio_bytes),
        (
            LinkKind::Transcript,
            seg.transcript.then(|| transcript_size(seg.duration_secs)),
        ),
    ];
    for (kind, size) in sizes {
        let Some(size) = size else { continue };
        let generator = Generator::new(kind.content_kind(), rand::rng().random(), size);
        rec.files.push(SimFile {
            kind,
            size,
            sha256: generator.sha256_hex(),
            content_type: kind.content_type().to_owned(),
            extension: kind.extension().to_owned(),
        });
        let stats = FileStats::default();
        files.insert(kind, FileEntry { generator, stats });
    }
    RecEntry {
        meeting,
        rec,
        files,
        status: RecordingStatus::Available,
    }
}

fn push_transcript(st: &mut State, t: SimTranscript, start: DateTime<Utc>) {
    let generator = Generator::new(ContentKind::Vtt, t.seed, t.size);
    st.transcripts.push(TranscriptEntry {
        transcript: t,
        start,
        file: FileEntry {
            generator,
            stats: FileStats::default(),
        },
    });
}

/// About 40 bytes of VTT per second, at least 1 KiB.
fn transcript_size(duration_secs: i64) -> u64 {
    (duration_secs.max(0) as u64 * 40).max(1024)
}

/// ISO-8601 UTC with seconds, as Webex writes times (`2026-01-05T09:01:10Z`).
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn hex32() -> String {
    hex::encode(rand::rng().random::<[u8; 16]>())
}

pub(crate) fn uuid() -> String {
    let h = hex32();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

/// A Webex-style id: base64 of `ciscospark://us/{kind}/{uuid}`.
pub(crate) fn spark_id(kind: &str, uuid: &str) -> String {
    b64(&format!("ciscospark://us/{kind}/{uuid}"))
}

/// The `appId` of the simulated integration.
pub(crate) fn app_id() -> &'static str {
    // base64 of "ciscospark://us/APPLICATION/webex-sim"
    "Y2lzY29zcGFyazovL3VzL0FQUExJQ0FUSU9OL3dlYmV4LXNpbQ"
}

fn display_name(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    local
        .split(['.', '_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}
