//! Zoom webhook authenticity: `x-zm-signature` over the raw body, the timestamp window and the
//! `endpoint.url_validation` answer. Pure functions over bytes; nothing here parses JSON.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Why a Zoom signature was refused. The variants never carry the secret, the signature or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing x-zm-signature header")]
    MissingSignature,
    #[error("missing or non-numeric x-zm-request-timestamp header")]
    BadTimestamp,
    #[error("signature is not of the form v0=<64 hex digits>")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
    #[error("timestamp is {skew_secs}s away from now, outside the allowed window")]
    Stale { skew_secs: i64 },
}

pub use crate::config::TimestampWindow;

/// Verifies `x-zm-signature` = `v0=` + hex(HMAC-SHA256(secret, "v0:{timestamp}:{raw body}")) in constant time,
/// then the timestamp window. Returns the verified timestamp (seconds).
pub fn verify(
    secret: &[u8],
    signature_header: Option<&str>,
    timestamp_header: Option<&str>,
    raw_body: &[u8],
    now_secs: i64,
    window: TimestampWindow,
) -> Result<i64, SignatureError> {
    let signature = signature_header.ok_or(SignatureError::MissingSignature)?;
    let ts_str = timestamp_header
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(SignatureError::BadTimestamp)?;
    let timestamp: i64 = ts_str.parse().map_err(|_| SignatureError::BadTimestamp)?;
    let hex_part = signature
        .trim()
        .strip_prefix("v0=")
        .ok_or(SignatureError::Malformed)?;
    if hex_part.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let expected = hex::decode(hex_part).map_err(|_| SignatureError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(ts_str.as_bytes());
    mac.update(b":");
    mac.update(raw_body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)?;
    let skew = now_secs - timestamp;
    if skew > window.max_age_secs || -skew > window.max_future_secs {
        return Err(SignatureError::Stale { skew_secs: skew });
    }
    Ok(timestamp)
}

/// Computes the header value Zoom would send (used by the simulator-free unit tests and the CLI).
pub fn sign(secret: &[u8], timestamp: i64, raw_body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(raw_body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// The `encryptedToken` of an `endpoint.url_validation` answer: hex HMAC-SHA256 of the plain token alone.
pub fn url_validation_token(secret: &[u8], plain_token: &str) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(plain_token.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The published test vector (protocol reference §1).
    const SECRET: &[u8] = b"4fv1RkqGQUq5sWbEz6hA5A";
    const TS: &str = "1720705455";
    const BODY: &[u8] = br#"{"payload":{"plainToken":"xys8n8PGS7mAU0m5-YJjRA"},"event_ts":1720705455858,"event":"endpoint.url_validation"}"#;
    const SIG: &str = "v0=93a1a675965ceb9c5a50c5dfb31f20e50f763be37a54ef74cd2d16a1a8e5c0d6";

    #[test]
    fn published_vector_verifies() {
        let ts = verify(
            SECRET,
            Some(SIG),
            Some(TS),
            BODY,
            1720705455 + 10,
            TimestampWindow::default(),
        );
        assert_eq!(ts, Ok(1720705455));
        assert_eq!(sign(SECRET, 1720705455, BODY), SIG);
    }

    #[test]
    fn the_events_fixture_is_the_vector() {
        let body = include_bytes!("../../../events/zoom/endpoint.url_validation.json");
        assert_eq!(sign(SECRET, 1720705455, body.trim_ascii_end()), SIG);
    }

    #[test]
    fn any_change_is_refused() {
        let now = 1720705455;
        let w = TimestampWindow::default();
        let mut body = BODY.to_vec();
        body[5] ^= 1;
        assert_eq!(
            verify(SECRET, Some(SIG), Some(TS), &body, now, w),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", Some(SIG), Some(TS), BODY, now, w),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(SIG), Some("1720705456"), BODY, now, w),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, None, Some(TS), BODY, now, w),
            Err(SignatureError::MissingSignature)
        );
        assert_eq!(
            verify(SECRET, Some(SIG), None, BODY, now, w),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify(SECRET, Some(SIG), Some("12a"), BODY, now, w),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify(SECRET, Some(&SIG[3..]), Some(TS), BODY, now, w),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(SECRET, Some("v0=zz"), Some(TS), BODY, now, w),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn window_is_enforced_after_signature() {
        let w = TimestampWindow {
            max_age_secs: 300,
            max_future_secs: 60,
        };
        let ts = 1720705455;
        assert!(verify(SECRET, Some(SIG), Some(TS), BODY, ts + 300, w).is_ok());
        assert_eq!(
            verify(SECRET, Some(SIG), Some(TS), BODY, ts + 301, w),
            Err(SignatureError::Stale { skew_secs: 301 })
        );
        assert_eq!(
            verify(SECRET, Some(SIG), Some(TS), BODY, ts - 61, w),
            Err(SignatureError::Stale { skew_secs: -61 })
        );
    }

    #[test]
    fn non_ascii_topics_are_signed_as_utf8_bytes() {
        let body = "{\"topic\":\"Vorlesung Größen 🎓\"}".as_bytes();
        let sig = sign(SECRET, 100, body);
        assert!(
            verify(
                SECRET,
                Some(&sig),
                Some("100"),
                body,
                100,
                TimestampWindow::default()
            )
            .is_ok()
        );
    }

    #[test]
    fn url_validation_answer() {
        // Independent check: HMAC-SHA256("4fv1RkqGQUq5sWbEz6hA5A", "xys8n8PGS7mAU0m5-YJjRA").
        let t = url_validation_token(SECRET, "xys8n8PGS7mAU0m5-YJjRA");
        // Computed independently with Python's hmac module.
        assert_eq!(
            t,
            "2fffc6a967dde4f68024025a5bd991c5ae1e5313b4e6365be4883e3e81d479b3"
        );
        assert_ne!(t, url_validation_token(SECRET, "xys8n8PGS7mAU0m5-YJjRB"));
        assert_ne!(t, url_validation_token(b"x", "xys8n8PGS7mAU0m5-YJjRA"));
    }
}
