//! The Webex REST API as the pipeline uses it: a narrow port ([`WebexApi`]) and its HTTP adapter
//! ([`HttpWebex`]) with bearer tokens from a [`TokenSource`], `Retry-After` on 429/423 and back-off on 5xx by
//! the rule every vendor client follows ([`RetryPolicy::judge`]: a wait longer than the policy's is handed
//! back to the queue, not slept), and `Link`-header pagination that keeps the request's filters.

use super::auth::TokenSource;
use crate::error::Error;
use crate::ids::Email;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::LINK;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A recording as `GET /recordings/{id}` (with download links) or `GET /admin/recordings` (with the host's
/// e-mail) returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebexRecording {
    pub id: String,
    #[serde(default)]
    pub meeting_id: Option<String>,
    #[serde(default)]
    pub scheduled_meeting_id: Option<String>,
    #[serde(default)]
    pub meeting_series_id: Option<String>,
    #[serde(default)]
    pub topic: Option<String>,
    /// When the file was generated (not when recording began).
    #[serde(default)]
    pub create_time: Option<DateTime<Utc>>,
    /// When record was pressed.
    #[serde(default)]
    pub time_recorded: Option<DateTime<Utc>>,
    #[serde(default)]
    pub site_url: Option<String>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub service_type: Option<String>,
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    #[serde(default)]
    pub size_bytes: Option<u64>,
    #[serde(default)]
    pub status: Option<String>,
    /// Only in the admin list.
    #[serde(default)]
    pub host_email: Option<String>,
    /// Only in the single-recording GET; expire 3 h after the request.
    #[serde(default)]
    pub temporary_direct_download_links: Option<TemporaryLinks>,
}

/// Pre-signed CDN links: download them *without* an Authorization header.
#[derive(Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemporaryLinks {
    #[serde(default)]
    pub recording_download_link: Option<String>,
    #[serde(default)]
    pub audio_download_link: Option<String>,
    #[serde(default)]
    pub transcript_download_link: Option<String>,
    #[serde(default)]
    pub expiration: Option<DateTime<Utc>>,
}

impl fmt::Debug for TemporaryLinks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The links are bearer credentials in themselves.
        f.debug_struct("TemporaryLinks")
            .field("recording", &self.recording_download_link.is_some())
            .field("audio", &self.audio_download_link.is_some())
            .field("transcript", &self.transcript_download_link.is_some())
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// A `meetingTranscripts` item.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebexTranscript {
    pub id: String,
    #[serde(default)]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub meeting_topic: Option<String>,
    #[serde(default)]
    pub meeting_id: Option<String>,
    #[serde(default)]
    pub meeting_series_id: Option<String>,
    #[serde(default)]
    pub host_user_id: Option<String>,
    #[serde(default)]
    pub vtt_download_link: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// A `meetingParticipants` item.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebexParticipant {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub host: bool,
    #[serde(default)]
    pub co_host: bool,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
}

/// A `people` item: a person of the org (the directory sync's source).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebexPerson {
    pub id: String,
    #[serde(default)]
    pub emails: Vec<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `person`, `bot` or `appuser`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// `false`: the person cannot sign in (deactivated in Control Hub). `status` is presence, not this.
    #[serde(default)]
    pub login_enabled: Option<bool>,
}

/// A webhook registration.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: String,
    pub name: String,
    pub target_url: String,
    pub resource: String,
    pub event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("resource", &self.resource)
            .field("event", &self.event)
            .field("status", &self.status)
            .field("target_url", &self.target_url)
            .field("has_secret", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

/// A webhook to create or update (`id` ignored on create).
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRequest {
    pub name: String,
    pub target_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    pub secret: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// The Webex calls the pipeline makes.
#[async_trait]
pub trait WebexApi: Send + Sync {
    /// `GET /recordings/{id}?hostEmail=` (with fresh temporary download links).
    async fn recording(
        &self,
        id: &str,
        host_email: Option<&Email>,
    ) -> Result<WebexRecording, Error>;
    /// `GET /admin/recordings?meetingId=` (all pages): every recording of a meeting instance, with `hostEmail`.
    async fn admin_recordings(&self, meeting_id: &str) -> Result<Vec<WebexRecording>, Error>;
    /// `GET /admin/recordings?from=&to=&siteUrl=` (all pages): the org's recordings created in `[from, to)`
    /// (at most 30 days apart) on one site (`None`: the caller's preferred site), with `hostEmail`.
    async fn admin_recordings_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        site_url: Option<&str>,
    ) -> Result<Vec<WebexRecording>, Error>;
    /// `GET /meetingPreferences/sites`: the Webex sites the caller can use.
    async fn sites(&self) -> Result<Vec<String>, Error>;
    /// `GET /meetingTranscripts?meetingId=&hostEmail=` (all pages).
    async fn transcripts(
        &self,
        meeting_id: &str,
        host_email: Option<&Email>,
    ) -> Result<Vec<WebexTranscript>, Error>;
    /// `GET /meetingParticipants?meetingId=&hostEmail=` (all pages).
    async fn participants(
        &self,
        meeting_id: &str,
        host_email: Option<&Email>,
    ) -> Result<Vec<WebexParticipant>, Error>;
    /// `GET /people` (all pages): the org's people, for an admin token (`spark-admin:people_read`).
    async fn people(&self) -> Result<Vec<WebexPerson>, Error>;
    /// A valid bearer token, for API downloads (`meetingTranscripts/{id}/download`).
    async fn bearer(&self) -> Result<crate::ports::SecretString, Error>;
    /// `DELETE /recordings/{id}?hostEmail=` (permanent): the status of an answer that settles it (2xx, or 404:
    /// nothing there), or the error of any other.
    async fn delete_recording(&self, id: &str, host_email: Option<&Email>) -> Result<u16, Error>;
    /// `POST /recordings/softDelete?hostEmail=` with `{"recordingIds": [≤100]}`: into the recycle bin.
    async fn soft_delete(&self, ids: &[String], host_email: Option<&Email>) -> Result<u16, Error>;
    async fn webhooks(&self) -> Result<Vec<Webhook>, Error>;
    async fn create_webhook(&self, req: &WebhookRequest) -> Result<Webhook, Error>;
    async fn update_webhook(&self, id: &str, req: &WebhookRequest) -> Result<Webhook, Error>;
    /// `DELETE /webhooks/{id}`: 2xx, or 404 (gone already), as the status.
    async fn delete_webhook(&self, id: &str) -> Result<u16, Error>;
    /// `DELETE /authorizations?clientId=`: revokes every token the integration holds for this org (the
    /// access token this call uses included), as the status.
    async fn revoke_authorizations(&self, client_id: &str) -> Result<u16, Error>;
}

pub use crate::http::RetryPolicy;
use crate::http::{Throttling, Verdict};

/// Webex throttles with 429, and with 423 ("Locked") on some admin APIs; both carry `Retry-After` in seconds.
const WEBEX: Throttling = Throttling {
    vendor: "Webex",
    statuses: &[429, 423],
    long_limit: Throttling::no_long_limit,
};

/// Largest page Webex serves.
pub const PAGE_SIZE: u32 = 100;
/// Stop following `next` links after this many pages (a loop guard).
const MAX_PAGES: usize = 1000;

/// The HTTP adapter.
pub struct HttpWebex {
    base: String,
    http: reqwest::Client,
    tokens: TokenSource,
    retry: RetryPolicy,
    page_size: u32,
    pacer: crate::http::Pacer,
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

impl HttpWebex {
    pub fn new(
        api_base_url: &str,
        http: reqwest::Client,
        tokens: TokenSource,
        retry: RetryPolicy,
    ) -> Self {
        Self {
            base: api_base_url.trim_end_matches('/').to_owned(),
            http,
            tokens,
            retry,
            page_size: PAGE_SIZE,
            pacer: crate::http::Pacer::default(),
        }
    }

    /// Spaces every request by `pacer` (our own limit on top of Webex's).
    pub fn with_pacer(mut self, pacer: crate::http::Pacer) -> Self {
        self.pacer = pacer;
        self
    }

    /// Asks for smaller pages (1..=100) than the default 100.
    pub fn with_page_size(mut self, max: u32) -> Self {
        self.page_size = max.clamp(1, PAGE_SIZE);
        self
    }

    /// Sends one request with auth, retries and rate-limit handling. `what` names the call in errors.
    async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<reqwest::Response, Error> {
        // One forced refresh per call, after a 401; later attempts use whatever is current.
        let (mut refreshed, mut force) = (false, false);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.tokens.token(std::mem::take(&mut force)).await?;
            self.pacer.wait().await;
            let mut req = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token.expose());
            if let Some(b) = body {
                req = req.json(b);
            }
            let sent = req.send().await;
            if let Ok(r) = &sent
                && r.status() == StatusCode::UNAUTHORIZED
                && !refreshed
            {
                // The token may have been revoked or rotated elsewhere: refresh once.
                (refreshed, force) = (true, true);
                continue;
            }
            match self.retry.judge(&WEBEX, sent, attempt, what).await? {
                Verdict::Success(resp) => return Ok(resp),
                Verdict::Again => {}
                Verdict::Refused(resp) => return Err(status_error(what, resp).await),
            }
        }
    }

    /// `{base}/{collection}/{id}` with `id` as one path segment, escaped.
    fn item_url(&self, collection: &str, id: &str) -> Result<reqwest::Url, Error> {
        let mut url = reqwest::Url::parse(&format!("{}/{collection}/", self.base))
            .map_err(|e| Error::permanent(format!("bad base URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|_| Error::permanent("bad base URL"))?
            .pop_if_empty()
            .push(id);
        Ok(url)
    }

    /// Sends `body` as JSON and reads a JSON answer.
    async fn send_body<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: &B,
        what: &str,
    ) -> Result<T, Error> {
        let body = serde_json::to_value(body).map_err(Error::permanent)?;
        let resp = self.send(method, url, Some(&body), what).await?;
        resp.json()
            .await
            .map_err(|e| Error::transient(format!("{what}: unreadable response: {e}")))
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str, what: &str) -> Result<T, Error> {
        let resp = self.send(Method::GET, url, None, what).await?;
        resp.json()
            .await
            .map_err(|e| Error::transient(format!("{what}: unreadable response: {e}")))
    }

    /// Follows `Link: rel="next"` until the end, re-adding any filter a next link dropped.
    async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        filters: &[(&str, String)],
        what: &str,
    ) -> Result<Vec<T>, Error> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| Error::permanent(format!("{what}: bad base URL: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in filters {
                q.append_pair(k, v);
            }
            q.append_pair("max", &self.page_size.to_string());
        }
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let resp = self.send(Method::GET, url.as_str(), None, what).await?;
            let next = resp
                .headers()
                .get_all(LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link);
            let page: Page<T> = resp
                .json()
                .await
                .map_err(|e| Error::transient(format!("{what}: unreadable page: {e}")))?;
            items.extend(page.items);
            let Some(next) = next else {
                return Ok(items);
            };
            url = keep_filters(&url, &next, filters)
                .map_err(|e| Error::permanent(format!("{what}: bad next link: {e}")))?;
        }
        Err(Error::permanent(format!(
            "{what}: more than {MAX_PAGES} pages; refusing to loop"
        )))
    }
}

fn host_filter(host_email: Option<&Email>) -> Vec<(&'static str, String)> {
    host_email
        .map(|e| vec![("hostEmail", e.as_str().to_owned())])
        .unwrap_or_default()
}

#[async_trait]
impl WebexApi for HttpWebex {
    async fn recording(
        &self,
        id: &str,
        host_email: Option<&Email>,
    ) -> Result<WebexRecording, Error> {
        let mut url = self.item_url("recordings", id)?;
        for (k, v) in host_filter(host_email) {
            url.query_pairs_mut().append_pair(k, &v);
        }
        self.get_json(url.as_str(), "GET /recordings/{id}").await
    }

    async fn admin_recordings(&self, meeting_id: &str) -> Result<Vec<WebexRecording>, Error> {
        self.list(
            "/admin/recordings",
            &[("meetingId", meeting_id.to_owned())],
            "GET /admin/recordings",
        )
        .await
    }

    async fn admin_recordings_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        site_url: Option<&str>,
    ) -> Result<Vec<WebexRecording>, Error> {
        let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut f = vec![("from", at(from)), ("to", at(to))];
        if let Some(site) = site_url {
            f.push(("siteUrl", site.to_owned()));
        }
        self.list("/admin/recordings", &f, "GET /admin/recordings")
            .await
    }

    async fn sites(&self) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Site {
            site_url: String,
        }
        #[derive(Deserialize)]
        struct Sites {
            #[serde(default)]
            sites: Vec<Site>,
        }
        let url = format!("{}/meetingPreferences/sites", self.base);
        let sites: Sites = self.get_json(&url, "GET /meetingPreferences/sites").await?;
        Ok(sites.sites.into_iter().map(|s| s.site_url).collect())
    }

    async fn transcripts(
        &self,
        meeting_id: &str,
        host_email: Option<&Email>,
    ) -> Result<Vec<WebexTranscript>, Error> {
        let mut f = vec![("meetingId", meeting_id.to_owned())];
        f.extend(host_filter(host_email));
        self.list("/meetingTranscripts", &f, "GET /meetingTranscripts")
            .await
    }

    async fn participants(
        &self,
        meeting_id: &str,
        host_email: Option<&Email>,
    ) -> Result<Vec<WebexParticipant>, Error> {
        let mut f = vec![("meetingId", meeting_id.to_owned())];
        f.extend(host_filter(host_email));
        self.list("/meetingParticipants", &f, "GET /meetingParticipants")
            .await
    }

    async fn people(&self) -> Result<Vec<WebexPerson>, Error> {
        self.list("/people", &[], "GET /people").await
    }

    async fn bearer(&self) -> Result<crate::ports::SecretString, Error> {
        self.tokens.token(false).await
    }

    async fn delete_recording(&self, id: &str, host_email: Option<&Email>) -> Result<u16, Error> {
        let mut url = self.item_url("recordings", id)?;
        for (k, v) in host_filter(host_email) {
            url.query_pairs_mut().append_pair(k, &v);
        }
        settled(
            self.send(
                Method::DELETE,
                url.as_str(),
                None,
                "DELETE /recordings/{id}",
            )
            .await,
        )
    }

    async fn soft_delete(&self, ids: &[String], host_email: Option<&Email>) -> Result<u16, Error> {
        let mut url = reqwest::Url::parse(&format!("{}/recordings/softDelete", self.base))
            .map_err(|e| Error::permanent(format!("bad base URL: {e}")))?;
        for (k, v) in host_filter(host_email) {
            url.query_pairs_mut().append_pair(k, &v);
        }
        let body = serde_json::json!({ "recordingIds": ids });
        settled(
            self.send(
                Method::POST,
                url.as_str(),
                Some(&body),
                "POST /recordings/softDelete",
            )
            .await,
        )
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>, Error> {
        self.list("/webhooks", &[], "GET /webhooks").await
    }

    async fn create_webhook(&self, req: &WebhookRequest) -> Result<Webhook, Error> {
        let url = format!("{}/webhooks", self.base);
        self.send_body(Method::POST, &url, req, "POST /webhooks")
            .await
    }

    async fn update_webhook(&self, id: &str, req: &WebhookRequest) -> Result<Webhook, Error> {
        let url = self.item_url("webhooks", id)?;
        self.send_body(Method::PUT, url.as_str(), req, "PUT /webhooks/{id}")
            .await
    }

    async fn delete_webhook(&self, id: &str) -> Result<u16, Error> {
        let url = self.item_url("webhooks", id)?;
        settled(
            self.send(Method::DELETE, url.as_str(), None, "DELETE /webhooks/{id}")
                .await,
        )
    }

    async fn revoke_authorizations(&self, client_id: &str) -> Result<u16, Error> {
        let mut url = reqwest::Url::parse(&format!("{}/authorizations", self.base))
            .map_err(|e| Error::permanent(format!("bad base URL: {e}")))?;
        url.query_pairs_mut().append_pair("clientId", client_id);
        settled(
            self.send(Method::DELETE, url.as_str(), None, "DELETE /authorizations")
                .await,
        )
    }
}

/// A deletion's answer: the status of a success, 404 (nothing there) as an answer too, any other as the error.
fn settled(sent: Result<reqwest::Response, Error>) -> Result<u16, Error> {
    match sent {
        Ok(resp) => Ok(resp.status().as_u16()),
        Err(e) if e.kind() == crate::error::Kind::Status(404) => Ok(404),
        Err(e) => Err(e),
    }
}

async fn status_error(what: &str, resp: reqwest::Response) -> Error {
    let status = resp.status();
    // Webex error bodies: {"message": "...", "trackingId": "..."}; they hold no secrets.
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    let message = body
        .get("message")
        .and_then(|m| m.as_str())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect::<String>();
    let tracking = body
        .get("trackingId")
        .and_then(|m| m.as_str())
        .unwrap_or("-");
    let text = format!("{what}: HTTP {status} {message} (trackingId {tracking})");
    Error::status(status.as_u16(), text)
}

/// The URL of a `rel="next"` entry in one `Link` header value (RFC 8288: `<url>; rel="next", <url>; rel="first"`).
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=")
                .map(|v| v.trim_matches('"').split_whitespace().any(|r| r == "next"))
                .unwrap_or(false)
        });
        is_next.then(|| url.to_owned())
    })
}

/// Resolves `next` against `current` and puts back every filter the next link lost (Webex has served next
/// links without some of the original query parameters).
pub fn keep_filters(
    current: &reqwest::Url,
    next: &str,
    filters: &[(&str, String)],
) -> Result<reqwest::Url, String> {
    let mut url = current.join(next).map_err(|e| e.to_string())?;
    let present: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let missing: Vec<_> = filters
        .iter()
        .filter(|(k, _)| !present.iter().any(|p| p == k))
        .collect();
    if !missing.is_empty() {
        tracing::warn!(
            dropped = ?missing.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            "webex next link dropped filters; re-adding them"
        );
        let mut q = url.query_pairs_mut();
        for (k, v) in missing {
            q.append_pair(k, v);
        }
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next_is_found() {
        let h = r#"<https://webexapis.com/v1/meetingParticipants?meetingId=m&max=100&cursor=abc>; rel="next", <https://webexapis.com/v1/meetingParticipants?max=100>; rel="first""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://webexapis.com/v1/meetingParticipants?meetingId=m&max=100&cursor=abc")
        );
        assert_eq!(next_link(r#"<https://x/a>; rel="first""#), None);
        assert_eq!(next_link("garbage"), None);
    }

    #[test]
    fn dropped_filters_are_put_back() {
        let cur = reqwest::Url::parse(
            "https://webexapis.com/v1/meetingParticipants?meetingId=m%231&hostEmail=a%40b.edu&max=100",
        )
        .unwrap();
        let filters = [
            ("meetingId", "m#1".to_owned()),
            ("hostEmail", "a@b.edu".to_owned()),
        ];
        let next =
            keep_filters(&cur, "/v1/meetingParticipants?max=100&cursor=2", &filters).unwrap();
        let q: Vec<(String, String)> = next.query_pairs().into_owned().collect();
        assert!(q.contains(&("meetingId".into(), "m#1".into())), "{q:?}");
        assert!(q.contains(&("hostEmail".into(), "a@b.edu".into())));
        assert!(q.contains(&("cursor".into(), "2".into())));
        assert_eq!(next.host_str(), Some("webexapis.com"));
        // A link that kept them is left alone (no duplicates).
        let kept = keep_filters(&cur, cur.as_str(), &filters).unwrap();
        assert_eq!(kept.query_pairs().count(), 3);
    }

    #[test]
    fn links_never_print() {
        let l = TemporaryLinks {
            recording_download_link: Some("https://cdn.example/secret-sig".into()),
            ..Default::default()
        };
        assert!(!format!("{l:?}").contains("secret-sig"));
    }
}
