//! End-to-end tests of the simulator over real HTTP on 127.0.0.1.

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use serde_json::Value;
use sha2::{Digest, Sha256};
use zoom_sim::{Fault, FileSpec, RecordingSpec, SimRecording, ZoomSim, encode_meeting_id};

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
