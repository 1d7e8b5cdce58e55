//! Where a Webex file's bytes come from at download time: a recording's `temporaryDirectDownloadLinks`
//! (asked for again when they expire within [`LINK_MARGIN_SECS`], downloaded without Authorization), or a
//! transcript's `vttDownloadLink` on the API host with the connection's bearer.

use super::WebexConnections;
use crate::config::Connection;
use crate::error::{Class, Error, Kind};
use crate::model::{DownloadSource, WebexLink};
use crate::ports::Fetch;

/// A temporary link is fetched again when it expires within this margin.
pub const LINK_MARGIN_SECS: i64 = 600;
/// How many link sets to ask for before giving up for this attempt (the queue retries later).
const LINK_FETCHES: u32 = 3;

/// The URL (and bearer) for one download attempt of a Webex file.
pub async fn fetch<W: WebexConnections + ?Sized>(
    webex: &W,
    conn: &Connection,
    source: &DownloadSource,
) -> Result<Fetch, Error> {
    match source {
        DownloadSource::WebexRecording {
            recording_id,
            link,
            host_email,
        } => {
            let api = webex.api(conn).await?;
            for n in 1..=LINK_FETCHES {
                let rec = api.recording(recording_id, host_email.as_ref()).await?;
                let links = rec.temporary_direct_download_links.unwrap_or_default();
                let fresh = links.expiration.is_none_or(|exp| {
                    exp - chrono::Utc::now() > chrono::Duration::seconds(LINK_MARGIN_SECS)
                });
                if !fresh {
                    tracing::warn!(recording = recording_id, expiration = ?links.expiration, fetch = n, "webex temporary link expired or about to; asking again");
                    continue;
                }
                let url = match link {
                    WebexLink::Recording => links.recording_download_link,
                    WebexLink::Audio => links.audio_download_link,
                    WebexLink::Transcript => links.transcript_download_link,
                };
                return url.filter(|u| !u.is_empty()).map(Fetch::anonymous).ok_or_else(|| {
                    Error::new(Class::Permanent, Kind::NotFound, format!(
                        "webex gave no {link:?} link for recording {recording_id} (downloading prevented for this site? a compliance officer account can still download)"
                    ))
                });
            }
            Err(Error::new(
                Class::Retryable,
                Kind::NotReady,
                format!("webex kept returning expired links for recording {recording_id}"),
            ))
        }
        DownloadSource::WebexTranscript { url, .. } => {
            let api = webex.api(conn).await?;
            Ok(Fetch {
                url: url.clone(),
                bearer: Some(api.bearer().await?),
                extra_host: Some(conn.api_base_url.host().to_owned()),
            })
        }
        DownloadSource::ZoomUrl { .. } => {
            Err(Error::permanent("not a Webex source").kind_of(Kind::Config))
        }
    }
}

/// Whether a refused download (403/404/410 or an HTML page) is worth one fresh link: a temporary link can
/// die between our request for it and its use (clock skew, a slow queue).
pub fn refetch_after_refusal(source: &DownloadSource) -> bool {
    matches!(source, DownloadSource::WebexRecording { .. })
}
