//! Webhook signing and delivery as Zoom does it, plus the JWT-shaped tokens the
//! simulator hands out.

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::Rng as _;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The `User-Agent` Zoom's webhook sender uses.
pub const ZOOM_USER_AGENT: &str = "Zoom Marketplace/1.0a";

/// Published test vector (ZoomNet `WebhookSignatureValidationTests`, recomputed by us).
pub mod test_vector {
    /// Webhook secret token.
    pub const SECRET: &str = "4fv1RkqGQUq5sWbEz6hA5A";
    /// `x-zm-request-timestamp` (seconds).
    pub const TIMESTAMP: i64 = 1720705455;
    /// Raw body, byte for byte.
    pub const BODY: &str = r#"{"payload":{"plainToken":"xys8n8PGS7mAU0m5-YJjRA"},"event_ts":1720705455858,"event":"endpoint.url_validation"}"#;
    /// Expected `x-zm-signature`.
    pub const SIGNATURE: &str =
        "v0=93a1a675965ceb9c5a50c5dfb31f20e50f763be37a54ef74cd2d16a1a8e5c0d6";
    /// The `plainToken` inside [`BODY`].
    pub const PLAIN_TOKEN: &str = "xys8n8PGS7mAU0m5-YJjRA";
}

pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `x-zm-signature` for a body: `"v0=" + hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}"))`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let prefix = format!("v0:{timestamp}:");
    format!(
        "v0={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &[prefix.as_bytes(), body]))
    )
}

/// The `encryptedToken` a webhook endpoint must answer to `endpoint.url_validation`:
/// lower-case hex HMAC-SHA256 of the plainToken alone, keyed with the secret token.
pub fn expected_encrypted_token(secret: &str, plain_token: &str) -> String {
    hex::encode(hmac_sha256(secret.as_bytes(), &[plain_token.as_bytes()]))
}

/// Body of an `endpoint.url_validation` request, in Zoom's key order
/// (`payload`, `event_ts`, `event`), `event_ts` = now in milliseconds.
pub fn url_validation_body(plain_token: &str) -> String {
    format!(
        r#"{{"payload":{{"plainToken":{}}},"event_ts":{},"event":"endpoint.url_validation"}}"#,
        serde_json::to_string(plain_token).expect("a string serializes"),
        chrono::Utc::now().timestamp_millis()
    )
}

/// A fresh random `plainToken` like Zoom's (22 base64url characters).
pub fn random_plain_token() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Current Unix time in seconds, as Zoom puts it in `x-zm-request-timestamp`.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// POST `body` to `url` the way Zoom delivers a webhook: signed with `secret` at
/// `timestamp`, with `x-zm-signature`, `x-zm-request-timestamp`, `x-zm-trackingid`,
/// `content-type: application/json; charset=utf-8` and Zoom's user agent.
/// Returns the status code and the response body.
pub async fn deliver(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    timestamp: i64,
    body: &str,
) -> anyhow::Result<(u16, String)> {
    let rid: [u8; 12] = rand::rng().random();
    let resp = client
        .post(url)
        .header("content-type", "application/json; charset=utf-8")
        .header("user-agent", ZOOM_USER_AGENT)
        .header("x-zm-request-timestamp", timestamp.to_string())
        .header("x-zm-signature", sign(secret, timestamp, body.as_bytes()))
        .header(
            "x-zm-trackingid",
            format!("v=2.0;clid=aw1;rid=WEBHOOK_{}", hex::encode(rid)),
        )
        .body(body.to_owned())
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.context("reading webhook response body")?;
    Ok((status, text))
}

/// A JWT-shaped token `header.payload.signature` (HS256 over `key`).
pub(crate) fn make_jwt(key: &[u8], claims: &serde_json::Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let sig = URL_SAFE_NO_PAD.encode(hmac_sha256(key, &[signing_input.as_bytes()]));
    format!("{signing_input}.{sig}")
}

/// Decode the (unverified) JSON claims of a JWT-shaped token.
pub fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `exp` claim (Unix seconds) of a JWT-shaped token.
pub fn jwt_exp(token: &str) -> Option<i64> {
    jwt_claims(token)?.get("exp")?.as_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_published_test_vector() {
        assert_eq!(
            sign(
                test_vector::SECRET,
                test_vector::TIMESTAMP,
                test_vector::BODY.as_bytes()
            ),
            test_vector::SIGNATURE
        );
    }

    #[test]
    fn encrypted_token_is_hmac_of_plain_token() {
        let t = expected_encrypted_token(test_vector::SECRET, test_vector::PLAIN_TOKEN);
        assert_eq!(t.len(), 64);
        assert!(
            t.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(
            t,
            hex::encode(hmac_sha256(
                test_vector::SECRET.as_bytes(),
                &[test_vector::PLAIN_TOKEN.as_bytes()]
            ))
        );
        assert_ne!(
            t,
            expected_encrypted_token("other", test_vector::PLAIN_TOKEN)
        );
    }

    #[test]
    fn url_validation_body_shape() {
        let body = url_validation_body("abc-DEF_123");
        assert!(body.starts_with(r#"{"payload":{"plainToken":"abc-DEF_123"},"event_ts":"#));
        assert!(body.ends_with(r#","event":"endpoint.url_validation"}"#));
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(v["event_ts"].as_i64().unwrap() > 1_700_000_000_000);
        assert_eq!(random_plain_token().len(), 22);
    }

    #[test]
    fn jwt_shape_and_exp() {
        let t = make_jwt(
            b"k",
            &serde_json::json!({"exp": 1_900_000_000i64, "x": "y"}),
        );
        assert_eq!(t.split('.').count(), 3);
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        );
        assert_eq!(jwt_exp(&t), Some(1_900_000_000));
        assert_eq!(jwt_claims("nope"), None);
    }
}
