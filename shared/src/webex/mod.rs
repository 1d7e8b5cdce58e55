//! Webex: webhook signatures and notifications, the REST API (with OAuth token refresh) and the mapping of
//! Webex recordings and transcripts into the vendor-neutral model.

pub mod api;
pub mod attendees;
pub mod auth;
pub mod backfill;
pub mod deletion;
pub mod event;
pub mod ingest;
pub mod links;
pub mod normalise;
pub mod signature;
pub mod webhooks;

use crate::config::Connection;
use crate::error::Error;
use api::{HttpWebex, RetryPolicy, WebexApi};
use async_trait::async_trait;
use auth::{SecretReadWrite, TokenSource};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Gives the Webex API of a connection (its base URL and its credentials).
#[async_trait]
pub trait WebexConnections: Send + Sync {
    async fn api(&self, conn: &Connection) -> Result<Arc<dyn WebexApi>, Error>;
}

/// One [`HttpWebex`] per connection, kept for the life of the function instance so its access token is reused
/// across invocations.
pub struct HttpWebexConnections {
    http: reqwest::Client,
    secrets: Arc<dyn SecretReadWrite>,
    retry: RetryPolicy,
    page_size: Option<u32>,
    pacer: crate::http::Pacer,
    cache: Mutex<HashMap<(String, String, String), Arc<HttpWebex>>>,
}

impl HttpWebexConnections {
    pub fn new(secrets: Arc<dyn SecretReadWrite>, retry: RetryPolicy) -> Self {
        let http = crate::http::api_client();
        Self {
            http,
            secrets,
            retry,
            page_size: None,
            pacer: crate::http::Pacer::default(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Lists with pages of at most `n` items (1..=100), so a test walks many pages of a small org.
    pub fn with_page_size(mut self, n: u32) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Spaces every API request of these clients by `pacer` (shared by all of them).
    pub fn with_pacer(mut self, pacer: crate::http::Pacer) -> Self {
        self.pacer = pacer;
        self
    }
}

#[async_trait]
impl WebexConnections for HttpWebexConnections {
    async fn api(&self, conn: &Connection) -> Result<Arc<dyn WebexApi>, Error> {
        let creds = conn.credentials_ref.clone().ok_or_else(|| {
            Error::permanent(format!(
                "connection {} has no credentials_ref: Webex needs API credentials",
                conn.id
            ))
        })?;
        // A changed base URL or credentials secret gives a new client.
        let key = (
            conn.id.to_string(),
            conn.api_base_url.to_string(),
            creds.clone(),
        );
        let mut cache = self.cache.lock().expect("client cache");
        let client = cache.entry(key).or_insert_with(|| {
            let api = HttpWebex::new(
                conn.api_base_url.as_str(),
                self.http.clone(),
                TokenSource::new(
                    creds,
                    self.secrets.clone(),
                    conn.oauth_base_url.as_str(),
                    self.http.clone(),
                ),
                self.retry,
            );
            let api = api.with_pacer(self.pacer.clone());
            Arc::new(match self.page_size {
                Some(n) => api.with_page_size(n),
                None => api,
            })
        });
        Ok(client.clone())
    }
}

#[async_trait]
impl<T: WebexConnections + ?Sized> WebexConnections for Arc<T> {
    async fn api(&self, conn: &Connection) -> Result<Arc<dyn WebexApi>, Error> {
        (**self).api(conn).await
    }
}
