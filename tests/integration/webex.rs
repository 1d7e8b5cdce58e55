//! The Webex REST adapter and the admin CLI's webhook registration against the Webex simulator, with
//! credentials in Secrets Manager on moto: refresh-token rotation persisted before use, Retry-After, 5xx
//! back-off, next links that drop filters, and creating / repairing org-wide webhooks.

use archiver_admin::webex::{ensure, target_url, webhook_secret};
use archiver_tests::{aws, unique, webex_credentials_json};
use shared::aws::secrets::SecretsManager;
use shared::batch::Outcome;
use shared::config::Connection;
use shared::error::{Class, Kind};
use shared::ids::Email;
use shared::ports::{SecretStore, SecretWriter};
use shared::webex::api::{HttpWebex, RetryPolicy, WebexApi};
use shared::webex::auth::{Credentials, TokenSource};
use std::sync::Arc;
use std::time::{Duration, Instant};
use webex_sim::{ApiFault, MeetingSpec, SimMeeting, WebexSim};

fn client(sim: &WebexSim, secrets: &SecretsManager, secret_id: &str) -> HttpWebex {
    let quick = RetryPolicy {
        max_attempts: 5,
        max_wait: Duration::from_secs(5),
        backoff: Duration::from_millis(50),
    };
    client_with(sim, secrets, secret_id, quick)
}

fn client_with(
    sim: &WebexSim,
    secrets: &SecretsManager,
    secret_id: &str,
    retry: RetryPolicy,
) -> HttpWebex {
    let http = reqwest::Client::new();
    HttpWebex::new(
        &sim.api_base(),
        http.clone(),
        TokenSource::new(secret_id, Arc::new(secrets.clone()), &sim.api_base(), http),
        retry,
    )
}

async fn stored(secrets: &SecretsManager, id: &str) -> Credentials {
    Credentials::parse(secrets.secret(id).await.unwrap().expose()).unwrap()
}

/// Secrets Manager on moto, a Webex simulator, and one meeting of `host`'s that ended `hours` ago.
async fn world(topic: &str, host: &str, hours: i64) -> (SecretsManager, WebexSim, SimMeeting) {
    let conf = aws().await.unwrap();
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&conf));
    let sim = WebexSim::start().await.unwrap();
    let meeting = sim.add_meeting(MeetingSpec::realistic(
        topic,
        host,
        chrono::Utc::now() - chrono::Duration::hours(hours),
        4096,
    ));
    (secrets, sim, meeting)
}

#[tokio::test]
async fn tokens_rotate_through_secrets_manager_and_limits_are_respected() {
    let host = "prof.ada@uni.example.edu";
    let (secrets, sim, meeting) = world("CHEM 210", host, 2).await;
    // The stored access token is about to expire: the first call must refresh, store, then use.
    sim.set_access_token_ttl(60);
    let id = format!("archiver/{}/credentials", unique("t"));
    secrets
        .put(&id, &webex_credentials_json(&sim))
        .await
        .unwrap();
    let before = stored(&secrets, &id).await;
    sim.set_access_token_ttl(3600);
    let api = client(&sim, &secrets, &id);
    let email = Email::parse(host).unwrap();
    let rec = api
        .recording(&meeting.recordings[0].id, Some(&email))
        .await
        .unwrap();
    assert_eq!(
        rec.meeting_id.as_deref(),
        Some(meeting.instance_id.as_str())
    );
    assert!(rec.temporary_direct_download_links.is_some());
    let after = stored(&secrets, &id).await;
    assert_eq!(sim.api_stats().token_refreshes, 1);
    assert_ne!(after.access_token, before.access_token);
    assert_ne!(
        after.refresh_token, before.refresh_token,
        "the rotated refresh token was stored"
    );
    assert!(after.expires_at > chrono::Utc::now() + chrono::Duration::minutes(50));

    // Another function instance starts from the stored token: no second refresh.
    let other = client(&sim, &secrets, &id);
    other.admin_recordings(&meeting.instance_id).await.unwrap();
    assert_eq!(sim.api_stats().token_refreshes, 1);

    // A revoked/rotated token (401) is refreshed once, with the *stored* refresh token.
    sim.set_access_token_ttl(3600);
    let third = client(&sim, &secrets, &id);
    let mut c = stored(&secrets, &id).await;
    c.access_token = "revoked-token".into();
    secrets
        .put_secret(
            &id,
            &shared::ports::SecretString::new(serde_json::to_string(&c).unwrap()),
        )
        .await
        .unwrap();
    third.admin_recordings(&meeting.instance_id).await.unwrap();
    assert_eq!(sim.api_stats().token_refreshes, 2);

    // 429 with Retry-After: 1 is waited out; two 503s are backed off; the call succeeds.
    sim.set_fault(ApiFault::RateLimit {
        status: 429,
        count: 1,
        retry_after_secs: 1,
    });
    sim.set_fault(ApiFault::ServerError {
        status: 503,
        count: 2,
    });
    let t = Instant::now();
    let people = third
        .participants(&meeting.instance_id, Some(&email))
        .await
        .unwrap();
    assert!(
        t.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let stats = sim.api_stats();
    assert_eq!((stats.rate_limited, stats.server_errors), (1, 2));
    assert_eq!(people.len(), 23);

    // Next links that drop meetingId/hostEmail: the filters are put back, so the pages are still this
    // meeting's (the simulator answers 400 to a participants page without meetingId).
    let second = sim.add_meeting(MeetingSpec::realistic(
        "CHEM 210",
        host,
        chrono::Utc::now() - chrono::Duration::days(7),
        4096,
    ));
    sim.set_fault(ApiFault::DropFiltersOnNext);
    let small_pages = client(&sim, &secrets, &id).with_page_size(10);
    let people = small_pages
        .participants(&second.instance_id, Some(&email))
        .await
        .unwrap();
    assert_eq!(people.len(), 23);
    assert_eq!(people.iter().filter(|p| p.host).count(), 1);
    let paths = sim.api_stats().paths;
    let pages: Vec<_> = paths
        .iter()
        .filter(|p| p.contains("meetingParticipants") && p.contains(&second.instance_id))
        .collect();
    assert_eq!(pages.len(), 3, "{paths:?}");
    assert!(pages.iter().all(|p| p.contains("hostEmail=")), "{pages:?}");

    // A Retry-After longer than we may wait in a function is a retryable error for the queue.
    sim.set_fault(ApiFault::RateLimit {
        status: 423,
        count: 1,
        retry_after_secs: 120,
    });
    let err = third
        .admin_recordings(&meeting.instance_id)
        .await
        .unwrap_err();
    assert_eq!(err.class(), Class::Retryable, "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)), "{err}");
    assert!(err.to_string().contains("retry after 120s"), "{err}");

    // Unknown recording: permanent, with the vendor's message.
    let err = third.recording("nope", Some(&email)).await.unwrap_err();
    assert_eq!(err.class(), Class::Permanent, "{err}");
    sim.shutdown().await;
}

/// The rule of `shared::http::RetryPolicy` with its default 30 s: a short `Retry-After` is slept through, a
/// long one is handed back at once, retryable and carrying the wait, which a queue consumer turns into
/// `Outcome::RetryAfter` (the message's visibility set to that delay).
#[tokio::test]
async fn a_long_retry_after_is_handed_back_not_slept() {
    let host = "prof.ada@uni.example.edu";
    let (secrets, sim, meeting) = world("PHYS 101", host, 1).await;
    let id = format!("archiver/{}/credentials", unique("t"));
    secrets
        .put(&id, &webex_credentials_json(&sim))
        .await
        .unwrap();
    let api = client_with(&sim, &secrets, &id, RetryPolicy::default());
    let email = Email::parse(host).unwrap();
    let recording = &meeting.recordings[0].id;

    // Retry-After: 2 is within the policy's 30 s: waited out, then the call succeeds.
    sim.set_fault(ApiFault::RateLimit {
        status: 429,
        count: 1,
        retry_after_secs: 2,
    });
    let t = Instant::now();
    let rec = api.recording(recording, Some(&email)).await.unwrap();
    assert_eq!(rec.id, *recording);
    assert!(t.elapsed() >= Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(sim.api_stats().rate_limited, 1);

    // Retry-After: 120 is longer than any function should sleep: no sleep, retryable, carrying the wait.
    sim.set_fault(ApiFault::RateLimit {
        status: 429,
        count: 1,
        retry_after_secs: 120,
    });
    let (t, sent) = (Instant::now(), sim.api_stats().requests);
    let err = api.recording(recording, Some(&email)).await.unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "slept: {:?}",
        t.elapsed()
    );
    assert_eq!(
        sim.api_stats().requests - sent,
        1,
        "not retried in the call"
    );
    assert_eq!(err.class(), Class::Retryable, "{err}");
    assert_eq!(err.kind(), Kind::Status(429), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)), "{err}");
    let outcome = Outcome::from(err);
    assert!(
        matches!(outcome, Outcome::RetryAfter(_, d) if d == Duration::from_secs(120)),
        "{outcome:?}"
    );
    // The queue brings the message back later; by then the limit has passed.
    api.recording(recording, Some(&email)).await.unwrap();
    sim.shutdown().await;
}

#[tokio::test]
async fn refused_refresh_is_permanent_and_keeps_the_stored_secret() {
    let conf = aws().await.unwrap();
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&conf));
    let sim = WebexSim::start().await.unwrap();
    sim.set_access_token_ttl(60);
    let id = format!("archiver/{}/credentials", unique("t"));
    let mut c = Credentials::parse(&webex_credentials_json(&sim)).unwrap();
    c.refresh_token = "revoked".into();
    let json = serde_json::to_string(&c).unwrap();
    secrets.put(&id, &json).await.unwrap();
    let api = client(&sim, &secrets, &id);
    let err = api.admin_recordings("m_I_1").await.unwrap_err();
    assert_eq!(err.class(), Class::Permanent);
    assert!(err.to_string().contains("re-authorise"), "{err}");
    assert!(!err.to_string().contains(&c.client_secret));
    assert_eq!(secrets.secret(&id).await.unwrap().expose(), json);
    sim.shutdown().await;
}

#[tokio::test]
async fn admin_cli_creates_and_repairs_org_webhooks() {
    let conf = aws().await.unwrap();
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&conf));
    let sim = WebexSim::start().await.unwrap();
    let tenant = unique("uni");
    let cred_id = format!("archiver/{tenant}/webex/credentials");
    secrets
        .put(&cred_id, &webex_credentials_json(&sim))
        .await
        .unwrap();
    let conn: Connection = serde_json::from_value(serde_json::json!({
        "id": "webex-main", "tenant": tenant, "vendor": "webex", "account_id": sim.org_id(),
        "webhook_secret_ref": format!("archiver/{tenant}/webex-main/webhook-secret"),
        "credentials_ref": cred_id, "api_base_url": sim.api_base(), "oauth_base_url": sim.api_base(),
        "download_hosts": ["127.0.0.1"], "max_age_secs": 7200, "max_future_secs": 300,
        "delete_plan": {"mode": "retain"}, "default_owner": "media", "enabled": true
    }))
    .unwrap();
    let api = client(&sim, &secrets, &cred_id);
    let target = target_url("https://api.example.com/webhooks/", &conn);
    assert_eq!(target, "https://api.example.com/webhooks/webex/webex-main");

    // First run: a secret is generated and stored, both webhooks are created org-wide with it.
    let (secret, generated) = webhook_secret(&secrets, &conn).await.unwrap();
    assert!(generated && secret.expose().len() == 64);
    let report = ensure(&api, &conn, &target, &secret).await.unwrap();
    let actions: Vec<_> = report.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["created", "created"]);
    let hooks = sim.webhooks();
    assert_eq!(hooks.len(), 2);
    for h in &hooks {
        assert_eq!(h.target_url, target);
        assert_eq!(h.owned_by.as_deref(), Some("org"));
        assert_eq!(h.secret.as_deref(), Some(secret.expose()));
        assert_eq!(h.status, "active");
    }

    // Second run: the same secret is reused and nothing changes.
    let (again, generated) = webhook_secret(&secrets, &conn).await.unwrap();
    assert!(!generated && again.expose() == secret.expose());
    let report = ensure(&api, &conn, &target, &again).await.unwrap();
    assert!(report.iter().all(|r| r.action == "ok"), "{report:?}");

    // Webex disabled one after failed deliveries: it is reactivated, and the other is re-keyed if its
    // secret differs from ours.
    let rec_hook = hooks.iter().find(|h| h.resource == "recordings").unwrap();
    sim.set_webhook_status(&rec_hook.id, "inactive");
    let rotated = shared::ports::SecretString::new(archiver_admin::webex::generate_secret());
    let report = ensure(&api, &conn, &target, &rotated).await.unwrap();
    let by_resource = |r: &str| report.iter().find(|x| x.resource == r).unwrap().clone();
    assert_eq!(
        by_resource("recordings").action,
        "reactivated, secret updated"
    );
    assert_eq!(by_resource("meetingTranscripts").action, "secret updated");
    assert!(
        sim.webhooks()
            .iter()
            .all(|h| h.status == "active" && h.secret.as_deref() == Some(rotated.expose()))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn service_app_tokens_are_obtained_then_refreshed_like_any_other() {
    let conf = aws().await.unwrap();
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&conf));
    let sim = WebexSim::start().await.unwrap();
    let issuer = shared::ports::SecretString::new(sim.integration_credentials().access_token);
    let app = sim.service_app();
    let app_secret = shared::ports::SecretString::new(app.client_secret.clone());
    let http = reqwest::Client::new();
    // A wrong org is refused with the vendor's message.
    let err = shared::webex::auth::service_app_token(
        &http,
        &sim.api_base(),
        &app.application_id,
        &issuer,
        &app.client_id,
        &app_secret,
        "another-org",
    )
    .await
    .unwrap_err();
    assert_eq!(err.class(), Class::Permanent, "{err}");
    // Born almost expired, so the first use refreshes with the Service App's own client credentials.
    sim.set_access_token_ttl(30);
    let creds = shared::webex::auth::service_app_token(
        &http,
        &sim.api_base(),
        &app.application_id,
        &issuer,
        &app.client_id,
        &app_secret,
        &sim.org_id(),
    )
    .await
    .unwrap();
    assert_eq!(creds.kind, shared::webex::auth::CredentialKind::ServiceApp);
    sim.set_access_token_ttl(3600);
    let id = format!("archiver/{}/credentials", unique("sa"));
    secrets
        .put(&id, &serde_json::to_string(&creds).unwrap())
        .await
        .unwrap();
    let api = client(&sim, &secrets, &id);
    assert!(api.webhooks().await.unwrap().is_empty());
    assert_eq!(sim.api_stats().token_refreshes, 1);
    let stored = stored(&secrets, &id).await;
    assert_eq!(stored.client_id, app.client_id);
    assert_ne!(stored.refresh_token, creds.refresh_token);
    sim.shutdown().await;
}

/// Secrets as another instance saw them a moment ago: the first read answers `stale`, later ones the store.
struct SeenEarlier {
    stale: std::sync::Mutex<Option<shared::ports::SecretString>>,
    inner: SecretsManager,
}

#[async_trait::async_trait]
impl SecretStore for SeenEarlier {
    async fn secret(&self, id: &str) -> Result<shared::ports::SecretString, shared::error::Error> {
        if let Some(s) = self.stale.lock().unwrap().take() {
            return Ok(s);
        }
        self.inner.secret(id).await
    }
}

#[async_trait::async_trait]
impl SecretWriter for SeenEarlier {
    async fn put_secret(
        &self,
        id: &str,
        value: &shared::ports::SecretString,
    ) -> Result<(), shared::error::Error> {
        self.inner.put_secret(id, value).await
    }
}

#[tokio::test]
async fn an_instance_that_loses_the_refresh_race_uses_the_winners_tokens() {
    let conf = aws().await.unwrap();
    let secrets = SecretsManager::new(aws_sdk_secretsmanager::Client::new(&conf));
    let sim = WebexSim::start().await.unwrap();
    sim.set_access_token_ttl(60);
    let id = format!("archiver/{}/credentials", unique("race"));
    secrets
        .put(&id, &webex_credentials_json(&sim))
        .await
        .unwrap();
    sim.set_access_token_ttl(3600);
    // Instance B read the stored set (about to expire) just before instance A refreshed it.
    let seen_by_b = secrets.secret(&id).await.unwrap();
    let http = reqwest::Client::new();
    let a = TokenSource::new(
        &id,
        Arc::new(secrets.clone()),
        &sim.api_base(),
        http.clone(),
    );
    let token_a = a.token(false).await.unwrap();
    let b = TokenSource::new(
        &id,
        Arc::new(SeenEarlier {
            stale: std::sync::Mutex::new(Some(seen_by_b)),
            inner: secrets.clone(),
        }),
        &sim.api_base(),
        http,
    );
    // B's refresh uses the rotated-away refresh token: Webex says invalid_grant; B re-reads and goes on.
    let token_b = b.token(false).await.unwrap();
    assert_eq!(token_b.expose(), token_a.expose());
    assert_eq!(sim.api_stats().token_refreshes, 1);
    assert_eq!(stored(&secrets, &id).await.access_token, token_a.expose());
}
