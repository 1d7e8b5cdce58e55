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
                let rec = match api.recording(recording_id, host_email.as_ref()).await {
                    Ok(r) => r,
                    Err(e) if e.kind() == Kind::Status(404) => {
                        return Err(gone(recording_id, "no longer exists"));
                    }
                    Err(e) => return Err(e),
                };
                if let Some(status @ ("deleted" | "purged")) = rec.status.as_deref() {
                    let said = if status == "deleted" {
                        "is in the Webex recycle bin (deleted)"
                    } else {
                        "was purged"
                    };
                    return Err(gone(recording_id, said));
                }
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

/// A recording removed at Webex by someone before we copied it: final for the file, recorded on the entry.
fn gone(recording_id: &str, what: &str) -> Error {
    Error::new(
        Class::Permanent,
        Kind::GoneAtVendor,
        format!("webex recording {recording_id} {what}: removed at Webex before it was archived"),
    )
}

/// Whether a refused download (403/404/410 or an HTML page) is worth one fresh link: a temporary link can
/// die between our request for it and its use (clock skew, a slow queue).
pub fn refetch_after_refusal(source: &DownloadSource) -> bool {
    matches!(source, DownloadSource::WebexRecording { .. })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fakes::{FakeWebex, connection};
    use crate::ids::{Email, Vendor};
    use crate::webex::api::{TemporaryLinks, WebexRecording};

    fn source() -> DownloadSource {
        DownloadSource::WebexRecording {
            recording_id: "seg-1".into(),
            link: WebexLink::Recording,
            host_email: Some(Email::parse("prof@uni.example.edu").unwrap()),
        }
    }

    fn listed(status: &str) -> FakeWebex {
        let webex = FakeWebex::default();
        webex.recordings.lock().unwrap().push(WebexRecording {
            id: "seg-1".into(),
            status: Some(status.into()),
            host_email: Some("prof@uni.example.edu".into()),
            temporary_direct_download_links: Some(TemporaryLinks {
                recording_download_link: Some("https://cdn.example.test/seg-1".into()),
                expiration: Some(chrono::Utc::now() + chrono::Duration::hours(3)),
                ..TemporaryLinks::default()
            }),
            ..WebexRecording::default()
        });
        webex
    }

    #[tokio::test]
    async fn a_recording_deleted_or_purged_at_webex_is_gone_not_a_failed_download() {
        let conn = connection(Vendor::Webex);
        let ok = fetch(&listed("available"), &conn, &source()).await.unwrap();
        assert_eq!(ok.url, "https://cdn.example.test/seg-1");
        for webex in [FakeWebex::default(), listed("deleted"), listed("purged")] {
            let e = fetch(&webex, &conn, &source()).await.err().unwrap();
            assert_eq!(
                (e.class(), e.kind()),
                (Class::Permanent, Kind::GoneAtVendor),
                "{e}"
            );
            assert!(
                e.to_string()
                    .contains("removed at Webex before it was archived")
            );
        }
    }
}
