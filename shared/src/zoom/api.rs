//! The Zoom REST API: Server-to-Server OAuth (`account_credentials`), tokens cached until shortly before they
//! expire and refreshed on 401, per-connection API and OAuth base URLs (ZoomGov), rate limits (`Retry-After`
//! in seconds or as an HTTP date, the daily limit) and 5xx back-off with jitter. The deletion and backfill
//! work builds on [`HttpZoom::send`]. The owner stage asks about a meeting's people (co-hosts, alternative
//! hosts, participants, panelists): extras it goes on without, so there a refusal for want of a scope or plan
//! is permanent rather than kept for an admin.

use crate::config::{BaseUrl, Connection, DeleteAction};
use crate::deletion::VendorFile;
use crate::error::{Class, Error, Kind};
use crate::ids::AccountId;
use crate::model::{MeetingKind, Recording};
use crate::ports::{SecretStore, SecretString};
use async_trait::async_trait;
use base64::Engine as _;
use chrono::NaiveDate;
use reqwest::Method;
use serde::Deserialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The credentials of a Zoom Server-to-Server OAuth app, as JSON in Secrets Manager:
/// `{"account_id": "…", "client_id": "…", "client_secret": "…"}`.
#[derive(Clone, Deserialize)]
pub struct S2sCredentials {
    pub account_id: String,
    pub client_id: String,
    client_secret: String,
}

impl fmt::Debug for S2sCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S2sCredentials")
            .field("account_id", &self.account_id)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish()
    }
}

impl S2sCredentials {
    /// Parses and checks the secret's JSON; the error names the field, never a value.
    pub fn parse(json: &str) -> Result<Self, String> {
        let c: S2sCredentials = serde_json::from_str(json).map_err(|e| {
            format!(
                "not the JSON of a Zoom Server-to-Server OAuth app (account_id, client_id, client_secret): {}",
                e.to_string().split(" at line").next().unwrap_or_default()
            )
        })?;
        for (name, v) in [
            ("account_id", &c.account_id),
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
        ] {
            if v.trim().is_empty() {
                return Err(format!("{name} is empty"));
            }
        }
        Ok(c)
    }

    pub fn new(account_id: &str, client_id: &str, client_secret: &str) -> Self {
        Self {
            account_id: account_id.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

/// What the downloader (and later deletion and backfill) asks of Zoom.
#[async_trait]
pub trait ZoomApi: Send + Sync {
    /// The recording of a meeting instance, its files normalised like a webhook's and each carrying a fresh
    /// `download_access_token`. `None`: Zoom no longer has it (deleted, or never existed).
    async fn recording(&self, account: &AccountId, uuid: &str) -> Result<Option<Recording>, Error>;
    /// The same answer as JSON, as Zoom sent it (for `zoom::ingest::API_RECORDING`): it holds fresh
    /// download tokens, so it travels only on the encrypted events queue. `None`: Zoom no longer has it.
    async fn recording_json(&self, uuid: &str) -> Result<Option<String>, Error>;
    /// Every file Zoom lists for the meeting instance now (`recording_files` and `participant_audio_files`,
    /// downloadable or not), with its size. `None`: Zoom no longer has it.
    async fn files(&self, uuid: &str) -> Result<Option<Vec<VendorFile>>, Error>;
    /// `DELETE /meetings/{uuid}/recordings[/{file_id}]?action=trash|delete`: the status of an answer that
    /// settles it (2xx: done; 404: nothing there), or the error of any other.
    async fn delete(
        &self,
        uuid: &str,
        file_id: Option<&str>,
        action: DeleteAction,
    ) -> Result<u16, Error>;
    /// `GET /users?status=` to the last page: the account's users of one status (`active`, `inactive`,
    /// `pending`; Zoom lists only active ones unless asked).
    async fn users(&self, status: &str) -> Result<Vec<ZoomUser>, Error>;
    /// `GET /groups` to the last page: the account's groups (scope `group:read:admin`).
    async fn groups(&self) -> Result<Vec<ZoomGroup>, Error>;
    /// `GET /users/{id}` (an id or e-mail): the user with their SAML-mapped `cms_user_id`; `None`: no such
    /// user.
    async fn user(&self, id: &str) -> Result<Option<ZoomUser>, Error>;
    /// `GET /users/{id}/recordings?from=&to=` to the last page, in one go (Zoom's page tokens expire after 15
    /// minutes, so none is kept): the recording objects as Zoom lists them, JSON. `from`..=`to` must lie within
    /// one calendar month.
    async fn user_recordings(
        &self,
        user_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<serde_json::Value>, Error>;
    /// `GET /metrics/{meetings|webinars}/{uuid}/participants?type=past` to the last page: everyone the
    /// dashboard lists for the instance, with their `role` (`host`, `cohost`, `attendee`, …).
    async fn metrics_participants(
        &self,
        meeting: &MeetingRef<'_>,
    ) -> Result<Vec<ZoomParticipant>, Error>;
    /// `GET /{meetings|webinars}/{id}` → `settings.alternative_hosts` as Zoom holds it (e-mails separated
    /// by `;`); empty: none.
    async fn alternative_hosts(&self, meeting: &MeetingRef<'_>) -> Result<String, Error>;
    /// `GET /report/{meetings|webinars}/{uuid}/participants` to the last page (a "Heavy" call).
    async fn report_participants(
        &self,
        meeting: &MeetingRef<'_>,
    ) -> Result<Vec<ZoomParticipant>, Error>;
    /// `GET /webinars/{id}/panelists` (every page, where Zoom pages it).
    async fn panelists(&self, meeting: &MeetingRef<'_>) -> Result<Vec<ZoomParticipant>, Error>;
}

/// A meeting (or webinar) instance as the calls about its people address it: the instance uuid (metrics
/// and report), the meeting or webinar id (its settings, the panelists), and which of the two it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingRef<'a> {
    pub uuid: &'a str,
    pub id: &'a str,
    pub kind: MeetingKind,
}

impl<'a> MeetingRef<'a> {
    pub fn of(rec: &'a crate::catalog::RecordingEntry) -> Self {
        Self {
            uuid: rec.instance_id.as_str(),
            id: &rec.meeting_id,
            kind: rec.kind,
        }
    }

    fn webinar(&self) -> bool {
        self.kind == MeetingKind::Webinar
    }
}

/// One person of a meeting as one of Zoom's lists has them: the e-mail (`email` or `user_email`, by list)
/// and, on the dashboard's list, the role. Only string values are read, so an odd field never fails a list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoomParticipant {
    pub email: Option<String>,
    pub role: Option<String>,
}

impl ZoomParticipant {
    /// Reads a row of any of the lists: `email`, else `user_email`; `role`. Blank values are none.
    pub fn of(row: &serde_json::Value) -> Self {
        let text = |k: &str| {
            row.get(k)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Self {
            email: text("email").or_else(|| text("user_email")),
            role: text("role"),
        }
    }

    /// Whether the dashboard says co-host (`cohost`; `co-host` and `co_host` too, in any case).
    pub fn is_co_host(&self) -> bool {
        self.role.as_deref().is_some_and(|r| {
            r.chars()
                .filter(|c| !matches!(c, '-' | '_' | ' '))
                .collect::<String>()
                .eq_ignore_ascii_case("cohost")
        })
    }
}

/// A user of the account, as `GET /users` lists it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ZoomUser {
    pub id: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    /// The id a SAML mapping gave the user in a content-management system (`GET /users/{id}` only).
    #[serde(default)]
    pub cms_user_id: Option<String>,
    /// The ids of the groups the user is in (their names: [`ZoomApi::groups`]).
    #[serde(default)]
    pub group_ids: Vec<String>,
}

/// A group of the account (`GET /groups`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ZoomGroup {
    pub id: String,
    pub name: String,
}

/// The Zoom API of each Zoom connection.
#[async_trait]
pub trait ZoomConnections: Send + Sync {
    async fn api(&self, conn: &Connection) -> Result<Arc<dyn ZoomApi>, Error>;
}

#[async_trait]
impl<T: ZoomConnections + ?Sized> ZoomConnections for Arc<T> {
    async fn api(&self, conn: &Connection) -> Result<Arc<dyn ZoomApi>, Error> {
        (**self).api(conn).await
    }
}

pub use crate::http::RetryPolicy;
use crate::http::{Throttling, Verdict};

/// Zoom throttles with 429; `X-RateLimit-Type: Daily-limit` is the daily limit, which lasts until midnight UTC.
const ZOOM: Throttling = Throttling {
    vendor: "Zoom",
    statuses: &[429],
    long_limit: daily_limit,
};

fn daily_limit(headers: &reqwest::header::HeaderMap) -> Option<&'static str> {
    headers
        .get("x-ratelimit-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("daily"))
        .then_some("daily limit")
}

/// A token is renewed this long before Zoom says it expires (S2S tokens live an hour).
const RENEW_BEFORE: Duration = Duration::from_secs(300);
/// `ttl` asked for a `download_access_token`: long enough for a multi-invocation transfer of a large file.
const DOWNLOAD_TOKEN_TTL_SECS: u32 = 6 * 3600;

struct Token {
    value: SecretString,
    renew_at: Instant,
}

/// The Zoom REST client of one connection.
pub struct HttpZoom {
    api_base: BaseUrl,
    token_url: String,
    http: reqwest::Client,
    secrets: Arc<dyn SecretStore>,
    credentials_ref: String,
    retry: RetryPolicy,
    /// `page_size` of list requests ([`PAGE_SIZE`] unless a test pages through small lists).
    page_size: u32,
    /// Our own limit on the request rate (none unless an admin set one).
    pacer: crate::http::Pacer,
    /// One token per client; the lock makes refreshing single-flight within a function instance.
    token: tokio::sync::Mutex<Option<Token>>,
}

/// Zoom's largest `page_size`.
pub const PAGE_SIZE: u32 = 300;

/// Whether the work in hand needs a call's answer, which decides how a refusal for want of a scope or plan is
/// classed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// The work cannot go on without it: a refusal an admin can fix (credentials, scopes) is retryable, so the
    /// work is kept until they do.
    Required,
    /// An extra the work goes on without (the meeting's people): a refusal for want of a scope or plan (400,
    /// 403, Zoom code 4711) is permanent, so the caller records it and carries on. 401 (credentials) is not.
    Optional,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl HttpZoom {
    pub fn new(
        conn: &Connection,
        credentials_ref: impl Into<String>,
        secrets: Arc<dyn SecretStore>,
        http: reqwest::Client,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            api_base: conn.api_base_url.clone(),
            token_url: conn.oauth_base_url.join("oauth/token"),
            http,
            secrets,
            credentials_ref: credentials_ref.into(),
            retry,
            page_size: PAGE_SIZE,
            pacer: crate::http::Pacer::default(),
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// Every item of `field` over all pages of a list (`path` with its query), following `next_page_token`
    /// to the end. A page token refused as expired (a list that took longer than Zoom's 15 minutes) starts
    /// the list again from its first page, once.
    async fn pages(
        &self,
        path: &str,
        field: &str,
        what: &str,
        need: Need,
    ) -> Result<Vec<serde_json::Value>, Error> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut restarted = false;
        'list: loop {
            let mut out = Vec::new();
            let mut token = String::new();
            loop {
                let mut url = format!("{path}{sep}page_size={}", self.page_size);
                if !token.is_empty() {
                    url.push_str("&next_page_token=");
                    url.push_str(
                        &percent_encoding::utf8_percent_encode(
                            &token,
                            percent_encoding::NON_ALPHANUMERIC,
                        )
                        .to_string(),
                    );
                }
                let body = match self.get_as(&url, what, need).await {
                    Ok(Some(b)) => b,
                    Ok(None) => {
                        return Err(Error::permanent(format!("{what}: HTTP 404"))
                            .kind_of(Kind::NotFound)
                            .op(what));
                    }
                    Err(e) if !token.is_empty() && !restarted && e.kind() == Kind::Status(400) => {
                        tracing::warn!(error = %e, "Zoom refused a page token; listing again from the first page");
                        restarted = true;
                        continue 'list;
                    }
                    Err(e) => return Err(e),
                };
                let page: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| Error::data(format!("{what}: {e}")).op(what))?;
                if let Some(items) = page.get(field).and_then(|v| v.as_array()) {
                    out.extend(items.iter().cloned());
                }
                token = page
                    .get("next_page_token")
                    .and_then(|t| t.as_str())
                    .unwrap_or_default()
                    .to_owned();
                if token.is_empty() {
                    return Ok(out);
                }
            }
        }
    }

    /// A valid access token: the cached one, or a new one (`force`: after a 401).
    async fn token(&self, force: bool) -> Result<SecretString, Error> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref()
            && !force
            && Instant::now() < t.renew_at
        {
            return Ok(t.value.clone());
        }
        let raw = self.secrets.secret(&self.credentials_ref).await?;
        let creds = S2sCredentials::parse(raw.expose()).map_err(|e| {
            Error::permanent(format!("Zoom credentials {}: {e}", self.credentials_ref))
                .kind_of(Kind::Config)
        })?;
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", creds.client_id, creds.client_secret));
        let form = [
            ("grant_type", "account_credentials"),
            ("account_id", creds.account_id.as_str()),
        ];
        let mut attempt = 0;
        let answer = loop {
            attempt += 1;
            let sent = self
                .http
                .post(&self.token_url)
                .header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"))
                .form(&form)
                .send()
                .await;
            match self
                .judge(sent, attempt, "POST /oauth/token", Need::Required)
                .await?
            {
                Some(resp) => break resp,
                None => continue,
            }
        };
        let t: TokenAnswer = answer.json().await.map_err(|e| {
            Error::transient(format!(
                "POST /oauth/token: unreadable answer: {}",
                crate::http::describe(&e)
            ))
        })?;
        let life = Duration::from_secs(t.expires_in.unwrap_or(3600));
        let renew_at = Instant::now() + life.saturating_sub(RENEW_BEFORE.min(life / 2));
        let value = SecretString::new(t.access_token);
        *slot = Some(Token {
            value: value.clone(),
            renew_at,
        });
        Ok(value)
    }

    /// Judges one answer by the shared rule ([`RetryPolicy::judge`]): `Ok(Some)` a success, `Ok(None)` try
    /// again (after sleeping as told), `Err` give up (with the class the answer deserves). 401 is the caller's
    /// to handle.
    async fn judge(
        &self,
        sent: Result<reqwest::Response, reqwest::Error>,
        attempt: u32,
        what: &str,
        need: Need,
    ) -> Result<Option<reqwest::Response>, Error> {
        match self.retry.judge(&ZOOM, sent, attempt, what).await? {
            Verdict::Success(resp) => Ok(Some(resp)),
            Verdict::Again => Ok(None),
            Verdict::Refused(resp) => Err(status_error(what, resp, need).await),
        }
    }

    /// Sends an API request (`path` relative to the API base) with the bearer token, rate-limit handling and
    /// one token refresh after a 401. 404 is answered as `Ok(None)`.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        what: &str,
    ) -> Result<Option<reqwest::Response>, Error> {
        self.send_as(method, path, what, Need::Required).await
    }

    async fn send_as(
        &self,
        method: Method,
        path: &str,
        what: &str,
        need: Need,
    ) -> Result<Option<reqwest::Response>, Error> {
        let url = self.api_base.join(path);
        let mut refreshed = false;
        let mut force = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.token(std::mem::take(&mut force)).await?;
            self.pacer.wait().await;
            let sent = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.expose())
                .send()
                .await;
            if let Ok(r) = &sent {
                match r.status().as_u16() {
                    401 if !refreshed => {
                        (refreshed, force) = (true, true);
                        continue;
                    }
                    404 => return Ok(None),
                    _ => {}
                }
            }
            if let Some(resp) = self.judge(sent, attempt, what, need).await? {
                return Ok(Some(resp));
            }
        }
    }
}

impl HttpZoom {
    /// The body of a GET ([`HttpZoom::send`]); `None` on 404.
    async fn get(&self, path: &str, what: &str) -> Result<Option<bytes::Bytes>, Error> {
        self.get_as(path, what, Need::Required).await
    }

    async fn get_as(
        &self,
        path: &str,
        what: &str,
        need: Need,
    ) -> Result<Option<bytes::Bytes>, Error> {
        let Some(resp) = self.send_as(Method::GET, path, what, need).await? else {
            return Ok(None);
        };
        resp.bytes()
            .await
            .map(Some)
            .map_err(|e| Error::transient(format!("{what}: {}", crate::http::describe(&e))))
    }
}

async fn status_error(what: &str, resp: reqwest::Response, need: Need) -> Error {
    let status = resp.status().as_u16();
    // Zoom error bodies: {"code": 124, "message": "Invalid access token."}; they hold no secrets.
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    let code = body.get("code").and_then(|c| c.as_i64());
    let message: String = body
        .get("message")
        .or_else(|| body.get("reason"))
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    let text = match code {
        Some(c) => format!("{what}: HTTP {status} (Zoom code {c}) {message}"),
        None => format!("{what}: HTTP {status} {message}"),
    };
    let err = Error::status(status, &text).op(what);
    if status == 400 && code == Some(300) {
        // "Invalid field" or "The next page token is invalid or expired": about the request, not credentials.
        err
    } else if need == Need::Optional
        && (matches!(status, 400 | 403) || (status == 401 && code == Some(4711)))
    {
        // No scope for it ("does not contain scopes", 4711) or not on this plan: the work goes on without it.
        Error::new(Class::Permanent, Kind::Status(status), text).op(what)
    } else if matches!(status, 400 | 401 | 403) {
        // Wrong or missing credentials or scopes: fixed by an admin, not by time alone — but fixable, so the
        // work is kept (retryable) and the reason says what to fix.
        Error::new(Class::Retryable, Kind::Auth, err.to_string()).op(what)
    } else {
        err
    }
}

#[async_trait]
impl ZoomApi for HttpZoom {
    async fn recording(&self, account: &AccountId, uuid: &str) -> Result<Option<Recording>, Error> {
        let Some(body) = self.recording_json(uuid).await? else {
            return Ok(None);
        };
        let issued = chrono::Utc::now().timestamp_millis();
        let what = "GET /meetings/{uuid}/recordings";
        super::event::from_api(body.as_bytes(), account, issued)
            .map(Some)
            .map_err(|e| Error::data(format!("{what}: {e}")).op(what))
    }

    async fn recording_json(&self, uuid: &str) -> Result<Option<String>, Error> {
        let path = format!(
            "meetings/{}/recordings?include_fields=download_access_token&ttl={DOWNLOAD_TOKEN_TTL_SECS}",
            super::encode_uuid_for_path(uuid)
        );
        let what = "GET /meetings/{uuid}/recordings";
        let Some(body) = self.get(&path, what).await? else {
            return Ok(None);
        };
        String::from_utf8(body.to_vec())
            .map(Some)
            .map_err(|e| Error::data(format!("{what}: not UTF-8: {e}")).op(what))
    }
    async fn files(&self, uuid: &str) -> Result<Option<Vec<VendorFile>>, Error> {
        let path = format!("meetings/{}/recordings", super::encode_uuid_for_path(uuid));
        let what = "GET /meetings/{uuid}/recordings";
        let Some(body) = self.get(&path, what).await? else {
            return Ok(None);
        };
        super::deletion::listed_files(&body)
            .map(Some)
            .map_err(|e| Error::data(format!("{what}: {e}")).op(what))
    }

    async fn delete(
        &self,
        uuid: &str,
        file_id: Option<&str>,
        action: DeleteAction,
    ) -> Result<u16, Error> {
        let path = super::deletion::path(uuid, file_id, action);
        let what = if file_id.is_some() {
            "DELETE /meetings/{uuid}/recordings/{file}"
        } else {
            "DELETE /meetings/{uuid}/recordings"
        };
        Ok(match self.send(Method::DELETE, &path, what).await? {
            Some(resp) => resp.status().as_u16(),
            None => 404,
        })
    }

    async fn user(&self, id: &str) -> Result<Option<ZoomUser>, Error> {
        let what = "GET /users/{id}";
        let path = format!(
            "users/{}",
            percent_encoding::utf8_percent_encode(id, super::PATH_SEGMENT)
        );
        match self.get(&path, what).await? {
            None => Ok(None),
            Some(body) => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| Error::data(format!("{what}: {e}")).op(what)),
        }
    }

    async fn users(&self, status: &str) -> Result<Vec<ZoomUser>, Error> {
        let what = "GET /users";
        self.pages(
            &format!("users?status={status}"),
            "users",
            what,
            Need::Required,
        )
        .await?
        .into_iter()
        .map(|u| {
            serde_json::from_value(u).map_err(|e| Error::data(format!("{what}: {e}")).op(what))
        })
        .collect()
    }

    async fn groups(&self) -> Result<Vec<ZoomGroup>, Error> {
        let what = "GET /groups";
        self.pages("groups", "groups", what, Need::Required)
            .await?
            .into_iter()
            .map(|g| {
                serde_json::from_value(g).map_err(|e| Error::data(format!("{what}: {e}")).op(what))
            })
            .collect()
    }

    async fn user_recordings(
        &self,
        user_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<serde_json::Value>, Error> {
        let user =
            percent_encoding::utf8_percent_encode(user_id, percent_encoding::NON_ALPHANUMERIC);
        self.pages(
            &format!("users/{user}/recordings?from={from}&to={to}"),
            "meetings",
            "GET /users/{id}/recordings",
            Need::Required,
        )
        .await
    }

    async fn metrics_participants(
        &self,
        meeting: &MeetingRef<'_>,
    ) -> Result<Vec<ZoomParticipant>, Error> {
        let (family, what) = if meeting.webinar() {
            ("webinars", "GET /metrics/webinars/{uuid}/participants")
        } else {
            ("meetings", "GET /metrics/meetings/{uuid}/participants")
        };
        let uuid = super::encode_uuid_for_path(meeting.uuid);
        let path = format!("metrics/{family}/{uuid}/participants?type=past");
        let rows = self
            .pages(&path, "participants", what, Need::Optional)
            .await?;
        Ok(rows.iter().map(ZoomParticipant::of).collect())
    }

    async fn alternative_hosts(&self, meeting: &MeetingRef<'_>) -> Result<String, Error> {
        let (family, what) = if meeting.webinar() {
            ("webinars", "GET /webinars/{id}")
        } else {
            ("meetings", "GET /meetings/{id}")
        };
        let id = percent_encoding::utf8_percent_encode(meeting.id, super::PATH_SEGMENT);
        let Some(body) = self
            .get_as(&format!("{family}/{id}"), what, Need::Optional)
            .await?
        else {
            return Err(Error::permanent(format!("{what}: HTTP 404"))
                .kind_of(Kind::NotFound)
                .op(what));
        };
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| Error::data(format!("{what}: {e}")).op(what))?;
        Ok(v.pointer("/settings/alternative_hosts")
            .and_then(|h| h.as_str())
            .unwrap_or_default()
            .to_owned())
    }

    async fn report_participants(
        &self,
        meeting: &MeetingRef<'_>,
    ) -> Result<Vec<ZoomParticipant>, Error> {
        let (family, what) = if meeting.webinar() {
            ("webinars", "GET /report/webinars/{uuid}/participants")
        } else {
            ("meetings", "GET /report/meetings/{uuid}/participants")
        };
        let uuid = super::encode_uuid_for_path(meeting.uuid);
        let path = format!("report/{family}/{uuid}/participants");
        let rows = self
            .pages(&path, "participants", what, Need::Optional)
            .await?;
        Ok(rows.iter().map(ZoomParticipant::of).collect())
    }

    async fn panelists(&self, meeting: &MeetingRef<'_>) -> Result<Vec<ZoomParticipant>, Error> {
        let what = "GET /webinars/{id}/panelists";
        let id = percent_encoding::utf8_percent_encode(meeting.id, super::PATH_SEGMENT);
        let rows = self
            .pages(
                &format!("webinars/{id}/panelists"),
                "panelists",
                what,
                Need::Optional,
            )
            .await?;
        Ok(rows.iter().map(ZoomParticipant::of).collect())
    }
}

/// Connection id, API base, OAuth base, credentials secret: a change of any gives a new client.
type ClientKey = (String, String, String, String);

/// One [`HttpZoom`] per connection, kept for the life of the function instance so its token is reused.
pub struct HttpZoomConnections {
    http: reqwest::Client,
    secrets: Arc<dyn SecretStore>,
    retry: RetryPolicy,
    page_size: u32,
    pacer: crate::http::Pacer,
    cache: Mutex<HashMap<ClientKey, Arc<HttpZoom>>>,
}

impl HttpZoomConnections {
    pub fn new(secrets: Arc<dyn SecretStore>, retry: RetryPolicy) -> Self {
        Self {
            http: crate::http::api_client(),
            secrets,
            retry,
            page_size: PAGE_SIZE,
            pacer: crate::http::Pacer::default(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Lists with pages of at most `n` items (1..=300), so a test walks many pages of a small account.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = n.clamp(1, PAGE_SIZE);
        self
    }

    /// Spaces every API request of these clients by `pacer` (shared by all of them).
    pub fn with_pacer(mut self, pacer: crate::http::Pacer) -> Self {
        self.pacer = pacer;
        self
    }
}

#[async_trait]
impl ZoomConnections for HttpZoomConnections {
    async fn api(&self, conn: &Connection) -> Result<Arc<dyn ZoomApi>, Error> {
        let creds = conn.credentials_ref.clone().ok_or_else(|| {
            Error::permanent(format!(
                "connection {} has no credentials_ref: fresh Zoom download tokens need a Server-to-Server OAuth app",
                conn.id
            ))
            .kind_of(Kind::Config)
        })?;
        let key = (
            conn.id.to_string(),
            conn.api_base_url.to_string(),
            conn.oauth_base_url.to_string(),
            creds.clone(),
        );
        let mut cache = self.cache.lock().expect("client cache");
        let client = cache.entry(key).or_insert_with(|| {
            let mut api = HttpZoom::new(
                conn,
                creds,
                self.secrets.clone(),
                self.http.clone(),
                self.retry,
            );
            api.page_size = self.page_size;
            api.pacer = self.pacer.clone();
            Arc::new(api)
        });
        Ok(client.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_parse_and_never_print_the_secret() {
        let c = S2sCredentials::parse(
            r#"{"account_id":"acc","client_id":"cid","client_secret":"very-secret"}"#,
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("very-secret"));
        let e = S2sCredentials::parse(r#"{"account_id":"acc","client_id":"cid"}"#).unwrap_err();
        assert!(e.contains("client_secret"), "{e}");
        let e = S2sCredentials::parse(r#"{"account_id":"","client_id":"c","client_secret":"s"}"#)
            .unwrap_err();
        assert_eq!(e, "account_id is empty");
        let e = S2sCredentials::parse("not json, secret=abc").unwrap_err();
        assert!(!e.contains("abc"), "{e}");
    }
}
