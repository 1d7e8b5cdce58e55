//! Webhook signing and delivery as Webex does it, and the CDN link signature.

use anyhow::Context as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The `User-Agent` of the simulated webhook sender. Webex's exact value is not
/// documented; this one only has to look like a server-side sender.
pub const WEBEX_USER_AGENT: &str = "Cisco-Webex-Webhooks/1.0 (webex-sim)";

/// `X-Spark-Signature`: lower-case hex HMAC-SHA1 of the raw body, keyed with the
/// webhook's secret.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Lower-case hex HMAC-SHA256 (the CDN link signature).
pub(crate) fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

/// POST `body` to `url` as Webex delivers a webhook: `Content-Type: application/json`,
/// `X-Spark-Signature` when `secret` is given, a `TrackingID` and a Webex-like
/// `User-Agent`. Returns the status code and the response body.
pub async fn deliver(
    client: &reqwest::Client,
    url: &str,
    secret: Option<&str>,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    let mut req = client
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", WEBEX_USER_AGENT)
        .header("trackingid", format!("WEBHOOK_{}", crate::uuid()))
        .body(body.to_owned());
    if let Some(secret) = secret {
        req = req.header("x-spark-signature", sign(secret, body.as_bytes()));
    }
    let resp = req.send().await.with_context(|| format!("POST {url}"))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.context("reading webhook response body")?;
    Ok((status, text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha1_known_vector() {
        // RFC 2202 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
