//! `zoom-sim`: an in-process stand-in for Zoom, for tests and the demo.
//!
//! It behaves like Zoom where our importer can tell (see the project's protocol
//! reference, sections 1–7):
//!
//! - webhooks: [`sign`] / [`deliver`] produce exactly what Zoom POSTs, and
//!   [`SimRecording::recording_completed_body`] / [`SimRecording::transcript_completed_body`]
//!   the raw JSON bodies;
//! - downloads: `GET {api_base}/rec/download/{file_id}` wants `Authorization: Bearer`
//!   with a valid token and answers **302** to a signed URL on a *different host*
//!   (`cdn_base`); every refusal is **HTTP 200 with an HTML page**, as on Zoom;
//! - the CDN (`GET {cdn_base}/cdn/{file_id}?Policy=…&Signature=…&Key-Pair-Id=…`) streams
//!   deterministic bytes, supports `Range: bytes=N-`, and counts any `Authorization`
//!   header that leaks to it;
//! - Server-to-Server OAuth: `POST {api_base}/oauth/token` ([`ZoomSim::oauth_token_url`])
//!   with `grant_type=account_credentials&account_id=…` (query string or form body) and
//!   `Authorization: Basic base64(client_id:client_secret)` of [`ZoomSim::s2s_app`]
//!   answers `{"access_token","token_type":"bearer","expires_in","scope","api_url"}`;
//!   bad client credentials get 401 `invalid_client`, a wrong grant type or account 400
//!   (`unsupported_grant_type` / `invalid_request`). Tokens live
//!   [`ZoomSim::set_api_token_ttl`] seconds (default 3600) and can all be expired at
//!   once ([`ZoomSim::expire_api_tokens`]: REST 401 code 124 "Access token is expired.");
//! - `GET /v2/meetings/{meetingId}/recordings` with Zoom's double-encoding rules for
//!   instance UUIDs and `include_fields=download_access_token`;
//! - per-file fault injection ([`Fault`]: `Html200`, `RateLimited`, `RateLimitedDate`,
//!   `ServerError`, `Unauthorized`, `HtmlDisguised`, `DropAfter` (also "every response",
//!   `times: u32::MAX`), `Truncated`, `IgnoreRange`, `SlowStart`, `Throttle`, `Deleted`) and per-file
//!   statistics ([`FileStats`]);
//! - API-level faults ([`ApiFault`]: QPS 429 with [`RetryAfter`] seconds / HTTP date /
//!   timestamp / none, `Daily-limit` 429, 503, 500, 401) on the REST API
//!   ([`ZoomSim::set_api_fault`]) and separately on the token endpoint
//!   ([`ZoomSim::set_token_fault`]), with sim-wide statistics ([`ApiStats`]);
//! - deleting recordings: `DELETE /v2/meetings/{meetingId}/recordings?action=trash|delete`
//!   (every file of the instance) and `DELETE /v2/meetings/{meetingId}/recordings/{recordingId}?action=…`
//!   (one file, `recordingId` = the file id), with the same id encoding rules and token
//!   checks as the GET; 204 on success, then the GET (and a second DELETE) answers 404
//!   code 3301, `/rec/download` the "does not exist" page and the CDN 404. A missing
//!   `action` means `trash` (Zoom's default); any other value is a 400 (code 300). Every
//!   DELETE, refused ones included, is recorded ([`ZoomSim::deletions`], [`DeleteCall`]);
//!   what became of each file is [`ZoomSim::file_status`] ([`FileStatus`]);
//! - delete-only faults ([`DeleteFault`]: 429 with [`RetryAfter`], 500, 503, 404 code 3301,
//!   401 code 124, and "deleted, then 500") for the next `times` DELETEs
//!   ([`ZoomSim::fail_deletes`]); GETs keep working;
//! - changing a recording after it was registered ("changed at the vendor after we copied
//!   it"): [`ZoomSim::add_file`] and [`ZoomSim::set_file_size`] (new content and SHA-256;
//!   the REST listing and the CDN follow), [`ZoomSim::file`] for the current state;
//! - deletion webhooks: [`SimRecording::recording_trashed_body`] /
//!   [`SimRecording::recording_deleted_body`] (`payload.operator`, `payload.operator_id`,
//!   the object with every file; `recording.deleted` without `download_token`) and
//!   [`ZoomSim::app_deauthorized_body`], all signable with [`sign`] / [`deliver`];
//! - OAuth token revocation: `POST {api_base}/oauth/revoke` ([`ZoomSim::oauth_revoke_url`])
//!   with the S2S app's Basic auth and `token=` (query or form) answers
//!   `{"status":"success"}`; the token then gets 401 code 124 on the REST API. Every call is
//!   recorded without the token ([`ZoomSim::revocations`], [`RevokeCall`]);
//! - the account's users and listings for a backfill: [`ZoomSim::add_user`] ([`UserSpec`],
//!   [`UserStatus`]; a recording is a user's when its `host_id` is the user's id,
//!   [`RecordingSpec::hosted_by`]) and `GET /v2/users?status=active|inactive|pending`
//!   (default `active`: deactivated users are listed only with `status=inactive`),
//!   `GET /v2/users/{userId}` (one user, with its SAML-mapped `cms_user_id`), the users'
//!   `group_ids` and `GET /v2/groups` (every group a user is in, [`UserSpec::in_groups`]),
//!   `GET /v2/users/{userId}/recordings?from&to` (`userId` = id, e-mail or `me`, the first
//!   user; unknown: 404 code 1001) and `GET /v2/accounts/me/recordings` (every recording;
//!   off unless [`ZoomSim::set_account_recordings_allowed`], 400 code 4711 otherwise).
//!   Recordings whose `start_time` falls on a UTC day in `from..=to` (default: today) are
//!   listed newest first, as the objects of `GET /v2/meetings/{…}/recordings` without
//!   `password`; `to` more than one calendar month after `from` ([`within_a_month`]),
//!   before it, or a date not `yyyy-mm-dd` is a 400 code 300. All listings page with
//!   `page_size` (default 30, at most 300) and opaque `next_page_token`s bound to the query
//!   that expire after [`ZoomSim::set_page_token_ttl`] (15 minutes; also
//!   [`ZoomSim::expire_page_tokens`]): 400 code 300 "The next page token is invalid or
//!   expired." otherwise. Every call is recorded ([`ZoomSim::list_requests`],
//!   [`ListRequest`]); list-only faults hit the N-th next call ([`ZoomSim::fail_list_calls`]);
//! - the people of a meeting ([`PeopleSpec`], [`RecordingSpec::with_people`],
//!   [`ZoomSim::set_people`]): `GET /v2/metrics/{meetings|webinars}/{uuid}/participants?type=past`
//!   (with `role`), `GET /v2/report/{meetings|webinars}/{uuid}/participants` (`user_email`),
//!   `GET /v2/meetings/{meetingId}` / `GET /v2/webinars/{webinarId}` (`settings.alternative_hosts`)
//!   and `GET /v2/webinars/{webinarId}/panelists`, paged like the listings; an unknown meeting (or
//!   one of the other kind) is a 404 code 3001; the REST-wide [`ApiFault`]s apply, a scope can be
//!   denied ([`ZoomSim::deny_people_scope`]: 400 code 4711), and every call is recorded
//!   ([`ZoomSim::people_requests`], [`PeopleRequest`]);
//! - cheap content for huge files: [`ZoomSim::add_recording_sparse`] serves binary files
//!   as [`ContentKind::Sparse`], so a 4 GiB file streams at copy speed; its SHA-256 is
//!   computed once at registration (about 3 s per 4 GiB in a dev build, cached per
//!   `(seed, size)`) and also available as [`ZoomSim::file_sha256`].
//!
//! Log and `Debug` hygiene: the simulator never logs tokens, credentials or signed URLs,
//! the `Debug` output of [`SimRecording`] and [`S2sApp`] hides tokens and secrets, and
//! [`RevokeCall`] does not hold the revoked token.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use zoom_sim::{RecordingSpec, ZoomSim};
//! let sim = ZoomSim::start().await?;
//! let rec = sim.add_recording(RecordingSpec::realistic("demo", 64 * 1024));
//! let body = rec.recording_completed_body();
//! let ts = zoom_sim::unix_now();
//! let (status, _) =
//!     zoom_sim::deliver(&reqwest::Client::new(), "http://127.0.0.1:9/webhook", "secret", ts, &body)
//!         .await?;
//! # let _ = status; Ok(()) }
//! ```

mod content;
mod listing;
mod payload;
mod people;
mod serve;
mod server;
mod signing;
mod spec;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Context as _;
use rand::Rng as _;

pub use content::{ContentKind, Generator, content_type_for};
pub use listing::within_a_month;
pub use people::{PeopleEndpoint, PeopleRequest};
pub use serve::{Server, query_pairs};
pub use server::http_date;
pub use signing::{
    ZOOM_USER_AGENT, deliver, expected_encrypted_token, jwt_claims, jwt_exp, random_plain_token,
    sign, test_vector, unix_now, url_validation_body,
};
pub use spec::{FileSpec, PeopleSpec, PersonSpec, RecordingSpec, UserSpec, UserStatus};

use payload::{Envelope, ObjectCtx, Payload};

/// Lifetime of a webhook `download_token` (Zoom: about 24 hours).
pub const DOWNLOAD_TOKEN_TTL_SECS: i64 = 24 * 3600;
/// Lifetime of an API (OAuth) token from [`ZoomSim::issue_api_token`].
pub const API_TOKEN_TTL_SECS: i64 = 3600;
/// Default `ttl` of a `download_access_token` from the REST API.
pub const DEFAULT_ACCESS_TOKEN_TTL_SECS: i64 = 24 * 3600;
/// Largest `ttl` Zoom accepts (7 days).
pub const MAX_ACCESS_TOKEN_TTL_SECS: i64 = 604_800;
/// Lifetime of a `next_page_token` of the REST listings (Zoom: 15 minutes).
pub const PAGE_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// `page_size` of the REST listings when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 30;
/// Largest `page_size` of the REST listings; a larger one is served as this.
pub const MAX_PAGE_SIZE: u32 = 300;

/// A fault injected for one file. Times-limited faults clear themselves once used up.
/// One fault per file at a time: [`ZoomSim::set_fault`] replaces the previous one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `/rec/download` always answers the HTML page, even with a good token.
    Html200,
    /// The next `times` `/rec/download` requests get 429 with `Retry-After`
    /// (seconds), `X-RateLimit-Type: QPS` and Zoom's JSON body.
    RateLimited { times: u32, retry_after_secs: u64 },
    /// The next `times` `/rec/download` requests get 503.
    ServerError { times: u32 },
    /// The next `times` CDN responses promise the full `Content-Length` and close the
    /// connection after `bytes` bytes of body. The cut is relative to where the response
    /// starts: a `Range: bytes=k-` response is cut at offset `k + bytes`. A response that
    /// ends before the cut is sent whole (it still uses up a time).
    /// `times: u32::MAX` means forever: every response is cut after `bytes` bytes.
    DropAfter { bytes: u64, times: u32 },
    /// The file is gone: `/rec/download` answers the HTML page, the CDN 404, and the
    /// REST API leaves it out.
    Deleted,
    /// Every CDN response waits `millis` before sending its headers.
    SlowStart { millis: u64 },
    /// A slow CDN: every CDN response sends its body at no more than `bytes_per_sec`
    /// (in 64 KiB blocks, paced from the response's start), so that a large file takes
    /// longer than one invocation. Connections are paced one by one, not in total.
    Throttle { bytes_per_sec: u64 },
    /// The CDN ignores `Range` (any `Range` header, even an unsatisfiable one) and
    /// answers 200 with the whole body.
    IgnoreRange,
    /// The next `times` `/rec/download` requests get 401 with
    /// `{"code":124,"message":"Invalid access token."}`, whatever the token.
    Unauthorized { times: u32 },
    /// `/rec/download` always answers 200, `Content-Type: application/octet-stream`, no
    /// `Content-Length`, with an HTML error page behind a UTF-8 BOM and blank lines
    /// (`EF BB BF \r\n \n \t \n <!DOCTYPE html>…`). The body is streamed so that the
    /// first chunk is exactly 1 byte (the BOM's first byte), then the rest in small
    /// pieces: a client must sniff across chunks.
    HtmlDisguised,
    /// Like [`Fault::RateLimited`], but `Retry-After` is an HTTP date (IMF-fixdate,
    /// `Tue, 01 Dec 2026 10:00:00 GMT`) `secs` seconds from now.
    RateLimitedDate { times: u32, secs: u64 },
    /// The CDN's object is only the first `bytes` bytes of the file (fewer than the
    /// webhook's `file_size`): a full GET answers 200 with `Content-Length: bytes` and
    /// ends cleanly; ranges are served against the short object (`Content-Range:
    /// …/bytes`, 416 from `bytes` on). No effect if `bytes` ≥ the file's size.
    Truncated { bytes: u64 },
}

/// When a 429 says to come back (`Retry-After`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: <n>` (seconds).
    Secs(u64),
    /// `Retry-After: Tue, 01 Dec 2026 10:00:00 GMT`: an IMF-fixdate this many seconds
    /// from now.
    HttpDate(u64),
    /// `Retry-After: 2026-12-02T00:00:00Z`: an RFC 3339 timestamp this many seconds from
    /// now (the form the protocol reference reports for Zoom's daily limit).
    Timestamp(u64),
    /// No `Retry-After` header at all (seen on some Zoom 429s).
    Omitted,
}

/// A fault of the REST API as a whole (`/v2/…`, listings included, set with
/// [`ZoomSim::set_api_fault`]), of the listings only ([`ZoomSim::fail_list_calls`]) or of
/// the token endpoint (`/oauth/token`, set with [`ZoomSim::set_token_fault`]). Every
/// variant is used up after `times` requests and then clears itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiFault {
    /// 429, `X-RateLimit-Type: QPS`, `X-RateLimit-Category: Light` (`Medium` on the
    /// listings), `{"code":429,"message":"You have reached the maximum per-second rate limit…"}`.
    RateLimited { times: u32, retry_after: RetryAfter },
    /// 429, `X-RateLimit-Type: Daily-limit`, Zoom's daily-limit message. `Retry-After`
    /// is the seconds to the next UTC midnight unless set with
    /// [`ZoomSim::set_daily_limit_retry_after`].
    DailyLimit { times: u32 },
    /// 503 with a load balancer's HTML page.
    ServerError { times: u32 },
    /// 500 with `{"code":500,"message":"Internal Error"}`.
    InternalError { times: u32 },
    /// REST: 401 `{"code":124,"message":"Invalid access token."}` even with a good
    /// token. Token endpoint: 401 `invalid_client` even with good credentials.
    Unauthorized { times: u32 },
}

impl ApiFault {
    /// The same fault with one time used up (`None` once all are used).
    pub(crate) fn used_once(&self) -> Option<ApiFault> {
        let dec = |t: u32| (t > 1).then(|| t - 1);
        match self {
            ApiFault::RateLimited { times, retry_after } => {
                dec(*times).map(|times| ApiFault::RateLimited {
                    times,
                    retry_after: retry_after.clone(),
                })
            }
            ApiFault::DailyLimit { times } => {
                dec(*times).map(|times| ApiFault::DailyLimit { times })
            }
            ApiFault::ServerError { times } => {
                dec(*times).map(|times| ApiFault::ServerError { times })
            }
            ApiFault::InternalError { times } => {
                dec(*times).map(|times| ApiFault::InternalError { times })
            }
            ApiFault::Unauthorized { times } => {
                dec(*times).map(|times| ApiFault::Unauthorized { times })
            }
        }
    }

    pub(crate) fn times(&self) -> u32 {
        match self {
            ApiFault::RateLimited { times, .. }
            | ApiFault::DailyLimit { times }
            | ApiFault::ServerError { times }
            | ApiFault::InternalError { times }
            | ApiFault::Unauthorized { times } => *times,
        }
    }
}

/// A fault of the recording DELETE endpoints only (`DELETE /v2/meetings/{…}/recordings` and
/// `…/recordings/{recordingId}`), set with [`ZoomSim::fail_deletes`] for the next `times`
/// DELETEs; GETs, downloads and the token endpoint are not affected. Every faulted DELETE is
/// still recorded in [`ZoomSim::deletions`] (with `injected: true`). Like [`ApiFault`] it
/// is applied before the bearer token is checked, and nothing is removed unless the variant
/// says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeleteFault {
    /// 429, `X-RateLimit-Type: QPS`, with this `Retry-After` (as [`ApiFault::RateLimited`]).
    RateLimited(RetryAfter),
    /// 500 with `{"code":500,"message":"Internal Error"}`.
    InternalError,
    /// 503 with a load balancer's HTML page.
    ServiceUnavailable,
    /// 404 `{"code":3301,"message":"This recording does not exist."}` although it exists.
    NotFound,
    /// 401 `{"code":124,"message":"Invalid access token."}` even with a good token.
    Unauthorized,
    /// The DELETE is handled as without a fault (token check, lookup, removal), but a 204 is
    /// answered as 500 `Internal Error`: the vendor removed the recording and the answer was
    /// lost. Any other outcome (401, 404, 400) is answered as it is.
    InternalErrorAfterApplying,
}

/// What became of one file at the simulated Zoom ([`ZoomSim::file_status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileStatus {
    /// Listed by the REST API and downloadable.
    Available,
    /// Moved to the trash (`action=trash`, or no `action`). On Zoom it is recoverable for
    /// 30 days; the simulator has no recover endpoint. Gone from the listing and downloads.
    Trashed,
    /// Deleted for good (`action=delete`). Gone from the listing and downloads.
    Deleted,
}

/// One `DELETE /v2/meetings/{meetingId}/recordings[/{recordingId}]` the simulator received,
/// whatever its outcome ([`ZoomSim::deletions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeleteCall {
    /// The meeting instance the call addressed: the `{meetingId}` decoded by Zoom's rules
    /// (double-encoded UUID, or a UUID/number encoded once); a meeting number that found an
    /// instance is replaced by that instance's UUID. A segment Zoom would not decode (a UUID
    /// with `/` encoded only once) is given decoded once, as the client meant it.
    pub uuid: String,
    /// The `{meetingId}` path segment exactly as received (still percent-encoded).
    pub raw_meeting_id: String,
    /// `{recordingId}` (decoded) for a one-file DELETE; `None` for the whole instance.
    pub file_id: Option<String>,
    /// The `action` query parameter as sent; `None` when it was missing (treated as `trash`).
    pub action: Option<String>,
    /// The HTTP status the simulator answered (204, 400, 401, 404, 429, 500, 503).
    pub status: u16,
    /// Answered by an injected fault ([`ZoomSim::fail_deletes`] or [`ZoomSim::set_api_fault`])
    /// rather than by the simulated Zoom's own logic.
    pub injected: bool,
    /// When the simulator received it.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Which REST listing a [`ListRequest`] called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListEndpoint {
    /// `GET /v2/users`.
    Users,
    /// `GET /v2/users/{userId}/recordings`.
    UserRecordings,
    /// `GET /v2/accounts/{accountId}/recordings`.
    AccountRecordings,
}

/// One call of a REST listing the simulator received, whatever its outcome
/// ([`ZoomSim::list_requests`]). The query values are as sent, not as defaulted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListRequest {
    pub endpoint: ListEndpoint,
    /// The request path as received (still percent-encoded, without the query).
    pub path: String,
    /// `{userId}` of [`ListEndpoint::UserRecordings`], percent-decoded, as sent (an id, an
    /// e-mail or `me`); `None` for the other endpoints.
    pub user: Option<String>,
    /// `status` of [`ListEndpoint::Users`] as sent; `None` when missing (or for the other
    /// endpoints).
    pub user_status: Option<String>,
    /// `from`; `None` when missing or not a `yyyy-mm-dd` date.
    pub from: Option<chrono::NaiveDate>,
    /// `to`; `None` when missing or not a `yyyy-mm-dd` date.
    pub to: Option<chrono::NaiveDate>,
    /// `page_size` as sent (before the cap at [`MAX_PAGE_SIZE`]); `None` when missing or
    /// not a number.
    pub page_size: Option<u32>,
    /// Whether a non-empty `next_page_token` was sent (valid or not).
    pub had_token: bool,
    /// The HTTP status answered (200, 400, 401, 404, 429, 500, 503).
    pub status: u16,
    /// Answered by an injected fault ([`ZoomSim::fail_list_calls`] or
    /// [`ZoomSim::set_api_fault`]).
    pub injected: bool,
    /// When the simulator received it.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// One `POST /oauth/revoke` the simulator received ([`ZoomSim::revocations`]). Holds no
/// token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeCall {
    /// The HTTP status answered: 200, 400 (`token` missing) or 401 (client credentials).
    pub status: u16,
    /// Whether `token` was one the simulator had issued (it is revoked now). An unknown
    /// token is answered 200 as well (RFC 7009).
    pub token_known: bool,
    /// When the simulator received it.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// The simulator's one Server-to-Server OAuth app (random per start). `Debug` hides the
/// secret.
#[derive(Clone, PartialEq, Eq)]
pub struct S2sApp {
    pub account_id: String,
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for S2sApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S2sApp")
            .field("account_id", &self.account_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

impl S2sApp {
    /// `Basic base64(client_id:client_secret)`: the `Authorization` value for
    /// `POST /oauth/token`.
    pub fn basic_auth(&self) -> String {
        format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{}:{}", self.client_id, self.client_secret)
            )
        )
    }
}

/// What the simulator saw and did on the token endpoint and the REST API (sim-wide).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApiStats {
    /// `POST /oauth/token` requests, whatever their outcome.
    pub token_requests: u64,
    /// Access tokens issued by `/oauth/token`.
    pub tokens_issued: u64,
    /// `/oauth/token` refusals: 400 (grant type, account) and 401 (client credentials,
    /// [`ApiFault::Unauthorized`]).
    pub token_refusals: u64,
    /// REST requests (`/v2/…`), whatever their outcome.
    pub api_requests: u64,
    /// REST 401s: missing, bad, revoked or expired token, or [`ApiFault::Unauthorized`].
    pub api_unauthorized: u64,
    /// 429s sent by the REST API and the token endpoint (QPS and daily).
    pub api_rate_limited: u64,
    /// Of those, `Daily-limit` 429s.
    pub api_daily_limited: u64,
    /// 5xx sent by the REST API and the token endpoint.
    pub api_server_errors: u64,
}

/// What the simulator saw and did for one file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Requests to `/rec/download/{id}` (API host).
    pub download_requests: u64,
    /// Requests to `/cdn/{id}` (CDN host).
    pub cdn_requests: u64,
    /// 302 redirects to the CDN.
    pub redirects: u64,
    /// HTML-200 refusals (bad/missing/revoked/expired token, token in query, deleted,
    /// [`Fault::Html200`], [`Fault::HtmlDisguised`]).
    pub html_responses: u64,
    /// CDN requests that carried an `Authorization` header (each answered 400).
    pub auth_leaks: u64,
    /// CDN requests refused for a missing, bad or expired signature (403).
    pub bad_signatures: u64,
    /// 429s sent.
    pub rate_limited: u64,
    /// 503s sent.
    pub server_errors: u64,
    /// CDN responses cut short on purpose ([`Fault::DropAfter`]).
    pub dropped_connections: u64,
    /// CDN responses answered 206 to a `Range` request.
    pub range_requests: u64,
    /// CDN requests whose `Range` was ignored ([`Fault::IgnoreRange`]: 200, whole body).
    pub ignored_ranges: u64,
    /// `/rec/download` 401s ([`Fault::Unauthorized`]).
    pub unauthorized: u64,
    /// `/rec/download` HTML pages disguised as binary ([`Fault::HtmlDisguised`]; also
    /// counted in `html_responses`).
    pub disguised_html: u64,
    /// CDN responses served from a short object ([`Fault::Truncated`]).
    pub truncated_bodies: u64,
    /// Body bytes handed to the connection by the CDN.
    pub bytes_served: u64,
    /// CDN bodies streamed to the file's end (full file or range to end; not counted
    /// for [`Fault::Truncated`] bodies).
    pub complete_bodies: u64,
    /// Every CDN body begun, in order: where it started and how many of its bytes were
    /// handed to the connection (so far). Shows where each resume began and how much of
    /// a body the client left unread.
    pub bodies: Vec<ServedBody>,
    /// The bearer token of the last `/rec/download` request, if any.
    pub last_bearer: Option<String>,
}

/// One CDN response body (see [`FileStats::bodies`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServedBody {
    /// Offset of its first byte in the file (0 for a full GET; `N` for `Range: bytes=N-`).
    pub start: u64,
    /// Bytes of it handed to the connection.
    pub bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Download token for one recording (by uuid).
    Recording(String),
    /// OAuth access token: REST API and any download.
    Api,
}

#[derive(Clone, Debug)]
pub(crate) struct Grant {
    pub scope: Scope,
    pub exp: i64,
    pub revoked: bool,
}

pub(crate) struct FileEntry {
    pub uuid: String,
    pub sha256: String,
    pub spec: FileSpec,
    pub generator: Generator,
    pub file_name: String,
    pub fault: Option<Fault>,
    pub stats: FileStats,
    /// Trashed or deleted through the REST API.
    pub status: FileStatus,
}

impl FileEntry {
    /// Removed through the API or by [`Fault::Deleted`]: not listed, not downloadable.
    pub fn is_gone(&self) -> bool {
        self.status != FileStatus::Available || self.fault == Some(Fault::Deleted)
    }

    /// The test-facing view of the file as it is now.
    fn sim_file(&self, api_base: &str) -> SimFile {
        let f = &self.spec;
        SimFile {
            id: f.id.clone(),
            file_type: f.file_type.clone(),
            file_extension: f.file_extension.clone(),
            recording_type: f.recording_type.clone(),
            recording_start: f.recording_start,
            recording_end: f.recording_end,
            size: f.size,
            seed: f.seed,
            sha256: self.sha256.clone(),
            download_url: payload::download_url(api_base, &f.id, None),
            content_type: content_type_for(&f.file_extension).to_owned(),
            file_name: self.file_name.clone(),
            is_transcript: f.is_transcript(),
            kind: self.generator.kind,
        }
    }
}

pub(crate) struct RecEntry {
    pub spec: RecordingSpec,
    pub share_url: String,
    pub password: String,
    pub play_passcode: String,
}

pub(crate) struct State {
    pub recordings: HashMap<String, RecEntry>,
    pub files: HashMap<String, FileEntry>,
    pub tokens: HashMap<String, Grant>,
    pub s2s: S2sApp,
    pub api_token_ttl: i64,
    pub api_fault: Option<ApiFault>,
    pub token_fault: Option<ApiFault>,
    /// `Retry-After` of [`ApiFault::DailyLimit`]; `None` = seconds to next UTC midnight.
    pub daily_retry_after: Option<RetryAfter>,
    pub api_stats: ApiStats,
    /// [`ZoomSim::fail_deletes`]: the fault and how many DELETEs it still applies to.
    pub delete_fault: Option<(DeleteFault, u32)>,
    pub deletions: Vec<DeleteCall>,
    pub revocations: Vec<RevokeCall>,
    /// The account's users, in the order added (`GET /v2/users` lists them so).
    pub users: Vec<UserSpec>,
    /// Live `next_page_token`s of the REST listings.
    pub page_tokens: HashMap<String, listing::PageToken>,
    pub page_token_ttl: Duration,
    /// [`ZoomSim::set_account_recordings_allowed`].
    pub account_recordings_allowed: bool,
    /// [`ZoomSim::fail_list_calls`]: the fault and how many list calls still pass first.
    pub list_fault: Option<(ApiFault, u32)>,
    pub list_requests: Vec<ListRequest>,
    /// [`ZoomSim::deny_people_scope`]: the calls about people answered "does not contain scopes".
    pub people_denied: std::collections::HashSet<PeopleEndpoint>,
    pub people_requests: Vec<PeopleRequest>,
}

impl State {
    fn new() -> State {
        let mut rng = rand::rng();
        let alnum = |rng: &mut rand::rngs::ThreadRng, n: usize| -> String {
            (0..n)
                .map(|_| rng.sample(rand::distr::Alphanumeric) as char)
                .collect()
        };
        let account: [u8; 16] = rng.random();
        State {
            recordings: HashMap::new(),
            files: HashMap::new(),
            tokens: HashMap::new(),
            s2s: S2sApp {
                account_id: base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    account,
                ),
                client_id: alnum(&mut rng, 22),
                client_secret: alnum(&mut rng, 32),
            },
            api_token_ttl: API_TOKEN_TTL_SECS,
            api_fault: None,
            token_fault: None,
            daily_retry_after: None,
            api_stats: ApiStats::default(),
            delete_fault: None,
            deletions: Vec::new(),
            revocations: Vec::new(),
            users: Vec::new(),
            page_tokens: HashMap::new(),
            page_token_ttl: PAGE_TOKEN_TTL,
            account_recordings_allowed: false,
            list_fault: None,
            list_requests: Vec::new(),
            people_denied: std::collections::HashSet::new(),
            people_requests: Vec::new(),
        }
    }
}

pub(crate) struct Shared {
    state: Mutex<State>,
    pub api_base: String,
    pub cdn_base: String,
    pub token_key: [u8; 32],
    pub cdn_key: [u8; 32],
}

impl Shared {
    /// Lock the state. Never held across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn issue_token(&self, scope: Scope, ttl_secs: i64) -> String {
        let now = unix_now();
        let jti: [u8; 16] = rand::rng().random();
        let (token_type, sub) = match &scope {
            Scope::Recording(uuid) => ("recording_download", uuid.clone()),
            Scope::Api => ("access_token", "s2s".to_owned()),
        };
        let claims = serde_json::json!({
            "iss": "zoom-sim",
            "aud": "https://oauth.zoom.us",
            "sub": sub,
            "tokenType": token_type,
            "iat": now,
            "exp": now + ttl_secs,
            "jti": hex::encode(jti),
        });
        let token = signing::make_jwt(&self.token_key, &claims);
        self.lock().tokens.insert(
            token.clone(),
            Grant {
                scope,
                exp: now + ttl_secs,
                revoked: false,
            },
        );
        token
    }
}

/// One file of a [`SimRecording`]: the spec plus what a test needs to check a download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimFile {
    pub id: String,
    pub file_type: String,
    pub file_extension: String,
    pub recording_type: String,
    pub recording_start: chrono::DateTime<chrono::Utc>,
    pub recording_end: chrono::DateTime<chrono::Utc>,
    pub size: u64,
    pub seed: u64,
    /// Lower-case hex SHA-256 of the whole content.
    pub sha256: String,
    /// `{api_base}/rec/download/{id}`, plus a query on re-deliveries.
    pub download_url: String,
    /// `Content-Type` the CDN serves.
    pub content_type: String,
    /// File name in the CDN's `Content-Disposition`.
    pub file_name: String,
    /// Served from the transcript event rather than `recording.completed`.
    pub is_transcript: bool,
    kind: ContentKind,
}

impl SimFile {
    /// The content bytes at `offset..offset + len` (clamped to the end), for checking
    /// partial or resumed downloads.
    pub fn bytes_at(&self, offset: u64, len: usize) -> Vec<u8> {
        self.generator().bytes(offset, len)
    }

    /// How the content looks (binary, VTT, chat text).
    pub fn content_kind(&self) -> ContentKind {
        self.kind
    }

    fn generator(&self) -> Generator {
        Generator {
            kind: self.kind,
            seed: self.seed,
            size: self.size,
        }
    }

    fn spec(&self) -> FileSpec {
        FileSpec {
            id: self.id.clone(),
            file_type: self.file_type.clone(),
            file_extension: self.file_extension.clone(),
            recording_type: self.recording_type.clone(),
            recording_start: self.recording_start,
            recording_end: self.recording_end,
            size: self.size,
            seed: self.seed,
        }
    }
}

/// A recording registered with the simulator: its spec, its tokens, its files with
/// their hashes, and the webhook bodies Zoom would send for it.
#[derive(Clone)]
pub struct SimRecording {
    pub account_id: String,
    pub host_id: String,
    pub host_email: String,
    pub topic: String,
    pub meeting_id: u64,
    pub uuid: String,
    pub object_type: u32,
    pub start_time: chrono::DateTime<chrono::Utc>,
    pub timezone: String,
    /// `download_token` of this delivery of `recording.completed` (JWT-shaped, `exp`
    /// 24 h ahead).
    pub download_token: String,
    /// `download_token` of `recording.transcript_completed`.
    pub transcript_download_token: String,
    pub share_url: String,
    pub password: String,
    pub recording_play_passcode: String,
    /// Query on this delivery's `download_url`s (`None` for the first delivery).
    pub url_query: Option<String>,
    files: Vec<SimFile>,
    /// The people as registered ([`ZoomSim::set_people`] changes what Zoom answers, not this).
    people: PeopleSpec,
    api_base: String,
    shared: Arc<Shared>,
}

impl fmt::Debug for SimRecording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimRecording")
            .field("uuid", &self.uuid)
            .field("meeting_id", &self.meeting_id)
            .field("topic", &self.topic)
            .field("object_type", &self.object_type)
            .field("download_token", &"<redacted>")
            .field("url_query", &self.url_query)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl SimRecording {
    /// All files, transcript included.
    pub fn files(&self) -> &[SimFile] {
        &self.files
    }

    /// The files `recording.completed` carries: everything but the transcript (video,
    /// audio, chat, timeline, …).
    pub fn media_files(&self) -> Vec<&SimFile> {
        self.files.iter().filter(|f| !f.is_transcript).collect()
    }

    /// The transcript, delivered by `recording.transcript_completed`.
    pub fn transcript_file(&self) -> Option<&SimFile> {
        self.files.iter().find(|f| f.is_transcript)
    }

    /// One file by id.
    pub fn file(&self, id: &str) -> Option<&SimFile> {
        self.files.iter().find(|f| f.id == id)
    }

    /// The spec this recording was registered with.
    pub fn spec(&self) -> RecordingSpec {
        RecordingSpec {
            account_id: self.account_id.clone(),
            host_id: self.host_id.clone(),
            host_email: self.host_email.clone(),
            topic: self.topic.clone(),
            meeting_id: self.meeting_id,
            uuid: self.uuid.clone(),
            object_type: self.object_type,
            start_time: self.start_time,
            timezone: self.timezone.clone(),
            files: self.files.iter().map(SimFile::spec).collect(),
            people: self.people.clone(),
        }
    }

    /// The raw JSON Zoom POSTs for `recording.completed` (`event_ts` = now).
    pub fn recording_completed_body(&self) -> String {
        self.event_body(
            "recording.completed",
            &self.download_token,
            self.files.iter().filter(|f| !f.is_transcript),
        )
    }

    /// The raw JSON Zoom POSTs for `recording.transcript_completed`: the same object
    /// with only the transcript file and its own `download_token`.
    pub fn transcript_completed_body(&self) -> String {
        self.event_body(
            "recording.transcript_completed",
            &self.transcript_download_token,
            self.files.iter().filter(|f| f.is_transcript),
        )
    }

    /// A re-delivery as Zoom's duplicates look: new `download_token`s (the old ones stay
    /// valid) and a different query on every `download_url`.
    pub fn with_fresh_token(&self) -> SimRecording {
        let scope = Scope::Recording(self.uuid.clone());
        let mut next = self.clone();
        next.download_token = self
            .shared
            .issue_token(scope.clone(), DOWNLOAD_TOKEN_TTL_SECS);
        next.transcript_download_token = self.shared.issue_token(scope, DOWNLOAD_TOKEN_TTL_SECS);
        let nonce: [u8; 8] = rand::rng().random();
        let query = format!("dt={}", hex::encode(nonce));
        for f in &mut next.files {
            f.download_url = payload::download_url(&self.api_base, &f.id, Some(&query));
        }
        next.url_query = Some(query);
        next
    }

    fn event_body<'a>(
        &self,
        event: &str,
        token: &str,
        files: impl Iterator<Item = &'a SimFile>,
    ) -> String {
        let spec = self.spec();
        let specs: Vec<FileSpec> = files.map(SimFile::spec).collect();
        let object = payload::recording_object(
            &spec,
            &specs,
            &ObjectCtx {
                api_base: &self.api_base,
                url_query: self.url_query.as_deref(),
                share_url: &self.share_url,
                password: &self.password,
                play_passcode: &self.recording_play_passcode,
                type_as_string: false,
            },
        );
        let env = Envelope {
            event,
            event_ts: chrono::Utc::now().timestamp_millis(),
            download_token: Some(token),
            payload: Payload {
                account_id: &self.account_id,
                operator: None,
                operator_id: None,
                object,
            },
        };
        serde_json::to_string(&env).expect("payload serializes")
    }

    /// The raw JSON Zoom POSTs for `recording.trashed` (`event_ts` = now): top-level
    /// `download_token`, `payload.operator` (e-mail of who trashed it) and
    /// `payload.operator_id`, and the object with **every** file of the recording as the
    /// simulator holds it now (transcript and files added with [`ZoomSim::add_file`]
    /// included, current sizes), whether or not they were removed through the API.
    pub fn recording_trashed_body(&self, operator_email: &str, operator_id: &str) -> String {
        self.removal_body(
            "recording.trashed",
            Some(&self.download_token),
            operator_email,
            operator_id,
        )
    }

    /// The raw JSON Zoom POSTs for `recording.deleted` (permanent deletion): as
    /// [`SimRecording::recording_trashed_body`] but, as in Zoom's sample, without
    /// `download_token` and without `host_email`, `password` and `recording_play_passcode`
    /// in the object.
    pub fn recording_deleted_body(&self, operator_email: &str, operator_id: &str) -> String {
        self.removal_body("recording.deleted", None, operator_email, operator_id)
    }

    fn removal_body(
        &self,
        event: &str,
        token: Option<&str>,
        operator: &str,
        operator_id: &str,
    ) -> String {
        let mut spec = self.spec();
        {
            // The files as the simulator holds them now (added files, changed sizes).
            let st = self.shared.lock();
            if let Some(rec) = st.recordings.get(&self.uuid) {
                spec.files = rec
                    .spec
                    .files
                    .iter()
                    .filter_map(|f| st.files.get(&f.id).filter(|e| e.uuid == self.uuid))
                    .map(|e| e.spec.clone())
                    .collect();
            }
        }
        let mut object = payload::recording_object(
            &spec,
            &spec.files,
            &ObjectCtx {
                api_base: &self.api_base,
                url_query: self.url_query.as_deref(),
                share_url: &self.share_url,
                password: &self.password,
                play_passcode: &self.recording_play_passcode,
                type_as_string: false,
            },
        );
        if token.is_none() {
            object.host_email = None;
            object.password = None;
            object.recording_play_passcode = None;
        }
        let env = Envelope {
            event,
            event_ts: chrono::Utc::now().timestamp_millis(),
            download_token: token,
            payload: Payload {
                account_id: &self.account_id,
                operator: Some(operator),
                operator_id: Some(operator_id),
                object,
            },
        };
        serde_json::to_string(&env).expect("payload serializes")
    }
}

/// Encode a meeting id or instance UUID for `/v2/meetings/{meetingId}/…` as Zoom
/// requires: double URL-encoded when it starts with `/` or contains `//`, otherwise
/// encoded once (`/`, `+`, `=` always escaped).
pub fn encode_meeting_id(uuid: &str) -> String {
    let once = payload::encode_segment(uuid);
    if uuid.starts_with('/') || uuid.contains("//") {
        payload::encode_segment(&once)
    } else {
        once
    }
}

/// The running simulator. Serves on 127.0.0.1 until dropped or [`ZoomSim::shutdown`].
pub struct ZoomSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: Server,
}

impl fmt::Debug for ZoomSim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoomSim").field("addr", &self.addr).finish()
    }
}

impl ZoomSim {
    /// Start on an ephemeral port of 127.0.0.1. Needs a Tokio runtime.
    pub async fn start() -> anyhow::Result<ZoomSim> {
        Self::start_on_port(0).await
    }

    /// Start on a given port of 127.0.0.1 (0 = any free port).
    pub async fn start_on_port(port: u16) -> anyhow::Result<ZoomSim> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
        let addr = listener.local_addr()?;
        let mut rng = rand::rng();
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new()),
            api_base: format!("http://127.0.0.1:{}", addr.port()),
            cdn_base: format!("http://localhost:{}", addr.port()),
            token_key: rng.random(),
            cdn_key: rng.random(),
        });
        let server = Server::spawn("zoom-sim", listener, server::router(shared.clone()));
        tracing::debug!(%addr, "zoom-sim listening");
        Ok(ZoomSim {
            shared,
            addr,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`: REST API and `/rec/download`.
    pub fn api_base(&self) -> String {
        self.shared.api_base.clone()
    }

    /// `http://localhost:<port>`: the same server under another host name, used as the
    /// CDN that `/rec/download` redirects to.
    pub fn cdn_base(&self) -> String {
        self.shared.cdn_base.clone()
    }

    /// The socket address served.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Register a recording and its files, computing each file's SHA-256 by streaming
    /// its generator once. Issues a `download_token` for `recording.completed` and another
    /// for `recording.transcript_completed`. A file id registered before is replaced.
    pub fn add_recording(&self, spec: RecordingSpec) -> SimRecording {
        self.add_recording_with(spec, |f| {
            ContentKind::for_file(&f.file_type, &f.file_extension)
        })
    }

    /// [`ZoomSim::add_recording`], but every file that would be [`ContentKind::Binary`]
    /// (MP4, M4A, TIMELINE, …) gets [`ContentKind::Sparse`] content: cheap to serve at
    /// any size (a 4 GiB file streams at copy speed). Text files keep their text. Each
    /// sparse file's SHA-256 is still computed here (about 3 s per 4 GiB in a dev build,
    /// then cached per `(seed, size)` for the process).
    pub fn add_recording_sparse(&self, spec: RecordingSpec) -> SimRecording {
        self.add_recording_with(spec, |f| {
            match ContentKind::for_file(&f.file_type, &f.file_extension) {
                ContentKind::Binary => ContentKind::Sparse,
                other => other,
            }
        })
    }

    /// [`ZoomSim::add_recording`] with the content kind of each file chosen by `kind`.
    pub fn add_recording_with(
        &self,
        spec: RecordingSpec,
        kind: impl Fn(&FileSpec) -> ContentKind,
    ) -> SimRecording {
        let api_base = self.shared.api_base.clone();
        let files: Vec<SimFile> = spec
            .files
            .iter()
            .map(|f| {
                let kind = kind(f);
                let generator = Generator {
                    kind,
                    seed: f.seed,
                    size: f.size,
                };
                SimFile {
                    id: f.id.clone(),
                    file_type: f.file_type.clone(),
                    file_extension: f.file_extension.clone(),
                    recording_type: f.recording_type.clone(),
                    recording_start: f.recording_start,
                    recording_end: f.recording_end,
                    size: f.size,
                    seed: f.seed,
                    sha256: generator.sha256_hex(),
                    download_url: payload::download_url(&api_base, &f.id, None),
                    content_type: content_type_for(&f.file_extension).to_owned(),
                    file_name: file_name(f),
                    is_transcript: f.is_transcript(),
                    kind,
                }
            })
            .collect();

        let mut rng = rand::rng();
        let share_id: [u8; 24] = rng.random();
        let passcode: [u8; 24] = rng.random();
        let share_url = format!(
            "{api_base}/rec/share/{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, share_id)
        );
        let password = {
            let p: [u8; 6] = rng.random();
            format!(
                "{}#1",
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, p)
            )
        };
        let play_passcode =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, passcode);

        {
            let mut st = self.shared.lock();
            for f in &files {
                st.files.insert(
                    f.id.clone(),
                    FileEntry {
                        uuid: spec.uuid.clone(),
                        sha256: f.sha256.clone(),
                        spec: f.spec(),
                        generator: f.generator(),
                        file_name: f.file_name.clone(),
                        fault: None,
                        stats: FileStats::default(),
                        status: FileStatus::Available,
                    },
                );
            }
            st.recordings.insert(
                spec.uuid.clone(),
                RecEntry {
                    spec: spec.clone(),
                    share_url: share_url.clone(),
                    password: password.clone(),
                    play_passcode: play_passcode.clone(),
                },
            );
        }

        let scope = Scope::Recording(spec.uuid.clone());
        SimRecording {
            download_token: self
                .shared
                .issue_token(scope.clone(), DOWNLOAD_TOKEN_TTL_SECS),
            transcript_download_token: self.shared.issue_token(scope, DOWNLOAD_TOKEN_TTL_SECS),
            account_id: spec.account_id,
            host_id: spec.host_id,
            host_email: spec.host_email,
            topic: spec.topic,
            meeting_id: spec.meeting_id,
            uuid: spec.uuid,
            object_type: spec.object_type,
            start_time: spec.start_time,
            timezone: spec.timezone,
            share_url,
            password,
            recording_play_passcode: play_passcode,
            url_query: None,
            files,
            people: spec.people,
            api_base,
            shared: self.shared.clone(),
        }
    }

    /// Inject a fault for one file (replaces any earlier one).
    pub fn set_fault(&self, file_id: &str, fault: Fault) {
        if let Some(f) = self.shared.lock().files.get_mut(file_id) {
            f.fault = Some(fault);
        }
    }

    /// Remove a file's fault.
    pub fn clear_fault(&self, file_id: &str) {
        if let Some(f) = self.shared.lock().files.get_mut(file_id) {
            f.fault = None;
        }
    }

    /// What the server saw for one file (all zero for an unknown id).
    pub fn stats(&self, file_id: &str) -> FileStats {
        self.shared
            .lock()
            .files
            .get(file_id)
            .map(|f| f.stats.clone())
            .unwrap_or_default()
    }

    /// Revoke a token: later downloads with it get the HTML page, API calls 401.
    pub fn revoke_token(&self, token: &str) {
        if let Some(g) = self.shared.lock().tokens.get_mut(token) {
            g.revoked = true;
        }
    }

    /// An OAuth (Server-to-Server) access token, valid for an hour (or what
    /// [`ZoomSim::set_api_token_ttl`] set): accepted by the REST API and, as on Zoom, for
    /// any download. The same kind of token `POST /oauth/token` issues.
    pub fn issue_api_token(&self) -> String {
        let ttl = self.shared.lock().api_token_ttl;
        self.shared.issue_token(Scope::Api, ttl)
    }

    /// `{api_base}/oauth/token`: the Server-to-Server token endpoint (Zoom's is
    /// `https://zoom.us/oauth/token`).
    pub fn oauth_token_url(&self) -> String {
        format!("{}/oauth/token", self.shared.api_base)
    }

    /// The Server-to-Server OAuth app `/oauth/token` accepts.
    pub fn s2s_app(&self) -> S2sApp {
        self.shared.lock().s2s.clone()
    }

    /// Change the account id of the S2S app (default: random).
    pub fn set_s2s_account(&self, account_id: &str) {
        self.shared.lock().s2s.account_id = account_id.to_owned();
    }

    /// Lifetime (`expires_in`) of API tokens issued from now on by `/oauth/token` and
    /// [`ZoomSim::issue_api_token`] (default [`API_TOKEN_TTL_SECS`]; ≤ 0 = born expired).
    pub fn set_api_token_ttl(&self, secs: i64) {
        self.shared.lock().api_token_ttl = secs;
    }

    /// Expire every API (OAuth) token issued so far: the REST API answers them 401
    /// `{"code":124,"message":"Access token is expired."}` and downloads with them get
    /// the HTML page. Tokens issued afterwards work. Download tokens are not affected.
    pub fn expire_api_tokens(&self) {
        let now = unix_now();
        for g in self.shared.lock().tokens.values_mut() {
            if g.scope == Scope::Api && g.exp > now - 1 {
                g.exp = now - 1;
            }
        }
    }

    /// Inject a fault into the REST API (`/v2/…`), replacing any earlier one. It is used
    /// up by the next `times` REST requests, before their token is checked.
    pub fn set_api_fault(&self, fault: ApiFault) {
        self.shared.lock().api_fault = (fault.times() > 0).then_some(fault);
    }

    /// Remove the REST API's fault.
    pub fn clear_api_fault(&self) {
        self.shared.lock().api_fault = None;
    }

    /// Inject a fault into `POST /oauth/token` (separate from the REST API's), replacing
    /// any earlier one: 429 / 5xx as for the REST API, and [`ApiFault::Unauthorized`] as
    /// 401 `invalid_client` even with good credentials.
    pub fn set_token_fault(&self, fault: ApiFault) {
        self.shared.lock().token_fault = (fault.times() > 0).then_some(fault);
    }

    /// Remove the token endpoint's fault.
    pub fn clear_token_fault(&self) {
        self.shared.lock().token_fault = None;
    }

    /// `Retry-After` of [`ApiFault::DailyLimit`] responses; `None` (the default) = the
    /// seconds to the next UTC midnight. Tests set e.g. `Some(RetryAfter::Secs(1))`.
    pub fn set_daily_limit_retry_after(&self, retry_after: Option<RetryAfter>) {
        self.shared.lock().daily_retry_after = retry_after;
    }

    /// What the token endpoint and the REST API saw and did.
    pub fn api_stats(&self) -> ApiStats {
        self.shared.lock().api_stats.clone()
    }

    /// Lower-case hex SHA-256 of a registered file's whole content (the same value as
    /// [`SimFile::sha256`]); `None` for an unknown id.
    pub fn file_sha256(&self, file_id: &str) -> Option<String> {
        self.shared
            .lock()
            .files
            .get(file_id)
            .map(|f| f.sha256.clone())
    }

    /// Every `DELETE /v2/meetings/{…}/recordings[/{recordingId}]` received so far, in
    /// order, refused and faulted ones included.
    pub fn deletions(&self) -> Vec<DeleteCall> {
        self.shared.lock().deletions.clone()
    }

    /// Inject `fault` into the next `times` recording DELETEs (whole instance or one file),
    /// replacing any earlier delete fault; `times: 0` removes it. GETs are not affected.
    /// A fault set with [`ZoomSim::set_api_fault`] comes first (it applies to every REST
    /// request) and does not use up a delete fault.
    pub fn fail_deletes(&self, fault: DeleteFault, times: u32) {
        self.shared.lock().delete_fault = (times > 0).then_some((fault, times));
    }

    /// Remove the delete fault.
    pub fn clear_delete_fault(&self) {
        self.shared.lock().delete_fault = None;
    }

    /// Whether a file is still available, or was trashed or deleted through the REST API
    /// (`None` for an unknown id). [`Fault::Deleted`] does not change it.
    pub fn file_status(&self, file_id: &str) -> Option<FileStatus> {
        self.shared.lock().files.get(file_id).map(|f| f.status)
    }

    /// A registered file as it is now (size and SHA-256 after [`ZoomSim::set_file_size`]);
    /// `None` for an unknown id.
    pub fn file(&self, file_id: &str) -> Option<SimFile> {
        self.shared
            .lock()
            .files
            .get(file_id)
            .map(|f| f.sim_file(&self.shared.api_base))
    }

    /// Add a file to a registered recording after the fact (e.g. a file that appeared at
    /// Zoom after the recording was copied): the REST listing then includes it and it
    /// downloads with the recording's tokens. Its content kind follows its type as in
    /// [`ZoomSim::add_recording`]; its SHA-256 is computed here. A file id registered
    /// before is replaced. Returns the new file (its `id` is `spec.id`). Panics for an
    /// unknown recording uuid. Webhook bodies of a [`SimRecording`] taken earlier do not
    /// change, except the trashed/deleted bodies (they read the current files).
    pub fn add_file(&self, meeting_uuid: &str, spec: FileSpec) -> SimFile {
        assert!(
            self.shared.lock().recordings.contains_key(meeting_uuid),
            "zoom-sim: unknown recording {meeting_uuid}"
        );
        let kind = ContentKind::for_file(&spec.file_type, &spec.file_extension);
        let generator = Generator {
            kind,
            seed: spec.seed,
            size: spec.size,
        };
        let entry = FileEntry {
            uuid: meeting_uuid.to_owned(),
            sha256: generator.sha256_hex(),
            spec: spec.clone(),
            generator,
            file_name: file_name(&spec),
            fault: None,
            stats: FileStats::default(),
            status: FileStatus::Available,
        };
        let file = entry.sim_file(&self.shared.api_base);
        let mut st = self.shared.lock();
        if let Some(rec) = st.recordings.get_mut(meeting_uuid) {
            match rec.spec.files.iter_mut().find(|f| f.id == spec.id) {
                Some(f) => *f = spec.clone(),
                None => rec.spec.files.push(spec.clone()),
            }
        }
        st.files.insert(spec.id, entry);
        file
    }

    /// Change a file's size after the fact (e.g. Zoom re-processed it after it was
    /// copied): the REST listing reports the new `file_size`, the CDN serves `size` bytes
    /// of new deterministic content (same seed), and the SHA-256 is recomputed. Returns the
    /// file as it is now; `None` for an unknown id. The file's fault and statistics stay.
    pub fn set_file_size(&self, file_id: &str, size: u64) -> Option<SimFile> {
        let generator = {
            let st = self.shared.lock();
            Generator {
                size,
                ..st.files.get(file_id)?.generator
            }
        };
        // Hashing streams the content: not under the lock.
        let sha256 = generator.sha256_hex();
        let mut st = self.shared.lock();
        let f = st.files.get_mut(file_id)?;
        f.generator = generator;
        f.spec.size = size;
        f.sha256 = sha256;
        let file = f.sim_file(&self.shared.api_base);
        let uuid = f.uuid.clone();
        if let Some(rec) = st.recordings.get_mut(&uuid) {
            for s in rec.spec.files.iter_mut().filter(|s| s.id == file_id) {
                s.size = size;
            }
        }
        Some(file)
    }

    /// `{api_base}/oauth/revoke`: Zoom's token revocation endpoint (Zoom's is
    /// `https://zoom.us/oauth/revoke`).
    pub fn oauth_revoke_url(&self) -> String {
        format!("{}/oauth/revoke", self.shared.api_base)
    }

    /// Every `POST /oauth/revoke` received so far, in order (without the tokens).
    pub fn revocations(&self) -> Vec<RevokeCall> {
        self.shared.lock().revocations.clone()
    }

    /// Whether a token issued by the simulator has been revoked (by
    /// [`ZoomSim::revoke_token`] or `POST /oauth/revoke`); `false` for an unknown token.
    pub fn is_token_revoked(&self, token: &str) -> bool {
        self.shared
            .lock()
            .tokens
            .get(token)
            .is_some_and(|g| g.revoked)
    }

    /// The raw JSON Zoom POSTs to the app's deauthorization endpoint when the app is
    /// removed from the account, in the shape of Zoom's documented example:
    /// `{"event":"app_deauthorized","event_ts":…,"payload":{"account_id","user_id",
    /// "signature","deauthorization_time","client_id"}}` with the S2S app's account and
    /// client id, `deauthorization_time` = now (RFC 3339 with milliseconds). Assumed, as
    /// Zoom does not specify it: `signature` is 64 hex digits (here HMAC-SHA256 of
    /// `account_id + user_id + deauthorization_time` keyed with the client secret; treat it
    /// as opaque), and the payload starts with `"user_data_retention":"false"` as Zoom's
    /// example (recalled, not confirmed by the protocol reference) does. Signed like every
    /// webhook with [`sign`] / [`deliver`].
    pub fn app_deauthorized_body(&self, user_id: &str) -> String {
        let app = self.s2s_app();
        let now = chrono::Utc::now();
        let time = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let signature = hex::encode(signing::hmac_sha256(
            app.client_secret.as_bytes(),
            &[
                app.account_id.as_bytes(),
                user_id.as_bytes(),
                time.as_bytes(),
            ],
        ));
        let env = payload::DeauthEnvelope {
            event: "app_deauthorized",
            event_ts: now.timestamp_millis(),
            payload: payload::DeauthPayload {
                user_data_retention: "false",
                account_id: &app.account_id,
                user_id,
                signature,
                deauthorization_time: time,
                client_id: &app.client_id,
            },
        };
        serde_json::to_string(&env).expect("payload serializes")
    }

    /// Add a user to the account (a user with the same id is replaced, keeping its place
    /// in the listing order). Its recordings are those whose `host_id` is `user.id`
    /// ([`RecordingSpec::hosted_by`]), whenever they are added. The first user added is
    /// the one `me` names in `GET /v2/users/me/recordings` (on Zoom: the user who created
    /// the app). Returns the user as added.
    pub fn add_user(&self, user: UserSpec) -> UserSpec {
        let mut st = self.shared.lock();
        match st.users.iter_mut().find(|u| u.id == user.id) {
            Some(u) => *u = user.clone(),
            None => st.users.push(user.clone()),
        }
        user
    }

    /// Change a user's status (e.g. deactivate it: [`UserStatus::Inactive`]); `false` for
    /// an unknown id.
    pub fn set_user_status(&self, user_id: &str, status: UserStatus) -> bool {
        let mut st = self.shared.lock();
        match st.users.iter_mut().find(|u| u.id == user_id) {
            Some(u) => {
                u.status = status;
                true
            }
            None => false,
        }
    }

    /// Every user of the account, in the order added.
    pub fn users(&self) -> Vec<UserSpec> {
        self.shared.lock().users.clone()
    }

    /// Lifetime of the `next_page_token`s the REST listings hand out from now on (default
    /// [`PAGE_TOKEN_TTL`], 15 minutes; `Duration::ZERO` = born expired). Tokens handed out
    /// earlier keep their expiry.
    pub fn set_page_token_ttl(&self, ttl: Duration) {
        self.shared.lock().page_token_ttl = ttl;
    }

    /// Expire every `next_page_token` handed out so far: using one answers 400
    /// `{"code":300,"message":"The next page token is invalid or expired."}`. Tokens
    /// handed out afterwards work.
    pub fn expire_page_tokens(&self) {
        let now = std::time::Instant::now();
        for t in self.shared.lock().page_tokens.values_mut() {
            t.expire(now);
        }
    }

    /// Whether the API token may list the whole account's recordings
    /// (`GET /v2/accounts/me/recordings`). Off by default, as for an S2S app without the
    /// master-account scopes: the endpoint then answers 400
    /// `{"code":4711,"message":"Invalid access token, does not contain scopes:[…]."}`, and a
    /// client has to list users and each user's recordings instead.
    pub fn set_account_recordings_allowed(&self, allowed: bool) {
        self.shared.lock().account_recordings_allowed = allowed;
    }

    /// Every call of a REST listing (`GET /v2/users`, `…/users/{userId}/recordings`,
    /// `…/accounts/{accountId}/recordings`) received so far, in order, refused and faulted
    /// ones included.
    pub fn list_requests(&self) -> Vec<ListRequest> {
        self.shared.lock().list_requests.clone()
    }

    /// Inject `fault` into the REST listings only: the next `after` list calls are served
    /// as usual, then the following `fault`'s `times` list calls get the fault (e.g.
    /// `ApiFault::RateLimited { times: 1, retry_after: RetryAfter::Secs(1) }` with
    /// `after: 3`: the 4th list call from now is a 429 with `Retry-After: 1`, the 5th is
    /// served again). Replaces any earlier list fault; `times: 0` removes it. The 429s say
    /// `X-RateLimit-Category: Medium`. Like every API fault it is applied before the token
    /// is checked. A list call answered by a fault of [`ZoomSim::set_api_fault`] (which
    /// comes first) is not counted here. Other REST calls are not affected.
    pub fn fail_list_calls(&self, fault: ApiFault, after: u32) {
        self.shared.lock().list_fault = (fault.times() > 0).then_some((fault, after));
    }

    /// Remove the list fault.
    pub fn clear_list_fault(&self) {
        self.shared.lock().list_fault = None;
    }

    /// Replace the people of a registered meeting instance (by uuid): what the calls about
    /// them answer from now on. `false` for an unknown uuid.
    pub fn set_people(&self, meeting_uuid: &str, people: PeopleSpec) -> bool {
        match self.shared.lock().recordings.get_mut(meeting_uuid) {
            Some(rec) => {
                rec.spec.people = people;
                true
            }
            None => false,
        }
    }

    /// Answer every later call of `endpoint` with 400
    /// `{"code":4711,"message":"Invalid access token, does not contain scopes:[…]."}`, as
    /// Zoom answers an app without the scope (the scope named is the classic one). Applied
    /// after the API fault and the token check.
    pub fn deny_people_scope(&self, endpoint: PeopleEndpoint) {
        self.shared.lock().people_denied.insert(endpoint);
    }

    /// Every call about a meeting's people (`/v2/metrics/…/participants`,
    /// `/v2/report/…/participants`, `GET /v2/meetings/{id}`, `GET /v2/webinars/{id}`,
    /// `/v2/webinars/{id}/panelists`) received so far, in order, refused and faulted ones
    /// included.
    pub fn people_requests(&self) -> Vec<PeopleRequest> {
        self.shared.lock().people_requests.clone()
    }

    /// A fresh download token for a recording, valid `ttl_secs` (negative = already
    /// expired, for token-refresh tests).
    pub fn issue_download_token(&self, uuid: &str, ttl_secs: i64) -> String {
        self.shared
            .issue_token(Scope::Recording(uuid.to_owned()), ttl_secs)
    }

    /// Stop serving and wait (up to 5 s) for the server task to end.
    pub async fn shutdown(mut self) {
        self.server.shutdown().await;
    }
}

/// The name Zoom's CDN gives a file, e.g. `GMT20260105-090110_Recording_gallery_view.mp4`.
fn file_name(f: &FileSpec) -> String {
    let stamp = f.recording_start.format("GMT%Y%m%d-%H%M%S");
    let ext = f.file_extension.to_ascii_lowercase();
    match f.file_type.to_ascii_uppercase().as_str() {
        "TRANSCRIPT" => format!("{stamp}_Recording.transcript.{ext}"),
        "CC" => format!("{stamp}_Recording.cc.{ext}"),
        "CHAT" => format!("{stamp}_RecordingnewChat.{ext}"),
        "TIMELINE" => format!("{stamp}_Recording.timeline.{ext}"),
        "M4A" => format!("{stamp}_Recording.{ext}"),
        _ => {
            let view: String = f
                .recording_type
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            format!("{stamp}_Recording_{view}.{ext}")
        }
    }
}
