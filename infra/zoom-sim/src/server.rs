//! HTTP side: `/rec/download`, the CDN, the REST lookup and deletion, and OAuth (the
//! REST listings are in `listing`).

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{self, Path};
use axum::http::header::{
    ACCEPT_RANGES, AUTHORIZATION, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH,
    CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE, RETRY_AFTER,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use percent_encoding::percent_decode_str;

use crate::content::{BLOCK, Generator, content_type_for};
use crate::listing;
use crate::payload::{self, ObjectCtx};
use crate::people;
use crate::signing::{hmac_sha256, unix_now};
use crate::{
    ApiFault, DEFAULT_ACCESS_TOKEN_TTL_SECS, DeleteCall, DeleteFault, Fault, FileStatus, Grant,
    MAX_ACCESS_TOKEN_TTL_SECS, RecEntry, RetryAfter, RevokeCall, Scope, ServedBody, Shared, State,
};

/// `Key-Pair-Id` of the simulated CDN's signed URLs.
const KEY_PAIR_ID: &str = "K1ZOOMSIM2EXAMPLE";
/// Lifetime of a signed CDN URL.
const CDN_URL_TTL_SECS: i64 = 6 * 3600;

const HTML_ONLY_HOST: &str = "Only the host can download this recording. Please contact the host for a copy of this recording.";
const HTML_GONE: &str = "This recording does not exist.";

/// `X-RateLimit-Category` of the endpoints labelled Light (recording get/delete, and the
/// token endpoint here).
pub(crate) const LIGHT: &str = "Light";
/// `X-RateLimit-Category` of the dashboard and report calls.
pub(crate) const HEAVY: &str = "Heavy";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/rec/download/{file_id}", get(rec_download))
        .route("/cdn/{file_id}", get(cdn))
        .route("/oauth/token", post(oauth_token))
        .route("/oauth/revoke", post(oauth_revoke))
        .route(
            "/v2/meetings/{*rest}",
            get(meeting_recordings).delete(delete_recordings),
        )
        .route("/v2/users", get(listing::list_users))
        .route("/v2/groups", get(listing::list_groups))
        .route("/v2/users/{user_id}", get(listing::get_user))
        .route(
            "/v2/users/{user_id}/recordings",
            get(listing::user_recordings),
        )
        .route(
            "/v2/accounts/{account_id}/recordings",
            get(listing::account_recordings),
        )
        .route(
            "/v2/metrics/meetings/{uuid}/participants",
            get(people::metrics),
        )
        .route(
            "/v2/metrics/webinars/{uuid}/participants",
            get(people::metrics),
        )
        .route(
            "/v2/report/meetings/{uuid}/participants",
            get(people::report),
        )
        .route(
            "/v2/report/webinars/{uuid}/participants",
            get(people::report),
        )
        .route("/v2/webinars/{webinar_id}", get(people::meeting))
        .route(
            "/v2/webinars/{webinar_id}/panelists",
            get(people::panelists),
        )
        .fallback(fallback)
        .with_state(shared)
}

pub(crate) type Sim = extract::State<Arc<Shared>>;

// ---------------------------------------------------------------------------------------
// /rec/download

async fn rec_download(
    extract::State(sh): Sim,
    Path(file_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = parse_query(uri.query());
    let token = bearer(&headers);
    let now = unix_now();
    {
        let mut guard = sh.lock();
        let st = &mut *guard;
        let Some(f) = st.files.get_mut(&file_id) else {
            return html_page(HTML_GONE);
        };
        f.stats.download_requests += 1;
        f.stats.last_bearer = token.clone();
        match f.fault.clone() {
            Some(Fault::RateLimited {
                times,
                retry_after_secs,
            }) if times > 0 => {
                f.fault = (times > 1).then_some(Fault::RateLimited {
                    times: times - 1,
                    retry_after_secs,
                });
                f.stats.rate_limited += 1;
                return rate_limited(&RetryAfter::Secs(retry_after_secs));
            }
            Some(Fault::RateLimitedDate { times, secs }) if times > 0 => {
                f.fault = (times > 1).then_some(Fault::RateLimitedDate {
                    times: times - 1,
                    secs,
                });
                f.stats.rate_limited += 1;
                return rate_limited(&RetryAfter::HttpDate(secs));
            }
            Some(Fault::ServerError { times }) if times > 0 => {
                f.fault = (times > 1).then_some(Fault::ServerError { times: times - 1 });
                f.stats.server_errors += 1;
                return service_unavailable();
            }
            Some(Fault::Unauthorized { times }) if times > 0 => {
                f.fault = (times > 1).then_some(Fault::Unauthorized { times: times - 1 });
                f.stats.unauthorized += 1;
                return api_error(StatusCode::UNAUTHORIZED, 124, "Invalid access token.");
            }
            Some(Fault::HtmlDisguised) => {
                f.stats.html_responses += 1;
                f.stats.disguised_html += 1;
                return html_disguised(HTML_ONLY_HOST);
            }
            _ => {}
        }
        let message = if f.is_gone() {
            Some(HTML_GONE)
        } else if query.contains_key("access_token")
            || f.fault == Some(Fault::Html200)
            || !token_ok(&st.tokens, token.as_deref(), &f.uuid, now)
        {
            Some(HTML_ONLY_HOST)
        } else {
            None
        };
        if let Some(message) = message {
            f.stats.html_responses += 1;
            return html_page(message);
        }
        f.stats.redirects += 1;
    }
    tracing::debug!(%file_id, "zoom-sim: 302 to CDN");
    let location = cdn_url(&sh, &file_id, now);
    Response::builder()
        .status(StatusCode::FOUND)
        .header(LOCATION, location)
        .header(CONTENT_LENGTH, 0)
        .body(Body::empty())
        .expect("valid response")
}

fn token_ok(tokens: &HashMap<String, Grant>, token: Option<&str>, uuid: &str, now: i64) -> bool {
    let Some(g) = token.and_then(|t| tokens.get(t)) else {
        return false;
    };
    !g.revoked
        && g.exp > now
        && match &g.scope {
            Scope::Api => true,
            Scope::Recording(u) => u == uuid,
        }
}

fn html_page(message: &str) -> Response {
    let body = html_body(message);
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, "no-cache, no-store"),
        ],
        body,
    )
        .into_response()
}

fn html_body(message: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Error - Zoom</title></head><body><div id=\"app\"><div class=\"error-page\">\
         <h1 class=\"error-title\">Error</h1><p class=\"error-message\">{message}</p>\
         <a href=\"https://zoom.us/signin\">Sign in</a></div></div></body></html>"
    )
}

/// The HTML page of [`Fault::HtmlDisguised`]: binary content type, BOM and blank lines
/// first, chunked; the first chunk is 1 byte, then a pause, then growing pieces.
fn html_disguised(message: &str) -> Response {
    let mut body = "\u{FEFF}\r\n \n\t\n".as_bytes().to_vec();
    body.extend_from_slice(html_body(message).as_bytes());
    let body = Bytes::from(body);
    let stream =
        futures_util::stream::unfold((body, 0usize, 1usize), |(body, pos, n)| async move {
            if pos >= body.len() {
                return None;
            }
            if pos == 1 {
                // Make sure the first byte travels alone.
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            let end = (pos + n).min(body.len());
            let chunk = body.slice(pos..end);
            let next = if pos == 0 { 2 } else { (n * 2).min(64) };
            Some((Ok::<_, io::Error>(chunk), (body, end, next)))
        });
    Response::builder()
        .status(StatusCode::OK)
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CACHE_CONTROL, "no-cache, no-store")
        .body(Body::from_stream(stream))
        .expect("valid response")
}

/// `Retry-After: Tue, 01 Dec 2026 10:00:00 GMT` for a unix time.
pub fn http_date(unix_secs: i64) -> String {
    chrono::DateTime::from_timestamp(unix_secs, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

fn retry_after_value(r: &RetryAfter) -> Option<HeaderValue> {
    let at = |secs: u64| unix_now().saturating_add(i64::try_from(secs).unwrap_or(i64::MAX / 2));
    let v = match r {
        RetryAfter::Secs(n) => n.to_string(),
        RetryAfter::HttpDate(secs) => http_date(at(*secs)),
        RetryAfter::Timestamp(secs) => chrono::DateTime::from_timestamp(at(*secs), 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        RetryAfter::Omitted => return None,
    };
    HeaderValue::from_str(&v).ok()
}

/// Seconds from now to the next UTC midnight (1..=86400).
fn secs_to_utc_midnight() -> u64 {
    let now = unix_now().rem_euclid(86_400) as u64;
    86_400 - now
}

fn rate_limited(retry_after: &RetryAfter) -> Response {
    rate_limited_in(retry_after, LIGHT)
}

/// A QPS 429 of an endpoint of rate-limit `category` (`X-RateLimit-Category`).
fn rate_limited_in(retry_after: &RetryAfter, category: &'static str) -> Response {
    let mut r = json_response(
        StatusCode::TOO_MANY_REQUESTS,
        r#"{"code":429,"message":"You have reached the maximum per-second rate limit for this API. Try again later."}"#
            .to_owned(),
    );
    let h = r.headers_mut();
    if let Some(v) = retry_after_value(retry_after) {
        h.insert(RETRY_AFTER, v);
    }
    h.insert("x-ratelimit-type", HeaderValue::from_static("QPS"));
    h.insert("x-ratelimit-category", HeaderValue::from_static(category));
    // Business+ per-second limits of the protocol reference (§7): Light 80, Medium 60, Heavy 40.
    let limit = match category {
        LIGHT => "80",
        HEAVY => "40",
        _ => "60",
    };
    h.insert("x-ratelimit-limit", HeaderValue::from_static(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
    r
}

fn service_unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(CONTENT_TYPE, "text/html")],
        "<html><head><title>503 Service Temporarily Unavailable</title></head><body>\
         <center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------
// CDN

fn cdn_resource(sh: &Shared, file_id: &str) -> String {
    format!("{}/cdn/{}", sh.cdn_base, payload::encode_segment(file_id))
}

/// A CloudFront-style signed URL: `Policy` (base64url JSON), `Signature` (HMAC of the
/// policy with the CDN's key), `Key-Pair-Id`.
fn cdn_url(sh: &Shared, file_id: &str, now: i64) -> String {
    let resource = cdn_resource(sh, file_id);
    let policy = serde_json::json!({
        "Statement": [{
            "Resource": resource,
            "Condition": {"DateLessThan": {"AWS:EpochTime": now + CDN_URL_TTL_SECS}}
        }]
    });
    let policy = URL_SAFE_NO_PAD.encode(policy.to_string());
    let sig = URL_SAFE_NO_PAD.encode(hmac_sha256(&sh.cdn_key, &[policy.as_bytes()]));
    format!("{resource}?Policy={policy}&Signature={sig}&Key-Pair-Id={KEY_PAIR_ID}")
}

fn signature_ok(sh: &Shared, file_id: &str, q: &HashMap<String, String>, now: i64) -> bool {
    let (Some(policy), Some(sig), Some(kp)) =
        (q.get("Policy"), q.get("Signature"), q.get("Key-Pair-Id"))
    else {
        return false;
    };
    let expected = URL_SAFE_NO_PAD.encode(hmac_sha256(&sh.cdn_key, &[policy.as_bytes()]));
    if kp != KEY_PAIR_ID || !constant_time_eq(expected.as_bytes(), sig.as_bytes()) {
        return false;
    }
    let Some(p) = URL_SAFE_NO_PAD
        .decode(policy)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    else {
        return false;
    };
    let st = &p["Statement"][0];
    st["Resource"].as_str() == Some(cdn_resource(sh, file_id).as_str())
        && st["Condition"]["DateLessThan"]["AWS:EpochTime"]
            .as_i64()
            .is_some_and(|exp| exp > now)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn xml_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/xml")],
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ),
    )
        .into_response()
}

enum RangeReq {
    Full,
    /// `start..end` (end exclusive).
    Partial(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range (`N-`, `N-M`, `-N`); anything else is ignored (full body), as a
/// server may.
fn parse_range(h: Option<&HeaderValue>, size: u64) -> RangeReq {
    let Some(spec) = h
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return RangeReq::Full;
    };
    if spec.contains(',') {
        return RangeReq::Full;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeReq::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        return match b.parse::<u64>() {
            Ok(0) => RangeReq::Unsatisfiable,
            Ok(n) if size > 0 => RangeReq::Partial(size.saturating_sub(n), size),
            Ok(_) => RangeReq::Unsatisfiable,
            Err(_) => RangeReq::Full,
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return RangeReq::Full;
    };
    let end = if b.is_empty() {
        size
    } else {
        match b.parse::<u64>() {
            Ok(last) if last >= start => (last + 1).min(size),
            _ => return RangeReq::Full,
        }
    };
    if start >= size {
        RangeReq::Unsatisfiable
    } else {
        RangeReq::Partial(start, end)
    }
}

struct BodyState {
    shared: Arc<Shared>,
    file_id: String,
    generator: Generator,
    pos: u64,
    end: u64,
    /// Stop (with an error, so the connection is closed) at this offset.
    cut: Option<u64>,
    count_complete: bool,
    failed: bool,
    /// Index of this body in the file's [`crate::FileStats::bodies`].
    body_index: usize,
    /// [`Fault::Throttle`]: bytes per second, paced from `started`.
    rate: Option<u64>,
    started: Instant,
    sent: u64,
}

async fn next_chunk(mut s: BodyState) -> Option<(Result<Bytes, io::Error>, BodyState)> {
    if s.failed || s.pos >= s.end {
        return None;
    }
    if s.cut.is_some_and(|c| s.pos >= c) {
        // Let hyper flush the headers and the bytes so far before the connection dies:
        // the client must see a short body, not a missing response.
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.failed = true;
        return Some((
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "zoom-sim: simulated connection drop",
            )),
            s,
        ));
    }
    let mut next = ((s.pos / BLOCK) + 1) * BLOCK;
    next = next.min(s.end);
    if let Some(c) = s.cut {
        next = next.min(c);
    }
    if let Some(rate) = s.rate {
        // The bytes sent so far are due no earlier than `sent / rate` after the start.
        let due = Duration::from_secs_f64(s.sent as f64 / rate as f64);
        tokio::time::sleep_until(s.started + due).await;
    }
    let mut buf = vec![0u8; (next - s.pos) as usize];
    s.generator.fill(s.pos, &mut buf);
    s.pos = next;
    s.sent += buf.len() as u64;
    {
        let mut st = s.shared.lock();
        if let Some(f) = st.files.get_mut(&s.file_id) {
            f.stats.bytes_served += buf.len() as u64;
            if let Some(b) = f.stats.bodies.get_mut(s.body_index) {
                b.bytes += buf.len() as u64;
            }
            if s.pos == s.end && s.count_complete {
                f.stats.complete_bodies += 1;
            }
        }
    }
    Some((Ok(Bytes::from(buf)), s))
}

struct CdnPlan {
    generator: Generator,
    /// Size of the object served (less than the file's for `Truncated`).
    size: u64,
    start: u64,
    end: u64,
    partial: bool,
    cut: Option<u64>,
    /// Count a body that reaches `end` in `complete_bodies`.
    count_complete: bool,
    slow_ms: Option<u64>,
    rate: Option<u64>,
    body_index: usize,
    content_type: &'static str,
    file_name: String,
}

async fn cdn(
    extract::State(sh): Sim,
    Path(file_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query = parse_query(uri.query());
    let now = unix_now();
    let plan = {
        let mut guard = sh.lock();
        let Some(f) = guard.files.get_mut(&file_id) else {
            return xml_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            );
        };
        f.stats.cdn_requests += 1;
        if headers.contains_key(AUTHORIZATION) {
            f.stats.auth_leaks += 1;
            tracing::warn!(%file_id, "zoom-sim: Authorization header leaked to the CDN");
            return xml_error(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the Signature query string parameter or the Authorization header should be specified",
            );
        }
        if !signature_ok(&sh, &file_id, &query, now) {
            f.stats.bad_signatures += 1;
            return xml_error(StatusCode::FORBIDDEN, "AccessDenied", "Access denied");
        }
        if f.is_gone() {
            return xml_error(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
            );
        }
        // The object the CDN holds: the whole file, or its first bytes (Truncated).
        let size = match f.fault {
            Some(Fault::Truncated { bytes }) if bytes < f.spec.size => bytes,
            _ => f.spec.size,
        };
        let truncated = size < f.spec.size;
        let range_header = if f.fault == Some(Fault::IgnoreRange) {
            if headers.contains_key(RANGE) {
                f.stats.ignored_ranges += 1;
            }
            None
        } else {
            headers.get(RANGE)
        };
        let (start, end, partial) = match parse_range(range_header, size) {
            RangeReq::Full => (0, size, false),
            RangeReq::Partial(a, b) => (a, b, true),
            RangeReq::Unsatisfiable => {
                let mut r = xml_error(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "InvalidRange",
                    "The requested range is not satisfiable",
                );
                r.headers_mut().insert(
                    CONTENT_RANGE,
                    HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
                );
                return r;
            }
        };
        if partial {
            f.stats.range_requests += 1;
        }
        if truncated {
            f.stats.truncated_bodies += 1;
        }
        let slow_ms = match f.fault {
            Some(Fault::SlowStart { millis }) => Some(millis),
            _ => None,
        };
        let rate = match f.fault {
            Some(Fault::Throttle { bytes_per_sec }) => Some(bytes_per_sec.max(1)),
            _ => None,
        };
        f.stats.bodies.push(ServedBody { start, bytes: 0 });
        let body_index = f.stats.bodies.len() - 1;
        let mut cut = None;
        if let Some(Fault::DropAfter { bytes, times }) = f.fault.clone()
            && times > 0
        {
            // u32::MAX: forever.
            if times != u32::MAX {
                f.fault = (times > 1).then_some(Fault::DropAfter {
                    bytes,
                    times: times - 1,
                });
            }
            if start.saturating_add(bytes) < end {
                cut = Some(start + bytes);
                f.stats.dropped_connections += 1;
            }
        }
        CdnPlan {
            generator: f.generator,
            size,
            start,
            end,
            partial,
            cut,
            count_complete: !truncated,
            slow_ms,
            rate,
            body_index,
            content_type: content_type_for(&f.spec.file_extension),
            file_name: f.file_name.clone(),
        }
    };

    if let Some(ms) = plan.slow_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    let size = plan.size;
    let stream = futures_util::stream::unfold(
        BodyState {
            shared: sh.clone(),
            file_id,
            generator: plan.generator,
            pos: plan.start,
            end: plan.end,
            cut: plan.cut,
            count_complete: plan.count_complete,
            failed: false,
            body_index: plan.body_index,
            rate: plan.rate,
            started: Instant::now(),
            sent: 0,
        },
        next_chunk,
    );
    let mut builder = Response::builder()
        .status(if plan.partial {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(CONTENT_TYPE, plan.content_type)
        .header(CONTENT_LENGTH, plan.end - plan.start)
        .header(
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", plan.file_name),
        )
        .header(ACCEPT_RANGES, "bytes");
    if plan.partial {
        builder = builder.header(
            CONTENT_RANGE,
            format!("bytes {}-{}/{size}", plan.start, plan.end - 1),
        );
    }
    builder
        .body(Body::from_stream(stream))
        .expect("valid response")
}

// ---------------------------------------------------------------------------------------
// REST: GET /v2/meetings/{meetingId}/recordings

pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json;charset=UTF-8")],
        body,
    )
        .into_response()
}

pub(crate) fn api_error(status: StatusCode, code: u32, message: &str) -> Response {
    json_response(
        status,
        serde_json::json!({"code": code, "message": message}).to_string(),
    )
}

fn no_recording() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        3301,
        "This recording does not exist.",
    )
}

/// Zoom's rule: an instance UUID that starts with `/` or contains `//` must be double
/// URL-encoded; others may be encoded once. Returns the meeting id or UUID, or `None`
/// where Zoom would not find the recording.
pub(crate) fn decode_meeting_id(raw: &str) -> Option<String> {
    if raw.is_empty() || raw.contains('/') {
        // An unencoded `/` splits the path: no such recording.
        return None;
    }
    let once = percent_decode_str(raw).decode_utf8().ok()?.into_owned();
    if once.contains('%') {
        return Some(percent_decode_str(&once).decode_utf8().ok()?.into_owned());
    }
    if once.starts_with('/') || once.contains("//") {
        return None;
    }
    Some(once)
}

async fn meeting_recordings(extract::State(sh): Sim, uri: Uri, headers: HeaderMap) -> Response {
    if uri
        .path()
        .strip_prefix("/v2/meetings/")
        .is_some_and(|rest| !rest.contains('/'))
    {
        // `GET /v2/meetings/{meetingId}`: the meeting itself.
        return people::meeting(extract::State(sh), uri, headers).await;
    }
    let query = parse_query(uri.query());
    if let Some(refusal) = api_gate(&sh, &query, &headers) {
        return refusal;
    }
    let Some(raw_id) = uri
        .path()
        .strip_prefix("/v2/meetings/")
        .and_then(|r| r.strip_suffix("/recordings"))
    else {
        return api_error(StatusCode::NOT_FOUND, 404, "Not found");
    };
    let ttl = match query.get("ttl") {
        None => DEFAULT_ACCESS_TOKEN_TTL_SECS,
        Some(t) => match t.parse::<i64>() {
            Ok(t) if (0..=MAX_ACCESS_TOKEN_TTL_SECS).contains(&t) => t,
            _ => return api_error(StatusCode::BAD_REQUEST, 300, "Invalid field: ttl"),
        },
    };
    let want_token = query
        .get("include_fields")
        .is_some_and(|v| v.split(',').any(|f| f.trim() == "download_access_token"));

    let Some(id) = decode_meeting_id(raw_id) else {
        return no_recording();
    };

    let mut object = {
        let st = sh.lock();
        let rec = if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            // A meeting number finds only the latest instance.
            let n: u64 = match id.parse() {
                Ok(n) => n,
                Err(_) => return no_recording(),
            };
            st.recordings
                .values()
                .filter(|r| r.spec.meeting_id == n)
                .max_by_key(|r| r.spec.start_time)
        } else {
            st.recordings.get(&id)
        };
        match rec.and_then(|rec| rest_object(&sh.api_base, &st, rec)) {
            Some(object) => object,
            None => return no_recording(),
        }
    };
    if want_token {
        object.download_access_token =
            Some(sh.issue_token(Scope::Recording(object.uuid.clone()), ttl));
    }
    let mut r = json_response(
        StatusCode::OK,
        serde_json::to_string(&object).expect("serializes"),
    );
    r.headers_mut()
        .insert("x-ratelimit-category", HeaderValue::from_static(LIGHT));
    r
}

/// The REST API's object of a recording as it is now: only its files that are neither
/// trashed nor deleted (sizes changed after registration included), `type` as a string,
/// no `download_access_token`. `None` when no file is left (Zoom: 404 code 3301; the
/// listings leave it out).
pub(crate) fn rest_object(
    api_base: &str,
    st: &State,
    rec: &RecEntry,
) -> Option<payload::RecordingObject> {
    let files: Vec<_> = rec
        .spec
        .files
        .iter()
        .filter_map(|f| {
            st.files
                .get(&f.id)
                .filter(|e| e.uuid == rec.spec.uuid && !e.is_gone())
                .map(|e| &e.spec)
        })
        .collect();
    if files.is_empty() {
        return None;
    }
    Some(payload::recording_object(
        &rec.spec,
        files,
        &ObjectCtx {
            api_base,
            url_query: None,
            share_url: &rec.share_url,
            password: &rec.password,
            play_passcode: &rec.play_passcode,
            type_as_string: true,
        },
    ))
}

/// What every REST request goes through: counted, the API fault (if any) used, then the
/// bearer token checked. `Some` is the response to send instead.
fn api_gate(sh: &Shared, query: &HashMap<String, String>, headers: &HeaderMap) -> Option<Response> {
    api_fault_gate(sh).or_else(|| token_gate(sh, query, headers))
}

/// The first half of [`api_gate`]: the request counted and the API fault (if any) used.
fn api_fault_gate(sh: &Shared) -> Option<Response> {
    api_fault_gate_in(sh, LIGHT)
}

/// [`api_fault_gate`] for an endpoint of rate-limit `category` (its 429s say so).
pub(crate) fn api_fault_gate_in(sh: &Shared, category: &'static str) -> Option<Response> {
    let mut st = sh.lock();
    st.api_stats.api_requests += 1;
    let fault = st.api_fault.clone()?;
    st.api_fault = fault.used_once();
    let daily = st.daily_retry_after.clone();
    Some(api_fault_response(
        &mut st.api_stats,
        &fault,
        daily,
        false,
        category,
    ))
}

/// The second half of [`api_gate`]: the bearer token checked.
pub(crate) fn token_gate(
    sh: &Shared,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<Response> {
    let now = unix_now();
    let token = bearer(headers);
    let mut st = sh.lock();
    let refusal = if query.contains_key("access_token") {
        Some("Invalid access token, this access token is not supported as query parameter string.")
    } else {
        match token.as_deref().and_then(|t| st.tokens.get(t)) {
            Some(g) if g.scope == Scope::Api && !g.revoked && g.exp <= now => {
                Some("Access token is expired.")
            }
            Some(g) if g.scope == Scope::Api && !g.revoked => None,
            _ => Some("Invalid access token."),
        }
    };
    refusal.map(|message| {
        st.api_stats.api_unauthorized += 1;
        api_error(StatusCode::UNAUTHORIZED, 124, message)
    })
}

/// The response of an [`ApiFault`] (REST or token endpoint), counted in `stats`; its 429s
/// carry `X-RateLimit-Category: {category}`.
pub(crate) fn api_fault_response(
    stats: &mut crate::ApiStats,
    fault: &ApiFault,
    daily_retry_after: Option<RetryAfter>,
    token_endpoint: bool,
    category: &'static str,
) -> Response {
    match fault {
        ApiFault::RateLimited { retry_after, .. } => {
            stats.api_rate_limited += 1;
            rate_limited_in(retry_after, category)
        }
        ApiFault::DailyLimit { .. } => {
            stats.api_rate_limited += 1;
            stats.api_daily_limited += 1;
            let retry_after =
                daily_retry_after.unwrap_or_else(|| RetryAfter::Secs(secs_to_utc_midnight()));
            daily_limited(&retry_after, category)
        }
        ApiFault::ServerError { .. } => {
            stats.api_server_errors += 1;
            service_unavailable()
        }
        ApiFault::InternalError { .. } => {
            stats.api_server_errors += 1;
            internal_error()
        }
        ApiFault::Unauthorized { .. } if token_endpoint => {
            stats.token_refusals += 1;
            invalid_client()
        }
        ApiFault::Unauthorized { .. } => {
            stats.api_unauthorized += 1;
            api_error(StatusCode::UNAUTHORIZED, 124, "Invalid access token.")
        }
    }
}

// ---------------------------------------------------------------------------------------
// REST: DELETE /v2/meetings/{meetingId}/recordings[/{recordingId}]?action=trash|delete

/// `/v2/meetings/{meetingId}/recordings[/{recordingId}]` → the raw `{meetingId}` and the
/// raw `{recordingId}`; `None` for any other path under `/v2/meetings/`.
fn split_recordings_path(path: &str) -> Option<(&str, Option<&str>)> {
    let rest = path.strip_prefix("/v2/meetings/")?;
    if let Some(id) = rest.strip_suffix("/recordings") {
        return Some((id, None));
    }
    let (id, file) = rest.rsplit_once("/recordings/")?;
    (!file.is_empty() && !file.contains('/')).then_some((id, Some(file)))
}

pub(crate) fn percent_decoded(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

async fn delete_recordings(extract::State(sh): Sim, uri: Uri, headers: HeaderMap) -> Response {
    let Some((raw_id, raw_file)) = split_recordings_path(uri.path()) else {
        return api_error(StatusCode::NOT_FOUND, 404, "Not found");
    };
    let query = parse_query(uri.query());
    let mut call = DeleteCall {
        uuid: decode_meeting_id(raw_id).unwrap_or_else(|| percent_decoded(raw_id)),
        raw_meeting_id: raw_id.to_owned(),
        file_id: raw_file.map(percent_decoded),
        action: query.get("action").cloned(),
        status: 0,
        injected: false,
        at: chrono::Utc::now(),
    };
    let r = delete_outcome(&sh, &query, &headers, raw_id, &mut call);
    call.status = r.status().as_u16();
    if call.status == 204 {
        tracing::debug!(file = ?call.file_id, action = ?call.action, "zoom-sim: recording deleted");
    }
    sh.lock().deletions.push(call);
    r
}

/// The answer to a recording DELETE; fills in `call.uuid` (resolved instance) and
/// `call.injected`.
fn delete_outcome(
    sh: &Shared,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    raw_id: &str,
    call: &mut DeleteCall,
) -> Response {
    if let Some(r) = api_fault_gate(sh) {
        call.injected = true;
        return r;
    }
    let mut lost_answer = false;
    {
        let mut guard = sh.lock();
        let st = &mut *guard;
        if let Some((fault, times)) = st.delete_fault.take() {
            st.delete_fault = (times > 1).then(|| (fault.clone(), times - 1));
            let stats = &mut st.api_stats;
            let r = match fault {
                DeleteFault::RateLimited(retry_after) => {
                    stats.api_rate_limited += 1;
                    Some(rate_limited(&retry_after))
                }
                DeleteFault::InternalError => {
                    stats.api_server_errors += 1;
                    Some(internal_error())
                }
                DeleteFault::ServiceUnavailable => {
                    stats.api_server_errors += 1;
                    Some(service_unavailable())
                }
                DeleteFault::NotFound => Some(no_recording()),
                DeleteFault::Unauthorized => {
                    stats.api_unauthorized += 1;
                    Some(api_error(
                        StatusCode::UNAUTHORIZED,
                        124,
                        "Invalid access token.",
                    ))
                }
                DeleteFault::InternalErrorAfterApplying => {
                    lost_answer = true;
                    None
                }
            };
            if let Some(r) = r {
                call.injected = true;
                return r;
            }
        }
    }
    if let Some(r) = token_gate(sh, query, headers) {
        return r;
    }
    let status = match query.get("action").map(String::as_str) {
        // Zoom's default.
        None | Some("trash") => FileStatus::Trashed,
        Some("delete") => FileStatus::Deleted,
        Some(_) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                serde_json::json!({
                    "code": 300,
                    "message": "Validation Failed.",
                    "errors": [{"field": "action", "message": "Invalid field."}],
                })
                .to_string(),
            );
        }
    };
    let Some(id) = decode_meeting_id(raw_id) else {
        return no_recording();
    };
    {
        let mut guard = sh.lock();
        let st = &mut *guard;
        let rec = if id.bytes().all(|b| b.is_ascii_digit()) {
            // A meeting number addresses only the latest instance.
            let Ok(n) = id.parse::<u64>() else {
                return no_recording();
            };
            st.recordings
                .values()
                .filter(|r| r.spec.meeting_id == n)
                .max_by_key(|r| r.spec.start_time)
        } else {
            st.recordings.get(&id)
        };
        let Some(rec) = rec else {
            return no_recording();
        };
        let uuid = rec.spec.uuid.clone();
        let ids: Vec<String> = rec.spec.files.iter().map(|f| f.id.clone()).collect();
        call.uuid = uuid.clone();
        let live: Vec<String> = ids
            .into_iter()
            .filter(|fid| {
                st.files
                    .get(fid)
                    .is_some_and(|e| e.uuid == uuid && !e.is_gone())
            })
            .collect();
        let targets: Vec<String> = match &call.file_id {
            Some(fid) => live.into_iter().filter(|l| l == fid).collect(),
            None => live,
        };
        if targets.is_empty() {
            return no_recording();
        }
        for fid in &targets {
            if let Some(e) = st.files.get_mut(fid) {
                e.status = status;
            }
        }
    }
    if lost_answer {
        call.injected = true;
        sh.lock().api_stats.api_server_errors += 1;
        return internal_error();
    }
    StatusCode::NO_CONTENT.into_response()
}

fn internal_error() -> Response {
    api_error(StatusCode::INTERNAL_SERVER_ERROR, 500, "Internal Error")
}

fn daily_limited(retry_after: &RetryAfter, category: &'static str) -> Response {
    let mut r = json_response(
        StatusCode::TOO_MANY_REQUESTS,
        r#"{"code":429,"message":"You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request."}"#
            .to_owned(),
    );
    let h = r.headers_mut();
    if let Some(v) = retry_after_value(retry_after) {
        h.insert(RETRY_AFTER, v);
    }
    h.insert("x-ratelimit-type", HeaderValue::from_static("Daily-limit"));
    h.insert("x-ratelimit-category", HeaderValue::from_static(category));
    h.insert("x-ratelimit-limit", HeaderValue::from_static("6000"));
    h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
    r
}

// ---------------------------------------------------------------------------------------
// POST /oauth/token (Server-to-Server OAuth, `account_credentials`)

/// Scopes granted to the simulator's S2S app (granular names).
const S2S_SCOPES: &str = "cloud_recording:read:list_recording_files:admin \
    cloud_recording:read:list_user_recordings:admin cloud_recording:read:recording:admin \
    cloud_recording:delete:meeting_recording:admin cloud_recording:delete:recording_file:admin \
    user:read:user:admin user:read:list_users:admin";

fn oauth_error(status: StatusCode, reason: &str, error: &str) -> Response {
    json_response(
        status,
        serde_json::json!({"reason": reason, "error": error}).to_string(),
    )
}

fn invalid_client() -> Response {
    oauth_error(
        StatusCode::UNAUTHORIZED,
        "Invalid client_id or client_secret",
        "invalid_client",
    )
}

/// `Authorization: Basic base64(id:secret)` → `(id, secret)`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

async fn oauth_token(
    extract::State(sh): Sim,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Zoom takes the parameters from the query string or a form body.
    let mut params = parse_query(uri.query());
    if let Ok(form) = std::str::from_utf8(&body) {
        params.extend(crate::query_pairs(Some(form.trim())));
    }
    let creds = basic_credentials(&headers);
    let ttl = {
        let mut guard = sh.lock();
        let st = &mut *guard;
        st.api_stats.token_requests += 1;
        if let Some(fault) = st.token_fault.clone() {
            st.token_fault = fault.used_once();
            let daily = st.daily_retry_after.clone();
            return api_fault_response(&mut st.api_stats, &fault, daily, true, LIGHT);
        }
        let refusal = match params.get("grant_type").map(String::as_str) {
            None | Some("") => Some(oauth_error(
                StatusCode::BAD_REQUEST,
                "Missing grant type",
                "invalid_request",
            )),
            Some("account_credentials") => None,
            Some(_) => Some(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported grant type",
                "unsupported_grant_type",
            )),
        };
        let refusal = refusal.or_else(|| {
            let good = creds.as_ref().is_some_and(|(id, secret)| {
                constant_time_eq(id.as_bytes(), st.s2s.client_id.as_bytes())
                    & constant_time_eq(secret.as_bytes(), st.s2s.client_secret.as_bytes())
            });
            (!good).then(invalid_client)
        });
        let refusal = refusal.or_else(|| match params.get("account_id") {
            None => Some(oauth_error(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                "invalid_request",
            )),
            Some(a) if *a != st.s2s.account_id => Some(oauth_error(
                StatusCode::BAD_REQUEST,
                "Invalid account_id",
                "invalid_request",
            )),
            Some(_) => None,
        });
        if let Some(r) = refusal {
            st.api_stats.token_refusals += 1;
            return r;
        }
        st.api_stats.tokens_issued += 1;
        st.api_token_ttl
    };
    let token = sh.issue_token(Scope::Api, ttl);
    let body = serde_json::json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": ttl,
        "scope": S2S_SCOPES,
        "api_url": sh.api_base,
    });
    let mut r = json_response(StatusCode::OK, body.to_string());
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

// ---------------------------------------------------------------------------------------
// POST /oauth/revoke

/// Zoom's token revocation: Basic auth of the app, `token=` in the query string or a form
/// body. Answers `{"status":"success"}` also for a token it does not know (RFC 7009).
async fn oauth_revoke(
    extract::State(sh): Sim,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = parse_query(uri.query());
    if let Ok(form) = std::str::from_utf8(&body) {
        params.extend(crate::query_pairs(Some(form.trim())));
    }
    let creds = basic_credentials(&headers);
    let mut guard = sh.lock();
    let st = &mut *guard;
    let good = creds.as_ref().is_some_and(|(id, secret)| {
        constant_time_eq(id.as_bytes(), st.s2s.client_id.as_bytes())
            & constant_time_eq(secret.as_bytes(), st.s2s.client_secret.as_bytes())
    });
    let mut token_known = false;
    let r = if !good {
        invalid_client()
    } else {
        match params.get("token").filter(|t| !t.is_empty()) {
            None => oauth_error(StatusCode::BAD_REQUEST, "Missing token", "invalid_request"),
            Some(t) => {
                if let Some(g) = st.tokens.get_mut(t) {
                    g.revoked = true;
                    token_known = true;
                }
                let mut r = json_response(
                    StatusCode::OK,
                    serde_json::json!({"status": "success"}).to_string(),
                );
                r.headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                r
            }
        }
    };
    st.revocations.push(RevokeCall {
        status: r.status().as_u16(),
        token_known,
        at: chrono::Utc::now(),
    });
    r
}

// ---------------------------------------------------------------------------------------
// helpers

async fn fallback(uri: Uri) -> Response {
    // The path only: a query may carry a token.
    tracing::debug!(path = uri.path(), "zoom-sim: no route");
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = v.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// `application/x-www-form-urlencoded` query → map (last value wins).
pub(crate) fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    crate::query_pairs(q).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meeting_id_decoding_follows_zoom_rules() {
        let uuid = "/Ab+cd//EfGh==";
        let double = crate::encode_meeting_id(uuid);
        assert_eq!(double, "%252FAb%252Bcd%252F%252FEfGh%253D%253D");
        assert_eq!(decode_meeting_id(&double).as_deref(), Some(uuid));
        // Encoded once: the `/` prefix / `//` break it.
        assert_eq!(decode_meeting_id("%2FAb%2Bcd%2F%2FEfGh%3D%3D"), None);
        assert_eq!(decode_meeting_id("/Ab+cd//EfGh=="), None);
        // Harmless uuids work encoded once or not at all.
        assert_eq!(
            decode_meeting_id("Ab%2Bcd%2FEf%3D%3D").as_deref(),
            Some("Ab+cd/Ef==")
        );
        assert_eq!(decode_meeting_id("Abcd%3D%3D").as_deref(), Some("Abcd=="));
        assert_eq!(
            decode_meeting_id("81234567890").as_deref(),
            Some("81234567890")
        );
    }

    #[test]
    fn recordings_paths() {
        assert_eq!(
            split_recordings_path("/v2/meetings/%252Fab/recordings"),
            Some(("%252Fab", None))
        );
        assert_eq!(
            split_recordings_path("/v2/meetings/123/recordings/f-1"),
            Some(("123", Some("f-1")))
        );
        // An unencoded `/` stays in the id (and is refused by decode_meeting_id).
        assert_eq!(
            split_recordings_path("/v2/meetings//a//b==/recordings"),
            Some(("/a//b==", None))
        );
        assert_eq!(split_recordings_path("/v2/meetings/123"), None);
        assert_eq!(split_recordings_path("/v2/meetings/123/recordings/"), None);
        assert_eq!(split_recordings_path("/v2/meetings/1/recordings/a/b"), None);
    }

    #[test]
    fn ranges() {
        let hv = |s: &str| HeaderValue::from_str(s).unwrap();
        assert!(matches!(parse_range(None, 10), RangeReq::Full));
        assert!(matches!(
            parse_range(Some(&hv("bytes=4-")), 10),
            RangeReq::Partial(4, 10)
        ));
        assert!(matches!(
            parse_range(Some(&hv("bytes=4-5")), 10),
            RangeReq::Partial(4, 6)
        ));
        assert!(matches!(
            parse_range(Some(&hv("bytes=4-99")), 10),
            RangeReq::Partial(4, 10)
        ));
        assert!(matches!(
            parse_range(Some(&hv("bytes=-3")), 10),
            RangeReq::Partial(7, 10)
        ));
        assert!(matches!(
            parse_range(Some(&hv("bytes=10-")), 10),
            RangeReq::Unsatisfiable
        ));
        assert!(matches!(
            parse_range(Some(&hv("bytes=5-4")), 10),
            RangeReq::Full
        ));
        assert!(matches!(
            parse_range(Some(&hv("items=1-")), 10),
            RangeReq::Full
        ));
    }

    #[test]
    fn query_parsing() {
        let q = parse_query(Some("a=1&b=x%2By&c&include_fields=download_access_token"));
        assert_eq!(q["a"], "1");
        assert_eq!(q["b"], "x+y");
        assert_eq!(q["c"], "");
        assert_eq!(q["include_fields"], "download_access_token");
    }
}
