//! Zoom ingest: a recording event carries everything, so ingest is its normalisation. Besides Zoom's own
//! events, the events queue carries [`API_RECORDING`]: a recording as `GET /meetings/{uuid}/recordings`
//! answered (with fresh download tokens), which the deleter sends when Zoom lists files we have not archived.

use crate::error::Error;
use crate::ids::AccountId;
use crate::model::Recording;

/// The events-queue event of a recording read from the Zoom API (never a webhook: the validator queues only
/// Zoom's own events).
pub const API_RECORDING: &str = "archiver.api_recording";

/// The recording of an [`API_RECORDING`] body, for the connection's account, its tokens issued at
/// `issued_at_ms`.
pub fn api_recording(
    body: &[u8],
    account: &AccountId,
    issued_at_ms: i64,
) -> Result<Recording, Error> {
    super::event::from_api(body, account, issued_at_ms)
        .map_err(|e| Error::data(format!("unusable zoom API recording: {e}")))
}

/// The recording a verified Zoom event announces. An event that does not normalise never will: permanent.
pub fn recording(body: &[u8]) -> Result<Recording, Error> {
    super::event::normalise(body).map_err(|e| Error::data(format!("unusable zoom event: {e}")))
}
