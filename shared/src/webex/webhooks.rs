//! The org-wide Webex webhooks of a connection: `ensure` creates what is missing (`recordings`/`created` and
//! `meetingTranscripts`/`created`, `ownedBy: org`), reactivates an `inactive` one (Webex turns a webhook
//! inactive after failed deliveries), and puts our secret back on one whose secret differs. Used by
//! `archiver-admin webex-webhooks ensure` and by the reconcile sweep.

use super::api::{WebexApi, Webhook, WebhookRequest};
use crate::config::Connection;
use crate::error::Error;
use crate::ports::SecretString;

/// The notifications the archiver ingests.
pub const WANTED: [(&str, &str); 2] =
    [("recordings", "created"), ("meetingTranscripts", "created")];

/// What `ensure` did to one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: String,
    pub resource: String,
    pub event: String,
    pub status: String,
    /// `created`, `reactivated`, `secret updated`, `ok`, or `duplicate (…)`.
    pub action: String,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\t{}.{}\t{}\t{}",
            self.id, self.resource, self.event, self.status, self.action
        )
    }
}

/// The URL Webex must call for this connection, under the stack's `WebhookBaseUrl` output
/// (`https://<api>.execute-api.<region>.amazonaws.com/webhooks`).
pub fn target_url(webhook_base_url: &str, conn: &Connection) -> String {
    format!(
        "{}/webex/{}",
        webhook_base_url.trim_end_matches('/'),
        conn.id
    )
}

fn report(w: &Webhook, action: impl Into<String>) -> Report {
    Report {
        id: w.id.clone(),
        resource: w.resource.clone(),
        event: w.event.clone(),
        status: w.status.clone(),
        action: action.into(),
    }
}

/// Creates or repairs the connection's webhooks. Returns one line per webhook that points at us.
pub async fn ensure(
    api: &dyn WebexApi,
    conn: &Connection,
    target: &str,
    secret: &SecretString,
) -> Result<Vec<Report>, Error> {
    let existing: Vec<Webhook> = api
        .webhooks()
        .await?
        .into_iter()
        .filter(|w| w.target_url == target)
        .collect();
    let mut out = Vec::new();
    for (resource, event) in WANTED {
        let name = format!("archiver {} {resource}.{event}", conn.id);
        let mut same = existing
            .iter()
            .filter(|w| w.resource == resource && w.event == event);
        let request = |status: Option<&str>| WebhookRequest {
            name: name.clone(),
            target_url: target.to_owned(),
            resource: status.is_none().then(|| resource.to_owned()),
            event: status.is_none().then(|| event.to_owned()),
            secret: secret.expose().to_owned(),
            owned_by: status.is_none().then(|| "org".to_owned()),
            status: status.map(str::to_owned),
        };
        match same.next() {
            None => {
                let w = api.create_webhook(&request(None)).await?;
                out.push(report(&w, "created"));
            }
            Some(w) => {
                let inactive = w.status != "active";
                let wrong_secret = w.secret.as_deref() != Some(secret.expose());
                if inactive || wrong_secret {
                    let updated = api.update_webhook(&w.id, &request(Some("active"))).await?;
                    let action = match (inactive, wrong_secret) {
                        (true, true) => "reactivated, secret updated",
                        (true, false) => "reactivated",
                        _ => "secret updated",
                    };
                    out.push(report(&updated, action));
                } else {
                    out.push(report(w, "ok"));
                }
                if w.owned_by.as_deref() != Some("org") {
                    out.last_mut().unwrap().action += " (not org-wide: only its creator's recordings notify; recreate it as an admin)";
                }
            }
        }
        for dup in same {
            out.push(report(
                dup,
                "duplicate (every notification arrives twice; delete it in Webex)",
            ));
        }
    }
    Ok(out)
}

/// Every webhook of the token's org that points at this connection, and the others for context.
pub async fn list(api: &dyn WebexApi, target: &str) -> Result<Vec<(bool, Webhook)>, Error> {
    Ok(api
        .webhooks()
        .await?
        .into_iter()
        .map(|w| (w.target_url == target, w))
        .collect())
}
