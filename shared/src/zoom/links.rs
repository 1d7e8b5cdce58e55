//! Where a Zoom file's bytes come from: `download_url` with the webhook's `download_token` as a Bearer
//! header (reqwest drops it when the 302 leads to the CDN's host).

use crate::error::{Error, Kind};
use crate::model::DownloadSource;
use crate::ports::{Fetch, SecretString};

/// The URL and bearer for one download attempt of a Zoom file.
pub fn fetch(source: &DownloadSource) -> Result<Fetch, Error> {
    match source {
        DownloadSource::ZoomUrl { url, token, .. } => Ok(Fetch {
            url: url.clone(),
            bearer: token.as_deref().map(SecretString::new),
            extra_host: None,
        }),
        _ => Err(Error::permanent("not a Zoom source").kind_of(Kind::Config)),
    }
}
