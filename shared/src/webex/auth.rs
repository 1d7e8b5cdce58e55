//! Webex API credentials: OAuth integration tokens and Service App tokens, both refreshed with the
//! `refresh_token` grant at `{oauth_base}/access_token`.
//!
//! The credentials live as one JSON secret in Secrets Manager (the connection's `credentials_ref`). A refresh
//! writes the whole new token set (access token, expiry and the possibly rotated refresh token) back in one
//! `PutSecretValue` *before* the new access token is used, so a crash can never leave us holding a refresh
//! token that only existed in memory. Before refreshing, the secret is read again: another function may have
//! refreshed already, and its token is then used instead of refreshing twice.

use crate::error::{Error, Kind};
use crate::ports::{SecretStore, SecretString, SecretWriter};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Which kind of Webex app the tokens belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// An OAuth integration authorised by an admin (or compliance officer).
    Integration,
    /// A Service App (machine account) authorised by a Full Admin in Control Hub.
    ServiceApp,
}

/// The JSON stored in the credentials secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub kind: CredentialKind,
    pub client_id: String,
    pub client_secret: String,
    pub access_token: String,
    /// When `access_token` stops working.
    pub expires_at: DateTime<Utc>,
    pub refresh_token: String,
    #[serde(default)]
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Parses and checks the secret's JSON; the error never echoes the value.
    pub fn parse(json: &str) -> Result<Self, String> {
        let c: Credentials = serde_json::from_str(json).map_err(|e| {
            // serde's message names the field and position, never the secret value for these types.
            format!("credentials JSON: {e}")
        })?;
        for (name, v) in [
            ("client_id", &c.client_id),
            ("client_secret", &c.client_secret),
            ("access_token", &c.access_token),
            ("refresh_token", &c.refresh_token),
        ] {
            if v.trim().is_empty() {
                return Err(format!("credentials JSON: {name} is empty"));
            }
        }
        Ok(c)
    }

    /// Whether the access token should be refreshed now.
    pub fn needs_refresh(&self, now: DateTime<Utc>) -> bool {
        self.expires_at - now < Duration::seconds(REFRESH_MARGIN_SECS)
    }
}

/// Refresh this long before the access token expires.
pub const REFRESH_MARGIN_SECS: i64 = 300;

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: i64,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    refresh_token_expires_in: Option<i64>,
}

/// Hands out a valid access token for one connection, refreshing and persisting as needed.
pub struct TokenSource {
    secret_id: String,
    store: Arc<dyn SecretReadWrite>,
    token_url: String,
    http: reqwest::Client,
    current: tokio::sync::Mutex<Option<Credentials>>,
}

/// Read and write access to secrets, as one object.
pub trait SecretReadWrite: SecretStore + SecretWriter {}
impl<T: SecretStore + SecretWriter> SecretReadWrite for T {}

impl TokenSource {
    pub fn new(
        secret_id: impl Into<String>,
        store: Arc<dyn SecretReadWrite>,
        oauth_base_url: &str,
        http: reqwest::Client,
    ) -> Self {
        Self {
            secret_id: secret_id.into(),
            store,
            token_url: format!("{}/access_token", oauth_base_url.trim_end_matches('/')),
            http,
            current: tokio::sync::Mutex::new(None),
        }
    }

    async fn load(&self) -> Result<Credentials, Error> {
        let raw = self.store.secret(&self.secret_id).await?;
        Credentials::parse(raw.expose())
            .map_err(|e| Error::permanent(format!("secret {}: {e}", self.secret_id)))
    }

    /// A valid access token. `force` refreshes even if the token looks valid (after a 401).
    pub async fn token(&self, force: bool) -> Result<SecretString, Error> {
        let mut current = self.current.lock().await;
        let now = Utc::now();
        if let Some(c) = current.as_ref()
            && !force
            && !c.needs_refresh(now)
        {
            return Ok(SecretString::new(c.access_token.clone()));
        }
        // Another worker may have refreshed already: start from what is stored.
        let stored = self.load().await?;
        let stale_token = current.as_ref().map(|c| c.access_token.clone());
        let refreshed_elsewhere = force && stale_token.is_some_and(|t| t != stored.access_token);
        if refreshed_elsewhere || (!force && !stored.needs_refresh(now)) {
            let token = SecretString::new(stored.access_token.clone());
            *current = Some(stored);
            return Ok(token);
        }
        let fresh = match self.refresh(&stored).await {
            Ok(f) => f,
            Err(e) if e.kind() == Kind::Auth => {
                // Single flight across instances: another one may have refreshed between our read and our
                // refresh (Webex rotates the refresh token, so ours is dead now). It stored the new set
                // before using it; take that instead of failing.
                let again = self.load().await?;
                if again.refresh_token == stored.refresh_token {
                    return Err(e);
                }
                tracing::info!(
                    secret = self.secret_id,
                    "another instance refreshed the webex token first; using the stored set"
                );
                let token = SecretString::new(again.access_token.clone());
                *current = Some(again);
                return Ok(token);
            }
            Err(e) => return Err(e),
        };
        // Persist first: the old refresh token may be dead now.
        self.store
            .put_secret(
                &self.secret_id,
                &SecretString::new(serde_json::to_string(&fresh).map_err(Error::permanent)?),
            )
            .await?;
        tracing::info!(secret = self.secret_id, expires_at = %fresh.expires_at, kind = ?fresh.kind, "webex access token refreshed and stored");
        let token = SecretString::new(fresh.access_token.clone());
        *current = Some(fresh);
        Ok(token)
    }

    async fn refresh(&self, c: &Credentials) -> Result<Credentials, Error> {
        let resp = self
            .http
            .post(&self.token_url)
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", c.client_id.as_str()),
                ("client_secret", c.client_secret.as_str()),
                ("refresh_token", c.refresh_token.as_str()),
            ])
            .send()
            .await
            .map_err(|e| {
                Error::transient(format!("token refresh: {}", e.without_url()))
                    .kind_of(Kind::Network)
            })?;
        let status = resp.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(Error::transient(format!("token refresh: HTTP {status}")));
        }
        if !status.is_success() {
            // The body says invalid_grant / invalid_client; it holds no secret.
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            let code = body
                .get("error")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown");
            return Err(Error::permanent(format!(
                "token refresh refused (HTTP {status}, {code}): re-authorise the Webex app and store new credentials in {}",
                self.secret_id
            ))
            .kind_of(Kind::Auth));
        }
        let t: TokenResponse = resp
            .json()
            .await
            .map_err(|e| Error::transient(format!("token refresh response: {e}")))?;
        let now = Utc::now();
        Ok(Credentials {
            kind: c.kind,
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            access_token: t.access_token,
            expires_at: now + Duration::seconds(t.expires_in),
            refresh_token: t.refresh_token.unwrap_or_else(|| c.refresh_token.clone()),
            refresh_token_expires_at: t
                .refresh_token_expires_in
                .map(|s| now + Duration::seconds(s))
                .or(c.refresh_token_expires_at),
        })
    }
}

/// A Service App's first token pair: `POST {api_base}/applications/{application_id}/token` with
/// `{clientId, clientSecret, targetOrgId}`, called with an integration (issuer) token that has the
/// `spark:applications_token` scope. The result is refreshed like any other credentials afterwards.
pub async fn service_app_token(
    http: &reqwest::Client,
    api_base_url: &str,
    application_id: &str,
    issuer_token: &SecretString,
    client_id: &str,
    client_secret: &SecretString,
    target_org_id: &str,
) -> Result<Credentials, Error> {
    let url = format!(
        "{}/applications/{}/token",
        api_base_url.trim_end_matches('/'),
        percent_encoding::utf8_percent_encode(application_id, percent_encoding::NON_ALPHANUMERIC)
    );
    let resp = http
        .post(url)
        .bearer_auth(issuer_token.expose())
        .json(&serde_json::json!({
            "clientId": client_id,
            "clientSecret": client_secret.expose(),
            "targetOrgId": target_org_id,
        }))
        .send()
        .await
        .map_err(|e| {
            Error::transient(format!("service app token: {}", e.without_url()))
                .kind_of(Kind::Network)
        })?;
    let status = resp.status();
    if !status.is_success() {
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        let msg = body.get("message").and_then(|m| m.as_str()).unwrap_or("");
        return Err(
            Error::permanent(format!("service app token refused (HTTP {status}): {msg}"))
                .kind_of(Kind::Auth),
        );
    }
    let t: TokenResponse = resp
        .json()
        .await
        .map_err(|e| Error::transient(format!("service app token response: {e}")))?;
    let now = Utc::now();
    let refresh_token = t
        .refresh_token
        .ok_or_else(|| Error::permanent("service app token response has no refresh_token"))?;
    Ok(Credentials {
        kind: CredentialKind::ServiceApp,
        client_id: client_id.to_owned(),
        client_secret: client_secret.expose().to_owned(),
        access_token: t.access_token,
        expires_at: now + Duration::seconds(t.expires_in),
        refresh_token,
        refresh_token_expires_at: t
            .refresh_token_expires_in
            .map(|s| now + Duration::seconds(s)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_parse_and_never_print_tokens() {
        let json = r#"{"kind":"service_app","client_id":"C1","client_secret":"S3CRET",
            "access_token":"AT-XYZ","expires_at":"2026-11-23T10:00:00Z","refresh_token":"RT-ABC"}"#;
        let c = Credentials::parse(json).unwrap();
        assert_eq!(c.kind, CredentialKind::ServiceApp);
        let dbg = format!("{c:?}");
        for s in ["S3CRET", "AT-XYZ", "RT-ABC"] {
            assert!(!dbg.contains(s), "{dbg}");
        }
        let t = "2026-11-23T09:56:00Z".parse().unwrap();
        assert!(c.needs_refresh(t), "inside the margin");
        assert!(!c.needs_refresh("2026-11-23T09:00:00Z".parse().unwrap()));

        let err = Credentials::parse(&json.replace("RT-ABC", " ")).unwrap_err();
        assert!(err.contains("refresh_token is empty"), "{err}");
        let err = Credentials::parse(r#"{"kind":"integration"}"#).unwrap_err();
        assert!(err.contains("missing field"), "{err}");
    }
}
