//! What the tests against a live endpoint (moto) share.

use std::time::{SystemTime, UNIX_EPOCH};

pub const TEMPLATE: &str = include_str!("../../../../template.yaml");

/// The endpoint of the running moto, or `None` (and a note) when the test should skip.
pub fn endpoint() -> Option<String> {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("AWS_ENDPOINT_URL is not set: skipping the test against a live endpoint");
            None
        }
    }
}

/// A stack name no other test run uses.
pub fn unique_stack(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}
