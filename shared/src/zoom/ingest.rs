//! Zoom ingest: a recording event carries everything, so ingest is its normalisation.

use crate::error::Error;
use crate::model::Recording;

/// The recording a verified Zoom event announces. An event that does not normalise never will: permanent.
pub fn recording(body: &[u8]) -> Result<Recording, Error> {
    super::event::normalise(body).map_err(|e| Error::data(format!("unusable zoom event: {e}")))
}
