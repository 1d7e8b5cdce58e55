//! HTTP side: the `/v1` API (behind one gate for stats, faults and auth), the CDN and
//! the web pages.

use std::collections::HashSet;
use std::io;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::header::{
    ACCEPT_RANGES, AUTHORIZATION, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE,
    LINK, RANGE, RETRY_AFTER,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};
use zoom_sim::Generator;

use crate::signing::hmac_sha256_hex;
use crate::{
    ADMIN_LIST_DEFAULT_WINDOW_DAYS, ADMIN_LIST_MAX_WINDOW_DAYS, DeleteCall, DeleteFault,
    DeleteKind, FileStats, HookEntry, LinkKind, ListFault, ListRequest, MeetingEntry,
    REFRESH_TOKEN_TTL_SECS, RecEntry, RecordingStatus, RevokeCall, SCOPES, Shared, SimRecording,
    SimWebhook, State as SimState, WebhookUpdate, app_id, iso, spark_id, uuid,
};

type Sim = State<Arc<Shared>>;
type Query = Vec<(String, String)>;

const CHUNK: u64 = 64 * 1024;
const MSG_UNAUTHORIZED: &str =
    "The request requires a valid access token set in the Authorization request header.";
const MSG_NOT_FOUND: &str = "The requested resource could not be found.";

pub(crate) fn router(sh: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/access_token", post(access_token))
        .route("/v1/applications/{id}/token", post(service_app_token))
        .route(
            "/v1/recordings/{id}",
            get(get_recording)
                .delete(delete_recording)
                .post(recording_action),
        )
        .route("/v1/authorizations", delete(revoke_client))
        .route("/v1/authorizations/{id}", delete(revoke_authorization))
        .route("/v1/admin/recordings", get(admin_recordings))
        .route("/v1/meetingPreferences/sites", get(sites))
        .route("/v1/meetingParticipants", get(participants))
        .route("/v1/people", get(people))
        .route("/v1/meetingTranscripts", get(transcripts))
        .route(
            "/v1/meetingTranscripts/{id}/download",
            get(transcript_download),
        )
        .route("/v1/webhooks", get(list_webhooks).post(create_webhook))
        .route(
            "/v1/webhooks/{id}",
            get(get_webhook).put(update_webhook).delete(delete_webhook),
        )
        .route("/cdn/{rec}/{kind}", get(cdn))
        .route("/lsr.php", get(web_page))
        .route("/recordingservice/{*rest}", get(web_page))
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(sh.clone(), gate))
        .with_state(sh)
}

// ---------------------------------------------------------------------------------------
// The /v1 gate: stats, queued faults, bearer check

/// A call whose handler records every outcome ([`recorded_call`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Recorded {
    /// `DELETE /v1/recordings/{id}`, `POST /v1/recordings/softDelete`.
    Deletion,
    /// `DELETE /v1/authorizations…`.
    Revocation,
    /// `GET /v1/admin/recordings`.
    AdminList,
}

/// The calls whose handlers record every outcome: they run [`recorded_gate`] themselves
/// instead of the gate's faults and bearer check.
fn recorded_call(method: &Method, path: &str) -> Option<Recorded> {
    let one_segment = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|id| !id.is_empty() && !id.contains('/'))
    };
    if (method == Method::DELETE && one_segment("/v1/recordings/"))
        || (method == Method::POST && path == "/v1/recordings/softDelete")
    {
        Some(Recorded::Deletion)
    } else if method == Method::DELETE
        && (path == "/v1/authorizations" || one_segment("/v1/authorizations/"))
    {
        Some(Recorded::Revocation)
    } else if method == Method::GET && path == "/v1/admin/recordings" {
        Some(Recorded::AdminList)
    } else {
        None
    }
}

async fn gate(State(sh): Sim, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path != "/v1" && !path.starts_with("/v1/") {
        return next.run(req).await;
    }
    // Not faulted or checked here: `/v1/access_token`, and the recorded calls (their
    // handlers do it).
    let is_token = path == "/v1/access_token" || recorded_call(req.method(), path).is_some();
    let line = format!(
        "{} {}",
        req.method(),
        req.uri().path_and_query().map_or(path, |p| p.as_str())
    );
    {
        let mut st = sh.lock();
        st.api.requests += 1;
        st.api.paths.push(line);
        if !is_token && let Some(r) = take_fault(&mut st) {
            return r;
        }
    }
    if !is_token && let Some(r) = bearer_refusal(&mut sh.lock(), req.headers()) {
        return r;
    }
    next.run(req).await
}

/// The 401 for a missing, unknown (or revoked) or expired bearer token, counted.
fn bearer_refusal(st: &mut SimState, headers: &HeaderMap) -> Option<Response> {
    let now = Utc::now().timestamp();
    let ok = bearer(headers)
        .and_then(|t| st.access_tokens.get(&t).copied())
        .is_some_and(|exp| exp > now);
    if ok {
        return None;
    }
    st.api.unauthorized += 1;
    Some(api_error(StatusCode::UNAUTHORIZED, MSG_UNAUTHORIZED))
}

/// The outcome of [`recorded_gate`].
enum Gate {
    /// Go on; `lost_answer`: answer a 204 as 500 ([`DeleteFault::InternalErrorAfterApplying`]).
    Pass { lost_answer: bool },
    /// Answer this; `injected` when it is an injected fault's.
    Refused { response: Response, injected: bool },
}

/// What the gate does, for a recorded call: the queued API fault, for deletion calls the
/// delete fault, for list calls the list fault, then the bearer check.
fn recorded_gate(sh: &Shared, headers: &HeaderMap, kind: Recorded) -> Gate {
    let mut st = sh.lock();
    if let Some(r) = take_fault(&mut st) {
        return Gate::Refused {
            response: r,
            injected: true,
        };
    }
    if kind == Recorded::AdminList
        && let Some(r) = take_list_fault(&mut st)
    {
        return Gate::Refused {
            response: r,
            injected: true,
        };
    }
    let mut lost_answer = false;
    if kind == Recorded::Deletion
        && let Some((fault, times)) = st.delete_fault.take()
    {
        st.delete_fault = (times > 1).then(|| (fault.clone(), times - 1));
        let r = match fault {
            DeleteFault::RateLimited { retry_after_secs } => Some(rate_limited(
                &mut st,
                StatusCode::TOO_MANY_REQUESTS,
                retry_after_secs,
            )),
            DeleteFault::InternalError => {
                st.api.server_errors += 1;
                Some(api_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                ))
            }
            DeleteFault::ServiceUnavailable => {
                st.api.server_errors += 1;
                Some(api_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service Unavailable",
                ))
            }
            DeleteFault::NotFound => Some(api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND)),
            DeleteFault::Unauthorized => {
                st.api.unauthorized += 1;
                Some(api_error(StatusCode::UNAUTHORIZED, MSG_UNAUTHORIZED))
            }
            DeleteFault::InternalErrorAfterApplying => {
                lost_answer = true;
                None
            }
        };
        if let Some(r) = r {
            return Gate::Refused {
                response: r,
                injected: true,
            };
        }
    }
    match bearer_refusal(&mut st, headers) {
        Some(r) => Gate::Refused {
            response: r,
            injected: false,
        },
        None => Gate::Pass { lost_answer },
    }
}

/// The [`ListFault`] for this list call, if it is one of those to fault.
fn take_list_fault(st: &mut SimState) -> Option<Response> {
    let f = st.list_fault.as_mut()?;
    if f.skip > 0 {
        f.skip -= 1;
        return None;
    }
    f.remaining = f.remaining.saturating_sub(1);
    let fault = f.fault.clone();
    if f.remaining == 0 {
        st.list_fault = None;
    }
    Some(match fault {
        ListFault::RateLimited { retry_after_secs } => {
            rate_limited(st, StatusCode::TOO_MANY_REQUESTS, retry_after_secs)
        }
        ListFault::ServerError { status } => {
            st.api.server_errors += 1;
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            api_error(status, status.canonical_reason().unwrap_or("Error"))
        }
    })
}

/// `status` (429 or 423) with `Retry-After: <secs>` and `{"message","trackingId"}`, counted.
fn rate_limited(st: &mut SimState, status: StatusCode, secs: u64) -> Response {
    st.api.rate_limited += 1;
    let message = status.canonical_reason().unwrap_or("Error");
    let mut r = json_response(
        status,
        &json!({"message": message, "trackingId": tracking_id()}),
    );
    r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    r
}

fn take_fault(st: &mut SimState) -> Option<Response> {
    while st.faults.front().is_some_and(|f| f.remaining == 0) {
        st.faults.pop_front();
    }
    let f = st.faults.front_mut()?;
    f.remaining -= 1;
    let (status, retry_after) = (f.status, f.retry_after);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let message = status.canonical_reason().unwrap_or("Error");
    match retry_after {
        Some(secs) => Some(rate_limited(st, status, secs)),
        None => {
            st.api.server_errors += 1;
            Some(api_error(status, message))
        }
    }
}

// ---------------------------------------------------------------------------------------
// OAuth

async fn access_token(State(sh): Sim, body: Bytes) -> Response {
    let form = parse_query(Some(&String::from_utf8_lossy(&body)));
    let field = |k: &str| q_get(&form, k);
    let integration = field("client_id") == Some(sh.client_id.as_str())
        && field("client_secret") == Some(sh.client_secret.as_str());
    let service_app = field("client_id") == Some(sh.service_app.1.as_str())
        && field("client_secret") == Some(sh.service_app.2.as_str());
    if !integration && !service_app {
        // Also where the credentials came as Basic auth: Webex wants them in the body.
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", None);
    }
    if field("grant_type") != Some("refresh_token") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", None);
    }
    let used = field("refresh_token").unwrap_or_default();
    let mut st = sh.lock();
    if !st.refresh_tokens.contains(used) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            Some("The refresh token provided is expired, revoked, malformed, or invalid."),
        );
    }
    // A refresh stays in the authorization of the refresh token used.
    let authz = match st.token_authz.get(used).cloned() {
        Some(a) => a,
        None => sh.new_authorization(&mut st, field("client_id").unwrap_or_default()),
    };
    let refresh_token = if st.rotate {
        st.refresh_tokens.remove(used);
        st.token_authz.remove(used);
        sh.issue_refresh_token(&mut st, &authz)
    } else {
        used.to_owned()
    };
    let (access_token, _) = sh.issue_access_token(&mut st, &authz);
    st.api.token_refreshes += 1;
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "expires_in": st.access_ttl,
            "refresh_token": refresh_token,
            "refresh_token_expires_in": REFRESH_TOKEN_TTL_SECS,
            "token_type": "Bearer",
            "scope": SCOPES,
        }),
    )
}

/// `POST /v1/applications/{id}/token` `{clientId, clientSecret, targetOrgId}`, called with an integration
/// token: a Service App's first token pair.
async fn service_app_token(State(sh): Sim, Path(id): Path<String>, body: Bytes) -> Response {
    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let field = |k: &str| req.get(k).and_then(|v| v.as_str());
    let (app_id, client_id, client_secret) = &sh.service_app;
    if &id != app_id {
        return api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND);
    }
    if field("clientId") != Some(client_id.as_str())
        || field("clientSecret") != Some(client_secret.as_str())
        || field("targetOrgId") != Some(sh.org_id.as_str())
    {
        return api_error(
            StatusCode::BAD_REQUEST,
            "clientId, clientSecret or targetOrgId is not valid for this application.",
        );
    }
    let mut st = sh.lock();
    let authz = sh.new_authorization(&mut st, client_id);
    let refresh_token = sh.issue_refresh_token(&mut st, &authz);
    let (access_token, _) = sh.issue_access_token(&mut st, &authz);
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "expires_in": st.access_ttl,
            "refresh_token": refresh_token,
            "refresh_token_expires_in": REFRESH_TOKEN_TTL_SECS,
            "token_type": "Bearer",
        }),
    )
}

fn oauth_error(status: StatusCode, error: &str, description: Option<&str>) -> Response {
    let mut v = json!({"error": error});
    if let Some(d) = description {
        v["error_description"] = d.into();
    }
    json_response(status, &v)
}

// ---------------------------------------------------------------------------------------
// Recordings

/// A recording object; `siteUrl` is its meeting's site.
fn recording_json(
    sh: &Shared,
    m: &MeetingEntry,
    r: &SimRecording,
    status: RecordingStatus,
) -> Value {
    let base = &sh.base_url;
    json!({
        "id": r.id,
        "meetingId": m.meeting.instance_id,
        "scheduledMeetingId": m.meeting.scheduled_meeting_id,
        "meetingSeriesId": m.meeting.series_id,
        "topic": m.meeting.topic,
        "createTime": iso(r.create_time),
        "timeRecorded": iso(r.time_recorded),
        "siteUrl": m.meeting.site_url,
        "downloadUrl": format!("{base}/lsr.php?RCID={}", r.id),
        "playbackUrl": format!("{base}/recordingservice/sites/sim/recording/playback/{}", r.id),
        "password": m.password,
        "format": "MP4",
        "serviceType": m.service_type,
        "durationSeconds": r.duration_secs,
        "sizeBytes": r.file(LinkKind::Recording).map_or(0, |f| f.size),
        "shareToMe": false,
        "integrationTags": [],
        "status": status.as_str(),
    })
}

fn link_sig(sh: &Shared, rec_id: &str, kind: LinkKind, expires: i64) -> String {
    let msg = format!("/cdn/{rec_id}/{}:{expires}", kind.path_segment());
    hmac_sha256_hex(&sh.cdn_key, msg.as_bytes())
}

fn cdn_link(sh: &Shared, rec_id: &str, kind: LinkKind, expires: i64) -> String {
    format!(
        "{}/cdn/{rec_id}/{}?expires={expires}&sig={}",
        sh.base_url,
        kind.path_segment(),
        link_sig(sh, rec_id, kind, expires)
    )
}

fn host_matches(m: &MeetingEntry, host: Option<&str>) -> bool {
    host.is_none_or(|h| h.eq_ignore_ascii_case(&m.meeting.host_email))
}

async fn get_recording(State(sh): Sim, Path(id): Path<String>, uri: Uri) -> Response {
    let q = parse_query(uri.query());
    let mut st = sh.lock();
    st.api.recording_gets += 1;
    let found = st.recordings.get(&id).and_then(|e| {
        let m = &st.meetings[e.meeting];
        // Without the right hostEmail, an admin does not see another user's recording.
        let host = q_get(&q, "hostEmail")?;
        (e.status != RecordingStatus::Purged && host_matches(m, Some(host))).then(|| {
            (
                recording_json(&sh, m, &e.rec, e.status),
                e.rec.clone(),
                e.status,
            )
        })
    });
    let Some((mut obj, rec, status)) = found else {
        return api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND);
    };
    if status == RecordingStatus::Deleted {
        // In the recycle bin: no links.
        return json_response(StatusCode::OK, &obj);
    }
    let now = Utc::now().timestamp();
    let expired = match st.expire_next.get_mut(&id) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    };
    let expires = if expired { now - 60 } else { now + st.link_ttl };
    let mut links = serde_json::Map::new();
    for (kind, key) in [
        (LinkKind::Recording, "recordingDownloadLink"),
        (LinkKind::Audio, "audioDownloadLink"),
        (LinkKind::Transcript, "transcriptDownloadLink"),
    ] {
        if rec.file(kind).is_some() {
            links.insert(key.into(), cdn_link(&sh, &id, kind, expires).into());
        }
    }
    let expiration = DateTime::from_timestamp(expires, 0).unwrap_or_default();
    links.insert("expiration".into(), iso(expiration).into());
    obj["temporaryDirectDownloadLinks"] = links.into();
    st.api.link_sets_issued += 1;
    json_response(StatusCode::OK, &obj)
}

/// `GET /v1/admin/recordings`, recorded in [`crate::WebexSim::list_requests`] whatever
/// the outcome.
async fn admin_recordings(State(sh): Sim, uri: Uri, headers: HeaderMap) -> Response {
    let q = parse_query(uri.query());
    let mut call = ListRequest {
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned()),
        from: q_get(&q, "from").and_then(parse_time),
        to: q_get(&q, "to").and_then(parse_time),
        site_url: q_get(&q, "siteUrl").map(str::to_owned),
        host_email: q_get(&q, "hostEmail").map(str::to_owned),
        meeting_id: q_get(&q, "meetingId").map(str::to_owned),
        max: q_get(&q, "max").and_then(|m| m.parse().ok()),
        had_cursor: q_get(&q, "cursor").is_some(),
        status: 0,
        injected: false,
        at: Utc::now(),
    };
    let r = match recorded_gate(&sh, &headers, Recorded::AdminList) {
        Gate::Refused { response, injected } => {
            call.injected = injected;
            response
        }
        Gate::Pass { .. } => {
            admin_list(&sh, uri.path(), &q, Utc::now()).unwrap_or_else(IntoResponse::into_response)
        }
    };
    call.status = r.status().as_u16();
    sh.lock().list_requests.push(call);
    r
}

/// The admin list as Webex documents it:
///
/// - `meetingId` (instance, scheduled meeting or series): every recording of it, with
///   `siteUrl`, `from` and `to` ignored;
/// - otherwise the recordings of one site (`siteUrl`, or the preferred site without it; a
///   site the org does not have → 400) whose `createTime` is in `[from, to)`. The window
///   defaults to 7 days ([`admin_window`]) and may not be longer than 30 days (→ 400).
///   Webex sorts the list by when the recordings were created and does not say which time
///   `from`/`to` compare; the simulator takes `createTime` for both (an assumption);
/// - `hostEmail` (one host), `status` (`available` by default, `deleted`: the recycle bin;
///   purged recordings are in no list), `max` (1-100, default 10);
/// - newest first (`createTime`, then id, descending), `Link: <…>; rel="next"` paging
///   that keeps every query parameter (unless [`crate::ApiFault::DropFiltersOnNext`]).
fn admin_list(
    sh: &Shared,
    path: &str,
    q: &Query,
    now: DateTime<Utc>,
) -> Result<Response, BadRequest> {
    let (max, cursor) = paging(q)?;
    let (from, to) = time_window(q)?;
    let host = q_get(q, "hostEmail");
    // Hard-deleted (purged) recordings are in no list.
    let wanted = match q_get(q, "status") {
        None | Some("available") => Some(RecordingStatus::Available),
        Some("deleted") => Some(RecordingStatus::Deleted),
        Some("purged") => None,
        Some(_) => {
            return Err(BadRequest(
                "status must be available, deleted or purged.".into(),
            ));
        }
    };
    let meeting_id = q_get(q, "meetingId");
    let st = sh.lock();
    // With meetingId, siteUrl/from/to are ignored (as on Webex).
    let window = match meeting_id {
        Some(_) => None,
        None => {
            let site = match q_get(q, "siteUrl") {
                None => st.preferred_site.clone(),
                Some(s) => st
                    .site(s)
                    .map(str::to_owned)
                    .ok_or_else(|| BadRequest(format!("Invalid siteUrl: {s}.")))?,
            };
            let (from, to) = admin_window(from, to, now)?;
            Some((site, from, to))
        }
    };
    let mut recs: Vec<&RecEntry> = st
        .recordings
        .values()
        .filter(|e| {
            let m = &st.meetings[e.meeting].meeting;
            let when = e.rec.create_time;
            wanted == Some(e.status)
                && host_matches(&st.meetings[e.meeting], host)
                && match &window {
                    Some((site, from, to)) => {
                        m.site_url.eq_ignore_ascii_case(site) && *from <= when && when < *to
                    }
                    None => meeting_id.is_some_and(|id| {
                        [&m.instance_id, &m.scheduled_meeting_id, &m.series_id]
                            .iter()
                            .any(|x| x.as_str() == id)
                    }),
                }
        })
        .collect();
    recs.sort_by(|a, b| (b.rec.create_time, &b.rec.id).cmp(&(a.rec.create_time, &a.rec.id)));
    let items = recs
        .into_iter()
        .map(|e| {
            let m = &st.meetings[e.meeting];
            let mut obj = recording_json(sh, m, &e.rec, e.status);
            obj["hostEmail"] = m.meeting.host_email.clone().into();
            obj["hostDisplayName"] = m.host_display_name.clone().into();
            obj
        })
        .collect();
    Ok(page(sh, st.drop_filters, path, q, items, max, cursor))
}

/// The admin list's `[from, to)`: a missing end is 7 days from the other one, both missing
/// are the 7 days before `now`; `from` after `to`, or more than 30 days between them, is a
/// 400 (Webex: "The interval between `from` and `to` must be within 30 days").
fn admin_window(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), BadRequest> {
    let default = Duration::days(ADMIN_LIST_DEFAULT_WINDOW_DAYS);
    let (from, to) = match (from, to) {
        (Some(f), Some(t)) => (f, t),
        (Some(f), None) => (f, f + default),
        (None, Some(t)) => (t - default, t),
        (None, None) => (now - default, now),
    };
    if from > to {
        return Err(BadRequest("from cannot be after to.".into()));
    }
    if to - from > Duration::days(ADMIN_LIST_MAX_WINDOW_DAYS) {
        return Err(BadRequest(format!(
            "The interval between from and to must be within {ADMIN_LIST_MAX_WINDOW_DAYS} days."
        )));
    }
    Ok((from, to))
}

/// `GET /v1/meetingPreferences/sites`: `{"sites":[{"siteUrl","default"}]}`, the org's
/// sites with the preferred one as `default`.
async fn sites(State(sh): Sim) -> Response {
    let st = sh.lock();
    let sites: Vec<Value> = st
        .sites
        .iter()
        .map(|s| json!({"siteUrl": s, "default": s.eq_ignore_ascii_case(&st.preferred_site)}))
        .collect();
    json_response(StatusCode::OK, &json!({ "sites": sites }))
}

// ---------------------------------------------------------------------------------------
// Deleting recordings

/// At most this many ids per `softDelete` (as Webex).
const MAX_SOFT_DELETE_IDS: usize = 100;

/// `DELETE /v1/recordings/{id}?hostEmail=` (optional JSON body `{reason, comment}`,
/// ignored): the recording is gone for good.
async fn delete_recording(
    State(sh): Sim,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let q = parse_query(uri.query());
    let mut call = DeleteCall {
        kind: DeleteKind::Delete,
        recording_ids: vec![id.clone()],
        host_email: q_get(&q, "hostEmail").map(str::to_owned),
        site_url: q_get(&q, "siteUrl").map(str::to_owned),
        status: 0,
        injected: false,
        at: Utc::now(),
    };
    let r = hard_delete(&sh, &headers, &id, &mut call);
    call.status = r.status().as_u16();
    sh.lock().deletions.push(call);
    r
}

fn hard_delete(sh: &Shared, headers: &HeaderMap, id: &str, call: &mut DeleteCall) -> Response {
    let lost_answer = match recorded_gate(sh, headers, Recorded::Deletion) {
        Gate::Pass { lost_answer } => lost_answer,
        Gate::Refused { response, injected } => {
            call.injected = injected;
            return response;
        }
    };
    let mut guard = sh.lock();
    let st = &mut *guard;
    let host = call.host_email.as_deref();
    let Some(e) = st.recordings.get_mut(id).filter(|e| {
        e.status != RecordingStatus::Purged
            && host.is_some()
            && host_matches(&st.meetings[e.meeting], host)
    }) else {
        return api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND);
    };
    e.status = RecordingStatus::Purged;
    tracing::debug!(%id, "webex-sim: recording deleted");
    done(st, lost_answer, call)
}

/// 204, or the 500 of [`DeleteFault::InternalErrorAfterApplying`].
fn done(st: &mut SimState, lost_answer: bool, call: &mut DeleteCall) -> Response {
    if lost_answer {
        call.injected = true;
        st.api.server_errors += 1;
        return api_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /v1/recordings/{id}`: only `softDelete` exists here (`restore` and `purge` are
/// not simulated).
async fn recording_action(
    State(sh): Sim,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if id != "softDelete" {
        return api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND);
    }
    let q = parse_query(uri.query());
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    let ids: Option<Vec<String>> = parsed
        .as_ref()
        .and_then(|v| v.get("recordingIds"))
        .and_then(Value::as_array)
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect());
    let site_url = parsed
        .as_ref()
        .and_then(|v| v.get("siteUrl"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut call = DeleteCall {
        kind: DeleteKind::SoftDelete,
        recording_ids: ids.clone().unwrap_or_default(),
        host_email: q_get(&q, "hostEmail").map(str::to_owned),
        site_url,
        status: 0,
        injected: false,
        at: Utc::now(),
    };
    let body_ok = parsed.as_ref().is_some_and(|v| {
        v.is_object()
            && v.get("siteUrl")
                .is_none_or(|s| s.is_string() || s.is_null())
    });
    let r = soft_delete(&sh, &headers, ids.filter(|_| body_ok), &mut call);
    call.status = r.status().as_u16();
    sh.lock().deletions.push(call);
    r
}

fn soft_delete(
    sh: &Shared,
    headers: &HeaderMap,
    ids: Option<Vec<String>>,
    call: &mut DeleteCall,
) -> Response {
    let lost_answer = match recorded_gate(sh, headers, Recorded::Deletion) {
        Gate::Pass { lost_answer } => lost_answer,
        Gate::Refused { response, injected } => {
            call.injected = injected;
            return response;
        }
    };
    let ids = match ids {
        None => {
            return BadRequest("recordingIds must be a list of recording ids.".into())
                .into_response();
        }
        Some(ids) if ids.is_empty() => {
            return BadRequest("recordingIds must not be empty.".into()).into_response();
        }
        Some(ids) if ids.len() > MAX_SOFT_DELETE_IDS => {
            return BadRequest(format!(
                "recordingIds must not hold more than {MAX_SOFT_DELETE_IDS} ids."
            ))
            .into_response();
        }
        Some(ids) => ids,
    };
    let mut guard = sh.lock();
    let st = &mut *guard;
    let host = call.host_email.as_deref();
    // The ids must be on the site of `siteUrl`, or the preferred site without it (Webex).
    let site = call
        .site_url
        .clone()
        .unwrap_or_else(|| st.preferred_site.clone());
    // Every id must be found (for this host, on this site), or nothing changes.
    let all_found = host.is_some()
        && ids.iter().all(|id| {
            st.recordings.get(id).is_some_and(|e| {
                let m = &st.meetings[e.meeting];
                e.status != RecordingStatus::Purged
                    && host_matches(m, host)
                    && m.meeting.site_url.eq_ignore_ascii_case(&site)
            })
        });
    if !all_found {
        return api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND);
    }
    for id in &ids {
        if let Some(e) = st.recordings.get_mut(id) {
            e.status = RecordingStatus::Deleted;
        }
    }
    tracing::debug!(
        n = ids.len(),
        "webex-sim: recordings moved to the recycle bin"
    );
    done(st, lost_answer, call)
}

// ---------------------------------------------------------------------------------------
// Authorizations

/// `DELETE /v1/authorizations?clientId=…[&orgId=…]`: every authorization of the client.
async fn revoke_client(State(sh): Sim, uri: Uri, headers: HeaderMap) -> Response {
    let q = parse_query(uri.query());
    let client_id = q_get(&q, "clientId").map(str::to_owned);
    let org_ok = q_get(&q, "orgId").is_none_or(|o| o == sh.org_id);
    revocation(&sh, &headers, client_id, None, |sh, st| {
        let Some(client) = q_get(&q, "clientId").filter(|c| !c.is_empty()) else {
            return Err(Refusal::MissingClientId);
        };
        let known = client == sh.client_id || client == sh.service_app.1;
        if !known || !org_ok {
            return Err(Refusal::NotFound);
        }
        Ok(st
            .authorizations
            .iter()
            .filter(|(_, c)| c.as_str() == client)
            .map(|(a, _)| a.clone())
            .collect())
    })
}

/// `DELETE /v1/authorizations/{id}`: one authorization (see `WebexSim::authorization_id`).
async fn revoke_authorization(
    State(sh): Sim,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    revocation(&sh, &headers, None, Some(id.clone()), |_, st| {
        if !st.authorizations.contains_key(&id) {
            return Err(Refusal::NotFound);
        }
        Ok(HashSet::from([id.clone()]))
    })
}

/// Why no authorization is revoked.
enum Refusal {
    MissingClientId,
    NotFound,
}

/// Gate, pick the authorizations to revoke (`Err` = the refusal), revoke them, record.
fn revocation(
    sh: &Shared,
    headers: &HeaderMap,
    client_id: Option<String>,
    authorization_id: Option<String>,
    pick: impl FnOnce(&Shared, &SimState) -> Result<HashSet<String>, Refusal>,
) -> Response {
    let mut call = RevokeCall {
        client_id,
        authorization_id,
        status: 0,
        tokens_revoked: 0,
        injected: false,
        at: Utc::now(),
    };
    let r = match recorded_gate(sh, headers, Recorded::Revocation) {
        Gate::Refused { response, injected } => {
            call.injected = injected;
            response
        }
        Gate::Pass { .. } => {
            let mut st = sh.lock();
            match pick(sh, &st) {
                Err(Refusal::MissingClientId) => {
                    BadRequest("clientId is required.".into()).into_response()
                }
                Err(Refusal::NotFound) => api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND),
                Ok(authz) => {
                    call.tokens_revoked = st.revoke(&authz);
                    StatusCode::NO_CONTENT.into_response()
                }
            }
        }
    };
    call.status = r.status().as_u16();
    sh.lock().revocations.push(call);
    r
}

// ---------------------------------------------------------------------------------------
// Participants and transcripts

async fn participants(State(sh): Sim, uri: Uri) -> Response {
    let q = parse_query(uri.query());
    let (max, cursor) = match paging(&q) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let Some(meeting_id) = q_get(&q, "meetingId") else {
        return api_error(StatusCode::BAD_REQUEST, "meetingId is required.");
    };
    let host = q_get(&q, "hostEmail");
    let st = sh.lock();
    let mut items = Vec::new();
    for m in st
        .meetings
        .iter()
        .filter(|m| m.meeting.instance_id == meeting_id && host_matches(m, host))
    {
        let end = m
            .meeting
            .recordings
            .iter()
            .map(|r| r.time_recorded + Duration::seconds(r.duration_secs + 60))
            .max()
            .unwrap_or(m.meeting.start + Duration::hours(1));
        for (i, p) in m.participants.iter().enumerate() {
            let joined = m.meeting.start + Duration::seconds((i as i64 * 17) % 300);
            items.push(json!({
                "id": format!("{}_{:08x}-0000-4000-8000-{:012x}", m.meeting.instance_id, i, i),
                "orgId": sh.org_id,
                "host": p.host,
                "coHost": p.co_host,
                "email": p.email,
                "displayName": p.display_name,
                "invitee": false,
                "state": "end",
                "joinedTime": iso(joined),
                "leftTime": iso(end),
                "meetingId": m.meeting.instance_id,
                "hostEmail": m.meeting.host_email,
                "devices": [],
            }));
        }
    }
    page(&sh, st.drop_filters, uri.path(), &q, items, max, cursor)
}

/// The org's people, as an admin token lists them (no filter: everyone; `email=` one).
async fn people(State(sh): Sim, uri: Uri) -> Response {
    let q = parse_query(uri.query());
    let (max, cursor) = match paging(&q) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let email = q_get(&q, "email");
    let st = sh.lock();
    let items: Vec<Value> = st
        .people
        .iter()
        .filter(|p| email.is_none_or(|e| p.email.eq_ignore_ascii_case(e)))
        .map(|p| {
            json!({
                "id": p.id,
                "emails": [p.email],
                "displayName": p.display_name,
                "orgId": sh.org_id,
                "type": p.kind,
                "loginEnabled": p.login_enabled,
                "status": if p.login_enabled { "inactive" } else { "unknown" },
                "created": "2024-09-01T08:00:00.000Z",
            })
        })
        .collect();
    page(&sh, st.drop_filters, uri.path(), &q, items, max, cursor)
}

async fn transcripts(State(sh): Sim, uri: Uri) -> Response {
    let q = parse_query(uri.query());
    let (max, cursor) = match paging(&q) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let (from, to) = match time_window(&q) {
        Ok(w) => w,
        Err(r) => return r.into_response(),
    };
    let meeting_id = q_get(&q, "meetingId");
    let host = q_get(&q, "hostEmail");
    let api_base = sh.api_base();
    let st = sh.lock();
    let mut items: Vec<(DateTime<Utc>, Value)> = Vec::new();
    for t in &st.transcripts {
        let t_id = &t.transcript.id;
        let Some(m) = st
            .meetings
            .iter()
            .find(|m| m.meeting.instance_id == t.transcript.meeting_instance_id)
        else {
            continue;
        };
        let wanted = meeting_id.is_none_or(|id| id == m.meeting.instance_id)
            && host_matches(m, host)
            && from.is_none_or(|f| t.start >= f)
            && to.is_none_or(|x| t.start < x);
        if !wanted {
            continue;
        }
        items.push((
            t.transcript.created,
            json!({
                "id": t_id,
                "siteUrl": m.meeting.site_url,
                "startTime": iso(t.start),
                "meetingTopic": m.meeting.topic,
                "meetingId": m.meeting.instance_id,
                "scheduledMeetingId": m.meeting.scheduled_meeting_id,
                "meetingSeriesId": m.meeting.series_id,
                "hostUserId": m.meeting.host_person_id,
                "vttDownloadLink": format!("{api_base}/meetingTranscripts/{t_id}/download?format=vtt"),
                "txtDownloadLink": format!("{api_base}/meetingTranscripts/{t_id}/download?format=txt"),
                "status": "available",
            }),
        ));
    }
    items.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
    let items = items.into_iter().map(|(_, v)| v).collect();
    page(&sh, st.drop_filters, uri.path(), &q, items, max, cursor)
}

async fn transcript_download(
    State(sh): Sim,
    Path(id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let q = parse_query(uri.query());
    let content_type = match q_get(&q, "format").unwrap_or("vtt") {
        "vtt" => "text/vtt",
        // Same cues; Webex's txt rendering is not modelled.
        "txt" => "text/plain",
        _ => return api_error(StatusCode::BAD_REQUEST, "format must be vtt or txt."),
    };
    let generator = {
        let mut st = sh.lock();
        let Some(t) = st.transcripts.iter_mut().find(|t| t.transcript.id == id) else {
            return api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND);
        };
        t.file.stats.requests += 1;
        t.file.generator
    };
    let name = format!("{id}.{}", q_get(&q, "format").unwrap_or("vtt"));
    serve(
        sh,
        Target::Transcript(id),
        generator,
        &headers,
        content_type,
        &name,
    )
}

// ---------------------------------------------------------------------------------------
// Webhooks

fn webhook_json(sh: &Shared, h: &HookEntry) -> Value {
    let w = &h.hook;
    let mut v = json!({
        "id": w.id,
        "name": w.name,
        "targetUrl": w.target_url,
        "resource": w.resource,
        "event": w.event,
        "orgId": sh.org_id,
        "createdBy": sh.admin_id,
        "appId": app_id(),
        "ownedBy": w.owned_by.as_deref().unwrap_or("creator"),
        "status": w.status,
        "created": iso(h.created),
    });
    if let Some(f) = &w.filter {
        v["filter"] = f.clone().into();
    }
    if let Some(s) = &w.secret {
        v["secret"] = s.clone().into();
    }
    v
}

type JsonObject = serde_json::Map<String, Value>;

/// The request body as a JSON object.
fn json_body(body: &[u8]) -> Result<JsonObject, BadRequest> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(BadRequest("The request body is not a JSON object.".into())),
    }
}

/// An optional string field (absent or null → `None`).
fn opt_field(m: &JsonObject, key: &str) -> Result<Option<String>, BadRequest> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        _ => Err(BadRequest(format!("Invalid field: {key}."))),
    }
}

/// A required, non-empty string field.
fn req_field(m: &JsonObject, key: &str) -> Result<String, BadRequest> {
    opt_field(m, key)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| BadRequest(format!("Missing required field: {key}.")))
}

async fn create_webhook(State(sh): Sim, body: Bytes) -> Response {
    let parsed = json_body(&body).and_then(|m| {
        Ok(SimWebhook {
            id: spark_id("WEBHOOK", &uuid()),
            name: req_field(&m, "name")?,
            target_url: req_field(&m, "targetUrl")?,
            resource: req_field(&m, "resource")?,
            event: req_field(&m, "event")?,
            filter: opt_field(&m, "filter")?,
            secret: opt_field(&m, "secret")?,
            status: "active".to_owned(),
            owned_by: opt_field(&m, "ownedBy")?,
        })
    });
    let hook = match parsed {
        Ok(h) => h,
        Err(r) => return r.into_response(),
    };
    let entry = HookEntry {
        hook,
        created: Utc::now(),
        failures: 0,
    };
    let v = webhook_json(&sh, &entry);
    sh.lock().webhooks.push(entry);
    json_response(StatusCode::OK, &v)
}

async fn list_webhooks(State(sh): Sim, uri: Uri) -> Response {
    let q = parse_query(uri.query());
    let (max, cursor) = match paging(&q) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let st = sh.lock();
    let items = st.webhooks.iter().map(|h| webhook_json(&sh, h)).collect();
    page(&sh, st.drop_filters, uri.path(), &q, items, max, cursor)
}

async fn get_webhook(State(sh): Sim, Path(id): Path<String>) -> Response {
    let st = sh.lock();
    match st.webhooks.iter().find(|h| h.hook.id == id) {
        Some(h) => json_response(StatusCode::OK, &webhook_json(&sh, h)),
        None => api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND),
    }
}

/// `PUT /v1/webhooks/{id}` (`name` and `targetUrl` required; `secret`, `status`
/// optional): recorded in [`crate::WebexSim::webhook_updates`].
async fn update_webhook(State(sh): Sim, Path(id): Path<String>, body: Bytes) -> Response {
    let parsed = json_body(&body);
    let requested_status = parsed
        .as_ref()
        .ok()
        .and_then(|m| m.get("status"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let parsed = parsed.and_then(|m| {
        let status = opt_field(&m, "status")?;
        if status
            .as_deref()
            .is_some_and(|s| s != "active" && s != "inactive")
        {
            return Err(BadRequest("status must be active or inactive.".into()));
        }
        Ok((
            req_field(&m, "name")?,
            req_field(&m, "targetUrl")?,
            opt_field(&m, "secret")?,
            status,
        ))
    });
    let mut guard = sh.lock();
    let st = &mut *guard;
    let status_of = |st: &SimState| {
        st.webhooks
            .iter()
            .find(|h| h.hook.id == id)
            .map(|h| h.hook.status.clone())
    };
    let status_before = status_of(st);
    let r = match (parsed, st.webhooks.iter_mut().find(|h| h.hook.id == id)) {
        (Err(e), _) => e.into_response(),
        (Ok(_), None) => api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND),
        (Ok((name, target_url, secret, status)), Some(h)) => {
            h.hook.name = name;
            h.hook.target_url = target_url;
            if secret.is_some() {
                h.hook.secret = secret;
            }
            if let Some(s) = status {
                h.hook.status = s;
                h.failures = 0;
            }
            json_response(StatusCode::OK, &webhook_json(&sh, h))
        }
    };
    let status_after = status_of(st);
    st.webhook_updates.push(WebhookUpdate {
        webhook_id: id.clone(),
        requested_status,
        status_before,
        status_after,
        status: r.status().as_u16(),
        at: Utc::now(),
    });
    r
}

async fn delete_webhook(State(sh): Sim, Path(id): Path<String>) -> Response {
    let mut st = sh.lock();
    let before = st.webhooks.len();
    st.webhooks.retain(|h| h.hook.id != id);
    if st.webhooks.len() == before {
        return api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND);
    }
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------------------------------
// CDN and web pages

async fn cdn(
    State(sh): Sim,
    Path((rec_id, kind)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Some(kind) = LinkKind::from_segment(&kind) else {
        return html(
            StatusCode::NOT_FOUND,
            "Not Found",
            "The file does not exist.",
        );
    };
    let q = parse_query(uri.query());
    let expires = q_get(&q, "expires").and_then(|e| e.parse::<i64>().ok());
    let sig = q_get(&q, "sig").unwrap_or_default();
    let generator = {
        let mut st = sh.lock();
        let Some(f) = st
            .recordings
            .get_mut(&rec_id)
            // Deleted or in the recycle bin: the links die with it.
            .filter(|r| r.status == RecordingStatus::Available)
            .and_then(|r| r.files.get_mut(&kind))
        else {
            return html(
                StatusCode::NOT_FOUND,
                "Not Found",
                "The file does not exist.",
            );
        };
        f.stats.requests += 1;
        if headers.contains_key(AUTHORIZATION) {
            // What Webex does when a bearer token is sent to the pre-signed link.
            tracing::warn!(%rec_id, "webex-sim: Authorization header sent to the CDN");
            f.stats.auth_leaks += 1;
            f.stats.html_responses += 1;
            return login_page();
        }
        let Some(expires) =
            expires.filter(|&e| ct_eq(link_sig(&sh, &rec_id, kind, e).as_bytes(), sig.as_bytes()))
        else {
            f.stats.html_responses += 1;
            return html(StatusCode::FORBIDDEN, "Access Denied", "Invalid signature.");
        };
        let refused = match st.refuse_next.get_mut(&rec_id) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        };
        let Some(f) = st
            .recordings
            .get_mut(&rec_id)
            .and_then(|r| r.files.get_mut(&kind))
        else {
            return html(
                StatusCode::NOT_FOUND,
                "Not Found",
                "The file does not exist.",
            );
        };
        if refused || Utc::now().timestamp() > expires {
            f.stats.expired_link_hits += 1;
            f.stats.html_responses += 1;
            return html(
                StatusCode::FORBIDDEN,
                "Link expired",
                "This download link has expired. Request a new link from the recording.",
            );
        }
        f.generator
    };
    let name = format!("{rec_id}.{}", kind.extension());
    serve(
        sh,
        Target::File(rec_id, kind),
        generator,
        &headers,
        kind.content_type(),
        &name,
    )
}

async fn web_page() -> Response {
    html(
        StatusCode::OK,
        "Webex Recording",
        "Sign in to view or download this recording.",
    )
}

fn login_page() -> Response {
    let body = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <title>Webex - Sign In</title></head><body><div class=\"login\">\
        <h1>Sign in to Webex</h1><form method=\"post\" action=\"https://idbroker.webex.com/idb/UI/Login\">\
        <input type=\"email\" name=\"IDToken1\" placeholder=\"Email address\">\
        <button type=\"submit\">Next</button></form></div></body></html>";
    (
        StatusCode::OK,
        [(CONTENT_TYPE, "text/html;charset=UTF-8")],
        body,
    )
        .into_response()
}

fn html(status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head><body><h1>{title}</h1><p>{message}</p></body></html>"
    );
    (status, [(CONTENT_TYPE, "text/html;charset=UTF-8")], body).into_response()
}

async fn fallback(uri: Uri) -> Response {
    tracing::debug!(%uri, "webex-sim: no route");
    if uri.path().starts_with("/v1/") {
        api_error(StatusCode::NOT_FOUND, MSG_NOT_FOUND)
    } else {
        html(StatusCode::NOT_FOUND, "Not Found", "Not Found")
    }
}

// ---------------------------------------------------------------------------------------
// Streaming file bodies

/// Whose statistics a streamed body updates.
enum Target {
    File(String, LinkKind),
    Transcript(String),
}

fn stats_mut<'a>(st: &'a mut SimState, t: &Target) -> Option<&'a mut FileStats> {
    match t {
        Target::File(rec, kind) => st
            .recordings
            .get_mut(rec)
            .and_then(|r| r.files.get_mut(kind))
            .map(|f| &mut f.stats),
        Target::Transcript(id) => st
            .transcripts
            .iter_mut()
            .find(|t| &t.transcript.id == id)
            .map(|t| &mut t.file.stats),
    }
}

/// 200 with the whole file, or 206 for `Range: bytes=N-` / `bytes=N-M`.
fn serve(
    sh: Arc<Shared>,
    target: Target,
    generator: Generator,
    headers: &HeaderMap,
    content_type: &str,
    file_name: &str,
) -> Response {
    let size = generator.size;
    let range = headers
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_range(v, size));
    let (start, end) = match range {
        Some(Ok(r)) => r,
        Some(Err(())) => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(CONTENT_RANGE, format!("bytes */{size}"))
                .body(Body::empty())
                .expect("valid response");
        }
        None => (0, size),
    };
    let stream =
        futures_util::stream::unfold((sh, target, start), move |(sh, target, pos)| async move {
            if pos >= end {
                return None;
            }
            let next = ((pos / CHUNK + 1) * CHUNK).min(end);
            let mut buf = vec![0u8; (next - pos) as usize];
            generator.fill(pos, &mut buf);
            if let Some(s) = stats_mut(&mut sh.lock(), &target) {
                s.bytes_served += buf.len() as u64;
                if next == end {
                    s.complete_bodies += 1;
                }
            }
            Some((Ok::<_, io::Error>(Bytes::from(buf)), (sh, target, next)))
        });
    let mut b = Response::builder()
        .status(if range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(CONTENT_TYPE, content_type)
        .header(CONTENT_LENGTH, end - start)
        .header(ACCEPT_RANGES, "bytes")
        .header(
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        );
    if range.is_some() {
        b = b.header(CONTENT_RANGE, format!("bytes {start}-{}/{size}", end - 1));
    }
    b.body(Body::from_stream(stream)).expect("valid response")
}

/// `bytes=N-` or `bytes=N-M` → `Some(Ok(start..end))`, `Some(Err)` if unsatisfiable,
/// `None` (serve everything) for anything else.
fn parse_range(v: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let (a, b) = v.trim().strip_prefix("bytes=")?.split_once('-')?;
    let start: u64 = a.trim().parse().ok()?;
    let end = match b.trim() {
        "" => size,
        b => (b.parse::<u64>().ok()?.checked_add(1)?).min(size),
    };
    if start >= size {
        Some(Err(()))
    } else if end <= start {
        None
    } else {
        Some(Ok((start, end)))
    }
}

// ---------------------------------------------------------------------------------------
// Paging, queries, JSON

/// `max` (1..=100, default 10) and `cursor` (an offset, default 0).
fn paging(q: &Query) -> Result<(usize, usize), BadRequest> {
    let max = match q_get(q, "max") {
        None => 10,
        Some(m) => match m.parse::<usize>() {
            Ok(m) if (1..=100).contains(&m) => m,
            _ => {
                return Err(BadRequest(
                    "max must be an integer between 1 and 100.".into(),
                ));
            }
        },
    };
    let cursor = match q_get(q, "cursor").map(str::parse::<usize>) {
        None => 0,
        Some(Ok(c)) => c,
        Some(Err(_)) => return Err(BadRequest("Invalid cursor.".into())),
    };
    Ok((max, cursor))
}

type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// RFC 3339 or a plain date (midnight UTC).
fn parse_time(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        })
}

/// `from` (inclusive) and `to` (exclusive), as [`parse_time`] reads them.
fn time_window(q: &Query) -> Result<Window, BadRequest> {
    let parse = |k: &str| -> Result<Option<DateTime<Utc>>, BadRequest> {
        q_get(q, k)
            .map(|v| parse_time(v).ok_or_else(|| BadRequest(format!("Invalid {k}."))))
            .transpose()
    };
    Ok((parse("from")?, parse("to")?))
}

const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `{"items": [...]}` for one page, plus `Link: <…>; rel="next"` when more remain. The
/// next link keeps the request's filters unless [`crate::ApiFault::DropFiltersOnNext`].
fn page(
    sh: &Shared,
    drop_filters: bool,
    path: &str,
    q: &Query,
    items: Vec<Value>,
    max: usize,
    cursor: usize,
) -> Response {
    let start = cursor.min(items.len());
    let end = (start + max).min(items.len());
    let mut r = json_response(StatusCode::OK, &json!({"items": &items[start..end]}));
    if end < items.len() {
        let mut pairs: Vec<(String, String)> = if drop_filters {
            Vec::new()
        } else {
            q.iter()
                .filter(|(k, _)| k != "max" && k != "cursor")
                .cloned()
                .collect()
        };
        pairs.push(("max".into(), max.to_string()));
        pairs.push(("cursor".into(), end.to_string()));
        let query: Vec<String> = pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, QUERY_VALUE),
                    utf8_percent_encode(v, QUERY_VALUE)
                )
            })
            .collect();
        let link = format!("<{}{path}?{}>; rel=\"next\"", sh.base_url, query.join("&"));
        if let Ok(v) = HeaderValue::from_str(&link) {
            r.headers_mut().insert(LINK, v);
        }
    }
    r
}

/// `application/x-www-form-urlencoded` → pairs, in order.
fn parse_query(q: Option<&str>) -> Query {
    zoom_sim::query_pairs(q)
}

/// First value of `k`.
fn q_get<'a>(q: &'a Query, k: &str) -> Option<&'a str> {
    q.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn tracking_id() -> String {
    format!("ROUTER_{}", uuid().to_uppercase())
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json;charset=UTF-8")],
        v.to_string(),
    )
        .into_response()
}

/// A 400 with Webex's error body.
struct BadRequest(String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        api_error(StatusCode::BAD_REQUEST, &self.0)
    }
}

/// Webex's error shape: `{"message","errors":[{"description"}],"trackingId"}`.
fn api_error(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        &json!({
            "message": message,
            "errors": [{"description": message}],
            "trackingId": tracking_id(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=4-", 10), Some(Ok((4, 10))));
        assert_eq!(parse_range("bytes=4-5", 10), Some(Ok((4, 6))));
        assert_eq!(parse_range("bytes=4-99", 10), Some(Ok((4, 10))));
        assert_eq!(parse_range("bytes=10-", 10), Some(Err(())));
        assert_eq!(parse_range("bytes=5-4", 10), None);
        assert_eq!(parse_range("bytes=-3", 10), None);
        assert_eq!(parse_range("items=1-", 10), None);
    }

    #[test]
    fn admin_window_defaults_and_limits() {
        let t = |s: &str| parse_time(s).unwrap();
        let now = t("2026-06-30T12:00:00Z");
        let w = |f: Option<&str>, to: Option<&str>| {
            admin_window(f.map(t), to.map(t), now).map_err(|e| e.0)
        };
        assert_eq!(w(None, None), Ok((t("2026-06-23T12:00:00Z"), now)));
        assert_eq!(
            w(Some("2026-01-01"), None),
            Ok((t("2026-01-01T00:00:00Z"), t("2026-01-08T00:00:00Z")))
        );
        assert_eq!(
            w(None, Some("2026-01-08")),
            Ok((t("2026-01-01T00:00:00Z"), t("2026-01-08T00:00:00Z")))
        );
        // Exactly 30 days is within 30 days; one second more is not.
        assert!(w(Some("2026-01-01T00:00:00Z"), Some("2026-01-31T00:00:00Z")).is_ok());
        let long = w(Some("2026-01-01T00:00:00Z"), Some("2026-01-31T00:00:01Z"));
        assert!(long.unwrap_err().contains("within 30 days"));
        assert!(w(Some("2026-01-02"), Some("2026-01-01")).is_err());
        assert!(w(Some("2026-01-02"), Some("2026-01-02")).is_ok());
    }

    #[test]
    fn query_parsing_keeps_order() {
        let q = parse_query(Some("b=2&a=x%40y.com&c&b=3"));
        assert_eq!(q[0], ("b".into(), "2".into()));
        assert_eq!(q_get(&q, "a"), Some("x@y.com"));
        assert_eq!(q_get(&q, "c"), Some(""));
        assert_eq!(q_get(&q, "b"), Some("2"));
    }
}
