//! Webex webhook authenticity: `X-Spark-Signature` = hex(HMAC-SHA1(secret, raw body)).
//!
//! Webex signs no timestamp, so a captured delivery can be replayed at any time. Replays are harmless here
//! because a notification only names a recording (or transcript) id and ingestion is idempotent per file:
//! a replay re-reads the vendor's current state and creates nothing new.

use hmac::{KeyInit, Mac};
use sha1::Sha1;

type HmacSha1 = hmac::Hmac<Sha1>;

/// Why a Webex signature was refused. Never carries the secret, the signature or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Spark-Signature header")]
    MissingSignature,
    #[error("signature is not 40 hex digits")]
    Malformed,
    #[error("signature does not match")]
    Mismatch,
}

/// Verifies the header against the raw body in constant time (before anything parses the body).
pub fn verify(
    secret: &[u8],
    signature_header: Option<&str>,
    raw_body: &[u8],
) -> Result<(), SignatureError> {
    let sig = signature_header
        .map(str::trim)
        .ok_or(SignatureError::MissingSignature)?;
    if sig.len() != 40 {
        return Err(SignatureError::Malformed);
    }
    let expected = hex::decode(sig).map_err(|_| SignatureError::Malformed)?;
    let mut mac = HmacSha1::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(raw_body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The header value Webex would send (used by the admin tools and tests).
pub fn sign(secret: &[u8], raw_body: &[u8]) -> String {
    let mut mac = HmacSha1::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(raw_body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_and_refusals() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?").
        let body = b"what do ya want for nothing?";
        let good = "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79";
        assert_eq!(sign(b"Jefe", body), good);
        assert_eq!(verify(b"Jefe", Some(good), body), Ok(()));
        assert_eq!(
            verify(b"Jefe", Some(&good.to_uppercase()), body),
            Ok(()),
            "hex case does not matter"
        );
        assert_eq!(
            verify(b"Jefe", None, body),
            Err(SignatureError::MissingSignature)
        );
        assert_eq!(
            verify(b"Jefe", Some("sha1=abc"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"Jefe", Some(&"z".repeat(40)), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"other", Some(good), body),
            Err(SignatureError::Mismatch)
        );
        // One changed byte of the body.
        assert_eq!(
            verify(b"Jefe", Some(good), b"what do ya want for nothing!"),
            Err(SignatureError::Mismatch)
        );
    }
}
