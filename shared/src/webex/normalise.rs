//! Webex objects → the vendor-neutral [`Recording`].
//!
//! Identity is the Webex recording id, never the topic: a weekly class with the same title makes a new entry
//! every week. The catalog entry is the meeting *instance* (`meetingId` of an ended meeting); every recording
//! of that instance (stop/start makes several) is a segment of it, with its video, audio and transcript as
//! files. Transcripts from `meetingTranscripts` attach to the same instance.

use super::api::{WebexRecording, WebexTranscript};
use crate::ids::{AccountId, Email, FileId, InstanceId, Vendor};
use crate::model::{
    DownloadSource, FileKind, Host, MeetingKind, Recording, RecordingFile, WebexLink,
};
use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebexMapError {
    #[error("recording {id}: {reason}")]
    Recording { id: String, reason: String },
    #[error("transcript {id}: {reason}")]
    Transcript { id: String, reason: String },
    #[error("no recordings to map")]
    Empty,
}

fn rec_err(id: &str, reason: impl Into<String>) -> WebexMapError {
    WebexMapError::Recording {
        id: id.to_owned(),
        reason: reason.into(),
    }
}

/// The file id of a recording's link: the recording id for the video, `<id>-audio` / `<id>-transcript` for the
/// others.
pub fn file_id(recording_id: &str, link: WebexLink) -> Result<FileId, WebexMapError> {
    let raw = match link {
        WebexLink::Recording => recording_id.to_owned(),
        WebexLink::Audio => format!("{recording_id}-audio"),
        WebexLink::Transcript => format!("{recording_id}-transcript"),
    };
    FileId::parse(raw).map_err(|e| rec_err(recording_id, e.reason))
}

fn files_of(
    seg: &WebexRecording,
    host_email: Option<&Email>,
) -> Result<Vec<RecordingFile>, WebexMapError> {
    let start = seg
        .time_recorded
        .or(seg.create_time)
        .ok_or_else(|| rec_err(&seg.id, "neither timeRecorded nor createTime"))?;
    let end = seg.duration_seconds.map(|d| start + Duration::seconds(d));
    let format = seg
        .format
        .clone()
        .unwrap_or_else(|| "MP4".into())
        .to_ascii_uppercase();
    let (video_kind, video_ext) = match format.as_str() {
        "MP4" | "UPLOADED" => (
            FileKind::Video {
                layout: "recording".into(),
            },
            "mp4",
        ),
        "ARF" => (
            FileKind::Other {
                vendor_type: "ARF".into(),
            },
            "arf",
        ),
        other => (
            FileKind::Other {
                vendor_type: other.to_owned(),
            },
            "bin",
        ),
    };
    let links = seg
        .temporary_direct_download_links
        .clone()
        .unwrap_or_default();
    let source = |link| DownloadSource::WebexRecording {
        recording_id: seg.id.clone(),
        link,
        host_email: host_email.cloned(),
    };
    let file =
        |link, kind, vendor_type: &str, ext: &str, size| -> Result<RecordingFile, WebexMapError> {
            Ok(RecordingFile {
                id: file_id(&seg.id, link)?,
                kind,
                vendor_type: vendor_type.to_owned(),
                extension: ext.to_owned(),
                segment_start: start,
                recording_end: end,
                expected_size: size,
                source: source(link),
                file_name: None,
                recording_type: None,
                status: seg.status.clone(),
            })
        };
    // The video is always planned: if Webex withholds its link ("Prevent downloading"), the failure is recorded
    // for an admin instead of the recording silently missing a file.
    let mut files = vec![file(
        WebexLink::Recording,
        video_kind,
        &format,
        video_ext,
        seg.size_bytes.filter(|s| *s > 0),
    )?];
    if links.audio_download_link.is_some() {
        files.push(file(WebexLink::Audio, FileKind::Audio, "MP3", "mp3", None)?);
    }
    if links.transcript_download_link.is_some() {
        files.push(file(
            WebexLink::Transcript,
            FileKind::Transcript,
            "VTT",
            "vtt",
            None,
        )?);
    }
    Ok(files)
}

/// Maps the recordings of one meeting instance (each as `GET /recordings/{id}` returned it) into one
/// [`Recording`]. `host_email` comes from the admin list (the single GET lacks it).
pub fn recording(
    org: &AccountId,
    segments: &[WebexRecording],
    host_email: Option<Email>,
    host_user_id: Option<String>,
) -> Result<Recording, WebexMapError> {
    let first = segments.first().ok_or(WebexMapError::Empty)?;
    let instance_raw = first.meeting_id.clone().unwrap_or_else(|| first.id.clone());
    if let Some(other) = segments
        .iter()
        .find(|s| s.meeting_id.as_deref().unwrap_or(&s.id) != instance_raw)
    {
        return Err(rec_err(
            &other.id,
            format!("belongs to another meeting instance than {instance_raw}"),
        ));
    }
    let instance = InstanceId::parse(&instance_raw).map_err(|e| rec_err(&first.id, e.reason))?;
    let mut files = Vec::new();
    for seg in segments {
        files.extend(files_of(seg, host_email.as_ref())?);
    }
    let start_time = files
        .iter()
        .map(|f| f.segment_start)
        .min()
        .ok_or(WebexMapError::Empty)?;
    let total_secs: i64 = segments.iter().filter_map(|s| s.duration_seconds).sum();
    let pick = |f: fn(&WebexRecording) -> Option<&String>| {
        segments
            .iter()
            .find_map(|s| f(s).filter(|v| !v.trim().is_empty()).cloned())
    };
    Ok(Recording {
        vendor: Vendor::Webex,
        account: org.clone(),
        instance,
        meeting_id: pick(|s| s.meeting_series_id.as_ref())
            .or_else(|| pick(|s| s.scheduled_meeting_id.as_ref()))
            .unwrap_or_else(|| instance_raw.clone()),
        topic: pick(|s| s.topic.as_ref()).unwrap_or_default(),
        kind: match pick(|s| s.service_type.as_ref()).as_deref() {
            Some("EventCenter") => MeetingKind::Webinar,
            _ => MeetingKind::Meeting,
        },
        host: Host {
            vendor_user_id: host_user_id,
            email: host_email,
        },
        start_time,
        timezone: None,
        duration_minutes: (total_secs > 0)
            .then(|| u32::try_from((total_secs + 59) / 60).unwrap_or(u32::MAX)),
        vendor_recording_ids: segments.iter().map(|s| s.id.clone()).collect(),
        files,
        notes: vec![],
    })
}

/// Maps a `meetingTranscripts` item into a [`Recording`] of its meeting instance with one VTT file. The
/// transcript covers the whole meeting: with `first_segment` (when the instance's first recording started)
/// it is filed with that segment instead of counting as a segment of its own.
pub fn transcript(
    org: &AccountId,
    t: &WebexTranscript,
    host_email: Option<Email>,
    first_segment: Option<DateTime<Utc>>,
) -> Result<Recording, WebexMapError> {
    let err = |reason: &str| WebexMapError::Transcript {
        id: t.id.clone(),
        reason: reason.into(),
    };
    let instance_raw = t.meeting_id.clone().ok_or_else(|| err("no meetingId"))?;
    let instance = InstanceId::parse(&instance_raw).map_err(|e| err(&e.reason))?;
    let start: DateTime<Utc> = first_segment
        .or(t.start_time)
        .ok_or_else(|| err("no startTime"))?;
    let url = t
        .vtt_download_link
        .clone()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| err("no vttDownloadLink"))?;
    Ok(Recording {
        vendor: Vendor::Webex,
        account: org.clone(),
        instance,
        meeting_id: t.meeting_series_id.clone().unwrap_or(instance_raw),
        topic: t.meeting_topic.clone().unwrap_or_default(),
        kind: MeetingKind::Meeting,
        host: Host {
            vendor_user_id: t.host_user_id.clone(),
            email: host_email,
        },
        start_time: start,
        timezone: None,
        duration_minutes: None,
        vendor_recording_ids: vec![],
        files: vec![RecordingFile {
            id: FileId::parse(&t.id).map_err(|e| err(&e.reason))?,
            kind: FileKind::Transcript,
            vendor_type: "VTT".into(),
            extension: "vtt".into(),
            segment_start: start,
            recording_end: None,
            expected_size: None,
            source: DownloadSource::WebexTranscript {
                transcript_id: t.id.clone(),
                url,
            },
            file_name: None,
            recording_type: None,
            status: t.status.clone(),
        }],
        notes: vec![],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webex::api::TemporaryLinks;

    fn seg(id: &str, instance: &str, at: &str, audio: bool) -> WebexRecording {
        serde_json::from_value(serde_json::json!({
            "id": id, "meetingId": instance, "meetingSeriesId": "series1", "topic": "BIO 101",
            "timeRecorded": at, "createTime": at, "format": "MP4", "serviceType": "MeetingCenter",
            "durationSeconds": 1800, "sizeBytes": 1234,
            "downloadUrl": "https://example.webex.com/lsr.php?RCID=x"
        }))
        .map(|mut r: WebexRecording| {
            r.temporary_direct_download_links = Some(TemporaryLinks {
                recording_download_link: Some("https://cdn/x".into()),
                audio_download_link: audio.then(|| "https://cdn/a".into()),
                transcript_download_link: None,
                expiration: None,
            });
            r
        })
        .unwrap()
    }

    #[test]
    fn stop_start_is_one_instance_with_segments() {
        let org = AccountId::parse("ORG").unwrap();
        let host = Email::parse("Prof@Uni.edu").ok();
        let r = recording(
            &org,
            &[
                seg("r2", "m_I_1", "2026-11-20T10:40:00Z", false),
                seg("r1", "m_I_1", "2026-11-20T10:00:00Z", true),
            ],
            host.clone(),
            None,
        )
        .unwrap();
        assert_eq!(r.instance.as_str(), "m_I_1");
        assert_eq!(r.meeting_id, "series1");
        assert_eq!(r.topic, "BIO 101");
        assert_eq!(
            r.start_time,
            "2026-11-20T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(r.segments().len(), 2);
        assert_eq!(r.duration_minutes, Some(60));
        let ids: Vec<_> = r.files.iter().map(|f| f.id.as_str().to_owned()).collect();
        assert_eq!(ids, ["r2", "r1", "r1-audio"]);
        assert_eq!(r.files[0].expected_size, Some(1234));
        assert_eq!(r.files[2].extension, "mp3");
        assert!(matches!(
            &r.files[2].source,
            DownloadSource::WebexRecording { link: WebexLink::Audio, host_email, .. } if *host_email == host
        ));
        assert_eq!(r.vendor_recording_ids, ["r2", "r1"]);

        let err = recording(
            &org,
            &[
                seg("r1", "m_I_1", "2026-11-20T10:00:00Z", false),
                seg("x", "m_I_2", "2026-11-20T10:00:00Z", false),
            ],
            None,
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("another meeting instance"),
            "{err}"
        );
        assert_eq!(recording(&org, &[], None, None), Err(WebexMapError::Empty));
    }

    #[test]
    fn same_topic_on_other_days_are_other_entries() {
        let org = AccountId::parse("ORG").unwrap();
        let a = recording(
            &org,
            &[seg("r1", "m_I_1", "2026-11-13T10:00:00Z", false)],
            None,
            None,
        )
        .unwrap();
        let b = recording(
            &org,
            &[seg("r9", "m_I_2", "2026-11-20T10:00:00Z", false)],
            None,
            None,
        )
        .unwrap();
        assert_eq!(a.topic, b.topic);
        assert_ne!(a.instance, b.instance);
    }

    #[test]
    fn transcripts_map_to_their_instance() {
        let org = AccountId::parse("ORG").unwrap();
        let t: WebexTranscript = serde_json::from_value(serde_json::json!({
            "id": "t1", "meetingId": "m_I_1", "meetingTopic": "BIO 101", "startTime": "2026-11-20T10:00:00Z",
            "vttDownloadLink": "https://webexapis.com/v1/meetingTranscripts/t1/download?format=vtt"
        }))
        .unwrap();
        let r = transcript(&org, &t, None, None).unwrap();
        assert_eq!((r.instance.as_str(), r.files.len()), ("m_I_1", 1));
        let first: DateTime<Utc> = "2026-11-20T10:01:00Z".parse().unwrap();
        let r = transcript(&org, &t, None, Some(first)).unwrap();
        assert_eq!(
            r.files[0].segment_start, first,
            "filed with the first segment"
        );
        assert_eq!(r.files[0].kind, FileKind::Transcript);
        let mut bad = t.clone();
        bad.vtt_download_link = None;
        assert!(
            transcript(&org, &bad, None, None)
                .unwrap_err()
                .to_string()
                .contains("vttDownloadLink")
        );
    }
}
