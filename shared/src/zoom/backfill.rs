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
        let items = match self
            .api
            .user_recordings(&scope.id, window.from, window.to)
            .await
        {
            Ok(items) => items,
            // Deleted since the users were listed (Zoom: 404, code 1001): their recordings were deleted or
            // transferred with them (a new host's listing has them), so nothing is left to list here.
            Err(e) if e.kind() == crate::error::Kind::NotFound => {
                tracing::warn!(user = %scope.label, window = %window, "the user no longer exists at Zoom; nothing to list");
                return Ok(Page::default());
            }
            Err(e) => return Err(e),
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Class, Kind};

    #[tokio::test]
    async fn a_user_deleted_since_the_users_were_listed_has_nothing_left_and_does_not_stop_the_run()
    {
        let zoom = crate::fakes::FakeZoom::default();
        let lister = ZoomLister {
            api: Arc::new(zoom.clone()),
            conn: crate::fakes::connection(crate::ids::Vendor::Zoom),
        };
        let scope = Scope {
            id: "u-gone".into(),
            label: "gone@uni.example.edu (active)".into(),
        };
        let window = Window {
            from: "2026-09-01".parse().unwrap(),
            to: "2026-09-30".parse().unwrap(),
        };
        *zoom.fail.lock().unwrap() = Some((Class::Permanent, Kind::NotFound));
        assert_eq!(lister.list(&scope, &window).await.unwrap(), Page::default());
        // Any other refusal still stops the walk (it is recorded and the unit listed again on the next run).
        *zoom.fail.lock().unwrap() = Some((Class::Retryable, Kind::Status(503)));
        assert!(lister.list(&scope, &window).await.is_err());
    }
}
