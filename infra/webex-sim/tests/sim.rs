//! Black-box tests of the Webex simulator over HTTP.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use chrono::{TimeZone, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use webex_sim::{
    ApiFault, LinkKind, ListFault, MANUAL_WEBHOOK_ID, MeetingSpec, SimCredentials, SimMeeting,
    WebexSim, sign,
};

const HOST: &str = "Prof.Ada@Example.edu";

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn meeting(sim: &WebexSim, segments: usize) -> SimMeeting {
    let start = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
    sim.add_meeting(
        MeetingSpec::realistic("Lecture 1", HOST, start, 200_000).with_segments(segments),
    )
}

async fn get(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn get_json(url: &str, token: &str) -> (u16, HeaderMap, Value) {
    let r = get(url, Some(token)).await;
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.json().await.unwrap())
}

fn recording_url(sim: &WebexSim, id: &str, host: &str) -> String {
    format!(
        "{}/recordings/{id}?hostEmail={}",
        sim.api_base(),
        host.replace('@', "%40")
    )
}

async fn refresh(sim: &WebexSim, c: &SimCredentials, refresh_token: &str) -> (u16, Value) {
    let body = format!(
        "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={refresh_token}",
        c.client_id, c.client_secret
    );
    let r = client()
        .post(format!("{}/access_token", sim.api_base()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn next_link(h: &HeaderMap) -> Option<String> {
    let v = h.get("link")?.to_str().unwrap();
    let url = v.strip_prefix('<')?.split_once(">; rel=\"next\"")?.0;
    Some(url.to_owned())
}

fn sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

#[tokio::test]
async fn token_refresh_rotates_and_refuses_the_old_token() {
    let sim = WebexSim::start().await.unwrap();
    let c = sim.integration_credentials();
    assert!(!format!("{c:?}").contains(&c.access_token));
    assert!(!format!("{c:?}").contains(&c.client_secret));
    assert!(c.expires_at > Utc::now() + chrono::Duration::days(13));

    let (status, v) = refresh(&sim, &c, &c.refresh_token).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 14 * 24 * 3600);
    assert_eq!(v["refresh_token_expires_in"], 7_776_000);
    let (access, rotated) = (
        v["access_token"].as_str().unwrap(),
        v["refresh_token"].as_str().unwrap(),
    );
    assert_ne!(rotated, c.refresh_token);
    assert_eq!(
        get(&format!("{}/webhooks", sim.api_base()), Some(access))
            .await
            .status(),
        200
    );

    let (status, v) = refresh(&sim, &c, &c.refresh_token).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(refresh(&sim, &c, rotated).await.0, 200);

    // Wrong secret, or the client in Basic auth instead of the body: invalid_client.
    let bad = SimCredentials {
        client_secret: "nope".into(),
        ..c.clone()
    };
    let (status, v) = refresh(&sim, &bad, &c.refresh_token).await;
    assert_eq!((status, v["error"].as_str()), (401, Some("invalid_client")));
    let r = client()
        .post(format!("{}/access_token", sim.api_base()))
        .basic_auth(&c.client_id, Some(&c.client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("grant_type=refresh_token&refresh_token={rotated}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    sim.set_rotate_refresh_tokens(false);
    let c2 = sim.integration_credentials();
    for _ in 0..2 {
        let (status, v) = refresh(&sim, &c2, &c2.refresh_token).await;
        assert_eq!(
            (status, v["refresh_token"].as_str()),
            (200, Some(c2.refresh_token.as_str()))
        );
    }
    assert_eq!(sim.api_stats().token_refreshes, 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn api_needs_a_live_bearer() {
    let sim = WebexSim::start().await.unwrap();
    let url = format!("{}/webhooks", sim.api_base());
    let r = get(&url, None).await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["message"],
        "The request requires a valid access token set in the Authorization request header."
    );
    assert!(v["trackingId"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(get(&url, Some("made-up")).await.status(), 401);
    sim.set_access_token_ttl(-5);
    let expired = sim.integration_credentials();
    assert!(expired.expires_at < Utc::now());
    assert_eq!(get(&url, Some(&expired.access_token)).await.status(), 401);
    sim.set_access_token_ttl(3600);
    assert_eq!(
        get(&url, Some(&sim.integration_credentials().access_token))
            .await
            .status(),
        200
    );
    let stats = sim.api_stats();
    assert_eq!((stats.unauthorized, stats.requests), (3, 4));
    assert_eq!(stats.paths[0], "GET /v1/webhooks");
}

#[tokio::test]
async fn recording_get_needs_host_email_and_has_links() {
    let sim = WebexSim::start().await.unwrap();
    let m = meeting(&sim, 1);
    let t = sim.integration_credentials().access_token;
    let rec = &m.recordings[0];
    let no_host = format!("{}/recordings/{}", sim.api_base(), rec.id);
    let (status, _, v) = get_json(&no_host, &t).await;
    assert_eq!(
        (status, v["message"].as_str()),
        (404, Some("The requested resource could not be found."))
    );
    assert_eq!(
        get_json(&recording_url(&sim, &rec.id, "other@example.edu"), &t)
            .await
            .0,
        404
    );

    let (status, _, v) = get_json(&recording_url(&sim, &rec.id, &HOST.to_lowercase()), &t).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["id"], rec.id.as_str());
    assert_eq!(v["meetingId"], m.instance_id.as_str());
    assert_eq!(v["meetingSeriesId"], m.series_id.as_str());
    assert_eq!(v["scheduledMeetingId"], m.scheduled_meeting_id.as_str());
    assert_eq!(v["siteUrl"], "sim.webex.com");
    assert_eq!(v["format"], "MP4");
    assert_eq!(v["serviceType"], "MeetingCenter");
    assert_eq!(v["sizeBytes"], 200_000);
    assert!(v.get("hostEmail").is_none());
    let links = &v["temporaryDirectDownloadLinks"];
    for k in [
        "recordingDownloadLink",
        "audioDownloadLink",
        "transcriptDownloadLink",
        "expiration",
    ] {
        assert!(links[k].is_string(), "{k}: {links}");
    }
    let exp = chrono::DateTime::parse_from_rfc3339(links["expiration"].as_str().unwrap()).unwrap();
    let ttl = exp.timestamp() - Utc::now().timestamp();
    assert!((3 * 3600 - 5..=3 * 3600).contains(&ttl), "{ttl}");
    assert!(m.instance_id.contains("_I_") && m.instance_id.starts_with(&m.series_id));

    // downloadUrl and playbackUrl are web pages.
    for k in ["downloadUrl", "playbackUrl"] {
        let r = get(v[k].as_str().unwrap(), None).await;
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    // A segment without audio or transcript has no such links.
    let mut spec = MeetingSpec::realistic("Video only", HOST, Utc::now(), 4096);
    spec.segments[0].audio_bytes = None;
    spec.segments[0].transcript = false;
    let bare = sim.add_meeting(spec);
    assert!(bare.transcript.is_none());
    let (_, _, v) = get_json(&recording_url(&sim, &bare.recordings[0].id, HOST), &t).await;
    let links = v["temporaryDirectDownloadLinks"].as_object().unwrap();
    assert!(links.contains_key("recordingDownloadLink"));
    assert!(
        !links.contains_key("audioDownloadLink") && !links.contains_key("transcriptDownloadLink")
    );
    let s = sim.api_stats();
    assert_eq!((s.recording_gets, s.link_sets_issued), (4, 2));
}

#[tokio::test]
async fn cdn_serves_the_files_without_auth() {
    let sim = WebexSim::start().await.unwrap();
    let m = meeting(&sim, 1);
    let t = sim.integration_credentials().access_token;
    let rec = &m.recordings[0];
    let (_, _, v) = get_json(&recording_url(&sim, &rec.id, HOST), &t).await;
    let links = &v["temporaryDirectDownloadLinks"];
    for (kind, key, ctype) in [
        (LinkKind::Recording, "recordingDownloadLink", "video/mp4"),
        (LinkKind::Audio, "audioDownloadLink", "audio/mpeg"),
        (LinkKind::Transcript, "transcriptDownloadLink", "text/vtt"),
    ] {
        let file = rec.file(kind).unwrap();
        assert_eq!(file.content_type, ctype);
        let r = get(links[key].as_str().unwrap(), None).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], ctype);
        assert_eq!(
            r.headers()["content-length"],
            file.size.to_string().as_str()
        );
        let body = r.bytes().await.unwrap();
        assert_eq!(
            (body.len() as u64, sha256(&body)),
            (file.size, file.sha256.clone())
        );
        let s = sim.file_stats(&rec.id, kind);
        assert_eq!(
            (s.requests, s.complete_bodies, s.bytes_served),
            (1, 1, file.size)
        );
        assert_eq!(
            (s.auth_leaks, s.html_responses, s.expired_link_hits),
            (0, 0, 0)
        );
    }
    assert_eq!(rec.file(LinkKind::Audio).unwrap().size, 25_000);
    let vtt = get(links["transcriptDownloadLink"].as_str().unwrap(), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(vtt.starts_with("WEBVTT\n\n"));

    // Resume with a Range request.
    let url = links["recordingDownloadLink"].as_str().unwrap();
    let whole = get(url, None).await.bytes().await.unwrap();
    let r = client()
        .get(url)
        .header("range", "bytes=150000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 150000-199999/200000");
    assert_eq!(r.bytes().await.unwrap(), whole.slice(150_000..));

    // A bearer token sent to the CDN gets the HTML login page, counted as a leak.
    let r = get(url, Some(&t)).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.text().await.unwrap().contains("Sign in"));
    let s = sim.file_stats(&rec.id, LinkKind::Recording);
    assert_eq!((s.auth_leaks, s.html_responses, s.requests), (1, 1, 4));

    // A forged signature: 403 HTML.
    let r = get(&url.replace("sig=", "sig=0"), None).await;
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn direct_links_expire() {
    let sim = WebexSim::start().await.unwrap();
    let m = meeting(&sim, 1);
    let rec = &m.recordings[0];
    let t = sim.integration_credentials().access_token;
    let link = |v: &Value| {
        v["temporaryDirectDownloadLinks"]["recordingDownloadLink"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    sim.expire_next_links(&rec.id, 1);
    let (_, _, v) = get_json(&recording_url(&sim, &rec.id, HOST), &t).await;
    let exp = chrono::DateTime::parse_from_rfc3339(
        v["temporaryDirectDownloadLinks"]["expiration"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(exp < Utc::now());
    let r = get(&link(&v), None).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("expired"));
    let (_, _, v) = get_json(&recording_url(&sim, &rec.id, HOST), &t).await;
    assert_eq!(get(&link(&v), None).await.status(), 200);

    sim.set_link_ttl(1);
    let (_, _, v) = get_json(&recording_url(&sim, &rec.id, HOST), &t).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = get(&link(&v), None).await;
    assert_eq!(r.status(), 403);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let s = sim.file_stats(&rec.id, LinkKind::Recording);
    assert_eq!(
        (s.expired_link_hits, s.html_responses, s.complete_bodies),
        (2, 2, 1)
    );
}

#[tokio::test]
async fn participants_page_with_link_headers() {
    let sim = WebexSim::start().await.unwrap();
    let m = meeting(&sim, 1);
    let _other = meeting(&sim, 1); // its participants must not leak into the pages
    let t = sim.integration_credentials().access_token;
    let first = format!(
        "{}/meetingParticipants?meetingId={}&hostEmail=prof.ada%40example.edu&max=10",
        sim.api_base(),
        m.instance_id
    );
    let mut url = Some(first.clone());
    let (mut pages, mut items) = (0, Vec::new());
    while let Some(u) = url {
        let (status, h, v) = get_json(&u, &t).await;
        assert_eq!(status, 200, "{v}");
        items.extend(v["items"].as_array().unwrap().clone());
        url = next_link(&h);
        if let Some(n) = &url {
            assert!(n.starts_with(&sim.api_base()), "{n}");
            assert!(
                n.contains(&format!("meetingId={}", m.instance_id))
                    && n.contains("hostEmail=")
                    && n.contains("max=10"),
                "{n}"
            );
        }
        pages += 1;
    }
    assert_eq!((pages, items.len()), (3, 23));
    assert_eq!(items.iter().filter(|p| p["host"] == true).count(), 1);
    assert_eq!(items.iter().filter(|p| p["coHost"] == true).count(), 2);
    assert!(
        items
            .iter()
            .all(|p| p["meetingId"] == m.instance_id.as_str() && p["state"] == "end")
    );
    let host = items.iter().find(|p| p["host"] == true).unwrap();
    assert_eq!(host["email"], HOST);
    let ids: std::collections::HashSet<_> =
        items.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 23);
    assert!(sim.api_stats().paths.contains(&format!(
        "GET {}",
        first.strip_prefix(&sim.base_url()).unwrap()
    )));

    assert_eq!(
        get_json(&format!("{}/meetingParticipants", sim.api_base()), &t)
            .await
            .0,
        400
    );
    let too_many = format!(
        "{}/meetingParticipants?meetingId={}&max=101",
        sim.api_base(),
        m.instance_id
    );
    assert_eq!(get_json(&too_many, &t).await.0, 400);
    let (_, _, v) = get_json(
        &format!("{}/meetingParticipants?meetingId=nope", sim.api_base()),
        &t,
    )
    .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0);

    // With the PR #169 behaviour the next link loses meetingId; following it blindly fails.
    sim.set_fault(ApiFault::DropFiltersOnNext);
    let (_, h, _) = get_json(&first, &t).await;
    let next = next_link(&h).unwrap();
    assert!(
        !next.contains("meetingId") && !next.contains("hostEmail"),
        "{next}"
    );
    assert!(
        next.contains("max=10") && next.contains("cursor=10"),
        "{next}"
    );
    assert_eq!(get_json(&next, &t).await.0, 400);
}

#[tokio::test]
async fn api_faults_then_recovery() {
    let sim = WebexSim::start().await.unwrap();
    let c = sim.integration_credentials();
    let url = format!("{}/webhooks", sim.api_base());
    sim.set_fault(ApiFault::RateLimit {
        status: 429,
        count: 2,
        retry_after_secs: 7,
    });
    sim.set_fault(ApiFault::ServerError {
        status: 503,
        count: 1,
    });
    // The token endpoint is never faulted and does not use up a fault.
    assert_eq!(refresh(&sim, &c, &c.refresh_token).await.0, 200);
    for _ in 0..2 {
        let r = get(&url, Some(&c.access_token)).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "7");
        let v: Value = r.json().await.unwrap();
        assert!(v["message"].is_string() && v["trackingId"].is_string());
    }
    let r = get(&url, None).await; // faults come before auth
    assert_eq!(r.status(), 503);
    assert!(r.headers().get("retry-after").is_none());
    assert_eq!(get(&url, Some(&c.access_token)).await.status(), 200);
    sim.set_fault(ApiFault::RateLimit {
        status: 423,
        count: 1,
        retry_after_secs: 1,
    });
    assert_eq!(get(&url, Some(&c.access_token)).await.status(), 423);
    let s = sim.api_stats();
    assert_eq!(
        (s.rate_limited, s.server_errors, s.unauthorized, s.requests),
        (3, 1, 0, 6)
    );
}

#[tokio::test]
async fn admin_list_and_transcripts() {
    let sim = WebexSim::start().await.unwrap();
    let m = meeting(&sim, 2);
    let start = Utc.with_ymd_and_hms(2026, 2, 1, 9, 0, 0).unwrap();
    let later = sim.add_meeting(MeetingSpec::realistic(
        "Other host",
        "bob@example.edu",
        start,
        4096,
    ));
    let t = sim.integration_credentials().access_token;
    let api = sim.api_base();

    let (_, _, v) = get_json(
        &format!("{api}/admin/recordings?meetingId={}", m.series_id),
        &t,
    )
    .await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items[0]["createTime"].as_str() > items[1]["createTime"].as_str(),
        "newest first"
    );
    assert_eq!(items[0]["hostEmail"], HOST);
    assert_eq!(items[0]["hostDisplayName"], "Prof Ada");
    assert!(items[0].get("temporaryDirectDownloadLinks").is_none());
    let (_, _, v) = get_json(
        &format!(
            "{api}/admin/recordings?hostEmail=bob%40example.edu&from=2026-01-04&to=2026-02-03"
        ),
        &t,
    )
    .await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], later.recordings[0].id.as_str());
    let (_, _, v) = get_json(
        &format!("{api}/admin/recordings?from=2026-01-20T00:00:00Z&to=2026-02-19T00:00:00Z"),
        &t,
    )
    .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (_, h, v) = get_json(
        &format!("{api}/admin/recordings?from=2026-01-04&to=2026-02-03&max=1"),
        &t,
    )
    .await;
    assert_eq!(v["items"][0]["id"], later.recordings[0].id.as_str());
    let next = next_link(&h).unwrap();
    assert!(
        next.contains("cursor=1") && next.contains("from=2026-01-04") && next.contains("max=1"),
        "{next}"
    );
    // Without from/to: the 7 days before now, where nothing was recorded.
    let (status, h, v) = get_json(&format!("{api}/admin/recordings"), &t).await;
    assert_eq!(
        (status, v["items"].as_array().unwrap().len()),
        (200, 0),
        "{v}"
    );
    assert!(next_link(&h).is_none());

    // meetingTranscripts: one per instance, plus one added later.
    let list = format!(
        "{api}/meetingTranscripts?meetingId={}&hostEmail=prof.ada%40example.edu",
        m.instance_id
    );
    let (_, _, v) = get_json(&list, &t).await;
    let items = v["items"].as_array().unwrap();
    let first = m.transcript.clone().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], first.id.as_str());
    assert_eq!(items[0]["meetingId"], m.instance_id.as_str());
    assert_eq!(items[0]["hostUserId"], m.host_person_id.as_str());
    let vtt = items[0]["vttDownloadLink"].as_str().unwrap().to_owned();
    assert!(
        items[0]["txtDownloadLink"]
            .as_str()
            .unwrap()
            .ends_with("format=txt")
    );
    assert_eq!(get(&vtt, None).await.status(), 401);
    let r = get(&vtt, Some(&t)).await;
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers()["content-type"].to_str().unwrap()
        ),
        (200, "text/vtt")
    );
    let body = r.bytes().await.unwrap();
    assert_eq!(
        (body.len() as u64, sha256(&body)),
        (first.size, first.sha256.clone())
    );
    assert!(body.starts_with(b"WEBVTT"));
    let s = sim.transcript_stats(&first.id);
    assert_eq!(
        (s.requests, s.complete_bodies, s.bytes_served),
        (1, 1, first.size)
    );

    let added = sim.add_transcript(&m.instance_id);
    let (_, _, v) = get_json(&list, &t).await;
    assert_eq!(v["items"][0]["id"], added.id.as_str(), "newest first");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
}

/// What the test receiver saw: path, signature check (None = no header), body.
type Seen = Arc<Mutex<Vec<(String, Option<bool>, Value)>>>;

async fn receiver(secret: &'static str) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().route(
        "/{path}",
        axum::routing::post(
            move |axum::extract::Path(path): axum::extract::Path<String>,
                  h: HeaderMap,
                  body: String| {
                let s = s.clone();
                async move {
                    assert_eq!(h["content-type"], "application/json");
                    let verified = h
                        .get("x-spark-signature")
                        .map(|v| v.to_str().unwrap() == sign(secret, body.as_bytes()));
                    let code = if path == "fail" {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    };
                    s.lock()
                        .unwrap()
                        .push((path, verified, serde_json::from_str(&body).unwrap()));
                    code
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

async fn create_hook(sim: &WebexSim, t: &str, body: Value) -> (u16, Value) {
    let r = client()
        .post(format!("{}/webhooks", sim.api_base()))
        .bearer_auth(t)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn webhook_crud_and_signed_delivery() {
    let sim = WebexSim::start().await.unwrap();
    let (rx, seen) = receiver("s3cret").await;
    let t = sim.integration_credentials().access_token;
    let (status, v) = create_hook(
        &sim,
        &t,
        serde_json::json!({"name": "x", "resource": "recordings", "event": "created"}),
    )
    .await;
    assert_eq!(
        (status, v["message"].as_str()),
        (400, Some("Missing required field: targetUrl."))
    );

    let hook = serde_json::json!({"name": "rec-ingest", "targetUrl": format!("{rx}/ok"), "resource": "recordings",
        "event": "created", "secret": "s3cret", "ownedBy": "org", "filter": "hostEmail=prof.ada@example.edu"});
    let (status, signed) = create_hook(&sim, &t, hook).await;
    assert_eq!(status, 200, "{signed}");
    assert_eq!(
        (signed["status"].as_str(), signed["secret"].as_str()),
        (Some("active"), Some("s3cret"))
    );
    assert_eq!(signed["orgId"], sim.org_id().as_str());
    let signed_id = signed["id"].as_str().unwrap().to_owned();
    let plain = serde_json::json!({"name": "plain", "targetUrl": format!("{rx}/plain"), "resource": "recordings", "event": "created"});
    let plain_id = create_hook(&sim, &t, plain).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let off = serde_json::json!({"name": "off", "targetUrl": format!("{rx}/off"), "resource": "recordings", "event": "created"});
    let off_id = create_hook(&sim, &t, off).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tr = serde_json::json!({"name": "tr", "targetUrl": format!("{rx}/tr"), "resource": "meetingTranscripts", "event": "created", "secret": "s3cret"});
    let tr_id = create_hook(&sim, &t, tr).await.1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.set_webhook_status(&off_id, "inactive");

    let (_, _, v) = get_json(&format!("{}/webhooks", sim.api_base()), &t).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 4);
    let (status, _, v) = get_json(&format!("{}/webhooks/{signed_id}", sim.api_base()), &t).await;
    assert_eq!(
        (status, v["name"].as_str(), v["ownedBy"].as_str()),
        (200, Some("rec-ingest"), Some("org"))
    );

    let m = meeting(&sim, 2);
    let out = sim.publish_recordings(&m).await;
    let expected: Vec<(String, u16)> = [&signed_id, &plain_id, &signed_id, &plain_id]
        .iter()
        .map(|id| ((*id).clone(), 200))
        .collect();
    assert_eq!(out, expected);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 4);
        let signed_bodies: Vec<_> = seen.iter().filter(|(p, _, _)| p == "ok").collect();
        assert!(signed_bodies.iter().all(|(_, ok, _)| *ok == Some(true)));
        assert!(
            seen.iter()
                .filter(|(p, _, _)| p == "plain")
                .all(|(_, ok, _)| ok.is_none())
        );
        let body = &signed_bodies[1].2;
        assert_eq!(body["id"], signed_id.as_str());
        assert_eq!(
            (body["resource"].as_str(), body["event"].as_str()),
            (Some("recordings"), Some("created"))
        );
        assert_eq!(body["name"], "rec-ingest");
        assert_eq!(body["orgId"], sim.org_id().as_str());
        assert_eq!(body["data"]["id"], m.recordings[1].id.as_str());
        assert_eq!(body["data"]["meetingId"], m.instance_id.as_str());
        assert_eq!(body["data"]["siteUrl"], "sim.webex.com");
        assert_eq!(body["data"]["hostUserId"], m.host_person_id.as_str());
    }
    let out = sim.publish_transcript(m.transcript.as_ref().unwrap()).await;
    assert_eq!(out, vec![(tr_id.clone(), 200)]);
    {
        let seen = seen.lock().unwrap();
        let (_, ok, body) = seen.last().unwrap();
        assert_eq!(*ok, Some(true));
        assert_eq!(body["resource"], "meetingTranscripts");
        assert_eq!(
            body["data"]["id"],
            m.transcript.as_ref().unwrap().id.as_str()
        );
        assert_eq!(body["data"]["meetingId"], m.instance_id.as_str());
    }
    assert_eq!(sim.api_stats().webhook_deliveries, 5);

    // PUT: rename, change secret, reactivate; DELETE.
    let r = client()
        .put(format!("{}/webhooks/{off_id}", sim.api_base()))
        .bearer_auth(&t)
        .json(&serde_json::json!({"name": "on-again", "targetUrl": format!("{rx}/off"), "status": "active"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["name"].as_str(), v["status"].as_str()),
        (Some("on-again"), Some("active"))
    );
    let del = client()
        .delete(format!("{}/webhooks/{plain_id}", sim.api_base()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 204);
    assert_eq!(
        get_json(&format!("{}/webhooks/{plain_id}", sim.api_base()), &t)
            .await
            .0,
        404
    );
    let hooks = sim.webhooks();
    assert_eq!(hooks.len(), 3);
    assert!(hooks.iter().all(|h| h.status == "active"));
    assert_eq!(hooks[0].secret.as_deref(), Some("s3cret"));
    assert_eq!(
        hooks[0].filter.as_deref(),
        Some("hostEmail=prof.ada@example.edu")
    );
}

#[tokio::test]
async fn failing_webhook_goes_inactive_and_is_skipped() {
    let sim = WebexSim::start().await.unwrap();
    let (rx, seen) = receiver("k").await;
    let t = sim.integration_credentials().access_token;
    let hook = |name: &str, url: String| serde_json::json!({"name": name, "targetUrl": url, "resource": "recordings", "event": "created", "secret": "k"});
    let bad = create_hook(&sim, &t, hook("bad", format!("{rx}/fail")))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let good = create_hook(&sim, &t, hook("good", format!("{rx}/ok")))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let m = meeting(&sim, 3);
    let out = sim.publish_recordings(&m).await;
    assert_eq!(
        out.iter().filter(|(id, s)| *id == bad && *s == 500).count(),
        3
    );
    assert_eq!(
        out.iter()
            .filter(|(id, s)| *id == good && *s == 200)
            .count(),
        3
    );
    let status = |id: &str| {
        sim.webhooks()
            .into_iter()
            .find(|h| h.id == id)
            .unwrap()
            .status
    };
    assert_eq!(
        (status(&bad), status(&good)),
        ("inactive".to_owned(), "active".to_owned())
    );

    let out = sim.publish_recordings(&m).await;
    assert!(out.iter().all(|(id, _)| *id == good) && out.len() == 3);
    assert_eq!(
        seen.lock()
            .unwrap()
            .iter()
            .filter(|(p, _, _)| p == "fail")
            .count(),
        3
    );

    // Connection errors count as failures too (status 0).
    sim.set_webhook_status(&bad, "active");
    let dead = create_hook(&sim, &t, hook("dead", "http://127.0.0.1:9/none".into()))
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = sim.publish_recordings(&m).await;
    assert!(out.contains(&(dead.clone(), 0)));
    assert_eq!(status(&dead), "inactive");
}

#[tokio::test]
async fn manual_bodies_have_the_webex_shape() {
    let sim = WebexSim::start().await.unwrap();
    let m = meeting(&sim, 2);
    let body = m.recording_created_body(1, &sim.org_id());
    let keys = "{\"id\":\"sim-manual-webhook\",\"name\":";
    assert!(body.starts_with(keys), "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let order: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = [
        "id",
        "name",
        "targetUrl",
        "resource",
        "event",
        "orgId",
        "createdBy",
        "appId",
        "ownedBy",
        "status",
        "created",
        "actorId",
        "data",
    ];
    expected.sort_unstable();
    assert_eq!(order, expected);
    let pos = |k: &str| body.find(&format!("\"{k}\":")).unwrap();
    assert!(
        pos("targetUrl") < pos("resource")
            && pos("created") < pos("actorId")
            && pos("actorId") < pos("data")
    );
    assert_eq!(v["id"], MANUAL_WEBHOOK_ID);
    assert_eq!(
        (v["ownedBy"].as_str(), v["status"].as_str()),
        (Some("org"), Some("active"))
    );
    assert_eq!(v["data"]["id"], m.recordings[1].id.as_str());
    assert_eq!(
        v["data"]["createTime"],
        m.recordings[1]
            .create_time
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .as_str()
    );
    assert_eq!(v["data"]["topic"], "Lecture 1");
    assert_eq!(v["actorId"], m.host_person_id.as_str());
    let tv: Value =
        serde_json::from_str(&m.transcript.as_ref().unwrap().created_body(&sim.org_id())).unwrap();
    assert_eq!(
        (tv["resource"].as_str(), tv["data"]["meetingId"].as_str()),
        (Some("meetingTranscripts"), Some(m.instance_id.as_str()))
    );
    assert!(
        sim.org_id()
            .starts_with("Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi")
    );
    assert_eq!(
        m.recordings[1].time_recorded - m.recordings[0].time_recorded,
        chrono::Duration::seconds(45 * 60 + 60)
    );
}

// ---------------------------------------------------------------------------------------
// Deletion, changes after registration, authorization revocation

/// `DELETE /v1/recordings/{id}` with an optional `hostEmail` and token.
async fn delete_rec(sim: &WebexSim, id: &str, host: Option<&str>, token: Option<&str>) -> u16 {
    let mut url = format!("{}/recordings/{id}", sim.api_base());
    if let Some(h) = host {
        url.push_str(&format!("?hostEmail={}", h.replace('@', "%40")));
    }
    let mut req = client().delete(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap().status().as_u16()
}

/// `POST /v1/recordings/softDelete` with an optional `hostEmail`, a raw body and a token.
async fn soft_delete(
    sim: &WebexSim,
    host: Option<&str>,
    body: String,
    token: &str,
) -> reqwest::Response {
    let mut url = format!("{}/recordings/softDelete", sim.api_base());
    if let Some(h) = host {
        url.push_str(&format!("?hostEmail={}", h.replace('@', "%40")));
    }
    client()
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

fn ids_body(ids: &[&str]) -> String {
    serde_json::json!({ "recordingIds": ids }).to_string()
}

/// The ids of `GET /v1/admin/recordings?{query}`.
async fn admin_ids(sim: &WebexSim, query: &str, t: &str) -> Vec<(String, String)> {
    let (status, _, v) = get_json(&format!("{}/admin/recordings?{query}", sim.api_base()), t).await;
    assert_eq!(status, 200, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_owned(),
                i["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn hard_delete_needs_the_host_and_is_final() {
    use webex_sim::{DeleteKind, RecordingStatus};
    let sim = WebexSim::start().await.unwrap();
    let m = meeting(&sim, 2);
    let t = sim.integration_credentials().access_token;
    let (gone, kept) = (&m.recordings[0], &m.recordings[1]);
    let (_, _, v) = get_json(&recording_url(&sim, &gone.id, HOST), &t).await;
    let link = v["temporaryDirectDownloadLinks"]["recordingDownloadLink"]
        .as_str()
        .unwrap()
        .to_owned();

    // As for the GET: without hostEmail, or with another host's, an admin finds nothing.
    assert_eq!(delete_rec(&sim, &gone.id, None, Some(&t)).await, 404);
    assert_eq!(
        delete_rec(&sim, &gone.id, Some("other@example.edu"), Some(&t)).await,
        404
    );
    assert_eq!(delete_rec(&sim, &gone.id, Some(HOST), None).await, 401);
    assert_eq!(
        delete_rec(&sim, &gone.id, Some(HOST), Some("made-up")).await,
        401
    );
    assert_eq!(
        get_json(&recording_url(&sim, &gone.id, HOST), &t).await.0,
        200
    );
    assert_eq!(
        sim.recording_status(&gone.id),
        Some(RecordingStatus::Available)
    );

    let before = Utc::now();
    assert_eq!(
        delete_rec(&sim, &gone.id, Some(&HOST.to_lowercase()), Some(&t)).await,
        204
    );
    assert_eq!(
        sim.recording_status(&gone.id),
        Some(RecordingStatus::Purged)
    );
    assert_eq!(
        get_json(&recording_url(&sim, &gone.id, HOST), &t).await.0,
        404
    );
    let series = format!("meetingId={}", m.series_id);
    assert_eq!(
        admin_ids(&sim, &series, &t).await,
        vec![(kept.id.clone(), "available".into())]
    );
    assert!(
        admin_ids(&sim, &format!("{series}&status=deleted"), &t)
            .await
            .is_empty()
    );
    assert!(
        admin_ids(&sim, &format!("{series}&status=purged"), &t)
            .await
            .is_empty()
    );
    assert_eq!(
        get(&link, None).await.status(),
        404,
        "the CDN link died with it"
    );
    assert_eq!(delete_rec(&sim, &gone.id, Some(HOST), Some(&t)).await, 404);
    assert_eq!(
        delete_rec(
            &sim,
            "0123456789abcdef0123456789abcdef",
            Some(HOST),
            Some(&t)
        )
        .await,
        404
    );
    // The other segment is untouched.
    assert_eq!(
        get_json(&recording_url(&sim, &kept.id, HOST), &t).await.0,
        200
    );
    assert_eq!(
        sim.recording_status(&kept.id),
        Some(RecordingStatus::Available)
    );
    assert_eq!(sim.recording_status("nope"), None);

    let calls = sim.deletions();
    let seen: Vec<_> = calls
        .iter()
        .map(|c| (c.status, c.host_email.as_deref().map(str::to_lowercase)))
        .collect();
    let host = Some(HOST.to_lowercase());
    assert_eq!(
        seen,
        vec![
            (404, None),
            (404, Some("other@example.edu".to_owned())),
            (401, host.clone()),
            (401, host.clone()),
            (204, host.clone()),
            (404, host.clone()),
            (404, host.clone()),
        ]
    );
    assert!(
        calls
            .iter()
            .all(|c| c.kind == DeleteKind::Delete && !c.injected)
    );
    assert_eq!(calls[4].recording_ids, vec![gone.id.clone()]);
    assert!(calls[4].at >= before && calls[4].at <= Utc::now());
    assert_eq!(
        calls[6].recording_ids,
        vec!["0123456789abcdef0123456789abcdef".to_owned()]
    );
    // The gate's statistics see them too.
    let s = sim.api_stats();
    assert_eq!(s.unauthorized, 2);
    assert!(
        s.paths
            .iter()
            .any(|p| p.starts_with(&format!("DELETE /v1/recordings/{}", gone.id)))
    );
}

#[tokio::test]
async fn soft_delete_moves_recordings_to_the_recycle_bin() {
    use webex_sim::{DeleteKind, RecordingStatus};
    let sim = WebexSim::start().await.unwrap();
    let m = meeting(&sim, 3);
    let bob = sim.add_meeting(MeetingSpec::realistic(
        "Bob's",
        "bob@example.edu",
        Utc::now(),
        4096,
    ));
    let t = sim.integration_credentials().access_token;
    let ids: Vec<&str> = m.recordings.iter().map(|r| r.id.as_str()).collect();
    let (_, _, v) = get_json(&recording_url(&sim, ids[0], HOST), &t).await;
    let link = v["temporaryDirectDownloadLinks"]["audioDownloadLink"]
        .as_str()
        .unwrap()
        .to_owned();
    let series = format!("meetingId={}", m.series_id);

    // Refusals change nothing: >100 ids, none, not JSON, no list, an unknown id among good
    // ones, another host's recording, no hostEmail, another site.
    let many: Vec<String> = (0..101).map(|i| format!("{i:032x}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let refusals = [
        (Some(HOST), ids_body(&many), 400),
        (Some(HOST), ids_body(&[]), 400),
        (Some(HOST), "not json".to_owned(), 400),
        (Some(HOST), r#"{"recordingIds":[1,2]}"#.to_owned(), 400),
        (
            Some(HOST),
            ids_body(&[ids[0], "ffffffffffffffffffffffffffffffff"]),
            404,
        ),
        (
            Some(HOST),
            ids_body(&[ids[0], bob.recordings[0].id.as_str()]),
            404,
        ),
        (None, ids_body(&[ids[0]]), 404),
        (
            Some(HOST),
            serde_json::json!({"recordingIds": [ids[0]], "siteUrl": "other.webex.com"}).to_string(),
            404,
        ),
    ];
    for (host, body, status) in refusals {
        let r = soft_delete(&sim, host, body.clone(), &t).await;
        assert_eq!(r.status().as_u16(), status, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(
            v["message"].is_string() && v["trackingId"].is_string(),
            "{v}"
        );
    }
    assert_eq!(admin_ids(&sim, &series, &t).await.len(), 3);
    assert!(
        ids.iter()
            .all(|id| sim.recording_status(id) == Some(RecordingStatus::Available))
    );

    // Two of three, with the site named.
    let links_before = sim.api_stats().link_sets_issued;
    let body = serde_json::json!({"recordingIds": [ids[0], ids[1]], "siteUrl": "sim.webex.com"});
    let r = soft_delete(&sim, Some(HOST), body.to_string(), &t).await;
    assert_eq!(r.status(), 204);
    for id in &ids[..2] {
        assert_eq!(sim.recording_status(id), Some(RecordingStatus::Deleted));
        let (status, _, v) = get_json(&recording_url(&sim, id, HOST), &t).await;
        assert_eq!((status, v["status"].as_str()), (200, Some("deleted")));
        assert_eq!(v["id"], *id);
        assert!(v.get("temporaryDirectDownloadLinks").is_none(), "{v}");
    }
    assert_eq!(
        sim.api_stats().link_sets_issued,
        links_before,
        "no links handed out"
    );
    assert_eq!(get(&link, None).await.status(), 404);
    assert_eq!(
        admin_ids(&sim, &series, &t).await,
        vec![(ids[2].to_owned(), "available".to_owned())]
    );
    let mut binned = admin_ids(&sim, &format!("{series}&status=deleted"), &t).await;
    binned.sort();
    let mut want = vec![
        (ids[0].to_owned(), "deleted".to_owned()),
        (ids[1].to_owned(), "deleted".to_owned()),
    ];
    want.sort();
    assert_eq!(binned, want);
    assert_eq!(
        get_json(
            &format!("{}/admin/recordings?status=gone", sim.api_base()),
            &t
        )
        .await
        .0,
        400
    );
    // Soft-deleting again is harmless; a hard DELETE empties the recycle bin for one.
    assert_eq!(
        soft_delete(&sim, Some(HOST), ids_body(&ids[..1]), &t)
            .await
            .status(),
        204
    );
    assert_eq!(delete_rec(&sim, ids[0], Some(HOST), Some(&t)).await, 204);
    assert_eq!(sim.recording_status(ids[0]), Some(RecordingStatus::Purged));
    assert_eq!(
        get_json(&recording_url(&sim, ids[0], HOST), &t).await.0,
        404
    );
    assert_eq!(
        admin_ids(&sim, &format!("{series}&status=deleted"), &t)
            .await
            .len(),
        1
    );
    // A purged recording cannot be soft-deleted.
    assert_eq!(
        soft_delete(&sim, Some(HOST), ids_body(&ids[..1]), &t)
            .await
            .status(),
        404
    );
    // Bob's recording was never touched.
    assert_eq!(
        sim.recording_status(&bob.recordings[0].id),
        Some(RecordingStatus::Available)
    );

    let calls = sim.deletions();
    assert_eq!(calls.len(), 8 + 1 + 1 + 1 + 1);
    let statuses: Vec<u16> = calls.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        vec![400, 400, 400, 400, 404, 404, 404, 404, 204, 204, 204, 404]
    );
    assert_eq!(calls[0].recording_ids.len(), 101);
    assert!(calls[2].recording_ids.is_empty() && calls[3].recording_ids.is_empty());
    assert_eq!(calls[6].host_email, None);
    assert_eq!(calls[7].site_url.as_deref(), Some("other.webex.com"));
    assert_eq!(
        calls[8].recording_ids,
        vec![ids[0].to_owned(), ids[1].to_owned()]
    );
    assert_eq!(calls[8].site_url.as_deref(), Some("sim.webex.com"));
    assert_eq!(calls[8].host_email.as_deref(), Some(HOST));
    assert_eq!(calls[10].kind, DeleteKind::Delete);
    assert!(
        calls
            .iter()
            .enumerate()
            .all(|(i, c)| (c.kind == DeleteKind::SoftDelete) == (i != 10))
    );
}

#[tokio::test]
async fn delete_faults_hit_only_the_deletion_calls() {
    use webex_sim::{DeleteFault, RecordingStatus};
    let sim = WebexSim::start().await.unwrap();
    let m = meeting(&sim, 3);
    let t = sim.integration_credentials().access_token;
    let ids: Vec<&str> = m.recordings.iter().map(|r| r.id.as_str()).collect();
    let hooks = format!("{}/webhooks", sim.api_base());

    sim.fail_deletes(
        DeleteFault::RateLimited {
            retry_after_secs: 7,
        },
        2,
    );
    // Other calls neither see nor use up the fault.
    assert_eq!(get(&hooks, Some(&t)).await.status(), 200);
    assert_eq!(
        get_json(&recording_url(&sim, ids[0], HOST), &t).await.0,
        200
    );
    let r = client()
        .delete(recording_url(&sim, ids[0], HOST))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    let r = soft_delete(&sim, Some(HOST), ids_body(&ids[..1]), &t).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert!(r.json::<Value>().await.unwrap()["trackingId"].is_string());

    for (fault, status) in [
        (DeleteFault::InternalError, 500),
        (DeleteFault::ServiceUnavailable, 503),
        (DeleteFault::NotFound, 404),
        (DeleteFault::Unauthorized, 401),
    ] {
        sim.fail_deletes(fault.clone(), 1);
        assert_eq!(
            delete_rec(&sim, ids[0], Some(HOST), Some(&t)).await,
            status,
            "{fault:?}"
        );
        sim.fail_deletes(fault.clone(), 1);
        let r = soft_delete(&sim, Some(HOST), ids_body(&ids[..1]), &t).await;
        assert_eq!(r.status().as_u16(), status, "{fault:?}");
    }
    assert!(
        ids.iter()
            .all(|id| sim.recording_status(id) == Some(RecordingStatus::Available))
    );

    // A queued API fault comes first and leaves the delete fault in place.
    sim.set_fault(ApiFault::ServerError {
        status: 503,
        count: 1,
    });
    sim.fail_deletes(DeleteFault::NotFound, 1);
    assert_eq!(delete_rec(&sim, ids[0], Some(HOST), Some(&t)).await, 503);
    assert_eq!(delete_rec(&sim, ids[0], Some(HOST), Some(&t)).await, 404);
    sim.fail_deletes(DeleteFault::InternalError, 0);
    sim.fail_deletes(DeleteFault::InternalError, 5);
    sim.clear_delete_fault();

    // Carried out, answer lost: 500, then the retry finds nothing (404) / the bin (204).
    sim.fail_deletes(DeleteFault::InternalErrorAfterApplying, 2);
    assert_eq!(delete_rec(&sim, ids[0], Some(HOST), Some(&t)).await, 500);
    assert_eq!(sim.recording_status(ids[0]), Some(RecordingStatus::Purged));
    let r = soft_delete(&sim, Some(HOST), ids_body(&ids[1..2]), &t).await;
    assert_eq!(r.status(), 500);
    assert_eq!(sim.recording_status(ids[1]), Some(RecordingStatus::Deleted));
    assert_eq!(delete_rec(&sim, ids[0], Some(HOST), Some(&t)).await, 404);
    assert_eq!(
        soft_delete(&sim, Some(HOST), ids_body(&ids[1..2]), &t)
            .await
            .status(),
        204
    );
    assert_eq!(
        sim.recording_status(ids[2]),
        Some(RecordingStatus::Available)
    );

    let seen: Vec<_> = sim
        .deletions()
        .iter()
        .map(|c| (c.status, c.injected))
        .collect();
    assert_eq!(
        seen,
        vec![
            (429, true),
            (429, true),
            (500, true),
            (500, true),
            (503, true),
            (503, true),
            (404, true),
            (404, true),
            (401, true),
            (401, true),
            (503, true),
            (404, true),
            (500, true),
            (500, true),
            (404, false),
            (204, false),
        ]
    );
    let s = sim.api_stats();
    assert_eq!(
        (s.rate_limited, s.server_errors, s.unauthorized),
        (2, 4 + 1 + 2, 2)
    );
}

#[tokio::test]
async fn meetings_change_after_registration() {
    use webex_sim::SegmentSpec;
    let sim = WebexSim::start().await.unwrap();
    let m = meeting(&sim, 1);
    let t = sim.integration_credentials().access_token;
    let rec = &m.recordings[0];

    // sizeBytes follows the MP4; the CDN serves the new content.
    let old = rec.file(LinkKind::Recording).unwrap().clone();
    let new = sim
        .set_file_size(&rec.id, LinkKind::Recording, 123_457)
        .unwrap();
    assert_eq!(new.size, 123_457);
    assert_ne!(new.sha256, old.sha256);
    let (_, _, v) = get_json(&recording_url(&sim, &rec.id, HOST), &t).await;
    assert_eq!(v["sizeBytes"], 123_457);
    let body = get(
        v["temporaryDirectDownloadLinks"]["recordingDownloadLink"]
            .as_str()
            .unwrap(),
        None,
    )
    .await
    .bytes()
    .await
    .unwrap();
    assert_eq!(
        (body.len() as u64, sha256(&body)),
        (new.size, new.sha256.clone())
    );
    let items = admin_ids(&sim, &format!("meetingId={}", m.instance_id), &t).await;
    assert_eq!(items.len(), 1);
    let (_, _, v) = get_json(
        &format!(
            "{}/admin/recordings?meetingId={}",
            sim.api_base(),
            m.instance_id
        ),
        &t,
    )
    .await;
    assert_eq!(v["items"][0]["sizeBytes"], 123_457);
    // Another kind: sizeBytes stays.
    let audio = sim.set_file_size(&rec.id, LinkKind::Audio, 999).unwrap();
    assert_eq!(audio.size, 999);
    let (_, _, v) = get_json(&recording_url(&sim, &rec.id, HOST), &t).await;
    assert_eq!(v["sizeBytes"], 123_457);
    let now = sim.meeting(&m.instance_id).unwrap();
    assert_eq!(now.recordings[0].file(LinkKind::Recording), Some(&new));
    assert_eq!(now.recordings[0].file(LinkKind::Audio), Some(&audio));
    assert!(sim.set_file_size("nope", LinkKind::Recording, 1).is_none());
    let mut spec = MeetingSpec::realistic("Video only", HOST, Utc::now(), 4096);
    spec.segments[0].audio_bytes = None;
    let bare = sim.add_meeting(spec);
    assert!(
        sim.set_file_size(&bare.recordings[0].id, LinkKind::Audio, 1)
            .is_none()
    );
    assert!(sim.meeting("nope").is_none());

    // A further segment of the same instance.
    let seg = SegmentSpec {
        offset_secs: 3 * 3600,
        duration_secs: 300,
        video_bytes: 50_001,
        audio_bytes: None,
        transcript: false,
    };
    let added = sim.add_segment(&m.instance_id, seg);
    assert_ne!(added.id, rec.id);
    assert_eq!(
        added.time_recorded,
        m.start + chrono::Duration::seconds(3 * 3600)
    );
    let (status, _, v) = get_json(&recording_url(&sim, &added.id, HOST), &t).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["meetingId"].as_str(), v["sizeBytes"].as_u64()),
        (Some(m.instance_id.as_str()), Some(50_001))
    );
    let links = v["temporaryDirectDownloadLinks"].as_object().unwrap();
    assert!(!links.contains_key("audioDownloadLink"));
    let body = get(links["recordingDownloadLink"].as_str().unwrap(), None)
        .await
        .bytes()
        .await
        .unwrap();
    let file = added.file(LinkKind::Recording).unwrap();
    assert_eq!(
        (body.len() as u64, sha256(&body)),
        (50_001, file.sha256.clone())
    );
    let listed = admin_ids(&sim, &format!("meetingId={}", m.instance_id), &t).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].0, added.id, "newest first");
    assert_eq!(sim.meeting(&m.instance_id).unwrap().recordings.len(), 2);
    assert_eq!(
        m.recordings.len(),
        1,
        "an earlier SimMeeting does not change"
    );
}

#[tokio::test]
#[should_panic(expected = "unknown meeting instance")]
async fn add_segment_to_an_unknown_meeting_panics() {
    let sim = WebexSim::start().await.unwrap();
    let seg = MeetingSpec::realistic("x", HOST, Utc::now(), 1024).segments[0].clone();
    sim.add_segment("nope_I_1", seg);
}

#[tokio::test]
async fn revoking_authorizations_ends_their_tokens() {
    let sim = WebexSim::start().await.unwrap();
    let api = sim.api_base();
    let hooks = format!("{api}/webhooks");
    let c1 = sim.integration_credentials();
    let c2 = sim.integration_credentials();
    let a1 = sim.authorization_id(&c1.access_token).unwrap();
    assert_eq!(sim.authorization_id(&c1.refresh_token), Some(a1.clone()));
    assert_ne!(sim.authorization_id(&c2.access_token), Some(a1.clone()));
    assert_eq!(sim.authorization_id("made-up"), None);
    // A refresh stays in the authorization.
    let (status, v) = refresh(&sim, &c1, &c1.refresh_token).await;
    assert_eq!(status, 200);
    let (a1_access, a1_refresh) = (
        v["access_token"].as_str().unwrap().to_owned(),
        v["refresh_token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(sim.authorization_id(&a1_access), Some(a1.clone()));
    assert_eq!(sim.authorization_id(&a1_refresh), Some(a1.clone()));
    // A Service App token (another client).
    let app = sim.service_app();
    let r = client()
        .post(format!("{api}/applications/{}/token", app.application_id))
        .bearer_auth(&c2.access_token)
        .json(&serde_json::json!({"clientId": app.client_id, "clientSecret": app.client_secret, "targetOrgId": sim.org_id()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let app_token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let del = |url: String, token: Option<String>| async move {
        let mut req = client().delete(url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap().status().as_u16()
    };
    // One authorization by id: every token of it dies, others keep working.
    assert_eq!(del(format!("{api}/authorizations/{a1}"), None).await, 401);
    assert_eq!(
        del(
            format!("{api}/authorizations/{a1}"),
            Some(c2.access_token.clone())
        )
        .await,
        204
    );
    for tok in [&c1.access_token, &a1_access] {
        assert_eq!(get(&hooks, Some(tok)).await.status(), 401);
    }
    let (status, v) = refresh(&sim, &c1, &a1_refresh).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(sim.authorization_id(&a1_access), None);
    assert_eq!(get(&hooks, Some(&c2.access_token)).await.status(), 200);
    assert_eq!(
        del(
            format!("{api}/authorizations/{a1}"),
            Some(c2.access_token.clone())
        )
        .await,
        404
    );

    // By client id: bad requests first.
    assert_eq!(
        del(format!("{api}/authorizations"), Some(app_token.clone())).await,
        400
    );
    assert_eq!(
        del(
            format!("{api}/authorizations?clientId=Cnope"),
            Some(app_token.clone())
        )
        .await,
        404
    );
    let cid = c2.client_id.clone();
    assert_eq!(
        del(
            format!("{api}/authorizations?clientId={cid}&orgId=other"),
            Some(app_token.clone())
        )
        .await,
        404
    );
    assert_eq!(get(&hooks, Some(&c2.access_token)).await.status(), 200);
    let org = sim.org_id();
    assert_eq!(
        del(
            format!("{api}/authorizations?clientId={cid}&orgId={org}"),
            Some(app_token.clone())
        )
        .await,
        204
    );
    assert_eq!(get(&hooks, Some(&c2.access_token)).await.status(), 401);
    let (status, v) = refresh(&sim, &c2, &c2.refresh_token).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_grant")));
    // The Service App is another client: still in.
    assert_eq!(get(&hooks, Some(&app_token)).await.status(), 200);
    // A new grant of the integration works again.
    assert_eq!(
        get(&hooks, Some(&sim.integration_credentials().access_token))
            .await
            .status(),
        200
    );

    let calls = sim.revocations();
    let seen: Vec<_> = calls
        .iter()
        .map(|c| {
            (
                c.status,
                c.tokens_revoked,
                c.authorization_id.is_some(),
                c.client_id.is_some(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (401, 0, true, false),
            (204, 3, true, false),
            (404, 0, true, false),
            (400, 0, false, false),
            (404, 0, false, true),
            (404, 0, false, true),
            (204, 2, false, true),
        ]
    );
    assert_eq!(calls[1].authorization_id.as_deref(), Some(a1.as_str()));
    assert_eq!(calls[6].client_id.as_deref(), Some(cid.as_str()));
    let dbg = format!("{calls:?}");
    assert!(
        !dbg.contains(&c1.access_token) && !dbg.contains(&c2.refresh_token),
        "{dbg}"
    );
    assert!(sim.deletions().is_empty());
}

#[tokio::test]
async fn deleted_webhook_is_gone_from_the_list() {
    let sim = WebexSim::start().await.unwrap();
    let t = sim.integration_credentials().access_token;
    let body = |n: &str| serde_json::json!({"name": n, "targetUrl": "https://example.com/h", "resource": "recordings", "event": "created"});
    let (_, a) = create_hook(&sim, &t, body("a")).await;
    let (_, b) = create_hook(&sim, &t, body("b")).await;
    let a_id = a["id"].as_str().unwrap();
    let url = format!("{}/webhooks/{a_id}", sim.api_base());
    let del = || client().delete(&url).bearer_auth(&t).send();
    assert_eq!(del().await.unwrap().status(), 204);
    let (_, _, v) = get_json(&format!("{}/webhooks", sim.api_base()), &t).await;
    let ids: Vec<_> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].clone())
        .collect();
    assert_eq!(ids, vec![b["id"].clone()]);
    assert_eq!(del().await.unwrap().status(), 404);
    assert_eq!(sim.webhooks().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Backfill and reconcile: the admin list by site and window, list faults, webhooks

const SITE_B: &str = "law.webex.com";

/// Four months of meetings, two sites: every 5 days from 2026-01-03, alternating sites,
/// every third with two segments (two recordings), hosts alternating.
fn four_months(sim: &WebexSim) -> Vec<SimMeeting> {
    sim.add_site(SITE_B);
    let first = Utc.with_ymd_and_hms(2026, 1, 3, 14, 0, 0).unwrap();
    (0..24)
        .map(|i| {
            let host = if i % 2 == 0 { HOST } else { "bob@example.edu" };
            let mut spec = MeetingSpec::realistic(
                &format!("Lecture {i}"),
                host,
                first + chrono::Duration::days(5 * i),
                2048,
            );
            if i % 3 == 0 {
                spec = spec.with_segments(2);
            }
            if i % 2 == 1 {
                spec = spec.on_site(SITE_B);
            }
            sim.add_meeting(spec)
        })
        .collect()
}

fn iso(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Every item of one window on one site, following `Link: rel="next"`; also the number of
/// pages.
async fn walk(
    sim: &WebexSim,
    t: &str,
    site: &str,
    from: chrono::DateTime<Utc>,
    to: chrono::DateTime<Utc>,
    max: u32,
) -> (Vec<Value>, usize) {
    let mut url = Some(format!(
        "{}/admin/recordings?siteUrl={site}&from={}&to={}&max={max}",
        sim.api_base(),
        iso(from),
        iso(to)
    ));
    let (mut items, mut pages) = (Vec::new(), 0);
    while let Some(u) = url {
        let (status, h, v) = get_json(&u, t).await;
        assert_eq!(status, 200, "{u}: {v}");
        let page = v["items"].as_array().unwrap();
        assert!(page.len() <= max as usize);
        items.extend(page.iter().cloned());
        url = next_link(&h);
        pages += 1;
    }
    (items, pages)
}

#[tokio::test]
async fn backfill_walks_every_recording_once_in_30_day_windows_per_site() {
    let sim = WebexSim::start().await.unwrap();
    let meetings = four_months(&sim);
    let all: std::collections::HashMap<String, (String, chrono::DateTime<Utc>)> = meetings
        .iter()
        .flat_map(|m| {
            m.recordings
                .iter()
                .map(|r| (r.id.clone(), (m.site_url.clone(), r.create_time)))
        })
        .collect();
    assert_eq!(all.len(), 24 + 8);
    assert_eq!(
        sim.sites(),
        vec!["sim.webex.com".to_owned(), SITE_B.to_owned()]
    );
    let t = sim.integration_credentials().access_token;

    // Get Site List: both sites, the first one preferred.
    let (status, _, v) =
        get_json(&format!("{}/meetingPreferences/sites", sim.api_base()), &t).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v,
        serde_json::json!({"sites": [
            {"siteUrl": "sim.webex.com", "default": true},
            {"siteUrl": SITE_B, "default": false},
        ]})
    );

    let (begin, end) = (
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap(),
    );
    let mut seen: Vec<String> = Vec::new();
    let (mut windows, mut calls, mut site_b_calls) = (0, 0, 0);
    for site in sim.sites() {
        let mut from = begin;
        while from < end {
            let to = (from + chrono::Duration::days(30)).min(end);
            let (items, pages) = walk(&sim, &t, &site, from, to, 1).await;
            assert_eq!(pages, items.len().max(1), "max=1: one page per recording");
            assert!(
                !items.is_empty(),
                "every window of this data has recordings"
            );
            calls += pages;
            if site == SITE_B {
                site_b_calls += pages;
            }
            let created: Vec<&str> = items
                .iter()
                .map(|i| i["createTime"].as_str().unwrap())
                .collect();
            assert!(
                created.windows(2).all(|w| w[0] >= w[1]),
                "newest first: {created:?}"
            );
            for i in &items {
                let id = i["id"].as_str().unwrap();
                let (rec_site, created) = &all[id];
                assert_eq!(
                    (i["siteUrl"].as_str(), rec_site.as_str()),
                    (Some(site.as_str()), site.as_str())
                );
                assert!(from <= *created && *created < to, "{id} outside its window");
                assert!(i["hostEmail"].is_string());
                seen.push(id.to_owned());
            }
            windows += 1;
            from = to;
        }
    }
    assert_eq!(windows, 2 * 4, "120 days: four 30-day windows per site");
    let unique: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(
        (seen.len(), unique.len()),
        (all.len(), all.len()),
        "each exactly once"
    );

    // The request log: no window longer than 30 days, every site named, later pages by cursor.
    let log = sim.list_requests();
    assert_eq!(log.len(), calls);
    assert!(
        log.iter()
            .all(|r| r.status == 200 && !r.injected && r.max == Some(1))
    );
    assert!(log.iter().all(|r| {
        let (f, to) = (r.from.unwrap(), r.to.unwrap());
        to - f <= chrono::Duration::days(30)
    }));
    assert_eq!(log.iter().filter(|r| !r.had_cursor).count(), windows);
    assert_eq!(
        log.iter()
            .filter(|r| r.site_url.as_deref() == Some(SITE_B))
            .count(),
        site_b_calls
    );
    assert_eq!(
        log[0].path,
        "/v1/admin/recordings?siteUrl=sim.webex.com&from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:00Z&max=1"
    );
    assert_eq!(log[0].from, Some(begin));
    assert!(
        log[1].had_cursor && log[1].path.contains("cursor=1"),
        "{:?}",
        log[1]
    );

    // Without siteUrl: the preferred site only; another preferred site changes that.
    let q = "from=2026-01-01&to=2026-01-31&max=100";
    let ids = admin_ids(&sim, q, &t).await;
    assert!(ids.iter().all(|(id, _)| all[id].0 == "sim.webex.com") && !ids.is_empty());
    sim.set_preferred_site(SITE_B);
    let ids = admin_ids(&sim, q, &t).await;
    assert!(ids.iter().all(|(id, _)| all[id].0 == SITE_B) && !ids.is_empty());
    // A site the org does not have: 400.
    let (status, _, v) = get_json(
        &format!(
            "{}/admin/recordings?siteUrl=nope.webex.com&{q}",
            sim.api_base()
        ),
        &t,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_list_windows_follow_webex_rules() {
    let sim = WebexSim::start().await.unwrap();
    let meetings = four_months(&sim);
    let t = sim.integration_credentials().access_token;
    let api = sim.api_base();
    let list = |q: &str| format!("{api}/admin/recordings?{q}");

    // More than 30 days between from and to: 400 with Webex's error body, recorded.
    let (status, _, v) = get_json(
        &list("from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:01Z"),
        &t,
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("within 30 days"),
        "{v}"
    );
    assert_eq!(v["errors"][0]["description"], v["message"]);
    assert!(v["trackingId"].as_str().unwrap().starts_with("ROUTER_"));
    let refused = sim.list_requests().pop().unwrap();
    assert_eq!(
        (refused.status, refused.injected, refused.had_cursor),
        (400, false, false)
    );
    assert_eq!(
        refused.to.unwrap() - refused.from.unwrap(),
        chrono::Duration::days(30) + chrono::Duration::seconds(1)
    );
    // Exactly 30 days is allowed; from after to is not; a bad time is not.
    assert_eq!(
        get_json(&list("from=2026-01-01&to=2026-01-31"), &t).await.0,
        200
    );
    assert_eq!(
        get_json(&list("from=2026-01-31&to=2026-01-01"), &t).await.0,
        400
    );
    assert_eq!(get_json(&list("from=yesterday"), &t).await.0, 400);
    // Only `to`, or only `from`: the 7 days before / after it.
    let week: Vec<_> = meetings
        .iter()
        .filter(|m| m.site_url == "sim.webex.com")
        .flat_map(|m| m.recordings.iter())
        .filter(|r| {
            let (f, to) = (
                Utc.with_ymd_and_hms(2026, 1, 20, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 1, 27, 0, 0, 0).unwrap(),
            );
            f <= r.create_time && r.create_time < to
        })
        .map(|r| r.id.clone())
        .collect();
    assert!(!week.is_empty());
    for q in ["to=2026-01-27", "from=2026-01-20"] {
        let mut ids: Vec<String> = admin_ids(&sim, q, &t)
            .await
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        ids.sort();
        let mut want = week.clone();
        want.sort();
        assert_eq!(ids, want, "{q}");
    }
    // With meetingId, siteUrl/from/to are ignored: no window check either.
    let m = &meetings[3];
    let q = format!(
        "meetingId={}&from=2025-01-01&to=2026-12-31&siteUrl=nope.webex.com",
        m.series_id
    );
    assert_eq!(admin_ids(&sim, &q, &t).await.len(), m.recordings.len());

    // max: 1-100, default 10: twelve recordings in June on the preferred site page at 10.
    assert_eq!(
        get_json(&list("from=2026-01-01&to=2026-01-31&max=0"), &t)
            .await
            .0,
        400
    );
    assert_eq!(
        get_json(&list("from=2026-01-01&to=2026-01-31&max=101"), &t)
            .await
            .0,
        400
    );
    sim.set_preferred_site(SITE_B);
    let june = Utc.with_ymd_and_hms(2026, 6, 1, 8, 0, 0).unwrap();
    for i in 0..12 {
        let spec =
            MeetingSpec::realistic("Office hours", HOST, june + chrono::Duration::days(i), 1024);
        sim.add_meeting(spec.on_site(SITE_B));
    }
    sim.add_meeting(MeetingSpec::realistic("Elsewhere", HOST, june, 1024));
    let (status, h, v) = get_json(&list("from=2026-06-01&to=2026-06-30"), &t).await;
    assert_eq!(status, 200, "{v}");
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    assert!(items.iter().all(|i| i["siteUrl"] == SITE_B));
    let next = next_link(&h).unwrap();
    assert!(
        next.contains("max=10") && next.contains("cursor=10") && next.contains("from=2026-06-01"),
        "{next}"
    );
    let (_, h, v) = get_json(&next, &t).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    assert!(next_link(&h).is_none());

    // Next links that drop the filters (WebexPythonSDK PR #169): only max and cursor are left,
    // so the next page is the default window (the last 7 days) of the preferred site.
    sim.set_fault(ApiFault::DropFiltersOnNext);
    let (_, h, _) = get_json(
        &list("siteUrl=sim.webex.com&from=2026-01-01&to=2026-01-31&max=1"),
        &t,
    )
    .await;
    let next = next_link(&h).unwrap();
    assert!(
        !next.contains("from=") && !next.contains("to=") && !next.contains("siteUrl"),
        "{next}"
    );
    assert!(
        next.contains("max=1") && next.contains("cursor=1"),
        "{next}"
    );
    let (status, h, v) = get_json(&next, &t).await;
    assert_eq!(
        (status, v["items"].as_array().unwrap().len()),
        (200, 0),
        "{v}"
    );
    assert!(next_link(&h).is_none());
    let last = sim.list_requests().pop().unwrap();
    assert_eq!(
        (last.from, last.to, last.site_url, last.had_cursor),
        (None, None, None, true)
    );
    sim.shutdown().await;
}

/// One list call, retried after `Retry-After` (or 1 s) on 429/503 as a backfill would.
async fn get_page_retrying(url: &str, t: &str) -> (HeaderMap, Value, Vec<u16>) {
    let mut refused = Vec::new();
    loop {
        let (status, h, v) = get_json(url, t).await;
        match status {
            200 => return (h, v, refused),
            429 | 503 => {
                let wait = h
                    .get("retry-after")
                    .map_or(1, |v| v.to_str().unwrap().parse::<u64>().unwrap());
                refused.push(status);
                tokio::time::sleep(Duration::from_secs(wait)).await;
            }
            _ => panic!("{url}: {status} {v}"),
        }
    }
}

#[tokio::test]
async fn nth_list_call_is_faulted_and_the_walk_continues() {
    let sim = WebexSim::start().await.unwrap();
    let meetings = four_months(&sim);
    let t = sim.integration_credentials().access_token;
    let (from, to) = (
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 1, 31, 0, 0, 0).unwrap(),
    );
    let want: std::collections::HashSet<String> = meetings
        .iter()
        .filter(|m| m.site_url == "sim.webex.com")
        .flat_map(|m| m.recordings.iter())
        .filter(|r| from <= r.create_time && r.create_time < to)
        .map(|r| r.id.clone())
        .collect();
    assert!(want.len() >= 4, "{want:?}");

    // The 4th list call from now is a 429 with Retry-After: 1; other API calls do not count.
    sim.fail_list_calls(
        ListFault::RateLimited {
            retry_after_secs: 1,
        },
        3,
        1,
    );
    let hooks = format!("{}/webhooks", sim.api_base());
    assert_eq!(get_json(&hooks, &t).await.0, 200);
    let started = std::time::Instant::now();
    let mut url = Some(format!(
        "{}/admin/recordings?siteUrl=sim.webex.com&from={}&to={}&max=1",
        sim.api_base(),
        iso(from),
        iso(to)
    ));
    let (mut seen, mut refused) = (Vec::new(), Vec::new());
    while let Some(u) = url {
        let (h, v, r) = get_page_retrying(&u, &t).await;
        refused.extend(r);
        seen.extend(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        url = next_link(&h);
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After waited out"
    );
    assert_eq!(refused, vec![429]);
    let unique: std::collections::HashSet<String> = seen.iter().cloned().collect();
    assert_eq!((seen.len(), unique), (want.len(), want.clone()));
    let log = sim.list_requests();
    assert_eq!(log.len(), want.len() + 1);
    let statuses: Vec<(u16, bool)> = log.iter().map(|r| (r.status, r.injected)).collect();
    assert_eq!(statuses[3], (429, true));
    assert_eq!(statuses.iter().filter(|s| s.0 != 200).count(), 1);
    // The refused call and its retry are the same page.
    assert_eq!(log[3].path, log[4].path);
    assert!(log[3].had_cursor);
    assert_eq!(sim.api_stats().rate_limited, 1);

    // 503 twice, at once: no Retry-After; then the list answers again.
    sim.fail_list_calls(ListFault::ServerError { status: 503 }, 0, 2);
    let q = format!(
        "{}/admin/recordings?from=2026-01-01&to=2026-01-31",
        sim.api_base()
    );
    for _ in 0..2 {
        let r = get(&q, Some(&t)).await;
        assert_eq!(r.status(), 503);
        assert!(r.headers().get("retry-after").is_none());
        let v: Value = r.json().await.unwrap();
        assert!(v["message"].is_string() && v["errors"][0]["description"].is_string());
    }
    assert_eq!(get_json(&q, &t).await.0, 200);
    // Removed: no fault; a refused bearer is recorded too (401, not injected).
    sim.fail_list_calls(
        ListFault::RateLimited {
            retry_after_secs: 1,
        },
        0,
        1,
    );
    sim.clear_list_fault();
    assert_eq!(get_json(&q, &t).await.0, 200);
    assert_eq!(get(&q, Some("bad-token")).await.status(), 401);
    let last = sim.list_requests().pop().unwrap();
    assert_eq!((last.status, last.injected), (401, false));
    sim.shutdown().await;
}

#[tokio::test]
async fn inactive_webhook_is_listed_skipped_and_reactivated() {
    let sim = WebexSim::start().await.unwrap();
    let (rx, seen) = receiver("k").await;
    let t = sim.integration_credentials().access_token;
    let body = serde_json::json!({"name": "rec", "targetUrl": format!("{rx}/ok"), "resource": "recordings",
        "event": "created", "secret": "k", "ownedBy": "org"});
    let (_, v) = create_hook(&sim, &t, body).await;
    let id = v["id"].as_str().unwrap().to_owned();
    let url = format!("{}/webhooks/{id}", sim.api_base());
    let listed_status = || async {
        let (_, _, v) = get_json(&format!("{}/webhooks", sim.api_base()), &t).await;
        v["items"][0]["status"].as_str().unwrap().to_owned()
    };

    // Webex turns it off: the list says so, and nothing is delivered to it.
    sim.set_webhook_status(&id, "inactive");
    assert_eq!(listed_status().await, "inactive");
    assert_eq!(get_json(&url, &t).await.2["status"], "inactive");
    let m = meeting(&sim, 1);
    assert!(sim.publish_recordings(&m).await.is_empty());
    assert!(seen.lock().unwrap().is_empty());
    assert!(
        sim.webhook_updates().is_empty(),
        "set_webhook_status is not an API call"
    );

    // A bad status is refused and changes nothing; `"status":"active"` reactivates it.
    let put = |body: Value| {
        let url = url.clone();
        let t = t.clone();
        async move {
            client()
                .put(url)
                .bearer_auth(t)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let target = format!("{rx}/ok");
    assert_eq!(
        put(serde_json::json!({"name": "rec", "targetUrl": target, "status": "on"})).await,
        400
    );
    assert_eq!(listed_status().await, "inactive");
    assert_eq!(
        put(serde_json::json!({"name": "rec", "targetUrl": target, "status": "active"})).await,
        200
    );
    assert_eq!(listed_status().await, "active");
    let updates = sim.webhook_updates();
    assert_eq!(updates.len(), 2);
    let (bad, good) = (&updates[0], &updates[1]);
    assert_eq!(
        (
            bad.status,
            bad.requested_status.as_deref(),
            bad.status_after.as_deref()
        ),
        (400, Some("on"), Some("inactive"))
    );
    assert_eq!(good.webhook_id, id);
    assert_eq!(
        (good.status, good.requested_status.as_deref()),
        (200, Some("active"))
    );
    assert_eq!(
        (good.status_before.as_deref(), good.status_after.as_deref()),
        (Some("inactive"), Some("active"))
    );

    // Delivered to again.
    assert_eq!(sim.publish_recordings(&m).await, vec![(id.clone(), 200)]);
    assert_eq!(seen.lock().unwrap().len(), 1);
    // An unknown webhook: 404, recorded without statuses.
    let r = client()
        .put(format!("{}/webhooks/nope", sim.api_base()))
        .bearer_auth(&t)
        .json(&serde_json::json!({"name": "x", "targetUrl": target, "status": "active"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let last = sim.webhook_updates().pop().unwrap();
    assert_eq!(
        (last.status, last.status_before, last.status_after),
        (404, None, None)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn recordings_carry_their_site_and_soft_delete_uses_the_preferred_site() {
    let sim = WebexSim::start().await.unwrap();
    let m = sim.add_meeting(
        MeetingSpec::realistic(
            "Moot court",
            HOST,
            Utc::now() - chrono::Duration::days(100),
            2048,
        )
        .on_site(SITE_B),
    );
    assert_eq!(m.site_url, SITE_B);
    assert_eq!(
        sim.sites(),
        vec!["sim.webex.com".to_owned(), SITE_B.to_owned()]
    );
    let t = sim.integration_credentials().access_token;
    let rec = &m.recordings[0];
    let (_, _, v) = get_json(&recording_url(&sim, &rec.id, HOST), &t).await;
    assert_eq!(v["siteUrl"], SITE_B);
    let (_, _, v) = get_json(
        &format!(
            "{}/meetingTranscripts?meetingId={}",
            sim.api_base(),
            m.instance_id
        ),
        &t,
    )
    .await;
    assert_eq!(v["items"][0]["siteUrl"], SITE_B);
    let body: Value = serde_json::from_str(&m.recording_created_body(0, &sim.org_id())).unwrap();
    assert_eq!(body["data"]["siteUrl"], SITE_B);

    // softDelete without siteUrl acts on the preferred site: 404 until siteUrl names this one.
    let host = HOST.replace('@', "%40");
    let url = format!("{}/recordings/softDelete?hostEmail={host}", sim.api_base());
    let post = |body: Value| {
        let (url, t) = (url.clone(), t.clone());
        async move {
            client()
                .post(url)
                .bearer_auth(t)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        post(serde_json::json!({"recordingIds": [rec.id]})).await,
        404
    );
    assert_eq!(
        post(serde_json::json!({"recordingIds": [rec.id], "siteUrl": "sim.webex.com"})).await,
        404
    );
    assert_eq!(
        post(serde_json::json!({"recordingIds": [rec.id], "siteUrl": SITE_B})).await,
        204
    );
    sim.shutdown().await;
}
