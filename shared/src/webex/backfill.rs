//! Webex's recording lists for backfill and reconcile: the org's admin list (`GET /admin/recordings`) in
//! windows of at most 30 days, per site (without `siteUrl` Webex lists only the caller's preferred site).
//! Each recording found becomes a `recordings.created` notification ([`super::ingest::created`]), which
//! enqueue ingests like the webhook; the segments of one meeting instance are one recording.

use super::api::{WebexApi, WebexRecording};
use crate::backfill::{Listed, Page, RecordingLister, Scope, Window, WindowRule};
use crate::config::Connection;
use crate::error::Error;
use crate::ids::{InstanceId, Vendor};
use crate::model::RecordingKey;
use async_trait::async_trait;
use chrono::{NaiveTime, TimeZone, Utc};
use std::sync::Arc;

/// Webex's longest `from`..`to` of the admin list.
pub const WINDOW_DAYS: u32 = 30;
/// The scope id of the caller's preferred site (no `siteUrl`).
pub const PREFERRED_SITE: &str = "-";

/// One Webex connection's lists.
pub struct WebexLister {
    pub api: Arc<dyn WebexApi>,
    pub conn: Connection,
}

#[async_trait]
impl RecordingLister for WebexLister {
    fn rule(&self) -> WindowRule {
        WindowRule::Days(WINDOW_DAYS)
    }

    async fn scopes(&self) -> Result<Vec<Scope>, Error> {
        let preferred = || Scope {
            id: PREFERRED_SITE.into(),
            label: "the preferred site".into(),
        };
        match self.api.sites().await {
            Ok(sites) if !sites.is_empty() => Ok(sites
                .into_iter()
                .map(|s| Scope {
                    label: s.clone(),
                    id: s,
                })
                .collect()),
            Ok(_) => Ok(vec![preferred()]),
            Err(e)
                if e.class() == crate::error::Class::Permanent
                    || e.kind() == crate::error::Kind::Auth =>
            {
                tracing::warn!(connection = %self.conn.id, error = %e, "the Webex sites could not be listed; listing the preferred site only");
                Ok(vec![preferred()])
            }
            Err(e) => Err(e),
        }
    }

    async fn list(&self, scope: &Scope, window: &Window) -> Result<Page, Error> {
        let midnight = |d: chrono::NaiveDate| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN));
        let to = window.to.succ_opt().unwrap_or(window.to);
        let site = (scope.id != PREFERRED_SITE).then_some(scope.id.as_str());
        let items = self
            .api
            .admin_recordings_between(midnight(window.from), midnight(to), site)
            .await?;
        let mut page = Page::default();
        for r in items {
            match listed(&self.conn, &r) {
                Ok(Some(l)) => page.listed.push(l),
                Ok(None) => {}
                Err(e) => page.unreadable.push(format!(
                    "{}, {window}: recording {}: {e}",
                    scope.label, r.id
                )),
            }
        }
        Ok(page)
    }
}

/// One listed recording (a segment of its meeting instance); `None` for one that is not `available` (in the
/// recycle bin, purged).
pub fn listed(conn: &Connection, r: &WebexRecording) -> Result<Option<Listed>, Error> {
    if r.status.as_deref().is_some_and(|s| s != "available") {
        return Ok(None);
    }
    let meeting = r
        .meeting_id
        .as_deref()
        .ok_or_else(|| Error::data("no meetingId"))?;
    let instance = InstanceId::parse(meeting).map_err(|e| Error::data(e.to_string()))?;
    let file = super::normalise::file_id(&r.id, crate::model::WebexLink::Recording)
        .map_err(|e| Error::data(e.to_string()))?;
    Ok(Some(Listed {
        key: RecordingKey {
            vendor: Vendor::Webex,
            account: conn.account_id.clone(),
            instance,
        },
        topic: r.topic.clone().unwrap_or_default(),
        file_ids: [file.to_string()].into(),
        bytes: r.size_bytes.unwrap_or(0),
        message: super::ingest::created(conn, &r.id, meeting, r.host_email.as_deref()),
    }))
}
