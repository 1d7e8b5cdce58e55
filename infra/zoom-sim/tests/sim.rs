//! End-to-end tests of the simulator over real HTTP on 127.0.0.1.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use serde_json::Value;
use sha2::{Digest, Sha256};
use zoom_sim::{
    ApiFault, ContentKind, Fault, FileSpec, ListEndpoint, PeopleEndpoint, PeopleSpec, PersonSpec,
    RecordingSpec, RetryAfter, SimRecording, UserSpec, UserStatus, ZoomSim, encode_meeting_id,
};

const KIB: u64 = 1024;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

async fn small(sim: &ZoomSim, prefix: &str) -> SimRecording {
    sim.add_recording(RecordingSpec::realistic(prefix, 16 * KIB))
}

/// Download through the redirect (reqwest follows it), streaming, returning the
/// response's status, content type, declared length and the body's hash/length.
async fn download(url: &str, token: &str) -> (StatusCode, String, Option<u64>, String, u64) {
    let resp = client().get(url).bearer_auth(token).send().await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let len = resp.content_length();
    let mut hasher = Sha256::new();
    let mut n = 0u64;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        n += chunk.len() as u64;
        hasher.update(&chunk);
    }
    (status, ct, len, hex::encode(hasher.finalize()), n)
}

async fn assert_html_refusal(resp: reqwest::Response) {
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()[CONTENT_TYPE].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    let body = resp.text().await.unwrap();
    assert!(body.starts_with("<!DOCTYPE html><html"), "{body}");
    assert!(
        body.contains("Only the host can download this recording")
            || body.contains("This recording does not exist"),
        "{body}"
    );
}

#[tokio::test]
async fn completed_body_has_zoom_shape() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "shape").await;
    let v: Value = serde_json::from_str(&rec.recording_completed_body()).unwrap();
    assert_eq!(v["event"], "recording.completed");
    assert!(v["event_ts"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(v["download_token"], rec.download_token.as_str());
    assert_eq!(v["payload"]["account_id"], rec.account_id.as_str());
    let o = &v["payload"]["object"];
    assert_eq!(o["uuid"], rec.uuid.as_str());
    assert_eq!(o["id"].as_u64(), Some(rec.meeting_id));
    assert_eq!(o["type"].as_u64(), Some(8));
    assert_eq!(o["host_id"], rec.host_id.as_str());
    assert_eq!(o["host_email"], rec.host_email.as_str());
    assert_eq!(o["topic"], rec.topic.as_str());
    assert_eq!(o["timezone"], "Europe/Berlin");
    assert!(o["start_time"].as_str().unwrap().ends_with('Z'));
    assert!(o["duration"].as_u64().unwrap() >= 48);
    let files = o["recording_files"].as_array().unwrap();
    assert_eq!(files.len(), 7);
    assert_eq!(o["recording_count"].as_u64(), Some(7));
    let total: u64 = rec.media_files().iter().map(|f| f.size).sum();
    assert_eq!(o["total_size"].as_u64(), Some(total));
    for (f, sf) in files.iter().zip(rec.media_files()) {
        assert_eq!(f["id"], sf.id.as_str());
        assert_eq!(f["meeting_id"], rec.uuid.as_str());
        assert_eq!(f["file_size"].as_u64(), Some(sf.size));
        assert_eq!(f["status"], "completed");
        assert_eq!(
            f["download_url"].as_str().unwrap(),
            format!("{}/rec/download/{}", sim.api_base(), sf.id)
        );
        for k in [
            "recording_start",
            "recording_end",
            "file_type",
            "file_extension",
            "recording_type",
        ] {
            assert!(f[k].is_string(), "{k}");
        }
    }
    let types: Vec<_> = files
        .iter()
        .map(|f| f["recording_type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"gallery_view")
            && types.contains(&"chat_file")
            && types.contains(&"timeline")
    );

    // JWT-shaped download token with exp ~24 h ahead.
    assert_eq!(rec.download_token.split('.').count(), 3);
    let exp = zoom_sim::jwt_exp(&rec.download_token).unwrap();
    let now = zoom_sim::unix_now();
    assert!((now + 23 * 3600..=now + 25 * 3600).contains(&exp), "{exp}");

    // Transcript event: same object, only the transcript, its own token.
    let t: Value = serde_json::from_str(&rec.transcript_completed_body()).unwrap();
    assert_eq!(t["event"], "recording.transcript_completed");
    assert_eq!(t["payload"]["object"]["uuid"], rec.uuid.as_str());
    let tf = t["payload"]["object"]["recording_files"]
        .as_array()
        .unwrap();
    assert_eq!(tf.len(), 1);
    assert_eq!(tf[0]["file_type"], "TRANSCRIPT");
    assert_eq!(tf[0]["file_extension"], "VTT");
    assert_eq!(tf[0]["recording_type"], "audio_transcript");
    assert_eq!(tf[0]["id"], rec.transcript_file().unwrap().id.as_str());
    assert_ne!(t["download_token"], v["download_token"]);

    // Re-delivery: new token and url query, same ids; both tokens work.
    let dup = rec.with_fresh_token();
    assert_ne!(dup.download_token, rec.download_token);
    let d: Value = serde_json::from_str(&dup.recording_completed_body()).unwrap();
    let u0 = files[0]["download_url"].as_str().unwrap();
    let u1 = d["payload"]["object"]["recording_files"][0]["download_url"]
        .as_str()
        .unwrap();
    assert_ne!(u0, u1);
    assert!(u1.starts_with(u0) && u1.contains('?'));
    assert_eq!(
        d["payload"]["object"]["recording_files"][0]["id"],
        files[0]["id"]
    );
    for (url, tok) in [(u0, &rec.download_token), (u1, &dup.download_token)] {
        let (status, _, _, sha, _) = download(url, tok).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(sha, rec.media_files()[0].sha256);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn every_file_downloads_through_the_redirect_with_matching_sha256() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "dl").await;
    for f in rec.files() {
        let token = if f.is_transcript {
            &rec.transcript_download_token
        } else {
            &rec.download_token
        };
        let (status, ct, len, sha, n) = download(&f.download_url, token).await;
        assert_eq!(status, StatusCode::OK, "{}", f.id);
        assert_eq!(ct, f.content_type);
        assert_eq!(len, Some(f.size));
        assert_eq!(n, f.size);
        assert_eq!(sha, f.sha256, "{} {}", f.file_type, f.id);
        let st = sim.stats(&f.id);
        assert_eq!(st.download_requests, 1);
        assert_eq!(st.redirects, 1);
        assert_eq!(st.cdn_requests, 1);
        assert_eq!(
            st.auth_leaks, 0,
            "reqwest must drop Authorization cross-host"
        );
        assert_eq!(st.bytes_served, f.size);
        assert_eq!(st.complete_bodies, 1);
        assert_eq!(st.last_bearer.as_deref(), Some(token.as_str()));
    }
    let expected_ct = |t: &str| {
        rec.files()
            .iter()
            .find(|f| f.file_type == t)
            .unwrap()
            .content_type
            .clone()
    };
    assert_eq!(expected_ct("MP4"), "video/mp4");
    assert_eq!(expected_ct("M4A"), "audio/mp4");
    assert_eq!(expected_ct("TRANSCRIPT"), "text/vtt");
    assert_eq!(expected_ct("CHAT"), "text/plain");

    // Text files are text.
    let vtt = rec.transcript_file().unwrap();
    let body = client()
        .get(&vtt.download_url)
        .bearer_auth(&rec.transcript_download_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.starts_with("WEBVTT\n\n1\n00:00:00.000 --> "));
    sim.shutdown().await;
}

#[tokio::test]
async fn redirect_is_signed_and_cdn_checks_it() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "redir").await;
    let f = &rec.media_files()[0];
    let resp = no_redirect_client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let loc = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        loc.starts_with(&format!("{}/cdn/{}?", sim.cdn_base(), f.id)),
        "{loc}"
    );
    assert!(
        loc.contains("Policy=") && loc.contains("&Signature=") && loc.contains("&Key-Pair-Id=")
    );
    assert!(sim.cdn_base().starts_with("http://localhost:"));
    assert!(sim.api_base().starts_with("http://127.0.0.1:"));

    // The signed URL needs nothing else; content headers as a CDN sends them.
    let ok = no_redirect_client().get(&loc).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.content_length(), Some(f.size));
    let cd = ok.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cd.starts_with("attachment; filename=\"GMT") && cd.ends_with(".mp4\""),
        "{cd}"
    );
    assert_eq!(sha_hex(&ok.bytes().await.unwrap()), f.sha256);

    // An Authorization header on the CDN request is a leak: counted and refused.
    let leak = no_redirect_client()
        .get(&loc)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(leak.status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim.stats(&f.id).auth_leaks, 1);

    // Tampered or missing signature: 403 XML.
    let tampered = loc.replace("Signature=", "Signature=x");
    for url in [tampered, format!("{}/cdn/{}", sim.cdn_base(), f.id)] {
        let r = no_redirect_client().get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("<Code>AccessDenied</Code>")
        );
    }
    // A signature for one file does not open another.
    let other = &rec.media_files()[1];
    let swapped = loc.replace(&f.id, &other.id);
    let r = no_redirect_client().get(&swapped).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(sim.stats(&f.id).bad_signatures, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn refusals_are_html_with_status_200() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "html").await;
    let other = small(&sim, "html-other").await;
    let f = &rec.media_files()[0];
    let c = no_redirect_client();

    // Missing token.
    assert_html_refusal(c.get(&f.download_url).send().await.unwrap()).await;
    // Garbage and forged tokens.
    assert_html_refusal(
        c.get(&f.download_url)
            .bearer_auth("nope")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let forged = format!("{}x", rec.download_token);
    assert_html_refusal(
        c.get(&f.download_url)
            .bearer_auth(forged)
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Another recording's token.
    assert_html_refusal(
        c.get(&f.download_url)
            .bearer_auth(&other.download_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Token in the query string (the legacy way), with or without the header.
    let q = format!("{}?access_token={}", f.download_url, rec.download_token);
    assert_html_refusal(c.get(&q).send().await.unwrap()).await;
    assert_html_refusal(
        c.get(&q)
            .bearer_auth(&rec.download_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Expired token.
    let expired = sim.issue_download_token(&rec.uuid, -10);
    assert!(zoom_sim::jwt_exp(&expired).unwrap() < zoom_sim::unix_now());
    assert_html_refusal(
        c.get(&f.download_url)
            .bearer_auth(&expired)
            .send()
            .await
            .unwrap(),
    )
    .await;
    // Unknown file.
    let unknown = format!("{}/rec/download/does-not-exist", sim.api_base());
    assert_html_refusal(
        c.get(&unknown)
            .bearer_auth(&rec.download_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(sim.stats(&f.id).html_responses, 7);
    assert_eq!(sim.stats(&f.id).redirects, 0);

    // Revoked token: worked before, HTML after; other tokens unaffected.
    let dup = rec.with_fresh_token();
    let ok = c
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::FOUND);
    sim.revoke_token(&rec.download_token);
    assert_html_refusal(
        c.get(&f.download_url)
            .bearer_auth(&rec.download_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let ok = c
        .get(&f.download_url)
        .bearer_auth(&dup.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::FOUND);

    // Faults: Html200 even with a good token; Deleted.
    sim.set_fault(&f.id, Fault::Html200);
    assert_html_refusal(
        c.get(&f.download_url)
            .bearer_auth(&dup.download_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    sim.clear_fault(&f.id);
    assert_eq!(
        c.get(&f.download_url)
            .bearer_auth(&dup.download_token)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FOUND
    );
    sim.set_fault(&f.id, Fault::Deleted);
    assert_html_refusal(
        c.get(&f.download_url)
            .bearer_auth(&dup.download_token)
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Following redirects does not help: the client still gets 200 + HTML.
    assert_html_refusal(
        client()
            .get(&rec.media_files()[1].download_url)
            .bearer_auth("bad")
            .send()
            .await
            .unwrap(),
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limit_then_success_and_server_error() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "429").await;
    let f = &rec.media_files()[2];
    sim.set_fault(
        &f.id,
        Fault::RateLimited {
            times: 2,
            retry_after_secs: 1,
        },
    );
    for _ in 0..2 {
        let r = client()
            .get(&f.download_url)
            .bearer_auth(&rec.download_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()["retry-after"], "1");
        assert_eq!(r.headers()["x-ratelimit-type"], "QPS");
        assert!(
            r.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], 429);
        assert!(v["message"].as_str().unwrap().contains("rate limit"));
    }
    let (status, _, _, sha, _) = download(&f.download_url, &rec.download_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sha, f.sha256);
    let st = sim.stats(&f.id);
    assert_eq!(
        (st.rate_limited, st.download_requests, st.redirects),
        (2, 3, 1)
    );

    sim.set_fault(&f.id, Fault::ServerError { times: 1 });
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let (status, _, _, sha, _) = download(&f.download_url, &rec.download_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sha, f.sha256);
    assert_eq!(sim.stats(&f.id).server_errors, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn drop_after_cuts_the_body_short() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "drop").await;
    let f = &rec.media_files()[0];
    assert!(f.size > 100 * KIB);
    sim.set_fault(
        &f.id,
        Fault::DropAfter {
            bytes: 70_000,
            times: 1,
        },
    );

    let resp = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.content_length(), Some(f.size), "full length promised");
    let mut got = Vec::new();
    let mut stream = resp.bytes_stream();
    let mut error = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => got.extend_from_slice(&c),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(error.is_some(), "reqwest reports the short body");
    assert_eq!(got.len(), 70_000);
    assert_eq!(got, f.bytes_at(0, 70_000));
    let st = sim.stats(&f.id);
    assert_eq!(st.dropped_connections, 1);
    assert_eq!(st.complete_bodies, 0);

    // bytes() also errors on a short body.
    sim.set_fault(
        &f.id,
        Fault::DropAfter {
            bytes: 10,
            times: 1,
        },
    );
    let resp = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert!(resp.bytes().await.is_err());

    // The fault is used up: the next download is whole.
    let (status, _, _, sha, n) = download(&f.download_url, &rec.download_token).await;
    assert_eq!((status, n), (StatusCode::OK, f.size));
    assert_eq!(sha, f.sha256);
    sim.shutdown().await;
}

#[tokio::test]
async fn range_requests_resume() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "range").await;
    let f = &rec.media_files()[1];
    let start = 12_345u64;

    // Range survives the redirect (reqwest keeps non-sensitive headers).
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .header(RANGE, format!("bytes={start}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        r.headers()[CONTENT_RANGE].to_str().unwrap(),
        format!("bytes {start}-{}/{}", f.size - 1, f.size)
    );
    assert_eq!(
        r.headers()[CONTENT_LENGTH].to_str().unwrap(),
        (f.size - start).to_string()
    );
    let tail = r.bytes().await.unwrap();
    assert_eq!(tail.len() as u64, f.size - start);
    // Head (first `start` bytes) + tail = the whole file.
    let mut whole = f.bytes_at(0, start as usize);
    whole.extend_from_slice(&tail);
    assert_eq!(sha_hex(&whole), f.sha256);

    // Resume after a drop.
    sim.set_fault(
        &f.id,
        Fault::DropAfter {
            bytes: 5_000,
            times: 1,
        },
    );
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut s = r.bytes_stream();
    while let Some(Ok(c)) = s.next().await {
        got.extend_from_slice(&c);
    }
    assert_eq!(got.len(), 5_000);
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .header(RANGE, format!("bytes={}-", got.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    got.extend_from_slice(&r.bytes().await.unwrap());
    assert_eq!(sha_hex(&got), f.sha256);

    // Past the end: 416.
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .header(RANGE, format!("bytes={}-", f.size))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(sim.stats(&f.id).range_requests, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_start_delays_the_cdn() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "slow").await;
    let f = &rec.media_files()[3];
    sim.set_fault(&f.id, Fault::SlowStart { millis: 300 });
    let t0 = Instant::now();
    let (status, _, _, sha, _) = download(&f.download_url, &rec.download_token).await;
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sha, f.sha256);
    sim.shutdown().await;
}

#[tokio::test]
async fn throttle_paces_every_body_and_bodies_are_logged() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::single_mp4("throttle", 640 * KIB + 17));
    let f = &rec.media_files()[0];
    // 10 blocks of 64 KiB and a few bytes at 1 MiB/s: the last block is due after ~0.6 s.
    sim.set_fault(
        &f.id,
        Fault::Throttle {
            bytes_per_sec: 1024 * KIB,
        },
    );
    let t0 = Instant::now();
    let (status, _, _, sha, n) = download(&f.download_url, &rec.download_token).await;
    let took = t0.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert_eq!((n, sha.as_str()), (f.size, f.sha256.as_str()));
    assert!(took >= Duration::from_millis(600), "{took:?}");

    // A resume is paced from its own start, and logged with where it began.
    let start = 512 * KIB;
    let t0 = Instant::now();
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .header(RANGE, format!("bytes={start}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().len() as u64, f.size - start);
    let took = t0.elapsed();
    assert!(
        (Duration::from_millis(120)..Duration::from_secs(5)).contains(&took),
        "{took:?}"
    );

    // A body the client stops reading is logged with what was handed over by then.
    sim.set_fault(
        &f.id,
        Fault::Throttle {
            bytes_per_sec: 64 * KIB,
        },
    );
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    let mut s = r.bytes_stream();
    let first = s.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    drop(s);

    let st = sim.stats(&f.id);
    assert_eq!(st.bodies.len(), 3);
    assert_eq!(
        (st.bodies[0].start, st.bodies[0].bytes),
        (0, f.size),
        "{:?}",
        st.bodies
    );
    assert_eq!(
        (st.bodies[1].start, st.bodies[1].bytes),
        (start, f.size - start)
    );
    assert_eq!(st.bodies[2].start, 0);
    assert!(
        st.bodies[2].bytes < f.size / 2,
        "an abandoned body kept streaming: {:?}",
        st.bodies
    );
    assert_eq!(st.complete_bodies, 2);
    assert_eq!(
        st.bytes_served,
        st.bodies.iter().map(|b| b.bytes).sum::<u64>()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn meeting_recordings_lookup_with_double_encoded_uuid() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "api").await;
    assert!(rec.uuid.starts_with('/') && rec.uuid.contains("//"));
    let api = sim.issue_api_token();
    let url = |id: &str, q: &str| format!("{}/v2/meetings/{id}/recordings{q}", sim.api_base());
    let double = encode_meeting_id(&rec.uuid);
    assert!(double.contains("%252F"));

    let r = client()
        .get(url(
            &double,
            "?include_fields=download_access_token&ttl=3600",
        ))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["uuid"], rec.uuid.as_str());
    assert_eq!(v["id"].as_u64(), Some(rec.meeting_id));
    assert_eq!(v["type"], "8", "REST gives type as a string");
    assert_eq!(
        v["recording_files"].as_array().unwrap().len(),
        8,
        "transcript included"
    );
    let fresh = v["download_access_token"].as_str().unwrap().to_owned();
    let exp = zoom_sim::jwt_exp(&fresh).unwrap();
    assert!((zoom_sim::unix_now() + 3500..=zoom_sim::unix_now() + 3700).contains(&exp));

    // The fresh token replaces a revoked webhook token.
    let f = &rec.media_files()[0];
    sim.revoke_token(&rec.download_token);
    let (_, ct, _, _, _) = download(&f.download_url, &rec.download_token).await;
    assert!(ct.starts_with("text/html"));
    let (status, _, _, sha, _) = download(&f.download_url, &fresh).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sha, f.sha256);

    // Without include_fields: no token.
    let v: Value = client()
        .get(url(&double, ""))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v.get("download_access_token").is_none());

    // Encoded once, unencoded, or wrong: 404 / 3301.
    let once = percent_encode_all(&rec.uuid);
    for id in [once.as_str(), "%252FnotThere%252F%252Fxx%253D%253D", "zzzz"] {
        let r = client()
            .get(url(id, ""))
            .bearer_auth(&api)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{id}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], 3301);
        assert_eq!(v["message"], "This recording does not exist.");
    }

    // Auth: a download token is not an API token; no token; query token.
    for tok in [Some(rec.transcript_download_token.as_str()), None] {
        let mut req = client().get(url(&double, ""));
        if let Some(t) = tok {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], 124);
    }
    let r = client()
        .get(url(&double, &format!("?access_token={api}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Bad ttl.
    let r = client()
        .get(url(&double, "?ttl=604801"))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Deleted files drop out of the listing.
    sim.set_fault(&f.id, Fault::Deleted);
    let v: Value = client()
        .get(url(&double, ""))
        .bearer_auth(&api)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["recording_files"].as_array().unwrap().len(), 7);
    sim.shutdown().await;
}

#[tokio::test]
async fn numeric_meeting_id_finds_only_the_latest_instance() {
    let sim = ZoomSim::start().await.unwrap();
    let api = sim.issue_api_token();
    let early = RecordingSpec::realistic("inst-1", 4 * KIB);
    let mut late = RecordingSpec::realistic("inst-2", 4 * KIB);
    late.meeting_id = early.meeting_id;
    late.start_time = early.start_time + chrono::Duration::days(7);
    let harmless_uuid = "Qk3x8ZfWTc2e1Q+hLq0aBg==".to_owned(); // no leading '/', no '//'
    late.uuid = harmless_uuid.clone();
    sim.add_recording(early.clone());
    sim.add_recording(late);
    let get = |id: String| {
        let api = api.clone();
        let base = sim.api_base();
        async move {
            client()
                .get(format!("{base}/v2/meetings/{id}/recordings"))
                .bearer_auth(api)
                .send()
                .await
                .unwrap()
        }
    };
    let v: Value = get(early.meeting_id.to_string())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["uuid"], harmless_uuid.as_str());
    // A harmless uuid works single-encoded too.
    let r = get(encode_meeting_id(&harmless_uuid)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = get(percent_encode_all(&harmless_uuid)).await;
    assert_eq!(r.status(), StatusCode::OK);
    sim.shutdown().await;
}

#[tokio::test]
async fn deliver_signs_like_zoom() {
    use axum::http::HeaderMap;
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Option<(HeaderMap, String)>>> = Arc::default();
    let seen2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: HeaderMap, body: String| {
            let seen = seen2.clone();
            async move {
                *seen.lock().unwrap() = Some((h, body));
                (axum::http::StatusCode::OK, "thanks")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "hook").await;
    let body = rec.recording_completed_body();
    let ts = zoom_sim::unix_now();
    let (status, text) = zoom_sim::deliver(
        &client(),
        &format!("http://{addr}/hook"),
        "s3cret",
        ts,
        &body,
    )
    .await
    .unwrap();
    assert_eq!((status, text.as_str()), (200, "thanks"));
    let (h, got) = seen.lock().unwrap().take().unwrap();
    assert_eq!(got, body, "raw body byte for byte");
    assert_eq!(h["x-zm-request-timestamp"], ts.to_string().as_str());
    assert_eq!(
        h["x-zm-signature"],
        zoom_sim::sign("s3cret", ts, body.as_bytes()).as_str()
    );
    assert!(h["x-zm-trackingid"].to_str().unwrap().contains("rid="));
    assert!(
        h["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(h["user-agent"], zoom_sim::ZOOM_USER_AGENT);
    // Non-ASCII topic travels as UTF-8.
    assert!(got.contains("Übung"));

    // url_validation helpers.
    let plain = zoom_sim::random_plain_token();
    let vbody = zoom_sim::url_validation_body(&plain);
    let v: Value = serde_json::from_str(&vbody).unwrap();
    assert_eq!(v["payload"]["plainToken"], plain.as_str());
    assert_eq!(
        zoom_sim::expected_encrypted_token("s3cret", &plain).len(),
        64
    );
    server.abort();
    sim.shutdown().await;
}

#[tokio::test]
async fn custom_spec_and_multi_mib_file() {
    let sim = ZoomSim::start().await.unwrap();
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T14:00:00Z")
        .unwrap()
        .to_utc();
    let spec = RecordingSpec {
        account_id: "ACCT123".into(),
        host_id: "HOSTid1".into(),
        host_email: "host@example.org".into(),
        topic: "Big one".into(),
        meeting_id: 81_234_567_890,
        uuid: "/Ab+cd//EfGh==".into(),
        object_type: 5,
        start_time: t0,
        timezone: "America/New_York".into(),
        files: vec![FileSpec {
            id: "big-1".into(),
            file_type: "MP4".into(),
            file_extension: "MP4".into(),
            recording_type: "shared_screen_with_speaker_view(CC)".into(),
            recording_start: t0,
            recording_end: t0 + chrono::Duration::minutes(50),
            size: 5 * 1024 * 1024 + 4_321,
            seed: 42,
        }],
        people: Default::default(),
    };
    let rec = sim.add_recording(spec.clone());
    assert_eq!(rec.spec(), spec);
    assert!(rec.transcript_file().is_none());
    let f = &rec.files()[0];
    let (status, ct, len, sha, n) = download(&f.download_url, &rec.download_token).await;
    assert_eq!(
        (status, ct.as_str(), len, n),
        (StatusCode::OK, "video/mp4", Some(f.size), f.size)
    );
    assert_eq!(sha, f.sha256);
    let st = sim.stats("big-1");
    assert_eq!(
        (st.auth_leaks, st.bytes_served, st.complete_bodies),
        (0, f.size, 1)
    );

    // The object is a webinar; a second sim gives the same hash (determinism).
    let v: Value = serde_json::from_str(&rec.recording_completed_body()).unwrap();
    assert_eq!(v["payload"]["object"]["type"], 5);
    let sim2 = ZoomSim::start().await.unwrap();
    assert_eq!(sim2.add_recording(spec).files()[0].sha256, f.sha256);
    sim.shutdown().await;
    sim2.shutdown().await;
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sim = ZoomSim::start().await.unwrap();
    let base = sim.api_base();
    sim.shutdown().await;
    let r = client().get(format!("{base}/rec/download/x")).send().await;
    assert!(r.is_err());
}

// ---------------------------------------------------------------------------------------
// Server-to-Server OAuth, API faults

/// `POST /oauth/token` with the parameters in the query string.
async fn token_request(sim: &ZoomSim, auth: Option<&str>, query: &str) -> reqwest::Response {
    let mut req = client().post(format!("{}?{query}", sim.oauth_token_url()));
    if let Some(a) = auth {
        req = req.header(reqwest::header::AUTHORIZATION, a);
    }
    req.send().await.unwrap()
}

/// A fresh S2S access token from the token endpoint.
async fn s2s_token(sim: &ZoomSim) -> String {
    let app = sim.s2s_app();
    let r = token_request(
        sim,
        Some(&app.basic_auth()),
        &format!(
            "grant_type=account_credentials&account_id={}",
            app.account_id
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `GET /v2/meetings/{id}/recordings` with a bearer token.
async fn lookup(sim: &ZoomSim, rec: &SimRecording, token: &str) -> reqwest::Response {
    client()
        .get(format!(
            "{}/v2/meetings/{}/recordings",
            sim.api_base(),
            encode_meeting_id(&rec.uuid)
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

/// Seconds from now to an IMF-fixdate `Retry-After`.
fn secs_until_http_date(v: &str) -> i64 {
    assert!(v.ends_with(" GMT") && v.len() == 29, "{v}");
    let t = chrono::DateTime::parse_from_rfc2822(v).unwrap();
    t.timestamp() - zoom_sim::unix_now()
}

#[tokio::test]
async fn s2s_token_grant_with_good_and_bad_credentials() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "s2s").await;
    let app = sim.s2s_app();
    assert_eq!(app.client_id.len(), 22);
    assert!(
        !format!("{app:?}").contains(&app.client_secret),
        "Debug hides the secret"
    );
    let good_q = format!(
        "grant_type=account_credentials&account_id={}",
        app.account_id
    );

    // Parameters in the query string.
    let r = token_request(&sim, Some(&app.basic_auth()), &good_q).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        header(&r, "content-type")
            .unwrap()
            .starts_with("application/json")
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["api_url"], sim.api_base().as_str());
    assert!(
        v["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "cloud_recording:read:list_recording_files:admin")
    );
    let token = v["access_token"].as_str().unwrap().to_owned();
    let exp = zoom_sim::jwt_exp(&token).unwrap();
    assert!((zoom_sim::unix_now() + 3590..=zoom_sim::unix_now() + 3610).contains(&exp));
    assert_eq!(lookup(&sim, &rec, &token).await.status(), StatusCode::OK);
    // An API token also opens downloads.
    let f = &rec.media_files()[0];
    let (status, _, _, sha, _) = download(&f.download_url, &token).await;
    assert_eq!((status, sha.as_str()), (StatusCode::OK, f.sha256.as_str()));

    // Parameters as a form body.
    let r = client()
        .post(sim.oauth_token_url())
        .header(reqwest::header::AUTHORIZATION, app.basic_auth())
        .form(&[
            ("grant_type", "account_credentials"),
            ("account_id", app.account_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let form_token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(form_token, token);
    assert_eq!(
        lookup(&sim, &rec, &form_token).await.status(),
        StatusCode::OK
    );

    // Bad client credentials: 401 invalid_client.
    let b64 = |s: String| {
        format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s)
        )
    };
    let wrong_secret = b64(format!("{}:nope", app.client_id));
    let wrong_client = b64(format!("nope:{}", app.client_secret));
    for auth in [
        Some(wrong_secret.as_str()),
        Some(wrong_client.as_str()),
        None,
    ] {
        let r = token_request(&sim, auth, &good_q).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], "invalid_client");
        assert_eq!(v["reason"], "Invalid client_id or client_secret");
    }
    // Wrong grant, missing grant, wrong or missing account: 400.
    for (q, error) in [
        (
            format!(
                "grant_type=client_credentials&account_id={}",
                app.account_id
            ),
            "unsupported_grant_type",
        ),
        (format!("account_id={}", app.account_id), "invalid_request"),
        (
            "grant_type=account_credentials&account_id=other".to_owned(),
            "invalid_request",
        ),
        (
            "grant_type=account_credentials".to_owned(),
            "invalid_request",
        ),
    ] {
        let r = token_request(&sim, Some(&app.basic_auth()), &q).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], error, "{q}");
        assert!(v["reason"].is_string());
    }

    // Account id and ttl are configurable.
    sim.set_s2s_account("acct-fixed");
    assert_eq!(
        token_request(&sim, Some(&app.basic_auth()), &good_q)
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    sim.set_api_token_ttl(120);
    let r = token_request(
        &sim,
        Some(&app.basic_auth()),
        "grant_type=account_credentials&account_id=acct-fixed",
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["expires_in"], 120);
    let exp = zoom_sim::jwt_exp(v["access_token"].as_str().unwrap()).unwrap();
    assert!((zoom_sim::unix_now() + 110..=zoom_sim::unix_now() + 130).contains(&exp));

    let st = sim.api_stats();
    assert_eq!(st.token_requests, 11);
    assert_eq!(st.tokens_issued, 3);
    assert_eq!(st.token_refusals, 8);
    assert_eq!(st.api_requests, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn expired_api_tokens_get_401_until_refreshed() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "expire").await;
    let t1 = s2s_token(&sim).await;
    let t2 = sim.issue_api_token();
    for t in [&t1, &t2] {
        assert_eq!(lookup(&sim, &rec, t).await.status(), StatusCode::OK);
    }
    sim.expire_api_tokens();
    for t in [&t1, &t2] {
        let r = lookup(&sim, &rec, t).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], 124);
        assert_eq!(v["message"], "Access token is expired.");
    }
    // Downloads with an expired API token get the HTML page; webhook tokens still work.
    let f = &rec.media_files()[0];
    let (_, ct, _, _, _) = download(&f.download_url, &t1).await;
    assert!(ct.starts_with("text/html"), "{ct}");
    let (status, ct, _, _, _) = download(&f.download_url, &rec.download_token).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "video/mp4"));
    // A revoked token is "invalid", not "expired".
    let t3 = s2s_token(&sim).await;
    assert_eq!(lookup(&sim, &rec, &t3).await.status(), StatusCode::OK);
    sim.revoke_token(&t3);
    let v: Value = lookup(&sim, &rec, &t3).await.json().await.unwrap();
    assert_eq!(v["message"], "Invalid access token.");
    // A refreshed token works.
    let t4 = s2s_token(&sim).await;
    assert_eq!(lookup(&sim, &rec, &t4).await.status(), StatusCode::OK);
    // Born expired (ttl ≤ 0).
    sim.set_api_token_ttl(-5);
    let t5 = s2s_token(&sim).await;
    assert_eq!(
        lookup(&sim, &rec, &t5).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let st = sim.api_stats();
    assert_eq!((st.api_requests, st.api_unauthorized), (8, 4));
    assert_eq!((st.token_requests, st.tokens_issued), (4, 4));
    sim.shutdown().await;
}

#[tokio::test]
async fn api_faults_on_the_rest_api() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "apifault").await;
    let token = sim.issue_api_token();

    // QPS, Retry-After in seconds, twice; then OK.
    sim.set_api_fault(ApiFault::RateLimited {
        times: 2,
        retry_after: RetryAfter::Secs(2),
    });
    for _ in 0..2 {
        let r = lookup(&sim, &rec, &token).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&r, "retry-after").as_deref(), Some("2"));
        assert_eq!(header(&r, "x-ratelimit-type").as_deref(), Some("QPS"));
        assert_eq!(r.json::<Value>().await.unwrap()["code"], 429);
    }
    assert_eq!(lookup(&sim, &rec, &token).await.status(), StatusCode::OK);

    // QPS, Retry-After as an HTTP date.
    sim.set_api_fault(ApiFault::RateLimited {
        times: 1,
        retry_after: RetryAfter::HttpDate(90),
    });
    let r = lookup(&sim, &rec, &token).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let d = secs_until_http_date(&header(&r, "retry-after").unwrap());
    assert!((85..=91).contains(&d), "{d}");
    // RFC 3339 timestamp; no header at all.
    sim.set_api_fault(ApiFault::RateLimited {
        times: 1,
        retry_after: RetryAfter::Timestamp(60),
    });
    let r = lookup(&sim, &rec, &token).await;
    let v = header(&r, "retry-after").unwrap();
    let t = chrono::DateTime::parse_from_rfc3339(&v).unwrap();
    assert!(v.ends_with('Z') && (55..=61).contains(&(t.timestamp() - zoom_sim::unix_now())));
    sim.set_api_fault(ApiFault::RateLimited {
        times: 1,
        retry_after: RetryAfter::Omitted,
    });
    let r = lookup(&sim, &rec, &token).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(header(&r, "retry-after").is_none());

    // Daily limit: seconds to the next UTC midnight by default, or as configured.
    sim.set_api_fault(ApiFault::DailyLimit { times: 2 });
    let r = lookup(&sim, &rec, &token).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&r, "x-ratelimit-type").as_deref(),
        Some("Daily-limit")
    );
    let secs: i64 = header(&r, "retry-after").unwrap().parse().unwrap();
    let to_midnight = 86_400 - zoom_sim::unix_now().rem_euclid(86_400);
    assert!((to_midnight..=to_midnight + 2).contains(&secs), "{secs}");
    assert!(
        r.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("daily")
    );
    sim.set_daily_limit_retry_after(Some(RetryAfter::Secs(1)));
    let r = lookup(&sim, &rec, &token).await;
    assert_eq!(header(&r, "retry-after").as_deref(), Some("1"));
    assert_eq!(lookup(&sim, &rec, &token).await.status(), StatusCode::OK);

    // 503, 500.
    sim.set_api_fault(ApiFault::ServerError { times: 1 });
    assert_eq!(
        lookup(&sim, &rec, &token).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    sim.set_api_fault(ApiFault::InternalError { times: 1 });
    assert_eq!(
        lookup(&sim, &rec, &token).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    // 401 with a good token.
    sim.set_api_fault(ApiFault::Unauthorized { times: 1 });
    let r = lookup(&sim, &rec, &token).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 124);
    assert_eq!(lookup(&sim, &rec, &token).await.status(), StatusCode::OK);
    // Cleared faults do nothing; downloads never see API faults.
    sim.set_api_fault(ApiFault::ServerError { times: 5 });
    sim.clear_api_fault();
    assert_eq!(lookup(&sim, &rec, &token).await.status(), StatusCode::OK);
    sim.set_api_fault(ApiFault::ServerError { times: 5 });
    let f = &rec.media_files()[0];
    let (status, _, _, sha, _) = download(&f.download_url, &token).await;
    assert_eq!((status, sha.as_str()), (StatusCode::OK, f.sha256.as_str()));
    sim.clear_api_fault();

    let st = sim.api_stats();
    assert_eq!(st.api_requests, 14);
    assert_eq!(st.api_rate_limited, 7);
    assert_eq!(st.api_daily_limited, 2);
    assert_eq!(st.api_server_errors, 2);
    assert_eq!(st.api_unauthorized, 1);
    assert_eq!(st.token_requests, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_faults() {
    let sim = ZoomSim::start().await.unwrap();
    let app = sim.s2s_app();
    let q = format!(
        "grant_type=account_credentials&account_id={}",
        app.account_id
    );
    sim.set_token_fault(ApiFault::RateLimited {
        times: 1,
        retry_after: RetryAfter::Secs(3),
    });
    let r = token_request(&sim, Some(&app.basic_auth()), &q).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "retry-after").as_deref(), Some("3"));
    sim.set_token_fault(ApiFault::ServerError { times: 1 });
    let r = token_request(&sim, Some(&app.basic_auth()), &q).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    sim.set_token_fault(ApiFault::Unauthorized { times: 1 });
    let r = token_request(&sim, Some(&app.basic_auth()), &q).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    // Used up: the next request gets a token; the REST API was never affected.
    let token = s2s_token(&sim).await;
    let rec = small(&sim, "tokfault").await;
    assert_eq!(lookup(&sim, &rec, &token).await.status(), StatusCode::OK);
    let st = sim.api_stats();
    assert_eq!(
        (
            st.token_requests,
            st.tokens_issued,
            st.token_refusals,
            st.api_rate_limited,
            st.api_server_errors
        ),
        (4, 1, 1, 1, 1)
    );
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// New per-file faults

#[tokio::test]
async fn ignore_range_answers_200_with_the_whole_body() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "ignrange").await;
    let f = &rec.media_files()[0];
    sim.set_fault(&f.id, Fault::IgnoreRange);
    for range in [
        "bytes=1000-",
        "bytes=0-9",
        format!("bytes={}-", f.size).as_str(),
    ] {
        let r = client()
            .get(&f.download_url)
            .bearer_auth(&rec.download_token)
            .header(RANGE, range)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{range}");
        assert!(r.headers().get(CONTENT_RANGE).is_none());
        assert_eq!(r.content_length(), Some(f.size));
        assert_eq!(sha_hex(&r.bytes().await.unwrap()), f.sha256);
    }
    let st = sim.stats(&f.id);
    assert_eq!(
        (st.ignored_ranges, st.range_requests, st.complete_bodies),
        (3, 0, 3)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unauthorized_fault_answers_401_json() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "unauth").await;
    let f = &rec.media_files()[0];
    sim.set_fault(&f.id, Fault::Unauthorized { times: 2 });
    for _ in 0..2 {
        let r = no_redirect_client()
            .get(&f.download_url)
            .bearer_auth(&rec.download_token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(
            header(&r, "content-type")
                .unwrap()
                .starts_with("application/json")
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            v,
            serde_json::json!({"code":124,"message":"Invalid access token."})
        );
    }
    let (status, _, _, sha, _) = download(&f.download_url, &rec.download_token).await;
    assert_eq!((status, sha.as_str()), (StatusCode::OK, f.sha256.as_str()));
    let st = sim.stats(&f.id);
    assert_eq!(
        (st.unauthorized, st.download_requests, st.redirects),
        (2, 3, 1)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn html_disguised_as_binary_arrives_one_byte_first() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "disguise").await;
    let f = &rec.media_files()[0];
    sim.set_fault(&f.id, Fault::HtmlDisguised);
    let mut r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert!(r.content_length().is_none());
    let first = r.chunk().await.unwrap().unwrap();
    assert_eq!(&first[..], &[0xEF], "first chunk is exactly one byte");
    let mut body = first.to_vec();
    let mut chunks = 1;
    while let Some(c) = r.chunk().await.unwrap() {
        body.extend_from_slice(&c);
        chunks += 1;
    }
    assert!(chunks > 3, "{chunks}");
    assert!(body.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    let text = std::str::from_utf8(&body[3..]).unwrap();
    assert!(text.trim_start().starts_with("<!DOCTYPE html>"), "{text}");
    assert!(text.starts_with(|c: char| c.is_whitespace()));
    assert!(text.contains("Only the host can download this recording"));
    let st = sim.stats(&f.id);
    assert_eq!(
        (st.disguised_html, st.html_responses, st.cdn_requests),
        (1, 1, 0)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn rate_limited_with_an_http_date() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "429date").await;
    let f = &rec.media_files()[0];
    sim.set_fault(&f.id, Fault::RateLimitedDate { times: 1, secs: 30 });
    let r = no_redirect_client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let d = secs_until_http_date(&header(&r, "retry-after").unwrap());
    assert!((25..=31).contains(&d), "{d}");
    let (status, _, _, sha, _) = download(&f.download_url, &rec.download_token).await;
    assert_eq!((status, sha.as_str()), (StatusCode::OK, f.sha256.as_str()));
    assert_eq!(sim.stats(&f.id).rate_limited, 1);
    assert_eq!(
        zoom_sim::http_date(1_796_119_200),
        "Tue, 01 Dec 2026 10:00:00 GMT"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn truncated_object_is_a_clean_short_body() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "trunc").await;
    let f = &rec.media_files()[0];
    let short = 20_000u64;
    assert!(f.size > short);
    sim.set_fault(&f.id, Fault::Truncated { bytes: short });
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.content_length(), Some(short));
    let body = r.bytes().await.expect("clean end, no transport error");
    assert_eq!(body.len() as u64, short);
    assert_eq!(&body[..], &f.bytes_at(0, short as usize)[..]);

    // Ranges are served against the short object.
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .header(RANGE, "bytes=15000-")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&r, "content-range").unwrap(),
        format!("bytes 15000-{}/{short}", short - 1)
    );
    assert_eq!(r.bytes().await.unwrap().len(), 5_000);
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .header(RANGE, format!("bytes={short}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        header(&r, "content-range").unwrap(),
        format!("bytes */{short}")
    );
    let st = sim.stats(&f.id);
    assert_eq!((st.truncated_bodies, st.complete_bodies), (2, 0));
    sim.shutdown().await;
}

#[tokio::test]
async fn drop_after_forever_cuts_every_response_relative_to_its_range() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "dropall").await;
    let f = &rec.media_files()[0];
    let step = 7_000u64;
    sim.set_fault(
        &f.id,
        Fault::DropAfter {
            bytes: step,
            times: u32::MAX,
        },
    );
    let mut got: Vec<u8> = Vec::new();
    let mut responses = 0u64;
    while (got.len() as u64) < f.size {
        let mut req = client()
            .get(&f.download_url)
            .bearer_auth(&rec.download_token);
        if !got.is_empty() {
            req = req.header(RANGE, format!("bytes={}-", got.len()));
        }
        let r = req.send().await.unwrap();
        let before = got.len() as u64;
        let mut s = r.bytes_stream();
        let mut failed = false;
        while let Some(c) = s.next().await {
            match c {
                Ok(c) => got.extend_from_slice(&c),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        responses += 1;
        let n = got.len() as u64 - before;
        if failed {
            assert_eq!(n, step, "cut {step} bytes after offset {before}");
        } else {
            assert_eq!(got.len() as u64, f.size);
            assert!(n <= step);
        }
        assert!(responses < 1_000);
    }
    assert_eq!(sha_hex(&got), f.sha256);
    assert_eq!(responses, f.size.div_ceil(step));
    let st = sim.stats(&f.id);
    assert_eq!(st.dropped_connections, responses - 1);
    // Still armed.
    let again = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert!(again.bytes().await.is_err());
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Sparse (cheap) content for very large files

#[tokio::test]
async fn sparse_4_gib_file_is_served_fast() {
    let sim = ZoomSim::start().await.unwrap();
    let size = 4 * 1024 * 1024 * 1024 + 12_345;
    let t0 = Instant::now();
    let rec = sim.add_recording_sparse(RecordingSpec::single_mp4("huge", size));
    let add_time = t0.elapsed();
    let f = &rec.files()[0];
    assert_eq!((f.size, f.content_kind()), (size, ContentKind::Sparse));
    assert_eq!(f.content_type, "video/mp4");
    assert_eq!(sim.file_sha256(&f.id).as_deref(), Some(f.sha256.as_str()));
    assert_eq!(sim.file_sha256("nope"), None);

    // The start is an MP4 `ftyp` box, not HTML-like.
    let head = f.bytes_at(0, 12);
    assert_eq!(&head[4..12], b"ftypisom");

    // The last 10 bytes by Range.
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .header(RANGE, format!("bytes={}-", size - 10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&r, "content-range").unwrap(),
        format!("bytes {}-{}/{size}", size - 10, size - 1)
    );
    let tail = r.bytes().await.unwrap();
    assert_eq!(&tail[..], &f.bytes_at(size - 10, 10)[..]);

    // The whole file through the redirect, hashed as it streams (a generous timeout:
    // other builds may share the machine).
    let t1 = Instant::now();
    let resp = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.content_length(), Some(size));
    let mut hasher = Sha256::new();
    let mut n = 0u64;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        n += chunk.len() as u64;
        hasher.update(&chunk);
    }
    let dl_time = t1.elapsed();
    assert_eq!(n, size);
    assert_eq!(hex::encode(hasher.finalize()), f.sha256);
    eprintln!("sparse 4 GiB: add_recording {add_time:?}, download+hash {dl_time:?}");

    // A second registration of the same content reuses the cached hash.
    let t2 = Instant::now();
    let again = sim.add_recording_sparse(RecordingSpec::single_mp4("huge", size));
    assert!(t2.elapsed() < Duration::from_secs(1));
    assert_eq!(again.files()[0].sha256, f.sha256);
    sim.shutdown().await;
}

#[tokio::test]
async fn add_recording_with_chooses_content_kinds() {
    let sim = ZoomSim::start().await.unwrap();
    let spec = RecordingSpec::realistic("kinds", 16 * KIB);
    let rec = sim.add_recording_sparse(spec.clone());
    for f in rec.files() {
        let natural = ContentKind::for_file(&f.file_type, &f.file_extension);
        let expected = if natural == ContentKind::Binary {
            ContentKind::Sparse
        } else {
            natural
        };
        assert_eq!(f.content_kind(), expected, "{}", f.file_type);
        let token = if f.is_transcript {
            &rec.transcript_download_token
        } else {
            &rec.download_token
        };
        let (status, _, _, sha, n) = download(&f.download_url, token).await;
        assert_eq!((status, n), (StatusCode::OK, f.size));
        assert_eq!(sha, f.sha256);
    }
    let plain = sim.add_recording_with(spec, |_| ContentKind::Binary);
    assert!(
        plain
            .files()
            .iter()
            .all(|f| f.content_kind() == ContentKind::Binary)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn debug_output_hides_tokens() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "debug").await;
    let dbg = format!("{rec:?}");
    assert!(!dbg.contains(&rec.download_token), "{dbg}");
    assert!(!dbg.contains(&rec.transcript_download_token));
    let app = sim.s2s_app();
    assert!(!format!("{app:?}").contains(&app.client_secret));
    assert!(!format!("{sim:?}").contains(&app.client_secret));
    sim.shutdown().await;
}

/// Encode every non-alphanumeric character once.
fn percent_encode_all(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Deletion, changes after registration, deletion webhooks, token revocation

/// `DELETE /v2/meetings/{id}/recordings[/{file}]{query}` with an optional bearer token.
async fn delete_req(
    sim: &ZoomSim,
    id: &str,
    file: Option<&str>,
    query: &str,
    token: Option<&str>,
) -> reqwest::Response {
    let mut url = format!("{}/v2/meetings/{id}/recordings", sim.api_base());
    if let Some(f) = file {
        url.push('/');
        url.push_str(f);
    }
    url.push_str(query);
    let mut req = client().delete(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

/// Asserts Zoom's "no recording" answer: 404 with code 3301.
async fn assert_3301(r: reqwest::Response) {
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], 3301, "{v}");
    assert_eq!(v["message"], "This recording does not exist.");
}

/// The file ids the REST listing holds now (panics unless it answers 200).
async fn listed_files(sim: &ZoomSim, rec: &SimRecording, token: &str) -> Vec<(String, u64)> {
    let r = lookup(sim, rec, token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["recording_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["file_size"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn delete_trash_removes_every_file_and_a_second_delete_is_3301() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "del-trash").await;
    let other = small(&sim, "del-other").await;
    let api = sim.issue_api_token();
    let id = encode_meeting_id(&rec.uuid);
    // A CDN URL obtained before the deletion.
    let f = &rec.media_files()[0];
    let r = no_redirect_client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let cdn_url = r.headers()[LOCATION].to_str().unwrap().to_owned();

    let before = chrono::Utc::now();
    let r = delete_req(&sim, &id, None, "?action=trash", Some(&api)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.bytes().await.unwrap().is_empty());

    assert_3301(lookup(&sim, &rec, &api).await).await;
    assert_3301(delete_req(&sim, &id, None, "?action=trash", Some(&api)).await).await;
    assert_3301(delete_req(&sim, &id, None, "?action=delete", Some(&api)).await).await;
    for f in rec.files() {
        assert_eq!(sim.file_status(&f.id), Some(zoom_sim::FileStatus::Trashed));
    }
    // Downloads: the "does not exist" page; the old CDN URL: 404.
    let r = client()
        .get(&f.download_url)
        .bearer_auth(&rec.download_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("This recording does not exist.")
    );
    assert_eq!(
        client().get(&cdn_url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    // Another recording is untouched.
    assert_eq!(listed_files(&sim, &other, &api).await.len(), 8);
    assert_eq!(
        sim.file_status(&other.files()[0].id),
        Some(zoom_sim::FileStatus::Available)
    );
    assert_eq!(sim.file_status("no-such-file"), None);

    let calls = sim.deletions();
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        vec![204, 404, 404]
    );
    for c in &calls {
        assert_eq!(c.uuid, rec.uuid);
        assert_eq!(c.raw_meeting_id, id);
        assert_eq!(c.file_id, None);
        assert!(!c.injected);
        assert!(c.at >= before && c.at <= chrono::Utc::now());
    }
    assert_eq!(calls[0].action.as_deref(), Some("trash"));
    assert_eq!(calls[2].action.as_deref(), Some("delete"));
    assert_eq!(calls[0].clone(), calls[0]);
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_actions_delete_missing_and_invalid() {
    let sim = ZoomSim::start().await.unwrap();
    let api = sim.issue_api_token();
    let gone = small(&sim, "act-delete").await;
    let default = small(&sim, "act-default").await;
    let kept = small(&sim, "act-invalid").await;

    let r = delete_req(
        &sim,
        &encode_meeting_id(&gone.uuid),
        None,
        "?action=delete",
        Some(&api),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sim.file_status(&gone.files()[0].id),
        Some(zoom_sim::FileStatus::Deleted)
    );
    assert_3301(lookup(&sim, &gone, &api).await).await;

    // No action: trash, and the call shows it was missing.
    let r = delete_req(
        &sim,
        &encode_meeting_id(&default.uuid),
        None,
        "",
        Some(&api),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sim.file_status(&default.files()[0].id),
        Some(zoom_sim::FileStatus::Trashed)
    );

    // Anything else: 400 code 300, nothing removed.
    for q in ["?action=purge", "?action=", "?action=TRASH"] {
        let r = delete_req(&sim, &encode_meeting_id(&kept.uuid), None, q, Some(&api)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{q}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], 300, "{v}");
    }
    assert_eq!(listed_files(&sim, &kept, &api).await.len(), 8);

    let calls = sim.deletions();
    let actions: Vec<_> = calls
        .iter()
        .map(|c| (c.action.as_deref(), c.status))
        .collect();
    assert_eq!(
        actions,
        vec![
            (Some("delete"), 204),
            (None, 204),
            (Some("purge"), 400),
            (Some(""), 400),
            (Some("TRASH"), 400),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_follows_the_get_rules_for_ids_and_tokens() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "del-rules").await;
    let api = sim.issue_api_token();
    let id = encode_meeting_id(&rec.uuid);

    // Encoded only once: Zoom does not find it; recorded with the uuid the client meant.
    let once = percent_encode_all(&rec.uuid);
    assert_3301(delete_req(&sim, &once, None, "?action=trash", Some(&api)).await).await;
    let c = sim.deletions().pop().unwrap();
    assert_eq!(
        (c.uuid.as_str(), c.raw_meeting_id.as_str()),
        (rec.uuid.as_str(), once.as_str())
    );

    // Tokens: none, a download token, a query token, a revoked and an expired API token.
    for tok in [None, Some(rec.download_token.as_str())] {
        let r = delete_req(&sim, &id, None, "?action=trash", tok).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], 124);
    }
    let r = delete_req(
        &sim,
        &id,
        None,
        &format!("?action=trash&access_token={api}"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let revoked = sim.issue_api_token();
    sim.revoke_token(&revoked);
    let r = delete_req(&sim, &id, None, "?action=trash", Some(&revoked)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    sim.expire_api_tokens();
    let r = delete_req(&sim, &id, None, "?action=trash", Some(&api)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["code"].as_u64(), v["message"].as_str()),
        (Some(124), Some("Access token is expired."))
    );
    // Nothing was removed by the refused calls.
    let fresh = sim.issue_api_token();
    assert_eq!(listed_files(&sim, &rec, &fresh).await.len(), 8);
    let calls = sim.deletions();
    assert_eq!(calls.len(), 6);
    assert!(calls[1..].iter().all(|c| c.status == 401 && !c.injected));

    // A meeting number deletes only the latest instance.
    let early = RecordingSpec::realistic("num-1", 4 * KIB);
    let mut late = RecordingSpec::realistic("num-2", 4 * KIB);
    late.meeting_id = early.meeting_id;
    late.start_time = early.start_time + chrono::Duration::days(7);
    let early = sim.add_recording(early);
    let late = sim.add_recording(late);
    let number = early.meeting_id.to_string();
    let r = delete_req(&sim, &number, None, "?action=trash", Some(&fresh)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let c = sim.deletions().pop().unwrap();
    assert_eq!(
        (c.uuid.as_str(), c.raw_meeting_id.as_str()),
        (late.uuid.as_str(), number.as_str())
    );
    assert_3301(lookup(&sim, &late, &fresh).await).await;
    assert_eq!(listed_files(&sim, &early, &fresh).await.len(), 8);
    // The number now finds the latest instance, which is gone: 3301 (as the GET does).
    assert_3301(delete_req(&sim, &number, None, "?action=trash", Some(&fresh)).await).await;
    // REST statistics count the DELETEs.
    let st = sim.api_stats();
    assert_eq!(st.api_requests, 8 + 3, "8 DELETEs, 3 GETs");
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_one_file_and_the_last_file_takes_the_meeting() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "del-file").await;
    let other = small(&sim, "del-file-other").await;
    let api = sim.issue_api_token();
    let id = encode_meeting_id(&rec.uuid);
    let first = rec.files()[0].id.clone();

    let r = delete_req(&sim, &id, Some(&first), "?action=trash", Some(&api)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let listed = listed_files(&sim, &rec, &api).await;
    assert_eq!(listed.len(), 7);
    assert!(listed.iter().all(|(f, _)| *f != first));
    assert_eq!(sim.file_status(&first), Some(zoom_sim::FileStatus::Trashed));
    assert_eq!(
        sim.file_status(&rec.files()[1].id),
        Some(zoom_sim::FileStatus::Available)
    );
    // Again, unknown, or another meeting's file: 3301.
    for f in [first.as_str(), "no-such-file", other.files()[0].id.as_str()] {
        assert_3301(delete_req(&sim, &id, Some(f), "?action=trash", Some(&api)).await).await;
    }
    assert_eq!(listed_files(&sim, &other, &api).await.len(), 8);
    // Invalid action on a file.
    let r = delete_req(&sim, &id, Some(&rec.files()[1].id), "?action=x", Some(&api)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Every remaining file one by one (permanently); the last one takes the meeting.
    for f in &rec.files()[1..] {
        let r = delete_req(&sim, &id, Some(&f.id), "?action=delete", Some(&api)).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", f.id);
        assert_eq!(sim.file_status(&f.id), Some(zoom_sim::FileStatus::Deleted));
    }
    assert_3301(lookup(&sim, &rec, &api).await).await;
    assert_3301(delete_req(&sim, &id, None, "?action=trash", Some(&api)).await).await;

    let calls = sim.deletions();
    assert_eq!(calls.len(), 1 + 3 + 1 + 7 + 1);
    assert_eq!(calls[0].file_id.as_deref(), Some(first.as_str()));
    assert_eq!(calls[0].uuid, rec.uuid);
    assert_eq!(calls[2].file_id.as_deref(), Some("no-such-file"));
    assert_eq!(calls[2].status, 404);
    assert_eq!(calls[3].uuid, rec.uuid, "the meeting the path named");
    assert!(
        calls[5..12]
            .iter()
            .all(|c| c.status == 204 && c.action.as_deref() == Some("delete"))
    );
    assert_eq!(calls[12].file_id, None);
    sim.shutdown().await;
}

#[tokio::test]
async fn delete_faults_hit_only_deletes() {
    use zoom_sim::DeleteFault;
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "del-fault").await;
    let api = sim.issue_api_token();
    let id = encode_meeting_id(&rec.uuid);
    let del = || delete_req(&sim, &id, None, "?action=trash", Some(&api));

    sim.fail_deletes(DeleteFault::RateLimited(RetryAfter::Secs(7)), 2);
    for _ in 0..2 {
        // GETs keep working and do not use the fault up.
        assert_eq!(lookup(&sim, &rec, &api).await.status(), StatusCode::OK);
        let r = del().await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&r, "retry-after").as_deref(), Some("7"));
        assert_eq!(header(&r, "x-ratelimit-type").as_deref(), Some("QPS"));
    }
    sim.fail_deletes(DeleteFault::RateLimited(RetryAfter::HttpDate(60)), 1);
    let r = del().await;
    let secs = secs_until_http_date(&header(&r, "retry-after").unwrap());
    assert!((55..=61).contains(&secs), "{secs}");

    let cases = [
        (DeleteFault::InternalError, 500, Some(500)),
        (DeleteFault::ServiceUnavailable, 503, None),
        (DeleteFault::NotFound, 404, Some(3301)),
        (DeleteFault::Unauthorized, 401, Some(124)),
    ];
    for (fault, status, code) in cases {
        sim.fail_deletes(fault.clone(), 1);
        let r = del().await;
        assert_eq!(r.status().as_u16(), status, "{fault:?}");
        if let Some(code) = code {
            assert_eq!(r.json::<Value>().await.unwrap()["code"], code, "{fault:?}");
        } else {
            assert!(header(&r, "content-type").unwrap().starts_with("text/html"));
        }
    }
    // Still all there: no fault removed anything.
    assert_eq!(listed_files(&sim, &rec, &api).await.len(), 8);
    assert!(
        rec.files()
            .iter()
            .all(|f| sim.file_status(&f.id) == Some(zoom_sim::FileStatus::Available))
    );

    // A REST-wide fault comes first and does not use the delete fault up.
    sim.set_api_fault(ApiFault::ServerError { times: 1 });
    sim.fail_deletes(DeleteFault::NotFound, 1);
    assert_eq!(del().await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(del().await.status(), StatusCode::NOT_FOUND);
    // times: 0 clears; clear_delete_fault too.
    sim.fail_deletes(DeleteFault::InternalError, 0);
    sim.fail_deletes(DeleteFault::InternalError, 3);
    sim.clear_delete_fault();

    // Removed, but the answer is lost: 500, then the retry sees 3301.
    sim.fail_deletes(DeleteFault::InternalErrorAfterApplying, 1);
    let r = del().await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_3301(lookup(&sim, &rec, &api).await).await;
    assert_3301(del().await).await;

    let calls = sim.deletions();
    let seen: Vec<_> = calls.iter().map(|c| (c.status, c.injected)).collect();
    assert_eq!(
        seen,
        vec![
            (429, true),
            (429, true),
            (429, true),
            (500, true),
            (503, true),
            (404, true),
            (401, true),
            (503, true),
            (404, true),
            (500, true),
            (404, false),
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn recordings_change_after_registration() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "change").await;
    let api = sim.issue_api_token();
    let before: u64 = listed_files(&sim, &rec, &api)
        .await
        .iter()
        .map(|(_, s)| s)
        .sum();

    // A file that appears later.
    let mut spec = rec.spec().files[0].clone();
    spec.id = "late-file-0001".into();
    spec.size = 33_333;
    spec.seed = 4242;
    let added = sim.add_file(&rec.uuid, spec);
    assert_eq!((added.id.as_str(), added.size), ("late-file-0001", 33_333));
    let listed = listed_files(&sim, &rec, &api).await;
    assert_eq!(listed.len(), 9);
    assert!(listed.contains(&("late-file-0001".to_owned(), 33_333)));
    let (status, ct, len, sha, n) = download(&added.download_url, &rec.download_token).await;
    assert_eq!(
        (status, ct.as_str(), len, n),
        (StatusCode::OK, "video/mp4", Some(33_333), 33_333)
    );
    assert_eq!(sha, added.sha256);
    assert_eq!(sim.file("late-file-0001"), Some(added.clone()));

    // A file whose size changes.
    let f = rec.media_files()[1].clone();
    let changed = sim.set_file_size(&f.id, f.size + 1000).unwrap();
    assert_eq!(changed.size, f.size + 1000);
    assert_ne!(changed.sha256, f.sha256);
    let listed = listed_files(&sim, &rec, &api).await;
    assert!(listed.contains(&(f.id.clone(), f.size + 1000)));
    let v: Value = lookup(&sim, &rec, &api).await.json().await.unwrap();
    assert_eq!(v["total_size"].as_u64(), Some(before + 33_333 + 1000));
    let (status, _, len, sha, n) = download(&f.download_url, &rec.download_token).await;
    assert_eq!(
        (status, len, n),
        (StatusCode::OK, Some(f.size + 1000), f.size + 1000)
    );
    assert_eq!(sha, changed.sha256);
    assert_eq!(sim.file_sha256(&f.id), Some(changed.sha256.clone()));
    assert_eq!(sim.file(&f.id).unwrap().size, f.size + 1000);
    assert_eq!(sim.set_file_size("no-such-file", 1), None);
    assert_eq!(sim.file("no-such-file"), None);

    // Deleting the meeting takes the added file too.
    let r = delete_req(
        &sim,
        &encode_meeting_id(&rec.uuid),
        None,
        "?action=trash",
        Some(&api),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        sim.file_status("late-file-0001"),
        Some(zoom_sim::FileStatus::Trashed)
    );
    sim.shutdown().await;
}

#[tokio::test]
#[should_panic(expected = "unknown recording")]
async fn add_file_to_an_unknown_recording_panics() {
    let sim = ZoomSim::start().await.unwrap();
    let spec = RecordingSpec::realistic("nope", KIB).files[0].clone();
    sim.add_file("/no//such==", spec);
}

/// A webhook receiver that checks `x-zm-signature` itself (HMAC-SHA256 of
/// `v0:{ts}:{body}`); returns its URL and what it saw (signature ok, body).
async fn checking_receiver(
    secret: &'static str,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<(bool, String)>>>,
) {
    use axum::http::HeaderMap;
    use hmac::{Hmac, KeyInit, Mac};
    let seen: std::sync::Arc<std::sync::Mutex<Vec<(bool, String)>>> = Default::default();
    let seen2 = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: HeaderMap, body: String| {
            let seen = seen2.clone();
            async move {
                let ts = h["x-zm-request-timestamp"].to_str().unwrap().to_owned();
                let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
                mac.update(format!("v0:{ts}:{body}").as_bytes());
                let want = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
                let ok = h["x-zm-signature"].to_str().unwrap() == want;
                seen.lock().unwrap().push((ok, body));
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), seen)
}

#[tokio::test]
async fn deletion_webhook_bodies_have_zoom_shape_and_sign() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "del-hooks").await;
    let mut spec = rec.spec().files[2].clone();
    spec.id = "added-later".into();
    sim.add_file(&rec.uuid, spec);
    let resized = &rec.files()[0];
    sim.set_file_size(&resized.id, 777).unwrap();

    let trashed = rec.recording_trashed_body("admin@example.edu", "OPERATOR_ID_1");
    let v: Value = serde_json::from_str(&trashed).unwrap();
    assert_eq!(v["event"], "recording.trashed");
    assert!(v["event_ts"].as_i64().unwrap() > 1_700_000_000_000);
    assert_eq!(v["download_token"], rec.download_token.as_str());
    let p = &v["payload"];
    assert_eq!(p["account_id"], rec.account_id.as_str());
    assert_eq!(p["operator"], "admin@example.edu");
    assert_eq!(p["operator_id"], "OPERATOR_ID_1");
    let o = &p["object"];
    assert_eq!(o["uuid"], rec.uuid.as_str());
    assert_eq!(o["id"].as_u64(), Some(rec.meeting_id));
    assert_eq!(o["host_id"], rec.host_id.as_str());
    assert_eq!(o["host_email"], rec.host_email.as_str());
    assert_eq!(o["topic"], rec.topic.as_str());
    let files = o["recording_files"].as_array().unwrap();
    assert_eq!(
        files.len(),
        9,
        "every file, transcript and added file included"
    );
    assert_eq!(o["recording_count"].as_u64(), Some(9));
    assert!(files.iter().any(|f| f["file_type"] == "TRANSCRIPT"));
    assert!(files.iter().any(|f| f["id"] == "added-later"));
    let f0 = files
        .iter()
        .find(|f| f["id"] == resized.id.as_str())
        .unwrap();
    assert_eq!(f0["file_size"].as_u64(), Some(777));
    assert!(trashed.find("\"operator\"").unwrap() < trashed.find("\"object\"").unwrap());

    let deleted = rec.recording_deleted_body("admin@example.edu", "OPERATOR_ID_1");
    let v: Value = serde_json::from_str(&deleted).unwrap();
    assert_eq!(v["event"], "recording.deleted");
    assert!(v.get("download_token").is_none());
    assert!(!deleted.contains(&rec.download_token));
    let o = &v["payload"]["object"];
    assert_eq!(v["payload"]["operator"], "admin@example.edu");
    assert_eq!(v["payload"]["operator_id"], "OPERATOR_ID_1");
    assert!(o.get("host_email").is_none() && o.get("password").is_none());
    assert_eq!(
        (o["uuid"].as_str(), o["host_id"].as_str()),
        (Some(rec.uuid.as_str()), Some(rec.host_id.as_str()))
    );
    assert_eq!(o["recording_files"].as_array().unwrap().len(), 9);
    // recording.completed is unchanged by this (still has download_token and host_email).
    let c: Value = serde_json::from_str(&rec.recording_completed_body()).unwrap();
    assert!(c["payload"].get("operator").is_none());
    assert!(c["payload"]["object"]["host_email"].is_string());

    let (url, seen) = checking_receiver("hook-secret").await;
    for body in [&trashed, &deleted] {
        let (status, _) =
            zoom_sim::deliver(&client(), &url, "hook-secret", zoom_sim::unix_now(), body)
                .await
                .unwrap();
        assert_eq!(status, 200);
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, vec![(true, trashed), (true, deleted)]);
    sim.shutdown().await;
}

#[tokio::test]
async fn app_deauthorized_body_has_zoom_shape() {
    let sim = ZoomSim::start().await.unwrap();
    let app = sim.s2s_app();
    let body = sim.app_deauthorized_body("USER_abc");
    assert!(
        body.starts_with(r#"{"event":"app_deauthorized","event_ts":"#),
        "{body}"
    );
    let v: Value = serde_json::from_str(&body).unwrap();
    let ts = v["event_ts"].as_i64().unwrap();
    assert!((ts - chrono::Utc::now().timestamp_millis()).abs() < 5_000);
    let p = &v["payload"];
    assert_eq!(p["account_id"], app.account_id.as_str());
    assert_eq!(p["client_id"], app.client_id.as_str());
    assert_eq!(p["user_id"], "USER_abc");
    let sig = p["signature"].as_str().unwrap();
    assert!(sig.len() == 64 && sig.chars().all(|c| c.is_ascii_hexdigit()));
    let t =
        chrono::DateTime::parse_from_rfc3339(p["deauthorization_time"].as_str().unwrap()).unwrap();
    assert!((t.timestamp_millis() - ts).abs() < 1_000);
    assert!(!body.contains(&app.client_secret));
    let (url, seen) = checking_receiver("deauth-secret").await;
    let (status, _) = zoom_sim::deliver(
        &client(),
        &url,
        "deauth-secret",
        zoom_sim::unix_now(),
        &body,
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
    assert_eq!(seen.lock().unwrap().clone(), vec![(true, body)]);
    sim.shutdown().await;
}

#[tokio::test]
async fn oauth_revoke_ends_a_token() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = small(&sim, "revoke").await;
    let app = sim.s2s_app();
    let t1 = s2s_token(&sim).await;
    let t2 = s2s_token(&sim).await;
    assert_eq!(lookup(&sim, &rec, &t1).await.status(), StatusCode::OK);

    // Query string.
    let r = client()
        .post(format!("{}?token={t1}", sim.oauth_revoke_url()))
        .header(reqwest::header::AUTHORIZATION, app.basic_auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "success"})
    );
    let r = lookup(&sim, &rec, &t1).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["code"].as_u64(), v["message"].as_str()),
        (Some(124), Some("Invalid access token."))
    );
    let r = delete_req(
        &sim,
        &encode_meeting_id(&rec.uuid),
        None,
        "?action=trash",
        Some(&t1),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(sim.is_token_revoked(&t1));
    assert!(!sim.is_token_revoked(&t2));
    assert_eq!(lookup(&sim, &rec, &t2).await.status(), StatusCode::OK);

    // Bad client credentials: 401 invalid_client, the token keeps working.
    let r = client()
        .post(sim.oauth_revoke_url())
        .header(reqwest::header::AUTHORIZATION, "Basic Zm9vOmJhcg==")
        .form(&[("token", t2.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    assert_eq!(lookup(&sim, &rec, &t2).await.status(), StatusCode::OK);
    // No token: 400.
    let r = client()
        .post(sim.oauth_revoke_url())
        .header(reqwest::header::AUTHORIZATION, app.basic_auth())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Form body; then an unknown token (200 as RFC 7009 says).
    for tok in [t2.as_str(), "never-issued"] {
        let r = client()
            .post(sim.oauth_revoke_url())
            .header(reqwest::header::AUTHORIZATION, app.basic_auth())
            .form(&[("token", tok)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(
        lookup(&sim, &rec, &t2).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A new token works.
    let t3 = s2s_token(&sim).await;
    assert_eq!(lookup(&sim, &rec, &t3).await.status(), StatusCode::OK);

    let calls = sim.revocations();
    let seen: Vec<_> = calls.iter().map(|c| (c.status, c.token_known)).collect();
    assert_eq!(
        seen,
        vec![
            (200, true),
            (401, false),
            (400, false),
            (200, true),
            (200, false)
        ]
    );
    let dbg = format!("{calls:?}");
    assert!(!dbg.contains(&t1) && !dbg.contains(&t2), "{dbg}");
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------
// Users and recording listings (backfill)

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone as _;
    chrono::Utc
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap()
}

/// The month windows of a backfill over January–April 2026 (first to last day).
const MONTHS: [(&str, &str); 4] = [
    ("2026-01-01", "2026-01-31"),
    ("2026-02-01", "2026-02-28"),
    ("2026-03-01", "2026-03-31"),
    ("2026-04-01", "2026-04-30"),
];

/// An account to back up: three active users (the first is `me`), one deactivated, one
/// pending; twelve recordings from January to April 2026, on month edges too, spread over
/// the active and the deactivated users. Returns the users and `(host id, recording)`.
fn backfill_account(sim: &ZoomSim) -> (Vec<UserSpec>, Vec<(String, SimRecording)>) {
    let anna = sim.add_user(UserSpec::new("u-anna", "anna.schmidt@example.edu"));
    let ben = sim.add_user(UserSpec::realistic("ben"));
    let cleo = sim.add_user(UserSpec::realistic("cleo").with_status(UserStatus::Inactive));
    let dan = sim.add_user(UserSpec::realistic("dan"));
    let pat = sim.add_user(UserSpec::realistic("pat").with_status(UserStatus::Pending));
    let plan = [
        (&anna, utc(2026, 1, 1, 0, 30)),
        (&anna, utc(2026, 1, 31, 23, 30)),
        (&anna, utc(2026, 2, 14, 9, 0)),
        (&anna, utc(2026, 3, 3, 9, 0)),
        (&anna, utc(2026, 4, 30, 23, 59)),
        (&ben, utc(2026, 1, 15, 10, 0)),
        (&ben, utc(2026, 2, 1, 0, 0)),
        (&ben, utc(2026, 2, 1, 10, 0)),
        (&ben, utc(2026, 4, 2, 12, 0)),
        (&cleo, utc(2026, 1, 20, 8, 0)),
        (&cleo, utc(2026, 3, 10, 8, 0)),
        (&dan, utc(2026, 2, 28, 16, 0)),
    ];
    let recs = plan
        .iter()
        .enumerate()
        .map(|(i, (user, at))| {
            let spec = RecordingSpec::single_mp4(&format!("backfill-{i}"), 1_000 + i as u64)
                .hosted_by(user)
                .starting_at(*at);
            (user.id.clone(), sim.add_recording(spec))
        })
        .collect();
    (vec![anna, ben, cleo, dan, pat], recs)
}

async fn api_get(sim: &ZoomSim, path_and_query: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = client().get(format!("{}{path_and_query}", sim.api_base()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn api_json(sim: &ZoomSim, path_and_query: &str, token: &str) -> (StatusCode, Value) {
    let r = api_get(sim, path_and_query, Some(token)).await;
    let status = r.status();
    (status, r.json().await.unwrap())
}

/// Follows `next_page_token` from the first page of `path?query` to the last, as a client
/// would: a 429 is waited out (its `Retry-After` seconds) and the same page asked again.
/// Returns every item of `key` and the `Retry-After`s of the 429s met.
async fn walk(
    sim: &ZoomSim,
    token: &str,
    path: &str,
    query: &str,
    key: &str,
) -> (Vec<Value>, Vec<String>) {
    let mut items = Vec::new();
    let mut waits = Vec::new();
    let mut next = String::new();
    loop {
        let q = if next.is_empty() {
            query.to_owned()
        } else {
            format!("{query}&next_page_token={next}")
        };
        let r = api_get(sim, &format!("{path}?{q}"), Some(token)).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            let secs = header(&r, "retry-after").unwrap();
            tokio::time::sleep(Duration::from_secs(secs.parse().unwrap())).await;
            waits.push(secs);
            continue;
        }
        assert_eq!(r.status(), StatusCode::OK, "{path}?{q}");
        let v: Value = r.json().await.unwrap();
        let page = v[key].as_array().unwrap();
        assert!(page.len() <= v["page_size"].as_u64().unwrap() as usize);
        items.extend(page.iter().cloned());
        next = v["next_page_token"].as_str().unwrap().to_owned();
        if next.is_empty() {
            break;
        }
    }
    (items, waits)
}

fn uuids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|m| m["uuid"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn backfill_with_page_size_1_visits_every_recording_once() {
    let sim = ZoomSim::start().await.unwrap();
    let (users, recs) = backfill_account(&sim);
    let token = sim.issue_api_token();

    // Users: `active` by default; the others only when asked for.
    let (active, _) = walk(&sim, &token, "/v2/users", "page_size=1", "users").await;
    assert_eq!(
        ids(&active),
        ["u-anna", users[1].id.as_str(), users[3].id.as_str()]
    );
    let (same, _) = walk(
        &sim,
        &token,
        "/v2/users",
        "status=active&page_size=1",
        "users",
    )
    .await;
    assert_eq!(same, active);
    let (inactive, _) = walk(
        &sim,
        &token,
        "/v2/users",
        "status=inactive&page_size=1",
        "users",
    )
    .await;
    assert_eq!(ids(&inactive), [users[2].id.as_str()]);
    let (pending, _) = walk(&sim, &token, "/v2/users", "status=pending", "users").await;
    assert_eq!(ids(&pending), [users[4].id.as_str()]);
    let anna = &active[0];
    assert_eq!(anna["email"], "anna.schmidt@example.edu");
    assert_eq!(
        (
            &anna["first_name"],
            &anna["last_name"],
            &anna["display_name"]
        ),
        (
            &Value::from("Anna"),
            &Value::from("Schmidt"),
            &Value::from("Anna Schmidt")
        )
    );
    assert_eq!(
        (anna["type"].as_u64(), &anna["status"]),
        (Some(2), &Value::from("active"))
    );
    assert_eq!(inactive[0]["status"], "inactive");

    // The page shape of the users listing.
    let (s, v) = api_json(&sim, "/v2/users?page_size=2", &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            v["page_count"].as_u64(),
            v["page_number"].as_u64(),
            v["page_size"].as_u64(),
            v["total_records"].as_u64()
        ),
        (Some(2), Some(1), Some(2), Some(3))
    );
    let next = v["next_page_token"].as_str().unwrap();
    assert!(next.len() >= 16, "{next}");
    let (_, v) = api_json(
        &sim,
        &format!("/v2/users?page_size=2&next_page_token={next}"),
        &token,
    )
    .await;
    assert_eq!(
        (v["users"].as_array().unwrap().len(), &v["next_page_token"]),
        (1, &Value::from(""))
    );
    assert_eq!(v["page_number"].as_u64(), Some(1));

    // Every listed user (active and inactive), month by month, one recording a page.
    let mut seen = Vec::new();
    for user in active.iter().chain(&inactive) {
        let id = user["id"].as_str().unwrap();
        for (from, to) in MONTHS {
            let (items, waits) = walk(
                &sim,
                &token,
                &format!("/v2/users/{id}/recordings"),
                &format!("from={from}&to={to}&page_size=1"),
                "meetings",
            )
            .await;
            assert!(waits.is_empty());
            let starts: Vec<&str> = items
                .iter()
                .map(|m| m["start_time"].as_str().unwrap())
                .collect();
            let mut newest_first = starts.clone();
            newest_first.sort_by(|a, b| b.cmp(a));
            assert_eq!(starts, newest_first, "{id} {from}");
            for m in &items {
                assert_eq!(m["host_id"], id);
                let day = &m["start_time"].as_str().unwrap()[..10];
                assert!((from..=to).contains(&day), "{day} not in {from}..{to}");
            }
            seen.extend(uuids(&items));
        }
    }
    let mut expected: Vec<String> = recs.iter().map(|(_, r)| r.uuid.clone()).collect();
    expected.sort();
    seen.sort();
    assert_eq!(seen, expected, "every recording exactly once");

    // A list item is the GET /meetings/{uuid}/recordings object without the password.
    let (_, rec) = &recs[0];
    let (_, page) = api_json(
        &sim,
        "/v2/users/u-anna/recordings?from=2026-01-01&to=2026-01-01",
        &token,
    )
    .await;
    assert_eq!(
        (
            page["from"].as_str(),
            page["to"].as_str(),
            page["total_records"].as_u64()
        ),
        (Some("2026-01-01"), Some("2026-01-01"), Some(1))
    );
    assert_eq!(
        (page["page_size"].as_u64(), &page["next_page_token"]),
        (Some(30), &Value::from(""))
    );
    let item = &page["meetings"][0];
    let mut full: Value = lookup(&sim, rec, &token).await.json().await.unwrap();
    full.as_object_mut().unwrap().remove("password");
    assert_eq!(item, &full);
    assert!(item.get("download_access_token").is_none());
    assert_eq!(item["recording_files"][0]["id"], rec.files()[0].id.as_str());

    // `me` is the first user; an e-mail names its user too (any case).
    for who in ["me", "ANNA.Schmidt@example.edu", "u-anna"] {
        let (items, _) = walk(
            &sim,
            &token,
            &format!("/v2/users/{who}/recordings"),
            "from=2026-01-01&to=2026-01-31&page_size=1",
            "meetings",
        )
        .await;
        assert_eq!(
            uuids(&items),
            [recs[1].1.uuid.clone(), recs[0].1.uuid.clone()],
            "{who}"
        );
    }

    // The request log: never more than a month asked for, every page of page_size 1.
    let log = sim.list_requests();
    let rec_calls: Vec<_> = log
        .iter()
        .filter(|c| c.endpoint == ListEndpoint::UserRecordings)
        .collect();
    // 4 users × 4 months, plus one page more for each further recording in a window, plus
    // the shape check and the three names of anna's January (two pages each).
    assert_eq!(
        rec_calls.len(),
        16 + (12 - 10) + 1 + 3 * 2,
        "{rec_calls:#?}"
    );
    for c in &rec_calls {
        assert_eq!(c.status, 200);
        let (from, to) = (c.from.unwrap(), c.to.unwrap());
        assert!(to <= from.checked_add_months(chrono::Months::new(1)).unwrap());
        assert!(!c.injected);
    }
    assert_eq!(rec_calls.iter().filter(|c| c.had_token).count(), 2 + 3);
    assert_eq!(
        rec_calls
            .iter()
            .filter(|c| c.user.as_deref() == Some("me"))
            .count(),
        2
    );
    let user_calls: Vec<_> = log
        .iter()
        .filter(|c| c.endpoint == ListEndpoint::Users)
        .collect();
    assert_eq!(user_calls.len(), 3 + 3 + 1 + 1 + 2);
    assert_eq!(user_calls[0].user_status, None);
    assert_eq!(user_calls[3].user_status.as_deref(), Some("active"));
    assert!(
        user_calls
            .iter()
            .all(|c| c.status == 200 && c.user.is_none())
    );
    assert_eq!(user_calls[0].path, "/v2/users");
    sim.shutdown().await;
}

#[tokio::test]
async fn listing_validation_and_authorization() {
    let sim = ZoomSim::start().await.unwrap();
    let (users, recs) = backfill_account(&sim);
    let token = sim.issue_api_token();
    let code_msg = |v: &Value| {
        (
            v["code"].as_u64().unwrap(),
            v["message"].as_str().unwrap().to_owned(),
        )
    };

    // One calendar month at most: Jan 1 – Feb 1 is fine, Jan 1 – Feb 2 is not.
    let (s, v) = api_json(
        &sim,
        "/v2/users/u-anna/recordings?from=2026-01-01&to=2026-02-01",
        &token,
    )
    .await;
    assert_eq!((s, v["total_records"].as_u64()), (StatusCode::OK, Some(2)));
    let (s, v) = api_json(
        &sim,
        "/v2/users/u-anna/recordings?from=2026-01-01&to=2026-02-02",
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (code, msg) = code_msg(&v);
    assert_eq!(code, 300);
    assert!(
        msg.contains("2026-01-01") && msg.contains("2026-02-02") && msg.contains("one month"),
        "{msg}"
    );
    let (s, _) = api_json(
        &sim,
        "/v2/users/u-anna/recordings?from=2026-01-31&to=2026-02-28",
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = api_json(
        &sim,
        "/v2/users/u-anna/recordings?from=2026-01-31&to=2026-03-01",
        &token,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(300))
    );
    // `to` before `from`, dates that are no dates.
    let (s, v) = api_json(
        &sim,
        "/v2/users/u-anna/recordings?from=2026-02-01&to=2026-01-31",
        &token,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(300))
    );
    for q in [
        "from=2026-13-01&to=2026-12-31",
        "from=2026-01-01&to=31.01.2026",
        "from=2026-1-1",
    ] {
        let (s, v) = api_json(&sim, &format!("/v2/users/u-anna/recordings?{q}"), &token).await;
        assert_eq!(
            (s, v["code"].as_u64()),
            (StatusCode::BAD_REQUEST, Some(300)),
            "{q}"
        );
        assert_eq!(v["errors"][0]["message"], "Invalid field.");
    }
    // page_size: not a positive number → 400; more than 300 → 300.
    for q in ["page_size=abc", "page_size=0", "page_size=-1"] {
        let (s, _) = api_json(
            &sim,
            &format!("/v2/users/u-anna/recordings?from=2026-01-01&to=2026-01-31&{q}"),
            &token,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
        let (s, _) = api_json(&sim, &format!("/v2/users?{q}"), &token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{q}");
    }
    let (_, v) = api_json(
        &sim,
        "/v2/users/u-anna/recordings?from=2026-01-01&to=2026-01-31&page_size=1000",
        &token,
    )
    .await;
    assert_eq!(v["page_size"].as_u64(), Some(300));
    let (_, v) = api_json(&sim, "/v2/users?page_size=301", &token).await;
    assert_eq!(v["page_size"].as_u64(), Some(300));
    let (s, v) = api_json(&sim, "/v2/users?status=deleted", &token).await;
    assert_eq!(
        (s, v["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(300))
    );
    // An unknown user.
    let (s, v) = api_json(
        &sim,
        "/v2/users/nobody@example.edu/recordings?from=2026-01-01&to=2026-01-31",
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        code_msg(&v),
        (1001, "User does not exist: nobody@example.edu.".to_owned())
    );
    // The pending user exists and has nothing.
    let (s, v) = api_json(
        &sim,
        &format!(
            "/v2/users/{}/recordings?from=2026-01-01&to=2026-01-31",
            users[4].id
        ),
        &token,
    )
    .await;
    assert_eq!((s, v["total_records"].as_u64()), (StatusCode::OK, Some(0)));
    assert_eq!(v["meetings"], serde_json::json!([]));

    // A bearer token as for every API call.
    for path in [
        "/v2/users",
        "/v2/users/u-anna/recordings?from=2026-01-01&to=2026-01-31",
        "/v2/accounts/me/recordings",
    ] {
        let r = api_get(&sim, path, None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], 124);
        let r = api_get(&sim, path, Some("not-a-token")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    sim.expire_api_tokens();
    let r = api_get(&sim, "/v2/users", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "Access token is expired."
    );
    let token = sim.issue_api_token();

    // Without from/to: today (UTC) only.
    let erin = sim.add_user(UserSpec::realistic("erin"));
    let today = chrono::Utc::now().date_naive();
    let midnight = today.and_hms_opt(0, 0, 1).unwrap().and_utc();
    let new = sim.add_recording(
        RecordingSpec::single_mp4("today", 2_000)
            .hosted_by(&erin)
            .starting_at(midnight),
    );
    sim.add_recording(
        RecordingSpec::single_mp4("yesterday", 2_000)
            .hosted_by(&erin)
            .starting_at(midnight - chrono::Duration::hours(2)),
    );
    let (s, v) = api_json(&sim, &format!("/v2/users/{}/recordings", erin.id), &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (v["from"].as_str(), v["to"].as_str()),
        (
            Some(today.to_string().as_str()),
            Some(today.to_string().as_str())
        )
    );
    assert_eq!(
        uuids(v["meetings"].as_array().unwrap()),
        [new.uuid.as_str()]
    );

    // Removed recordings are no longer listed.
    let (_, gone) = &recs[0];
    let r = delete_req(
        &sim,
        &encode_meeting_id(&gone.uuid),
        None,
        "?action=trash",
        Some(&token),
    )
    .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, v) = api_json(
        &sim,
        "/v2/users/u-anna/recordings?from=2026-01-01&to=2026-01-31",
        &token,
    )
    .await;
    assert_eq!(
        uuids(v["meetings"].as_array().unwrap()),
        [recs[1].1.uuid.clone()]
    );

    // The log holds the refused calls with the query as sent.
    let log = sim.list_requests();
    let long = log
        .iter()
        .find(|c| {
            c.status == 400 && c.to == Some(chrono::NaiveDate::from_ymd_opt(2026, 2, 2).unwrap())
        })
        .unwrap();
    assert_eq!(long.endpoint, ListEndpoint::UserRecordings);
    assert_eq!(long.user.as_deref(), Some("u-anna"));
    assert_eq!(long.from, chrono::NaiveDate::from_ymd_opt(2026, 1, 1));
    assert_eq!(
        (long.page_size, long.had_token, long.injected),
        (None, false, false)
    );
    let bad = log.iter().find(|c| c.path.contains("nobody")).unwrap();
    assert_eq!(
        (bad.status, bad.user.as_deref()),
        (404, Some("nobody@example.edu"))
    );
    assert!(
        log.iter()
            .any(|c| c.page_size == Some(1000) && c.status == 200)
    );
    assert!(log.iter().any(|c| c.from.is_none()
        && c.to.is_none()
        && c.status == 200
        && c.endpoint == ListEndpoint::UserRecordings));
    assert!(
        log.iter()
            .any(|c| c.user_status.as_deref() == Some("deleted") && c.status == 400)
    );
    assert_eq!(log.iter().filter(|c| c.status == 401).count(), 7);
    assert!(
        log.iter()
            .any(|c| c.endpoint == ListEndpoint::AccountRecordings
                && c.status == 401
                && c.user.is_none())
    );
    sim.shutdown().await;
}

/// The `next_page_token` of the first page of `path_and_query`.
async fn first_token(sim: &ZoomSim, path_and_query: &str, token: &str) -> String {
    let (s, v) = api_json(sim, path_and_query, token).await;
    assert_eq!(s, StatusCode::OK);
    v["next_page_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn page_tokens_are_bound_to_their_query_and_expire() {
    let sim = ZoomSim::start().await.unwrap();
    let (users, recs) = backfill_account(&sim);
    let token = sim.issue_api_token();
    let jan = "/v2/users/u-anna/recordings?from=2026-01-01&to=2026-01-31&page_size=1";
    let invalid = |v: &Value| {
        v["code"].as_u64() == Some(300)
            && v["message"] == "The next page token is invalid or expired."
    };
    let t = first_token(&sim, jan, &token).await;
    assert!(!t.is_empty());

    // Another page size, window, user or listing: 400.
    for other in [
        format!(
            "/v2/users/u-anna/recordings?from=2026-01-01&to=2026-01-31&page_size=2&next_page_token={t}"
        ),
        format!(
            "/v2/users/u-anna/recordings?from=2026-01-01&to=2026-01-30&page_size=1&next_page_token={t}"
        ),
        format!("/v2/users/u-anna/recordings?page_size=1&next_page_token={t}"),
        format!(
            "/v2/users/{}/recordings?from=2026-01-01&to=2026-01-31&page_size=1&next_page_token={t}",
            users[1].id
        ),
        format!("/v2/users?page_size=1&next_page_token={t}"),
        format!("{jan}&next_page_token=made-up"),
    ] {
        let (s, v) = api_json(&sim, &other, &token).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{other}");
        assert!(invalid(&v), "{v}");
    }
    // The same query continues, as often as asked (a retry may ask again); `me` and the
    // e-mail name the same user.
    for q in [
        format!("{jan}&next_page_token={t}"),
        format!("{jan}&next_page_token={t}"),
        format!(
            "/v2/users/me/recordings?from=2026-01-01&to=2026-01-31&page_size=1&next_page_token={t}"
        ),
    ] {
        let (s, v) = api_json(&sim, &q, &token).await;
        assert_eq!(s, StatusCode::OK, "{q}");
        assert_eq!(
            uuids(v["meetings"].as_array().unwrap()),
            [recs[0].1.uuid.clone()]
        );
        assert_eq!(v["next_page_token"], "");
    }

    // expire_page_tokens ends every token so far; new ones work.
    let u = api_json(&sim, "/v2/users?page_size=1", &token).await.1["next_page_token"]
        .as_str()
        .unwrap()
        .to_owned();
    sim.expire_page_tokens();
    let (s, v) = api_json(&sim, &format!("{jan}&next_page_token={t}"), &token).await;
    assert!(s == StatusCode::BAD_REQUEST && invalid(&v), "{v}");
    let (s, v) = api_json(
        &sim,
        &format!("/v2/users?page_size=1&next_page_token={u}"),
        &token,
    )
    .await;
    assert!(s == StatusCode::BAD_REQUEST && invalid(&v), "{v}");
    let t = first_token(&sim, jan, &token).await;
    let (s, _) = api_json(&sim, &format!("{jan}&next_page_token={t}"), &token).await;
    assert_eq!(s, StatusCode::OK);

    // A short TTL: valid at once, expired after it.
    sim.set_page_token_ttl(Duration::from_secs(1));
    let t = first_token(&sim, jan, &token).await;
    let (s, _) = api_json(&sim, &format!("{jan}&next_page_token={t}"), &token).await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (s, v) = api_json(&sim, &format!("{jan}&next_page_token={t}"), &token).await;
    assert!(s == StatusCode::BAD_REQUEST && invalid(&v), "{v}");
    sim.set_page_token_ttl(Duration::ZERO);
    let t = first_token(&sim, jan, &token).await;
    let (s, _) = api_json(&sim, &format!("{jan}&next_page_token={t}"), &token).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    sim.set_page_token_ttl(zoom_sim::PAGE_TOKEN_TTL);
    let t = first_token(&sim, jan, &token).await;
    let (s, _) = api_json(&sim, &format!("{jan}&next_page_token={t}"), &token).await;
    assert_eq!(s, StatusCode::OK);

    let log = sim.list_requests();
    assert_eq!(
        log.iter()
            .filter(|c| c.had_token && c.status == 400)
            .count(),
        6 + 2 + 2
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn account_recordings_are_refused_until_allowed() {
    let sim = ZoomSim::start().await.unwrap();
    let (_, recs) = backfill_account(&sim);
    // A recording whose host is no user of the account: only the account listing has it.
    let orphan = sim.add_recording(
        RecordingSpec::single_mp4("orphan", 3_000).starting_at(utc(2026, 3, 20, 10, 0)),
    );
    let token = sim.issue_api_token();
    let march = "from=2026-03-01&to=2026-03-31";

    let (s, v) = api_json(&sim, &format!("/v2/accounts/me/recordings?{march}"), &token).await;
    assert_eq!(
        (s, v["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(4711))
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid access token, does not contain scopes:[")
    );

    sim.set_account_recordings_allowed(true);
    let mut seen = Vec::new();
    for (from, to) in MONTHS {
        let (items, _) = walk(
            &sim,
            &token,
            "/v2/accounts/me/recordings",
            &format!("from={from}&to={to}&page_size=2"),
            "meetings",
        )
        .await;
        let starts: Vec<&str> = items
            .iter()
            .map(|m| m["start_time"].as_str().unwrap())
            .collect();
        let mut newest_first = starts.clone();
        newest_first.sort_by(|a, b| b.cmp(a));
        assert_eq!(starts, newest_first);
        seen.extend(uuids(&items));
    }
    let mut expected: Vec<String> = recs.iter().map(|(_, r)| r.uuid.clone()).collect();
    expected.push(orphan.uuid.clone());
    expected.sort();
    seen.sort();
    assert_eq!(seen, expected);
    // The S2S app's account id works as well as `me`; another account does not exist.
    let (s, v) = api_json(
        &sim,
        &format!(
            "/v2/accounts/{}/recordings?{march}",
            sim.s2s_app().account_id
        ),
        &token,
    )
    .await;
    assert_eq!((s, v["total_records"].as_u64()), (StatusCode::OK, Some(3)));
    let (s, v) = api_json(
        &sim,
        &format!("/v2/accounts/other/recordings?{march}"),
        &token,
    )
    .await;
    assert_eq!((s, v["code"].as_u64()), (StatusCode::NOT_FOUND, Some(2001)));
    // The same rules: one month at most, tokens bound to the query.
    let (s, v) = api_json(
        &sim,
        "/v2/accounts/me/recordings?from=2026-01-01&to=2026-03-01",
        &token,
    )
    .await;
    assert_eq!(
        (s, v["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(300))
    );
    let (_, v) = api_json(
        &sim,
        &format!("/v2/accounts/me/recordings?{march}&page_size=1"),
        &token,
    )
    .await;
    let t = v["next_page_token"].as_str().unwrap();
    let (s, _) = api_json(
        &sim,
        &format!("/v2/users/me/recordings?{march}&page_size=1&next_page_token={t}"),
        &token,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    sim.set_account_recordings_allowed(false);
    let (s, _) = api_json(&sim, &format!("/v2/accounts/me/recordings?{march}"), &token).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let log = sim.list_requests();
    let account: Vec<u16> = log
        .iter()
        .filter(|c| c.endpoint == ListEndpoint::AccountRecordings)
        .map(|c| c.status)
        .collect();
    assert_eq!(account.first(), Some(&400));
    assert_eq!(account.last(), Some(&400));
    assert!(account.contains(&404));
    sim.shutdown().await;
}

#[tokio::test]
async fn list_fault_hits_the_nth_list_call_and_the_backfill_continues() {
    let sim = ZoomSim::start().await.unwrap();
    let (_, recs) = backfill_account(&sim);
    let token = sim.issue_api_token();
    let anna: Vec<String> = recs
        .iter()
        .filter(|(host, _)| host == "u-anna")
        .map(|(_, r)| r.uuid.clone())
        .collect();

    // The 4th list call from now: 429, Retry-After 1; the walker waits and asks again.
    sim.fail_list_calls(
        ApiFault::RateLimited {
            times: 1,
            retry_after: RetryAfter::Secs(1),
        },
        3,
    );
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut all_waits = Vec::new();
    for (from, to) in MONTHS {
        let (items, waits) = walk(
            &sim,
            &token,
            "/v2/users/u-anna/recordings",
            &format!("from={from}&to={to}&page_size=1"),
            "meetings",
        )
        .await;
        seen.extend(uuids(&items));
        all_waits.extend(waits);
    }
    assert_eq!(all_waits, ["1"]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    let mut want = anna.clone();
    want.sort();
    seen.sort();
    assert_eq!(seen, want);
    let log = sim.list_requests();
    let statuses: Vec<u16> = log.iter().map(|c| c.status).collect();
    // Jan: 2 pages, Feb: 1, Mar: 1 (the 4th call, refused, then again), Apr: 1.
    assert_eq!(statuses, [200, 200, 200, 429, 200, 200]);
    assert!(log[3].injected && !log[4].injected);
    assert_eq!((log[3].from, log[3].to), (log[4].from, log[4].to));

    // The 429's headers: QPS, category Medium.
    sim.fail_list_calls(
        ApiFault::RateLimited {
            times: 2,
            retry_after: RetryAfter::Secs(1),
        },
        0,
    );
    for _ in 0..2 {
        let r = api_get(&sim, "/v2/users", Some(&token)).await;
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&r, "retry-after").as_deref(), Some("1"));
        assert_eq!(header(&r, "x-ratelimit-type").as_deref(), Some("QPS"));
        assert_eq!(
            header(&r, "x-ratelimit-category").as_deref(),
            Some("Medium")
        );
        assert_eq!(r.json::<Value>().await.unwrap()["code"], 429);
    }
    let r = api_get(&sim, "/v2/users", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "x-ratelimit-category").as_deref(),
        Some("Medium")
    );

    // Daily limit with an absolute Retry-After, before the token is checked.
    sim.set_daily_limit_retry_after(Some(RetryAfter::Timestamp(60)));
    sim.fail_list_calls(ApiFault::DailyLimit { times: 1 }, 1);
    assert_eq!(
        api_get(&sim, "/v2/users", Some(&token)).await.status(),
        StatusCode::OK
    );
    let r = api_get(&sim, "/v2/users", None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&r, "x-ratelimit-type").as_deref(),
        Some("Daily-limit")
    );
    let v = header(&r, "retry-after").unwrap();
    let t = chrono::DateTime::parse_from_rfc3339(&v).unwrap();
    assert!(
        (55..=61).contains(&(t.timestamp() - zoom_sim::unix_now())),
        "{v}"
    );

    // Only list calls are hit; other REST calls keep working.
    sim.fail_list_calls(ApiFault::ServerError { times: 5 }, 0);
    assert_eq!(
        lookup(&sim, &recs[0].1, &token).await.status(),
        StatusCode::OK
    );
    let r = api_get(&sim, "/v2/users/me/recordings", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    sim.clear_list_fault();
    assert_eq!(
        api_get(&sim, "/v2/users/me/recordings", Some(&token))
            .await
            .status(),
        StatusCode::OK
    );

    // The REST-wide fault covers the listings too, comes first and uses up no list fault.
    sim.fail_list_calls(ApiFault::InternalError { times: 1 }, 0);
    sim.set_api_fault(ApiFault::RateLimited {
        times: 1,
        retry_after: RetryAfter::Secs(2),
    });
    let r = api_get(&sim, "/v2/users", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&r, "x-ratelimit-category").as_deref(),
        Some("Medium")
    );
    assert_eq!(
        api_get(&sim, "/v2/users", Some(&token)).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        api_get(&sim, "/v2/users", Some(&token)).await.status(),
        StatusCode::OK
    );

    let log = sim.list_requests();
    assert_eq!(
        log.iter().filter(|c| c.injected).count(),
        1 + 2 + 1 + 1 + 1 + 1
    );
    let st = sim.api_stats();
    assert_eq!(st.api_rate_limited, 1 + 2 + 1 + 1);
    assert_eq!(st.api_daily_limited, 1);
    assert_eq!(st.api_server_errors, 2);
    sim.shutdown().await;
}

/// `field` of every row, `""` where missing.
fn texts(rows: &[Value], field: &str) -> Vec<String> {
    rows.iter()
        .map(|r| r[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_lists_of_a_meetings_people_page_by_token_and_honour_page_size() {
    let sim = ZoomSim::start().await.unwrap();
    let token = s2s_token(&sim).await;
    // Eight people, a co-host every third row, one without an e-mail.
    let mut participants: Vec<PersonSpec> = (0..7)
        .map(|i| {
            let role = if i % 3 == 1 { "cohost" } else { "attendee" };
            PersonSpec::new(&format!("p{i}@x.edu"), role)
        })
        .collect();
    participants.push(PersonSpec {
        name: "Guest".into(),
        email: String::new(),
        role: "attendee".into(),
    });
    let people = PeopleSpec {
        participants,
        alternative_hosts: "a@x.edu;b@x.edu".into(),
        panelists: vec![],
    };
    let rec =
        sim.add_recording(RecordingSpec::realistic("people", KIB).with_people(people.clone()));
    assert_eq!(rec.spec().people, people);
    let uuid = encode_meeting_id(&rec.uuid);
    let metrics = format!("/v2/metrics/meetings/{uuid}/participants");
    let report = format!("/v2/report/meetings/{uuid}/participants");

    // The dashboard: every row over pages of 3, with `email` (left out for the guest) and `role`.
    let (rows, _) = walk(
        &sim,
        &token,
        &metrics,
        "type=past&page_size=3",
        "participants",
    )
    .await;
    let mut emails: Vec<String> = (0..7).map(|i| format!("p{i}@x.edu")).collect();
    emails.push(String::new());
    assert_eq!(texts(&rows, "email"), emails);
    assert!(rows[7].get("email").is_none());
    assert_eq!(
        texts(&rows, "role")
            .iter()
            .filter(|r| *r == "cohost")
            .count(),
        2
    );
    // The report: the same people with `user_email` (`""` for none), default page size 30.
    let (rows, _) = walk(&sim, &token, &report, "", "participants").await;
    assert_eq!(texts(&rows, "user_email"), emails);
    assert_eq!(rows[7]["user_email"], "");

    // The log: three pages of the dashboard (the 2nd and 3rd with a token), one of the report.
    let log = sim.people_requests();
    let pages: Vec<_> = log
        .iter()
        .filter(|c| c.endpoint == PeopleEndpoint::Metrics)
        .collect();
    assert_eq!(
        pages.iter().map(|c| c.had_token).collect::<Vec<_>>(),
        [false, true, true]
    );
    assert!(pages.iter().all(|c| c.status == 200
        && c.page_size == Some(3)
        && c.meeting.as_deref() == Some(rec.uuid.as_str())
        && !c.webinar));
    assert_eq!(
        log.iter()
            .filter(|c| c.endpoint == PeopleEndpoint::Report)
            .count(),
        1
    );

    // A token continues only its own list.
    let (_, first) = api_json(&sim, &format!("{metrics}?type=past&page_size=3"), &token).await;
    let next = first["next_page_token"].as_str().unwrap();
    let (status, v) = api_json(
        &sim,
        &format!("{report}?page_size=3&next_page_token={next}"),
        &token,
    )
    .await;
    assert_eq!(
        (status, v["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(300))
    );
    let (status, _) = api_json(
        &sim,
        &format!("{metrics}?type=past&page_size=4&next_page_token={next}"),
        &token,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "bound to its page size too"
    );

    // The meeting itself, by number: its alternative hosts as Zoom holds them.
    let (status, m) = api_json(&sim, &format!("/v2/meetings/{}", rec.meeting_id), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(m["settings"]["alternative_hosts"], "a@x.edu;b@x.edu");
    assert_eq!(m["uuid"], rec.uuid.as_str());

    // Not found (404, code 3001): an unknown instance, a UUID encoded once, the webinar paths of a
    // meeting, the dashboard without `type=past` (Zoom's default is live meetings).
    let once = zoom_sim::encode_meeting_id("plain-uuid==");
    for path in [
        format!("/v2/metrics/meetings/{once}/participants?type=past"),
        format!(
            "/v2/report/meetings/{}/participants",
            percent_encode_all(&rec.uuid)
        ),
        format!("/v2/report/webinars/{uuid}/participants"),
        format!("/v2/webinars/{}", rec.meeting_id),
        format!("/v2/webinars/{}/panelists", rec.meeting_id),
        format!("/v2/meetings/1{}", rec.meeting_id),
        metrics.clone(),
        format!("{metrics}?type=live"),
    ] {
        let (status, v) = api_json(&sim, &path, &token).await;
        assert_eq!(
            (status, v["code"].as_u64()),
            (StatusCode::NOT_FOUND, Some(3001)),
            "{path}"
        );
    }
    let (status, _) = api_json(&sim, &format!("{metrics}?type=sometimes"), &token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // A webinar's panelists, in pages of 2; its dashboard under /webinars/.
    let panelists: Vec<PersonSpec> = (0..5)
        .map(|i| PersonSpec::new(&format!("pan{i}@x.edu"), ""))
        .collect();
    let web = sim.add_recording(
        RecordingSpec::realistic("webinar", KIB)
            .as_webinar()
            .with_people(PeopleSpec {
                panelists,
                ..PeopleSpec::default()
            }),
    );
    let (rows, _) = walk(
        &sim,
        &token,
        &format!("/v2/webinars/{}/panelists", web.meeting_id),
        "page_size=2",
        "panelists",
    )
    .await;
    assert_eq!(
        texts(&rows, "email"),
        (0..5).map(|i| format!("pan{i}@x.edu")).collect::<Vec<_>>()
    );
    let panel_pages = sim
        .people_requests()
        .into_iter()
        .filter(|c| c.endpoint == PeopleEndpoint::Panelists && c.status == 200)
        .count();
    assert_eq!(panel_pages, 3);
    let (status, _) = api_json(
        &sim,
        &format!(
            "/v2/metrics/webinars/{}/participants?type=past",
            encode_meeting_id(&web.uuid)
        ),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api_json(&sim, &format!("/v2/meetings/{}", web.meeting_id), &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a webinar is not a meeting");

    // Changed people are answered from then on.
    assert!(sim.set_people(
        &rec.uuid,
        PeopleSpec {
            alternative_hosts: "c@x.edu".into(),
            ..PeopleSpec::default()
        }
    ));
    let (_, m) = api_json(&sim, &format!("/v2/meetings/{}", rec.meeting_id), &token).await;
    assert_eq!(m["settings"]["alternative_hosts"], "c@x.edu");
    assert!(!sim.set_people("unknown", PeopleSpec::default()));
    sim.shutdown().await;
}

#[tokio::test]
async fn the_people_calls_take_the_api_faults_a_token_and_their_scope() {
    let sim = ZoomSim::start().await.unwrap();
    let token = s2s_token(&sim).await;
    let rec = sim.add_recording(RecordingSpec::realistic("faults", KIB));
    let report = format!(
        "/v2/report/meetings/{}/participants",
        encode_meeting_id(&rec.uuid)
    );
    sim.set_api_fault(ApiFault::RateLimited {
        times: 1,
        retry_after: RetryAfter::Secs(2),
    });
    let r = api_get(&sim, &report, Some(&token)).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "retry-after").as_deref(), Some("2"));
    assert_eq!(header(&r, "x-ratelimit-category").as_deref(), Some("Heavy"));
    assert_eq!(
        api_get(&sim, &report, Some(&token)).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        api_get(&sim, &report, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    sim.deny_people_scope(PeopleEndpoint::Report);
    let (status, v) = api_json(&sim, &report, &token).await;
    assert_eq!(
        (status, v["code"].as_u64()),
        (StatusCode::BAD_REQUEST, Some(4711))
    );
    assert!(v["message"].as_str().unwrap().contains("report:read:admin"));
    let log = sim.people_requests();
    assert_eq!(
        log.iter()
            .map(|c| (c.status, c.injected))
            .collect::<Vec<_>>(),
        [(429, true), (200, false), (401, false), (400, false)]
    );
    sim.shutdown().await;
}
