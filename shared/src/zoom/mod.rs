//! Zoom: webhook signatures, events, the REST API and its path encoding.

pub mod api;
pub mod attendees;
pub mod backfill;
pub mod deletion;
pub mod event;
pub mod hosts;
pub mod ingest;
pub mod links;
pub mod signature;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but unreserved characters is escaped, so `/`, `+` and `=` never reach a path raw.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Encodes a meeting uuid for a REST path (`/meetings/{uuid}/recordings`). Zoom requires double encoding when
/// the uuid starts with `/` or contains `//`; like production ingesters we double-encode every uuid that holds
/// any character needing escape, which Zoom accepts in all cases.
pub fn encode_uuid_for_path(uuid: &str) -> String {
    let once = utf8_percent_encode(uuid, PATH_SEGMENT).to_string();
    if once == uuid {
        once
    } else {
        utf8_percent_encode(&once, PATH_SEGMENT).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_double_encoded() {
        assert_eq!(
            encode_uuid_for_path("/Ab+cd//EfGh=="),
            "%252FAb%252Bcd%252F%252FEfGh%253D%253D"
        );
        assert_eq!(encode_uuid_for_path("abc//def"), "abc%252F%252Fdef");
        assert_eq!(encode_uuid_for_path("a+b="), "a%252Bb%253D");
        assert_eq!(encode_uuid_for_path("plainUuid123"), "plainUuid123");
        // Decoding twice gives the original back.
        let enc = encode_uuid_for_path("/Ab+cd//EfGh==");
        let once = percent_encoding::percent_decode_str(&enc)
            .decode_utf8()
            .unwrap()
            .to_string();
        let twice = percent_encoding::percent_decode_str(&once)
            .decode_utf8()
            .unwrap()
            .to_string();
        assert_eq!(twice, "/Ab+cd//EfGh==");
    }
}
