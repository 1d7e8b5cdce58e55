//! The Zoom REST client against the Zoom simulator, with its Server-to-Server credentials in Secrets Manager
//! (moto): token grant and cache, refresh after a 401, rate limits (seconds, HTTP date, daily limit), 5xx
//! back-off, double-encoded uuids, fresh download tokens that download, and the meeting's people read for
//! the owner stage (every page, only the lists the policy uses, a refused list recorded).

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
    let (zoom, conn) = connected(sim, shared::zoom::api::PAGE_SIZE).await;
    let api = zoom.api(&conn).await.unwrap();
    (api, conn.account_id)
}

/// [`setup`]'s connection and its clients, listing in pages of `page_size`.
async fn connected(sim: &ZoomSim, page_size: u32) -> (HttpZoomConnections, Connection) {
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
    )
    .with_page_size(page_size);
    (zoom, conn)
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

/// The catalog entry the owner stage would hold for a sim recording.
fn entry_of(rec: &zoom_sim::SimRecording, conn: &Connection) -> shared::catalog::RecordingEntry {
    let r = shared::zoom::event::normalise(rec.recording_completed_body().as_bytes()).unwrap();
    shared::catalog::RecordingEntry::new(
        &r,
        conn.tenant.clone(),
        conn.id.clone(),
        chrono::Utc::now(),
    )
}

fn every_group_mapped() -> shared::config::CoOwnerPolicy {
    use shared::config::CoRole;
    shared::config::CoOwnerPolicy {
        co_hosts: CoRole::CoPublisher,
        alternative_hosts: CoRole::CoEditor,
        participants: CoRole::CoViewer,
        panelists: CoRole::CoPublisher,
    }
}

fn strs(v: &[shared::ids::Email]) -> Vec<&str> {
    v.iter().map(|e| e.as_str()).collect()
}

#[tokio::test]
async fn a_meetings_people_are_read_from_every_page_and_mapped_to_co_owners() {
    use shared::owner::{AttendeeSource, resolve_co_users};
    use shared::zoom::attendees::ZoomAttendees;
    use zoom_sim::{PeopleEndpoint, PeopleSpec, PersonSpec};
    let sim = ZoomSim::start().await.unwrap();
    // 700 people over three pages of 300: the host first, co-hosts on every page (two at the first
    // page break), guests without an e-mail, and a co-host who rejoined as an attendee.
    let cohosts = [
        (10, "ann@uni.edu"),
        (299, "bob@uni.edu"),
        (300, "Cat@X.edu"),
        (650, "dan@uni.edu"),
    ];
    let participants: Vec<PersonSpec> = (0..700)
        .map(|i| match i {
            0 => PersonSpec::new("prof@uni.edu", "host"),
            _ if cohosts.iter().any(|(at, _)| *at == i) => {
                let email = cohosts.iter().find(|(at, _)| *at == i).unwrap().1;
                PersonSpec::new(email, "cohost")
            }
            100 | 200 | 400 => PersonSpec {
                name: format!("Guest {i}"),
                email: String::new(),
                role: "attendee".into(),
            },
            500 => PersonSpec::new("ann@uni.edu", "attendee"),
            _ => PersonSpec::new(&format!("s{i}@x.edu"), "attendee"),
        })
        .collect();
    let mut spec = RecordingSpec::realistic(&unique("people"), 1024).with_people(PeopleSpec {
        participants,
        alternative_hosts: "a@x.edu;b@x.edu".into(),
        panelists: vec![],
    });
    spec.host_email = "prof@uni.edu".into();
    let rec = sim.add_recording(spec);
    let (zoom, mut conn) = connected(&sim, shared::zoom::api::PAGE_SIZE).await;
    conn.co_owners = every_group_mapped();
    let entry = entry_of(&rec, &conn);
    assert_eq!(entry.kind, shared::model::MeetingKind::Meeting);
    let mut people = ZoomAttendees(zoom)
        .attendees(&conn, &entry)
        .await
        .unwrap()
        .expect("the policy uses Zoom's lists");

    assert_eq!(
        strs(&people.co_hosts),
        ["ann@uni.edu", "bob@uni.edu", "cat@x.edu", "dan@uni.edu"]
    );
    assert_eq!(strs(&people.alternative_hosts), ["a@x.edu", "b@x.edu"]);
    // 700 rows, three without an e-mail, one repeated.
    assert_eq!(people.participants.len(), 700 - 3 - 1);
    assert_eq!(people.participants[0].as_str(), "prof@uni.edu");
    assert_eq!(people.participants.last().unwrap().as_str(), "s699@x.edu");
    assert!(
        people.panelists.is_empty() && people.unread.is_empty(),
        "{people:?}"
    );

    // Every page of both lists was read, the instance by its double-encoded uuid; the meeting once, by
    // its number; no panelists for a meeting.
    let log = sim.people_requests();
    for endpoint in [PeopleEndpoint::Metrics, PeopleEndpoint::Report] {
        let pages: Vec<_> = log.iter().filter(|c| c.endpoint == endpoint).collect();
        assert_eq!(
            pages
                .iter()
                .map(|c| (c.status, c.had_token))
                .collect::<Vec<_>>(),
            [(200, false), (200, true), (200, true)],
            "{endpoint:?}"
        );
        for c in pages {
            assert_eq!(c.page_size, Some(300));
            assert_eq!(c.meeting.as_deref(), Some(rec.uuid.as_str()));
            assert!(c.path.contains("%25"), "double-encoded: {}", c.path);
        }
    }
    let meeting: Vec<_> = log
        .iter()
        .filter(|c| c.endpoint == PeopleEndpoint::Meeting)
        .collect();
    assert_eq!(meeting.len(), 1);
    assert_eq!(
        meeting[0].meeting.as_deref(),
        Some(rec.meeting_id.to_string().as_str())
    );
    assert!(!log.iter().any(|c| c.endpoint == PeopleEndpoint::Panelists));

    // Mapped by the policy: co-hosts co-publish, alternative hosts co-edit, everyone else co-views;
    // the owner and those already placed are not added twice.
    let dir = shared::fakes::MemoryConfig {
        connections: vec![],
        users: ["prof", "ann", "bob", "dan"]
            .iter()
            .map(|u| shared::fakes::user(u, &format!("{u}@uni.edu")))
            .collect(),
    };
    let owner = shared::ids::UserId::parse("prof").unwrap();
    resolve_co_users(&mut people, &conn, Some(&owner), &dir)
        .await
        .unwrap();
    let role_of = |email: &str| {
        people
            .co_owners
            .iter()
            .find(|c| c.email.as_str() == email)
            .map(|c| {
                (
                    c.role.as_str(),
                    c.from.as_str(),
                    c.user.as_ref().map(|u| u.to_string()),
                )
            })
    };
    assert_eq!(
        role_of("ann@uni.edu"),
        Some(("co_publisher", "co_host", Some("ann".into())))
    );
    assert_eq!(
        role_of("cat@x.edu"),
        Some(("co_publisher", "co_host", None))
    );
    assert_eq!(
        role_of("a@x.edu"),
        Some(("co_editor", "alternative_host", None))
    );
    assert_eq!(
        role_of("s5@x.edu"),
        Some(("co_viewer", "participant", None))
    );
    assert_eq!(role_of("prof@uni.edu"), None, "the owner");
    let count = |from: &str| people.co_owners.iter().filter(|c| c.from == from).count();
    assert_eq!(
        (
            count("co_host"),
            count("alternative_host"),
            count("participant")
        ),
        (4, 2, people.participants.len() - 1 - 4)
    );
    let co_users: Vec<&str> = people.co_users.iter().map(|u| u.as_str()).collect();
    assert_eq!(co_users, ["ann", "bob", "dan"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_webinars_panelists_are_paged_a_refused_list_is_recorded_and_a_throttle_retried() {
    use shared::owner::{AttendeeSource, resolve_co_users};
    use shared::zoom::attendees::ZoomAttendees;
    use zoom_sim::{PeopleEndpoint, PeopleSpec, PersonSpec};
    let sim = ZoomSim::start().await.unwrap();
    let spec = RecordingSpec::realistic(&unique("webinar"), 1024)
        .as_webinar()
        .with_people(PeopleSpec {
            participants: vec![
                PersonSpec::new("host@uni.edu", "host"),
                PersonSpec::new("co@uni.edu", "cohost"),
                PersonSpec::new("viewer@else.org", "attendee"),
            ],
            alternative_hosts: String::new(),
            panelists: (0..5)
                .map(|i| PersonSpec::new(&format!("Pan{i}@Uni.edu"), ""))
                .collect(),
        });
    let rec = sim.add_recording(spec);
    // Pages of two, so the panelists take three.
    let (zoom, mut conn) = connected(&sim, 2).await;
    let zoom = Arc::new(zoom);
    conn.co_owners = every_group_mapped();
    let entry = entry_of(&rec, &conn);
    assert_eq!(entry.kind, shared::model::MeetingKind::Webinar);
    let people = ZoomAttendees(zoom.clone())
        .attendees(&conn, &entry)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(strs(&people.co_hosts), ["co@uni.edu"]);
    assert!(people.alternative_hosts.is_empty(), "blank: none");
    assert_eq!(people.participants.len(), 3);
    assert_eq!(
        strs(&people.panelists),
        (0..5)
            .map(|i| format!("pan{i}@uni.edu"))
            .collect::<Vec<_>>()
    );
    let log = sim.people_requests();
    assert!(log.iter().all(|c| c.webinar && c.status == 200), "{log:#?}");
    let panel_pages = log
        .iter()
        .filter(|c| c.endpoint == PeopleEndpoint::Panelists)
        .count();
    assert_eq!(panel_pages, 3);
    let mut mapped = people.clone();
    resolve_co_users(
        &mut mapped,
        &conn,
        None,
        &shared::fakes::MemoryConfig::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        mapped
            .co_owners
            .iter()
            .filter(|c| c.from == "panelist" && c.role.as_str() == "co_publisher")
            .count(),
        5
    );

    // No scope for the report (Zoom: 400, code 4711): the participants are not read, said so, and the
    // others still are.
    sim.deny_people_scope(PeopleEndpoint::Report);
    let people = ZoomAttendees(zoom.clone())
        .attendees(&conn, &entry)
        .await
        .unwrap()
        .unwrap();
    assert!(people.participants.is_empty());
    assert_eq!((people.co_hosts.len(), people.panelists.len()), (1, 5));
    assert_eq!(
        people.unread,
        [
            "participants: not read: Zoom refused it (HTTP 400: a missing scope or plan?), GET /report/webinars/{uuid}/participants"
        ]
    );
    for line in &people.unread {
        assert!(
            !line.contains("http") && !line.contains(&rec.uuid),
            "{line}"
        );
    }

    // A meeting Zoom no longer has: each list says so (the report, whose scope is still missing, that).
    let mut gone = entry.clone();
    gone.instance_id = shared::ids::InstanceId::parse("gone-uuid==").unwrap();
    gone.meeting_id = "1".into();
    let people = ZoomAttendees(zoom.clone())
        .attendees(&conn, &gone)
        .await
        .unwrap()
        .unwrap();
    let statuses: Vec<(&str, bool)> = people
        .unread
        .iter()
        .map(|l| (l.split(':').next().unwrap(), l.contains("HTTP 404")))
        .collect();
    assert_eq!(
        statuses,
        [
            ("co_hosts", true),
            ("alternative_hosts", true),
            ("participants", false),
            ("panelists", true)
        ],
        "{:?}",
        people.unread
    );

    // The daily limit is not a refusal: the error goes back to the queue.
    sim.set_daily_limit_retry_after(Some(RetryAfter::Secs(3600)));
    sim.set_api_fault(ApiFault::DailyLimit { times: 1 });
    let e = ZoomAttendees(zoom.clone())
        .attendees(&conn, &entry)
        .await
        .unwrap_err();
    assert_eq!(e.class(), Class::Retryable);
    sim.shutdown().await;
}
