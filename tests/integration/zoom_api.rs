//! The Zoom REST client against the Zoom simulator, with its Server-to-Server credentials in Secrets Manager
//! (moto): token grant and cache, refresh after a 401, rate limits (seconds, HTTP date, daily limit), 5xx
//! back-off, double-encoded uuids, and fresh download tokens that download.

use archiver_tests::{aws, unique};
use shared::config::{BaseUrl, Connection};
use shared::error::{Class, Kind};
use shared::ids::{AccountId, Vendor};
use shared::model::DownloadSource;
use shared::zoom::api::{HttpZoomConnections, RetryPolicy, ZoomApi, ZoomConnections};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zoom_sim::{ApiFault, RecordingSpec, RetryAfter, ZoomSim};

/// The sim's S2S app stored as the connection's credentials, and the connection pointing at the sim.
async fn setup(sim: &ZoomSim) -> (Arc<dyn ZoomApi>, AccountId) {
    let conf = aws().await.unwrap();
    let sm = aws_sdk_secretsmanager::Client::new(&conf);
    let app = sim.s2s_app();
    let secret_id = format!("archiver/{}/zoom-main/credentials", unique("t"));
    sm.create_secret()
        .name(&secret_id)
        .secret_string(
            serde_json::json!({
                "account_id": app.account_id,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let mut conn: Connection = shared::fakes::connection(Vendor::Zoom);
    conn.api_base_url = BaseUrl::parse(&format!("{}/v2", sim.api_base())).unwrap();
    conn.oauth_base_url = BaseUrl::parse(&sim.api_base()).unwrap();
    conn.credentials_ref = Some(secret_id);
    let zoom = HttpZoomConnections::new(
        Arc::new(shared::aws::secrets::SecretsManager::new(sm)),
        RetryPolicy {
            max_attempts: 4,
            max_wait: Duration::from_secs(3),
            backoff: Duration::from_millis(50),
        },
    );
    let api = zoom.api(&conn).await.unwrap();
    (api, conn.account_id)
}

#[tokio::test]
async fn a_fresh_download_token_from_the_api_downloads_the_file() {
    let sim = ZoomSim::start().await.unwrap();
    let mut spec = RecordingSpec::realistic(&unique("api"), 64 * 1024);
    // A uuid that must be double-encoded in the path.
    spec.uuid = format!("/{}//x+y==", unique("u"));
    let rec = sim.add_recording(spec);
    let (api, account) = setup(&sim).await;
    let found = api.recording(&account, &rec.uuid).await.unwrap().unwrap();
    assert_eq!(found.instance.as_str(), rec.uuid);
    assert_eq!(found.files.len(), rec.files().len());
    let file = &found.files[0];
    let DownloadSource::ZoomUrl { url, token, .. } = &file.source else {
        panic!("a Zoom source");
    };
    let token = token.clone().expect("a download_access_token");
    assert_ne!(token, rec.download_token, "a new token, not the webhook's");
    let body = reqwest::Client::new()
        .get(url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len() as u64, rec.file(file.id.as_str()).unwrap().size);
    // The access token is cached: a second call asks for no new one.
    api.recording(&account, &rec.uuid).await.unwrap().unwrap();
    assert_eq!(sim.api_stats().token_requests, 1);
    // Expired at Zoom: the 401 makes the client get a new token and try again, once.
    sim.expire_api_tokens();
    api.recording(&account, &rec.uuid).await.unwrap().unwrap();
    assert_eq!(sim.api_stats().token_requests, 2);
    // A recording Zoom no longer has is `None`, not an error.
    assert!(
        api.recording(&account, "gone-uuid==")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn rate_limits_are_waited_out_or_handed_back_with_their_wait() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("rl"), 1024));
    let (api, account) = setup(&sim).await;
    // Short waits (seconds, or an HTTP date) are slept through.
    for retry_after in [RetryAfter::Secs(1), RetryAfter::HttpDate(2)] {
        sim.set_api_fault(ApiFault::RateLimited {
            times: 1,
            retry_after,
        });
        let started = Instant::now();
        api.recording(&account, &rec.uuid).await.unwrap().unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(900),
            "waited as told"
        );
    }
    // 5xx: backed off and retried.
    sim.set_api_fault(ApiFault::ServerError { times: 2 });
    api.recording(&account, &rec.uuid).await.unwrap().unwrap();
    assert_eq!(sim.api_stats().api_server_errors, 2);
    // The daily limit is not slept through: retryable, carrying the wait until Zoom's reset.
    sim.set_daily_limit_retry_after(Some(RetryAfter::Secs(3600)));
    sim.set_api_fault(ApiFault::DailyLimit { times: 1 });
    let e = api.recording(&account, &rec.uuid).await.unwrap_err();
    assert_eq!(e.class(), Class::Retryable);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert!(e.to_string().contains("daily limit"), "{e}");
    // A per-second limit whose wait is longer than the policy's (3 s here) is not slept through either.
    sim.set_api_fault(ApiFault::RateLimited {
        times: 1,
        retry_after: RetryAfter::Secs(120),
    });
    let started = Instant::now();
    let e = api.recording(&account, &rec.uuid).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "slept");
    assert_eq!(e.class(), Class::Retryable);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(120)));
    // A persistent 401 (bad credentials) is kept for an admin to fix, not dropped.
    sim.set_api_fault(ApiFault::Unauthorized { times: 10 });
    let e = api.recording(&account, &rec.uuid).await.unwrap_err();
    assert_eq!((e.class(), e.kind()), (Class::Retryable, Kind::Auth));
    assert!(!e.to_string().contains(&sim.s2s_app().client_secret));
}
