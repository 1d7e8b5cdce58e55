//! Zoom's recording lists for backfill and reconcile: every user of the account (active and deactivated:
//! a deactivated user's recordings stay in the cloud and are lost with them), then each user's recordings one
//! calendar month at a time. Each recording found becomes an [`API_RECORDING`] message, which enqueue ingests
//! like a webhook (its files have no download token: the downloader asks the API for a fresh one).

use super::api::ZoomApi;
use super::ingest::API_RECORDING;
use crate::backfill::{Listed, Page, RecordingLister, Scope, Window, WindowRule};
use crate::config::Connection;
use crate::error::Error;
use crate::messages::IngestMessage;
use crate::model::RecordingKey;
use async_trait::async_trait;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The user statuses listed: Zoom lists only `active` users unless asked; `pending` users (invited, not yet
/// joined) cannot host.
pub const USER_STATUSES: [&str; 2] = ["active", "inactive"];

/// One Zoom connection's lists.
pub struct ZoomLister {
    pub api: Arc<dyn ZoomApi>,
    pub conn: Connection,
}

#[async_trait]
impl RecordingLister for ZoomLister {
    fn rule(&self) -> WindowRule {
        WindowRule::CalendarMonth
    }

    async fn scopes(&self) -> Result<Vec<Scope>, Error> {
        let mut scopes: Vec<Scope> = Vec::new();
        for status in USER_STATUSES {
            for u in self.api.users(status).await? {
                if scopes.iter().all(|s| s.id != u.id) {
                    let who = u.email.as_deref().unwrap_or(&u.id);
                    scopes.push(Scope {
                        label: format!("{who} ({status})"),
                        id: u.id,
                    });
                }
            }
        }
        Ok(scopes)
    }

    async fn list(&self, scope: &Scope, window: &Window) -> Result<Page, Error> {
        let items = self
            .api
            .user_recordings(&scope.id, window.from, window.to)
            .await?;
        let now = chrono::Utc::now().timestamp_millis();
        let mut page = Page::default();
        for item in items {
            match listed(&self.conn, &item, now) {
                Ok(l) => page.listed.push(l),
                Err(e) => page.unreadable.push(format!(
                    "user {}, {window}: recording {}: {e}",
                    scope.label,
                    item.get("uuid").and_then(|u| u.as_str()).unwrap_or("?")
                )),
            }
        }
        Ok(page)
    }
}

/// One listed recording object, read like the API's single GET and queued as such.
pub fn listed(conn: &Connection, item: &serde_json::Value, now_ms: i64) -> Result<Listed, Error> {
    let body = item.to_string();
    let rec = super::ingest::api_recording(body.as_bytes(), &conn.account_id, now_ms)?;
    Ok(Listed {
        key: RecordingKey::of(&rec),
        topic: rec.topic.clone(),
        file_ids: rec
            .files
            .iter()
            .map(|f| f.id.to_string())
            .collect::<BTreeSet<_>>(),
        bytes: rec.files.iter().filter_map(|f| f.expected_size).sum(),
        message: IngestMessage {
            vendor: crate::ids::Vendor::Zoom,
            connection_id: conn.id.clone(),
            event: API_RECORDING.to_owned(),
            received_at_ms: now_ms,
            body,
        },
    })
}
