//! REST listings with Zoom's paging by `next_page_token`: `GET /v2/users`,
//! `GET /v2/users/{userId}/recordings` and `GET /v2/accounts/{accountId}/recordings`.
//!
//! Order of the checks (every call is recorded in [`crate::ZoomSim::list_requests`]):
//! the API fault of `set_api_fault`, the list fault of `fail_list_calls`, the bearer token
//! (401 code 124), the account switch (account listing only: 400 code 4711), the query
//! (400 code 300), the user (404 code 1001), the page token (400 code 300).

use std::collections::HashMap;
use std::time::Instant;

use axum::extract;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use chrono::{Months, NaiveDate, Utc};
use rand::Rng as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::payload::{RecordingObject, zoom_time};
use crate::server::{
    Sim, api_error, api_fault_gate_in, api_fault_response, json_response, parse_query,
    percent_decoded, rest_object, token_gate,
};
use crate::{
    DEFAULT_PAGE_SIZE, ListEndpoint, ListRequest, MAX_PAGE_SIZE, RecEntry, Shared, State, UserSpec,
    UserStatus,
};

/// `X-RateLimit-Category` of the listings (Zoom labels them Medium).
const MEDIUM: &str = "Medium";

const BAD_PAGE_TOKEN: &str = "The next page token is invalid or expired.";

/// What a `next_page_token` continues: the listing and its query as served (defaults
/// applied, `page_size` capped). A token is accepted only with the same query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Bound {
    Users {
        status: UserStatus,
        page_size: usize,
    },
    Recordings {
        /// The user's id (whichever of id, e-mail or `me` named it); `None` for the
        /// account-wide listing.
        user: Option<String>,
        from: NaiveDate,
        to: NaiveDate,
        page_size: usize,
    },
    /// A list of a meeting's people (`crate::people`): which, of which instance or id.
    People {
        endpoint: crate::PeopleEndpoint,
        key: String,
        page_size: usize,
    },
}

/// A `next_page_token` handed out: the query it continues, where, and until when.
pub(crate) struct PageToken {
    bound: Bound,
    offset: usize,
    /// `None`: never (a TTL too large for an `Instant`).
    expires: Option<Instant>,
}

impl PageToken {
    /// Make it expired as of `now`.
    pub(crate) fn expire(&mut self, now: Instant) {
        self.expires = Some(now);
    }

    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|e| now < e)
    }
}

/// Whose recordings a recordings listing asks for.
enum Owner<'a> {
    /// `{userId}` of `/v2/users/{userId}/recordings`, percent-decoded.
    User(&'a str),
    /// `{accountId}` of `/v2/accounts/{accountId}/recordings`, percent-decoded.
    Account(&'a str),
}

// ---------------------------------------------------------------------------------------
// handlers

/// `GET /v2/users?status=&page_size=&next_page_token=`.
pub(crate) async fn list_users(extract::State(sh): Sim, uri: Uri, headers: HeaderMap) -> Response {
    let query = parse_query(uri.query());
    let mut call = new_call(ListEndpoint::Users, &uri, &query, None);
    let r = users_page(&sh, &query, &headers, &mut call);
    finish(&sh, call, r)
}

/// `GET /v2/users/{userId}` (`userId`: an id, an e-mail or `me`): the user with `cms_user_id`; unknown:
/// 404 code 1001.
pub(crate) async fn get_user(
    extract::State(sh): Sim,
    extract::Path(named): extract::Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = parse_query(uri.query());
    if let Some(r) =
        api_fault_gate_in(&sh, crate::server::LIGHT).or_else(|| token_gate(&sh, &query, &headers))
    {
        return r;
    }
    let st = sh.lock();
    let owner = st.users.first().map(|u| u.id.clone());
    match resolve_user(&st.users, &named) {
        Some(u) => {
            let mut v =
                serde_json::to_value(user_object(u, owner.as_deref() == Some(u.id.as_str())))
                    .expect("serializes");
            v["cms_user_id"] = u.cms_user_id.clone().into();
            json_response(StatusCode::OK, v.to_string())
        }
        None => api_error(
            StatusCode::NOT_FOUND,
            1001,
            &format!("User does not exist: {named}."),
        ),
    }
}

/// `GET /v2/users/{userId}/recordings?from=&to=&page_size=&next_page_token=`.
pub(crate) async fn user_recordings(
    extract::State(sh): Sim,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = parse_query(uri.query());
    let user = path_param(uri.path(), "/v2/users/");
    let mut call = new_call(
        ListEndpoint::UserRecordings,
        &uri,
        &query,
        Some(user.clone()),
    );
    let r = recordings_page(&sh, &query, &headers, &mut call, Owner::User(&user));
    finish(&sh, call, r)
}

/// `GET /v2/accounts/{accountId}/recordings?from=&to=&page_size=&next_page_token=`.
pub(crate) async fn account_recordings(
    extract::State(sh): Sim,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = parse_query(uri.query());
    let account = path_param(uri.path(), "/v2/accounts/");
    let mut call = new_call(ListEndpoint::AccountRecordings, &uri, &query, None);
    let r = recordings_page(&sh, &query, &headers, &mut call, Owner::Account(&account));
    finish(&sh, call, r)
}

/// The segment between `prefix` and `/recordings`, percent-decoded (the router only sends
/// paths of that shape).
fn path_param(path: &str, prefix: &str) -> String {
    let raw = path
        .strip_prefix(prefix)
        .and_then(|r| r.strip_suffix("/recordings"))
        .unwrap_or_default();
    percent_decoded(raw)
}

/// The log entry of a list call, with the query as sent.
fn new_call(
    endpoint: ListEndpoint,
    uri: &Uri,
    query: &HashMap<String, String>,
    user: Option<String>,
) -> ListRequest {
    ListRequest {
        endpoint,
        path: uri.path().to_owned(),
        user,
        user_status: if endpoint == ListEndpoint::Users {
            query.get("status").cloned()
        } else {
            None
        },
        from: query.get("from").and_then(|v| parse_date(v)),
        to: query.get("to").and_then(|v| parse_date(v)),
        page_size: query.get("page_size").and_then(|v| v.trim().parse().ok()),
        had_token: query.get("next_page_token").is_some_and(|t| !t.is_empty()),
        status: 0,
        injected: false,
        at: Utc::now(),
    }
}

fn finish(sh: &Shared, mut call: ListRequest, r: Response) -> Response {
    call.status = r.status().as_u16();
    if call.status != 200 {
        tracing::debug!(endpoint = ?call.endpoint, status = call.status, "zoom-sim: list call refused");
    }
    sh.lock().list_requests.push(call);
    r
}

/// The faults (REST-wide first, then the list fault) and the bearer token.
fn list_gate(
    sh: &Shared,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    call: &mut ListRequest,
) -> Option<Response> {
    if let Some(r) = api_fault_gate_in(sh, MEDIUM) {
        call.injected = true;
        return Some(r);
    }
    {
        let mut guard = sh.lock();
        let st = &mut *guard;
        if let Some((fault, pass)) = st.list_fault.take() {
            if pass > 0 {
                st.list_fault = Some((fault, pass - 1));
            } else {
                st.list_fault = fault.used_once().map(|f| (f, 0));
                let daily = st.daily_retry_after.clone();
                call.injected = true;
                return Some(api_fault_response(
                    &mut st.api_stats,
                    &fault,
                    daily,
                    false,
                    MEDIUM,
                ));
            }
        }
    }
    token_gate(sh, query, headers)
}

// ---------------------------------------------------------------------------------------
// GET /v2/users

#[derive(Serialize)]
struct UsersPage {
    page_count: usize,
    page_number: u32,
    page_size: usize,
    total_records: usize,
    next_page_token: String,
    users: Vec<UserObject>,
}

#[derive(Serialize)]
struct UserObject {
    id: String,
    first_name: String,
    last_name: String,
    display_name: String,
    email: String,
    #[serde(rename = "type")]
    user_type: u32,
    pmi: u64,
    timezone: String,
    verified: u8,
    dept: String,
    created_at: String,
    user_created_at: String,
    language: &'static str,
    status: &'static str,
    role_id: &'static str,
    group_ids: Vec<String>,
}

fn user_object(u: &UserSpec, owner: bool) -> UserObject {
    let h = Sha256::digest(u.id.as_bytes());
    let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
    UserObject {
        id: u.id.clone(),
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        display_name: format!("{} {}", u.first_name, u.last_name)
            .trim()
            .to_owned(),
        email: u.email.clone(),
        user_type: u.user_type,
        pmi: 1_000_000_000 + n % 9_000_000_000,
        timezone: u.timezone.clone(),
        verified: u8::from(u.status != UserStatus::Pending),
        dept: u.dept.clone(),
        created_at: zoom_time(&u.created_at),
        user_created_at: zoom_time(&u.created_at),
        language: "en-US",
        status: u.status.as_str(),
        // Owner, or member.
        role_id: if owner { "0" } else { "2" },
        group_ids: u.groups.iter().map(|g| UserSpec::group_id(g)).collect(),
    }
}

/// `GET /v2/groups`: the account's groups (every name some user is in), by name, in one page.
pub(crate) async fn list_groups(extract::State(sh): Sim, uri: Uri, headers: HeaderMap) -> Response {
    let query = parse_query(uri.query());
    if let Some(r) =
        api_fault_gate_in(&sh, crate::server::LIGHT).or_else(|| token_gate(&sh, &query, &headers))
    {
        return r;
    }
    let st = sh.lock();
    let mut names: Vec<&String> = st.users.iter().flat_map(|u| &u.groups).collect();
    names.sort();
    names.dedup();
    let groups: Vec<serde_json::Value> = names
        .iter()
        .map(|n| {
            let members = st.users.iter().filter(|u| u.groups.contains(n)).count();
            serde_json::json!({"id": UserSpec::group_id(n), "name": n, "total_members": members})
        })
        .collect();
    let body = serde_json::json!({
        "total_records": groups.len(),
        "next_page_token": "",
        "groups": groups,
    });
    json_response(StatusCode::OK, body.to_string())
}

fn users_page(
    sh: &Shared,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    call: &mut ListRequest,
) -> Response {
    if let Some(r) = list_gate(sh, query, headers, call) {
        return r;
    }
    let status = match query.get("status").map(|s| s.trim()) {
        // Zoom's default.
        None | Some("") => UserStatus::Active,
        Some(s) => match UserStatus::from_query(s) {
            Some(s) => s,
            None => return validation_failed("status"),
        },
    };
    let Some(page_size) = page_size(query) else {
        return validation_failed("page_size");
    };
    let bound = Bound::Users { status, page_size };
    let mut guard = sh.lock();
    let st = &mut *guard;
    let Some(offset) = resume(st, query, &bound) else {
        return bad_page_token();
    };
    let owner = st.users.first().map(|u| u.id.clone());
    let matching: Vec<&UserSpec> = st.users.iter().filter(|u| u.status == status).collect();
    let total = matching.len();
    let users: Vec<UserObject> = matching
        .into_iter()
        .skip(offset)
        .take(page_size)
        .map(|u| user_object(u, owner.as_deref() == Some(u.id.as_str())))
        .collect();
    let next_page_token = next_token(st, bound, offset + page_size, total);
    drop(guard);
    ok_json(&UsersPage {
        page_count: total.div_ceil(page_size),
        page_number: 1,
        page_size,
        total_records: total,
        next_page_token,
        users,
    })
}

// ---------------------------------------------------------------------------------------
// GET /v2/users/{userId}/recordings, GET /v2/accounts/{accountId}/recordings

#[derive(Serialize)]
struct RecordingsPage {
    from: String,
    to: String,
    page_count: usize,
    page_size: usize,
    total_records: usize,
    next_page_token: String,
    meetings: Vec<RecordingObject>,
}

fn recordings_page(
    sh: &Shared,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    call: &mut ListRequest,
    owner: Owner<'_>,
) -> Response {
    if let Some(r) = list_gate(sh, query, headers, call) {
        return r;
    }
    if let Owner::Account(account) = owner {
        let st = sh.lock();
        if !st.account_recordings_allowed {
            return missing_scopes();
        }
        if account != "me" && account != st.s2s.account_id {
            return api_error(
                StatusCode::NOT_FOUND,
                2001,
                &format!("Account does not exist: {account}."),
            );
        }
    }
    let Some(page_size) = page_size(query) else {
        return validation_failed("page_size");
    };
    let today = Utc::now().date_naive();
    let (from, to) = match (
        date_param(query, "from", today),
        date_param(query, "to", today),
    ) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(field), _) | (_, Err(field)) => return validation_failed(field),
    };
    if to < from {
        return api_error(
            StatusCode::BAD_REQUEST,
            300,
            &format!("Invalid date range: from {from} is after to {to}."),
        );
    }
    if !within_a_month(from, to) {
        return api_error(
            StatusCode::BAD_REQUEST,
            300,
            &format!(
                "The date range from {from} to {to} is longer than one month; the maximum range is one month."
            ),
        );
    }
    let mut guard = sh.lock();
    let st = &mut *guard;
    let user = match owner {
        Owner::User(named) => match resolve_user(&st.users, named) {
            Some(u) => Some(u.id.clone()),
            None => {
                return api_error(
                    StatusCode::NOT_FOUND,
                    1001,
                    &format!("User does not exist: {named}."),
                );
            }
        },
        Owner::Account(_) => None,
    };
    let bound = Bound::Recordings {
        user: user.clone(),
        from,
        to,
        page_size,
    };
    let Some(offset) = resume(st, query, &bound) else {
        return bad_page_token();
    };
    let meetings = matching_recordings(&sh.api_base, st, user.as_deref(), from, to);
    let total = meetings.len();
    let meetings: Vec<RecordingObject> =
        meetings.into_iter().skip(offset).take(page_size).collect();
    let next_page_token = next_token(st, bound, offset + page_size, total);
    drop(guard);
    ok_json(&RecordingsPage {
        from: from.to_string(),
        to: to.to_string(),
        page_count: total.div_ceil(page_size),
        page_size,
        total_records: total,
        next_page_token,
        meetings,
    })
}

/// The recordings of `user` (every user's for `None`) whose `start_time` falls on a UTC
/// day in `from..=to` and that still have a file, newest first, as list items: the REST
/// object without `download_access_token` and `password`.
fn matching_recordings(
    api_base: &str,
    st: &State,
    user: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<RecordingObject> {
    let mut recs: Vec<&RecEntry> = st
        .recordings
        .values()
        .filter(|r| user.is_none_or(|u| r.spec.host_id == u))
        .filter(|r| (from..=to).contains(&r.spec.start_time.date_naive()))
        .collect();
    recs.sort_by(|a, b| {
        b.spec
            .start_time
            .cmp(&a.spec.start_time)
            .then_with(|| a.spec.uuid.cmp(&b.spec.uuid))
    });
    recs.into_iter()
        .filter_map(|r| rest_object(api_base, st, r))
        .map(|mut o| {
            o.password = None;
            o.download_access_token = None;
            o
        })
        .collect()
}

/// `me` (the first user added), an id, or an e-mail (ignoring ASCII case).
fn resolve_user<'a>(users: &'a [UserSpec], named: &str) -> Option<&'a UserSpec> {
    if named == "me" {
        return users.first();
    }
    users
        .iter()
        .find(|u| u.id == named)
        .or_else(|| users.iter().find(|u| u.email.eq_ignore_ascii_case(named)))
}

/// The simulator's reading of Zoom's "the maximum range is one month" for the recording
/// listings: `to` is no later than `from` plus one calendar month, i.e. the same day of the
/// next month, or that month's last day when it has no such day (2026-01-01..=2026-02-01
/// and 2026-01-31..=2026-02-28 are fine, 2026-01-01..=2026-02-02 is not). Whether `to` is
/// before `from` is not checked here. Clients can use it to cut their windows.
pub fn within_a_month(from: NaiveDate, to: NaiveDate) -> bool {
    from.checked_add_months(Months::new(1))
        .is_some_and(|limit| to <= limit)
}

// ---------------------------------------------------------------------------------------
// query, paging and answers

/// A `yyyy-mm-dd` date (exactly that shape).
fn parse_date(v: &str) -> Option<NaiveDate> {
    let b = v.trim().as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shaped {
        return None;
    }
    NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").ok()
}

/// `from` / `to`: today (UTC) when missing or empty; `Err(name)` when not a date.
fn date_param(
    query: &HashMap<String, String>,
    name: &'static str,
    today: NaiveDate,
) -> Result<NaiveDate, &'static str> {
    match query.get(name).map(|v| v.trim()) {
        None | Some("") => Ok(today),
        Some(v) => parse_date(v).ok_or(name),
    }
}

/// `page_size`: [`DEFAULT_PAGE_SIZE`] when missing or empty, capped at [`MAX_PAGE_SIZE`];
/// `None` when not a positive integer.
pub(crate) fn page_size(query: &HashMap<String, String>) -> Option<usize> {
    match query.get("page_size").map(|v| v.trim()) {
        None | Some("") => Some(DEFAULT_PAGE_SIZE as usize),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n >= 1 => Some(n.min(u64::from(MAX_PAGE_SIZE)) as usize),
            _ => None,
        },
    }
}

/// Where a `next_page_token` continues `bound`: 0 without a token; `None` for a token that
/// is unknown, expired or bound to another query (answered with [`bad_page_token`]).
pub(crate) fn resume(st: &State, query: &HashMap<String, String>, bound: &Bound) -> Option<usize> {
    let Some(token) = query.get("next_page_token").filter(|t| !t.is_empty()) else {
        return Some(0);
    };
    st.page_tokens
        .get(token)
        .filter(|p| p.bound == *bound && p.live(Instant::now()))
        .map(|p| p.offset)
}

pub(crate) fn bad_page_token() -> Response {
    api_error(StatusCode::BAD_REQUEST, 300, BAD_PAGE_TOKEN)
}

/// A new token for the page of `bound` at `offset`, or `""` when `offset` is past the end.
/// Expired tokens are dropped here.
pub(crate) fn next_token(st: &mut State, bound: Bound, offset: usize, total: usize) -> String {
    if offset >= total {
        return String::new();
    }
    let now = Instant::now();
    st.page_tokens.retain(|_, p| p.live(now));
    let mut rng = rand::rng();
    let token: String = (0..32)
        .map(|_| rng.sample(rand::distr::Alphanumeric) as char)
        .collect();
    st.page_tokens.insert(
        token.clone(),
        PageToken {
            bound,
            offset,
            expires: now.checked_add(st.page_token_ttl),
        },
    );
    token
}

pub(crate) fn validation_failed(field: &str) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        serde_json::json!({
            "code": 300,
            "message": "Validation Failed.",
            "errors": [{"field": field, "message": "Invalid field."}],
        })
        .to_string(),
    )
}

/// The account listing without the master-account scopes (what Zoom answers an S2S app
/// lacking them; the scope names are assumed).
fn missing_scopes() -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        4711,
        "Invalid access token, does not contain scopes:[cloud_recording:read:list_account_recordings:admin, cloud_recording:read:list_account_recordings:master].",
    )
}

fn ok_json(body: &impl Serialize) -> Response {
    let mut r = json_response(
        StatusCode::OK,
        serde_json::to_string(body).expect("serializes"),
    );
    r.headers_mut()
        .insert("x-ratelimit-category", HeaderValue::from_static(MEDIUM));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn one_month_rule() {
        assert!(within_a_month(d("2026-01-01"), d("2026-01-01")));
        assert!(within_a_month(d("2026-01-01"), d("2026-02-01")));
        assert!(!within_a_month(d("2026-01-01"), d("2026-02-02")));
        // No 31 February: the month ends the window.
        assert!(within_a_month(d("2026-01-31"), d("2026-02-28")));
        assert!(!within_a_month(d("2026-01-31"), d("2026-03-01")));
        assert!(within_a_month(d("2026-02-15"), d("2026-03-15")));
        assert!(!within_a_month(d("2026-02-15"), d("2026-03-16")));
        assert!(within_a_month(d("2025-12-15"), d("2026-01-15")));
    }

    #[test]
    fn dates_must_be_yyyy_mm_dd() {
        assert_eq!(parse_date("2026-03-09"), Some(d("2026-03-09")));
        assert_eq!(parse_date("2026-3-9"), None);
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026/03/09"), None);
        assert_eq!(parse_date("20260309"), None);
        assert_eq!(parse_date("2026-03-09T00:00:00Z"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn users_resolve_by_id_email_or_me() {
        let a = UserSpec::new("id-a", "Anna.Schmidt@example.edu");
        let b = UserSpec::new("id-b", "bo@example.edu");
        let users = vec![a.clone(), b.clone()];
        assert_eq!(resolve_user(&users, "me"), Some(&a));
        assert_eq!(resolve_user(&users, "id-b"), Some(&b));
        assert_eq!(resolve_user(&users, "anna.schmidt@EXAMPLE.edu"), Some(&a));
        assert_eq!(resolve_user(&users, "nobody"), None);
        assert_eq!(resolve_user(&[], "me"), None);
        assert_eq!(
            (a.first_name.as_str(), a.last_name.as_str()),
            ("Anna", "Schmidt")
        );
        assert_eq!((b.first_name.as_str(), b.last_name.as_str()), ("Bo", ""));
    }
}
