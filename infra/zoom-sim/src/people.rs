//! The calls about a meeting's people, answered from the instance's [`crate::PeopleSpec`]:
//!
//! - `GET /v2/metrics/{meetings|webinars}/{meetingUUID}/participants?type=past` (the
//!   dashboard, "Heavy"): every participant with `email` (left out when they gave none) and
//!   `role`. `type` must be `past`, `pastOne` or `pastJoined`: without it (Zoom's default
//!   `live`) or with `live` the ended meeting is not found (404 code 3001, the simulator's
//!   reading); any other value is a 400 code 300.
//! - `GET /v2/report/{meetings|webinars}/{meetingUUID}/participants` (the report, "Heavy"):
//!   the same people with `user_email` (`""` for none).
//! - `GET /v2/meetings/{meetingId}`, `GET /v2/webinars/{webinarId}` ("Light"): the meeting
//!   (latest instance with that number) with `settings.alternative_hosts`.
//! - `GET /v2/webinars/{webinarId}/panelists` ("Medium").
//!
//! The lists page like the other listings (`page_size`, default 30, at most 300; opaque
//! `next_page_token`s bound to the list, expiring as [`crate::ZoomSim::set_page_token_ttl`]
//! says). Instance UUIDs follow Zoom's double-encoding rule; meeting ids are numbers. A
//! meeting the simulator does not hold, or of the other kind (a webinar asked for on a
//! `/meetings/` path, or a meeting on a `/webinars/` one), is a 404 code 3001.
//!
//! Order of the checks: the API fault of `set_api_fault`, the bearer token (401 code 124),
//! a scope denied with [`crate::ZoomSim::deny_people_scope`] (400 code 4711), the query
//! (400 code 300), the meeting (404 code 3001), the page token (400 code 300). Every call
//! is recorded in [`crate::ZoomSim::people_requests`].

use std::collections::HashMap;

use axum::extract;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Value, json};

use crate::listing::{Bound, bad_page_token, next_token, page_size, resume, validation_failed};
use crate::payload::zoom_time;
use crate::server::{
    HEAVY, LIGHT, Sim, api_error, api_fault_gate_in, decode_meeting_id, json_response, parse_query,
    percent_decoded, token_gate,
};
use crate::{PersonSpec, RecEntry, Shared, State};

/// Which call about a meeting's people a [`PeopleRequest`] made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeopleEndpoint {
    /// `GET /v2/metrics/{meetings|webinars}/{meetingUUID}/participants`.
    Metrics,
    /// `GET /v2/report/{meetings|webinars}/{meetingUUID}/participants`.
    Report,
    /// `GET /v2/meetings/{meetingId}` or `GET /v2/webinars/{webinarId}`.
    Meeting,
    /// `GET /v2/webinars/{webinarId}/panelists`.
    Panelists,
}

impl PeopleEndpoint {
    fn category(self) -> &'static str {
        match self {
            PeopleEndpoint::Metrics | PeopleEndpoint::Report => HEAVY,
            PeopleEndpoint::Meeting => LIGHT,
            PeopleEndpoint::Panelists => "Medium",
        }
    }

    /// The (classic) scope a 4711 names.
    fn scope(self, webinar: bool) -> &'static str {
        match (self, webinar) {
            (PeopleEndpoint::Metrics, false) => "dashboard_meetings:read:admin",
            (PeopleEndpoint::Metrics, true) => "dashboard_webinars:read:admin",
            (PeopleEndpoint::Report, _) => "report:read:admin",
            (PeopleEndpoint::Meeting, false) => "meeting:read:admin",
            (PeopleEndpoint::Meeting | PeopleEndpoint::Panelists, _) => "webinar:read:admin",
        }
    }
}

/// One call about a meeting's people the simulator received, whatever its outcome
/// ([`crate::ZoomSim::people_requests`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeopleRequest {
    pub endpoint: PeopleEndpoint,
    /// On a `/webinars/` path.
    pub webinar: bool,
    /// The request path as received (still percent-encoded, without the query).
    pub path: String,
    /// The instance UUID or meeting id, decoded by Zoom's rules; `None` when it does not
    /// decode (a UUID with `/` encoded only once).
    pub meeting: Option<String>,
    /// `page_size` as sent; `None` when missing or not a number.
    pub page_size: Option<u32>,
    /// Whether a non-empty `next_page_token` was sent (valid or not).
    pub had_token: bool,
    /// The HTTP status answered.
    pub status: u16,
    /// Answered by an injected fault ([`crate::ZoomSim::set_api_fault`]).
    pub injected: bool,
    pub at: chrono::DateTime<Utc>,
}

pub(crate) async fn metrics(extract::State(sh): Sim, uri: Uri, headers: HeaderMap) -> Response {
    serve(&sh, PeopleEndpoint::Metrics, &uri, &headers)
}

pub(crate) async fn report(extract::State(sh): Sim, uri: Uri, headers: HeaderMap) -> Response {
    serve(&sh, PeopleEndpoint::Report, &uri, &headers)
}

pub(crate) async fn meeting(extract::State(sh): Sim, uri: Uri, headers: HeaderMap) -> Response {
    serve(&sh, PeopleEndpoint::Meeting, &uri, &headers)
}

pub(crate) async fn panelists(extract::State(sh): Sim, uri: Uri, headers: HeaderMap) -> Response {
    serve(&sh, PeopleEndpoint::Panelists, &uri, &headers)
}

/// `(webinar, raw key)` of a path the router sent to `endpoint`.
fn split_path(endpoint: PeopleEndpoint, path: &str) -> Option<(bool, &str)> {
    let rest = path.strip_prefix("/v2/")?;
    let (rest, suffix) = match endpoint {
        PeopleEndpoint::Metrics => (rest.strip_prefix("metrics/")?, "/participants"),
        PeopleEndpoint::Report => (rest.strip_prefix("report/")?, "/participants"),
        PeopleEndpoint::Meeting => (rest, ""),
        PeopleEndpoint::Panelists => (rest, "/panelists"),
    };
    let (webinar, rest) = if let Some(r) = rest.strip_prefix("meetings/") {
        (false, r)
    } else {
        (true, rest.strip_prefix("webinars/")?)
    };
    let key = rest.strip_suffix(suffix)?;
    (!key.is_empty() && !key.contains('/')).then_some((webinar, key))
}

fn serve(sh: &Shared, endpoint: PeopleEndpoint, uri: &Uri, headers: &HeaderMap) -> Response {
    let query = parse_query(uri.query());
    let split = split_path(endpoint, uri.path());
    let webinar = split.is_some_and(|(w, _)| w);
    let key = split.and_then(|(_, raw)| match endpoint {
        PeopleEndpoint::Metrics | PeopleEndpoint::Report => decode_meeting_id(raw),
        PeopleEndpoint::Meeting | PeopleEndpoint::Panelists => Some(percent_decoded(raw)),
    });
    let mut call = PeopleRequest {
        endpoint,
        webinar,
        path: uri.path().to_owned(),
        meeting: key.clone(),
        page_size: query.get("page_size").and_then(|v| v.trim().parse().ok()),
        had_token: query.get("next_page_token").is_some_and(|t| !t.is_empty()),
        status: 0,
        injected: false,
        at: Utc::now(),
    };
    let r = answer(
        sh,
        endpoint,
        webinar,
        key.as_deref(),
        &query,
        headers,
        &mut call,
    );
    call.status = r.status().as_u16();
    sh.lock().people_requests.push(call);
    r
}

fn answer(
    sh: &Shared,
    endpoint: PeopleEndpoint,
    webinar: bool,
    key: Option<&str>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    call: &mut PeopleRequest,
) -> Response {
    if let Some(r) = api_fault_gate_in(sh, endpoint.category()) {
        call.injected = true;
        return r;
    }
    if let Some(r) = token_gate(sh, query, headers) {
        return r;
    }
    if sh.lock().people_denied.contains(&endpoint) {
        return api_error(
            StatusCode::BAD_REQUEST,
            4711,
            &format!(
                "Invalid access token, does not contain scopes:[{}].",
                endpoint.scope(webinar)
            ),
        );
    }
    if endpoint == PeopleEndpoint::Metrics {
        match query.get("type").map(|t| t.trim()) {
            Some("past" | "pastOne" | "pastJoined") => {}
            // Zoom's default is `live`: an ended meeting is not live.
            None | Some("" | "live") => return not_found(webinar, key.unwrap_or_default()),
            Some(_) => return validation_failed("type"),
        }
    }
    let paged = endpoint != PeopleEndpoint::Meeting;
    let size = if paged {
        match page_size(query) {
            Some(n) => n,
            None => return validation_failed("page_size"),
        }
    } else {
        0
    };
    let Some(key) = key else {
        return not_found(webinar, "");
    };
    let mut guard = sh.lock();
    let st = &mut *guard;
    let Some(rec) = find(st, endpoint, webinar, key) else {
        return not_found(webinar, key);
    };
    if !paged {
        let body = meeting_object(rec);
        drop(guard);
        return ok(body, endpoint);
    }
    let spec = &rec.spec;
    let (field, people): (&str, &[PersonSpec]) = match endpoint {
        PeopleEndpoint::Panelists => ("panelists", &spec.people.panelists),
        _ => ("participants", &spec.people.participants),
    };
    let rows: Vec<Value> = people
        .iter()
        .enumerate()
        .map(|(i, p)| row(endpoint, spec, i, p))
        .collect();
    let bound = Bound::People {
        endpoint,
        key: spec.uuid.clone(),
        page_size: size,
    };
    let Some(offset) = resume(st, query, &bound) else {
        return bad_page_token();
    };
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(offset).take(size).collect();
    let next_page_token = next_token(st, bound, offset + size, total);
    drop(guard);
    let mut body = json!({
        "page_count": total.div_ceil(size),
        "page_size": size,
        "total_records": total,
        "next_page_token": next_page_token,
    });
    body[field] = page.into();
    ok(body, endpoint)
}

/// The instance (metrics, report: by UUID) or the latest instance of the meeting number
/// (meeting, panelists), if it is of the kind the path names.
fn find<'a>(
    st: &'a State,
    endpoint: PeopleEndpoint,
    webinar: bool,
    key: &str,
) -> Option<&'a RecEntry> {
    let rec = match endpoint {
        PeopleEndpoint::Metrics | PeopleEndpoint::Report => st.recordings.get(key),
        PeopleEndpoint::Meeting | PeopleEndpoint::Panelists => {
            let n: u64 = key
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| key.parse().ok())??;
            st.recordings
                .values()
                .filter(|r| r.spec.meeting_id == n)
                .max_by_key(|r| r.spec.start_time)
        }
    }?;
    (rec.spec.is_webinar() == webinar).then_some(rec)
}

/// One person as the endpoint lists them.
fn row(endpoint: PeopleEndpoint, spec: &crate::RecordingSpec, i: usize, p: &PersonSpec) -> Value {
    let joined = spec.start_time + chrono::Duration::seconds(i as i64 % 600);
    let left = spec.start_time + chrono::Duration::minutes(45);
    let id = format!("{:016x}", (spec.meeting_id as u128 * 31 + i as u128) as u64);
    match endpoint {
        PeopleEndpoint::Metrics => {
            let mut v = json!({
                "id": id,
                "user_id": format!("{}", 16_778_240 + i),
                "user_name": p.name,
                "device": "Mac",
                "network_type": "Wired",
                "join_time": zoom_time(&joined),
                "leave_time": zoom_time(&left),
            });
            if !p.email.is_empty() {
                v["email"] = p.email.clone().into();
            }
            if !p.role.is_empty() {
                v["role"] = p.role.clone().into();
            }
            v
        }
        PeopleEndpoint::Report => json!({
            "id": id,
            "user_id": format!("{}", 16_778_240 + i),
            "name": p.name,
            "user_email": p.email,
            "join_time": zoom_time(&joined),
            "leave_time": zoom_time(&left),
            "duration": (left - joined).num_seconds(),
            "status": "in_meeting",
        }),
        PeopleEndpoint::Panelists | PeopleEndpoint::Meeting => json!({
            "id": id,
            "name": p.name,
            "email": p.email,
            "join_url": format!("https://zoom.us/w/{}", spec.meeting_id),
        }),
    }
}

/// `GET /v2/meetings/{meetingId}` / `GET /v2/webinars/{webinarId}`: the parts a client reads.
fn meeting_object(rec: &RecEntry) -> Value {
    let s = &rec.spec;
    json!({
        "uuid": s.uuid,
        "id": s.meeting_id,
        "host_id": s.host_id,
        "host_email": s.host_email,
        "topic": s.topic,
        "type": s.object_type,
        "start_time": zoom_time(&s.start_time),
        "timezone": s.timezone,
        "duration": 60,
        "settings": {
            "host_video": true,
            "participant_video": false,
            "join_before_host": false,
            "auto_recording": "cloud",
            "alternative_hosts": s.people.alternative_hosts,
        },
    })
}

fn not_found(webinar: bool, key: &str) -> Response {
    let what = if webinar { "Webinar" } else { "Meeting" };
    api_error(
        StatusCode::NOT_FOUND,
        3001,
        &format!("{what} does not exist: {key}."),
    )
}

fn ok(body: Value, endpoint: PeopleEndpoint) -> Response {
    let mut r = json_response(StatusCode::OK, body.to_string());
    r.headers_mut().insert(
        "x-ratelimit-category",
        HeaderValue::from_static(endpoint.category()),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_family_and_the_key() {
        use PeopleEndpoint::*;
        assert_eq!(
            split_path(
                Metrics,
                "/v2/metrics/meetings/%252Fab%253D%253D/participants"
            ),
            Some((false, "%252Fab%253D%253D"))
        );
        assert_eq!(
            split_path(Report, "/v2/report/webinars/abc/participants"),
            Some((true, "abc"))
        );
        assert_eq!(
            split_path(Meeting, "/v2/meetings/81234567890"),
            Some((false, "81234567890"))
        );
        assert_eq!(
            split_path(Meeting, "/v2/webinars/81234567890"),
            Some((true, "81234567890"))
        );
        assert_eq!(
            split_path(Panelists, "/v2/webinars/812/panelists"),
            Some((true, "812"))
        );
        assert_eq!(
            split_path(Metrics, "/v2/metrics/meetings//participants"),
            None
        );
        assert_eq!(split_path(Meeting, "/v2/meetings/1/recordings"), None);
    }
}
