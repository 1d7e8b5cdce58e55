//! `archiver-admin disconnect`: the connection is turned off (webhooks refused, pending deletions wait),
//! Webex's webhooks for it removed and its tokens revoked, its secrets scheduled for deletion. The catalog
//! and the media are kept; `apply` with the connection reconnects it (restoring the secrets) and deletions
//! resume.

use shared::aws::config::DynamoConfig;
use shared::aws::secrets::SecretsManager;
use shared::config::Connection;
use shared::ids::Vendor;
use shared::ports::{ConnectionSwitch, SecretStore};
use shared::webex::WebexConnections;

/// Disconnects `conn`; one line per step, saying what was done or why not. A vendor step that fails is
/// reported and the rest still done: the connection is off whatever the vendor answers.
pub async fn disconnect<W: WebexConnections>(
    conn: &Connection,
    config: &DynamoConfig,
    secrets: &SecretsManager,
    webex: &W,
    recovery_days: i64,
) -> Result<Vec<String>, shared::error::Error> {
    let mut out = Vec::new();
    if !config.set_enabled(&conn.id, false).await? {
        out.push(format!("no connection {} stored", conn.id));
        return Ok(out);
    }
    out.push(format!(
        "connection {} disabled: its webhooks are refused and its pending deletions wait",
        conn.id
    ));
    match conn.vendor {
        Vendor::Webex => out.extend(webex_steps(conn, secrets, webex).await),
        Vendor::Zoom => out.push(
            "Zoom: Server-to-Server OAuth tokens cannot be revoked all at once through the API; \
             deactivate the app in the Zoom App Marketplace to stop it at once (its tokens expire within \
             an hour, and with its credentials secret scheduled for deletion no new one is requested)"
                .into(),
        ),
    }
    let days = recovery_days.clamp(7, 30);
    for id in [
        Some(&conn.webhook_secret_ref),
        conn.credentials_ref.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        match secrets.schedule_deletion(id, days).await {
            Ok(true) => out.push(format!(
                "secret {id} scheduled for deletion in {days} days (apply restores it before then)"
            )),
            Ok(false) => out.push(format!("secret {id} does not exist")),
            Err(e) => out.push(format!("secret {id} not scheduled for deletion: {e}")),
        }
    }
    out.push(
        "the catalog and the archived media are kept; apply the tenant file with this connection to \
         reconnect it"
            .into(),
    );
    Ok(out)
}

/// Removes the org webhooks that point at this connection, then revokes the integration's authorizations
/// (which ends the token those calls used, so it comes last).
async fn webex_steps<W: WebexConnections>(
    conn: &Connection,
    secrets: &SecretsManager,
    webex: &W,
) -> Vec<String> {
    let mut out = Vec::new();
    let api = match webex.api(conn).await {
        Ok(api) => api,
        Err(e) => return vec![format!("Webex API unavailable, nothing removed there: {e}")],
    };
    let ours = format!("/webex/{}", conn.id);
    match api.webhooks().await {
        Ok(hooks) => {
            let mine: Vec<_> = hooks
                .into_iter()
                .filter(|h| h.target_url.trim_end_matches('/').ends_with(&ours))
                .collect();
            if mine.is_empty() {
                out.push("Webex: no webhook points at this connection".into());
            }
            for h in mine {
                match api.delete_webhook(&h.id).await {
                    Ok(status) => out.push(format!(
                        "Webex webhook {} ({}.{}) removed (HTTP {status})",
                        h.id, h.resource, h.event
                    )),
                    Err(e) => out.push(format!("Webex webhook {} not removed: {e}", h.id)),
                }
            }
        }
        Err(e) => out.push(format!("Webex webhooks not listed, none removed: {e}")),
    }
    let client_id = match &conn.credentials_ref {
        Some(id) => match secrets.secret(id).await {
            Ok(raw) => shared::webex::auth::Credentials::parse(raw.expose())
                .map(|c| c.client_id)
                .map_err(|e| format!("credentials {id}: {e}")),
            Err(e) => Err(format!("credentials {id}: {e}")),
        },
        None => Err("the connection has no credentials_ref".into()),
    };
    match client_id {
        Ok(client) => match api.revoke_authorizations(&client).await {
            Ok(status) => out.push(format!(
                "Webex: the integration's tokens (client {client}) revoked (HTTP {status})"
            )),
            Err(e) => out.push(format!("Webex tokens not revoked: {e}")),
        },
        Err(why) => out.push(format!("Webex tokens not revoked: {why}")),
    }
    out
}
