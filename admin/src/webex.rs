//! `archiver-admin webex-webhooks`: the org-wide Webex webhooks of a connection. `ensure` and `list` are
//! `shared::webex::webhooks` (the reconcile sweep runs the same repair); what is the CLI's alone is the
//! webhook secret: generated once, stored in Secrets Manager *before* Webex learns it (so the validator never
//! sees a signature it cannot check for long), and reused afterwards.

use anyhow::{Context, Result};
use shared::config::Connection;
use shared::ports::{SecretStore, SecretString, SecretWriter};
pub use shared::webex::webhooks::{Report, WANTED, ensure, list, target_url};

/// A new random webhook secret: 32 bytes, hex.
pub fn generate_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The connection's webhook secret, generated and stored first if there is none yet.
pub async fn webhook_secret<S: SecretStore + SecretWriter>(
    secrets: &S,
    conn: &Connection,
) -> Result<(SecretString, bool)> {
    if let Ok(s) = secrets.secret(&conn.webhook_secret_ref).await
        && s.expose().len() >= 16
    {
        return Ok((s, false));
    }
    let s = SecretString::new(generate_secret());
    secrets
        .put_secret(&conn.webhook_secret_ref, &s)
        .await
        .with_context(|| format!("storing the webhook secret {}", conn.webhook_secret_ref))?;
    Ok((s, true))
}
