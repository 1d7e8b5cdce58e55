//! `archiver-admin backfill` against the vendor simulators, with the catalog and the run's record in DynamoDB
//! and the events queue in SQS (moto): every list pages (page size 1), recordings spread over four months,
//! a run stopped half way by Zoom's daily limit and continued, a 429 waited out, an overlap with a webhook.
//! What the backfill queued is then ingested by enqueue, which creates each file once.

use archiver_tests::{TestTenant, apply_tenant_with_zoom_api, provision, unique};
use chrono::{NaiveDate, TimeZone, Utc};
use enqueue::handler::Enqueue;
use shared::aws::{catalog::DynamoCatalog, config::DynamoConfig, sqs::SqsQueue};
use shared::batch::{Handler, Invocation};
use shared::catalog::CatalogReader;
use shared::messages::IngestMessage;
use std::collections::{BTreeMap, BTreeSet};
use zoom_sim::{ApiFault, ListEndpoint, RecordingSpec, RetryAfter, UserSpec, UserStatus, ZoomSim};

type Webex = std::sync::Arc<shared::webex::HttpWebexConnections>;

struct World {
    conf: aws_config::SdkConfig,
    res: BTreeMap<String, String>,
    tenant: TestTenant,
    catalog: DynamoCatalog,
    enqueue: Enqueue<DynamoConfig, DynamoCatalog, SqsQueue, Webex, DynamoConfig>,
}

impl World {
    /// A stack of its own with a tenant whose Zoom connection has the simulator's API credentials.
    async fn zoom(sim: &ZoomSim, name: &str) -> World {
        let (conf, res) = provision(&unique(name)).await.unwrap();
        let plan = serde_json::json!({"mode": "retain"});
        let tenant = apply_tenant_with_zoom_api(&conf, &res["ConfigTable"], sim, None, plan)
            .await
            .unwrap();
        World::new(conf, res, tenant)
    }

    /// A stack of its own with a tenant whose Webex connection is the simulator's org.
    async fn webex(sim: &webex_sim::WebexSim, host: &str, name: &str) -> World {
        let (conf, res) = provision(&unique(name)).await.unwrap();
        let plan = serde_json::json!({"mode": "retain"});
        let tenant =
            archiver_tests::apply_webex_tenant(&conf, &res["ConfigTable"], sim, host, None, plan)
                .await
                .unwrap();
        World::new(conf, res, tenant)
    }

    fn new(
        conf: aws_config::SdkConfig,
        res: BTreeMap<String, String>,
        tenant: TestTenant,
    ) -> World {
        let ddb = aws_sdk_dynamodb::Client::new(&conf);
        let config = DynamoConfig::new(ddb.clone(), &res["ConfigTable"]);
        let catalog = DynamoCatalog::new(ddb, &res["CatalogTable"]);
        let enqueue = Enqueue {
            config: config.clone(),
            catalog: catalog.clone(),
            owners: SqsQueue::new(aws_sdk_sqs::Client::new(&conf), &res["OwnerQueue"]),
            webex: std::sync::Arc::new(shared::aws::webex_connections(&conf)),
            switch: config,
        };
        World {
            conf,
            res,
            tenant,
            catalog,
            enqueue,
        }
    }

    /// One backfill run over the range, with pages of one item.
    async fn backfill(
        &self,
        from: &str,
        to: &str,
        dry_run: bool,
    ) -> anyhow::Result<shared::backfill::Counts> {
        let opts = archiver_admin::backfill::Options {
            dry_run,
            page_size: Some(1),
            // Our own pace on top of the vendor's: 50 requests a second.
            max_rate: Some(50.0),
            ..self.options(from, to)
        };
        archiver_admin::backfill::run(&self.conf, self.places(), &opts).await
    }

    fn places(&self) -> archiver_admin::backfill::Places<'_> {
        archiver_admin::backfill::Places {
            config_table: &self.res["ConfigTable"],
            catalog_table: &self.res["CatalogTable"],
            events_queue_url: &self.res["EventsQueue"],
        }
    }

    fn options(&self, from: &str, to: &str) -> archiver_admin::backfill::Options {
        archiver_admin::backfill::Options::new(&self.tenant.connection, from, Some(to))
    }

    /// Everything on the events queue, taken off it.
    async fn drain(&self) -> Vec<IngestMessage> {
        let sqs = aws_sdk_sqs::Client::new(&self.conf);
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(&self.res["EventsQueue"])
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if got.is_empty() {
                return out;
            }
            for m in got {
                out.push(serde_json::from_str(m.body().unwrap()).unwrap());
                sqs.delete_message()
                    .queue_url(&self.res["EventsQueue"])
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// Ingests messages as enqueue would; the files it created.
    async fn ingest(&self, msgs: Vec<IngestMessage>) -> usize {
        let mut created = 0;
        for m in msgs {
            created += self
                .enqueue
                .handle(m, &Invocation::now())
                .await
                .expect("ingested")
                .created;
        }
        created
    }
}

/// Recordings of the simulator's account, each hosted by its user and started at its time (RFC 3339).
fn past_recordings(
    sim: &ZoomSim,
    name: &str,
    hosts: &[(&UserSpec, &str)],
) -> Vec<zoom_sim::SimRecording> {
    let account = sim.s2s_app().account_id;
    hosts
        .iter()
        .enumerate()
        .map(|(i, (user, at))| {
            let mut spec = RecordingSpec::realistic(&unique(&format!("{name}-{i}")), 2048)
                .hosted_by(user)
                .starting_at(at.parse().unwrap());
            spec.account_id = account.clone();
            sim.add_recording(spec)
        })
        .collect()
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn zoom_backfill_archives_every_recording_once_continues_after_a_stop_and_waits_out_a_429() {
    let sim = ZoomSim::start().await.unwrap();
    let w = World::zoom(&sim, "bf").await;
    let account = sim.s2s_app().account_id;
    let ann = sim.add_user(UserSpec::realistic(&unique("ann")));
    let bob = sim.add_user(UserSpec::realistic(&unique("bob")));
    let cleo = sim.add_user(UserSpec::realistic(&unique("cleo")).with_status(UserStatus::Inactive));
    let recs = past_recordings(
        &sim,
        "past",
        &[
            (&ann, "2026-08-03T09:00:00Z"),
            (&ann, "2026-08-31T23:30:00Z"),
            (&bob, "2026-09-01T00:10:00Z"),
            (&cleo, "2026-09-15T14:00:00Z"),
            (&ann, "2026-10-02T10:00:00Z"),
            (&cleo, "2026-10-30T16:00:00Z"),
            (&bob, "2026-11-11T11:00:00Z"),
            (&bob, "2026-11-30T08:00:00Z"),
        ],
    );
    // Before it: outside the range, never listed.
    let mut old = RecordingSpec::realistic(&unique("too-old"), 2048)
        .hosted_by(&ann)
        .starting_at(Utc.with_ymd_and_hms(2026, 7, 31, 12, 0, 0).unwrap());
    old.account_id = account.clone();
    sim.add_recording(old);
    let (from, to) = ("2026-08-01", "2026-11-30");

    // A dry run counts and leaves nothing behind.
    let dry = w.backfill(from, to, true).await.unwrap();
    assert_eq!((dry.units, dry.found, dry.queued), (12, 8, 8), "{dry:?}");
    assert!(dry.bytes_queued > 0);
    assert!(w.drain().await.is_empty(), "a dry run queues nothing");
    let listed_by_dry_run = sim.list_requests().len();

    // One recording arrived by webhook already.
    let by_webhook = IngestMessage {
        vendor: shared::ids::Vendor::Zoom,
        connection_id: shared::ids::ConnectionId::parse(&w.tenant.connection).unwrap(),
        event: "recording.completed".into(),
        received_at_ms: Utc::now().timestamp_millis(),
        body: recs[4].recording_completed_body(),
    };
    let webhook_files = w.ingest(vec![by_webhook]).await;
    assert!(webhook_files > 0);

    // Zoom's daily limit stops the run after a few list calls: what was finished is recorded.
    sim.fail_list_calls(ApiFault::DailyLimit { times: 1 }, 8);
    let stopped = w.backfill(from, to, false).await.unwrap_err();
    assert!(
        format!("{stopped:#}").contains("run the same command again"),
        "{stopped:#}"
    );
    let first = w.drain().await;
    assert!(
        !first.is_empty() && first.len() < recs.len(),
        "{} queued",
        first.len()
    );

    // Run again: a 429 with Retry-After in the middle is waited out, and the run completes.
    sim.fail_list_calls(
        ApiFault::RateLimited {
            times: 1,
            retry_after: RetryAfter::Secs(1),
        },
        4,
    );
    let rest = w.backfill(from, to, false).await.unwrap();
    let second = w.drain().await;
    assert_eq!(rest.queued as usize, second.len());
    let all: Vec<IngestMessage> = first.into_iter().chain(second).collect();
    let uuids: Vec<String> = all
        .iter()
        .map(|m| {
            let v: serde_json::Value = serde_json::from_str(&m.body).unwrap();
            v["uuid"].as_str().unwrap().to_owned()
        })
        .collect();
    let distinct: BTreeSet<&String> = uuids.iter().collect();
    assert_eq!(
        uuids.len(),
        recs.len(),
        "each recording queued once: {uuids:?}"
    );
    assert_eq!(distinct, recs.iter().map(|r| &r.uuid).collect());

    // What Zoom was asked: every user of every status, no window over a month, and no finished window
    // asked for again (only the unit the daily limit cut is listed twice).
    let asked: Vec<_> = sim
        .list_requests()
        .into_iter()
        .skip(listed_by_dry_run)
        .collect();
    for r in &asked {
        if let (Some(f), Some(t)) = (r.from, r.to) {
            assert!(
                shared::backfill::fits(
                    &shared::backfill::Window { from: f, to: t },
                    shared::backfill::WindowRule::CalendarMonth
                ),
                "{r:?}"
            );
        }
    }
    assert!(
        asked
            .iter()
            .any(|r| r.endpoint == ListEndpoint::Users
                && r.user_status.as_deref() == Some("inactive"))
    );
    // At our own pace too: 50 requests a second at most.
    for pair in asked.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= chrono::Duration::milliseconds(15),
            "{gap:?} between list calls"
        );
    }
    let mut first_pages: BTreeMap<(String, NaiveDate), usize> = BTreeMap::new();
    for r in asked
        .iter()
        .filter(|r| r.endpoint == ListEndpoint::UserRecordings && !r.had_token && r.status == 200)
    {
        *first_pages
            .entry((r.user.clone().unwrap(), r.from.unwrap()))
            .or_default() += 1;
    }
    assert_eq!(first_pages.len(), 12, "3 users × 4 months: {first_pages:?}");
    assert!(
        first_pages.values().filter(|n| **n > 1).count() <= 1,
        "finished windows were listed again: {first_pages:?}"
    );
    assert!(
        first_pages.contains_key(&(cleo.id.clone(), day("2026-09-01"))),
        "the deactivated user"
    );

    // Enqueue ingests what was queued: each file once (the webhook's recording adds nothing).
    let created = w.ingest(all).await;
    let listed_files: usize = recs.iter().map(|r| r.files().len()).sum::<usize>() - webhook_files;
    assert_eq!(created, listed_files, "one entry per file, none twice");
    for r in &recs {
        let key = shared::model::RecordingKey {
            vendor: shared::ids::Vendor::Zoom,
            account: shared::ids::AccountId::parse(&account).unwrap(),
            instance: shared::ids::InstanceId::parse(&r.uuid).unwrap(),
        };
        let files = w.catalog.list_files(&key).await.unwrap();
        assert_eq!(files.len(), r.files().len(), "{}", r.uuid);
    }

    // Once more: every unit is done, nothing is listed or queued.
    let before = sim.list_requests().len();
    let again = w.backfill(from, to, false).await.unwrap();
    assert_eq!(again, shared::backfill::Counts::default());
    let recordings_listed = sim.list_requests()[before..]
        .iter()
        .filter(|r| r.endpoint == ListEndpoint::UserRecordings)
        .count();
    assert_eq!(recordings_listed, 0);
    assert!(w.drain().await.is_empty());
}

#[tokio::test]
async fn webex_backfill_walks_every_site_in_30_day_windows_continues_after_a_stop_and_ingests_each_recording_once()
 {
    let sim = webex_sim::WebexSim::start().await.unwrap();
    let host = format!("{}@uni.example.edu", unique("prof"));
    let w = World::webex(&sim, &host, "bfw").await;
    let law = sim.add_site("law.webex.com");
    let mut meetings = Vec::new();
    for (i, (at, site, segments)) in [
        ("2026-08-02T09:00:00Z", None, 1),
        ("2026-08-30T22:00:00Z", Some(&law), 2),
        ("2026-09-20T13:00:00Z", None, 1),
        ("2026-10-05T08:00:00Z", Some(&law), 1),
        ("2026-11-28T15:00:00Z", None, 2),
    ]
    .into_iter()
    .enumerate()
    {
        let mut spec = webex_sim::MeetingSpec::realistic(
            &format!("Lecture {i}"),
            &host,
            at.parse().unwrap(),
            2048,
        )
        .with_segments(segments);
        if let Some(site) = site {
            spec = spec.on_site(site);
        }
        meetings.push(sim.add_meeting(spec));
    }
    let (from, to) = ("2026-08-01", "2026-11-30");
    // Webex keeps failing after a few list calls (503s past every retry): the run stops.
    sim.fail_list_calls(webex_sim::ListFault::ServerError { status: 503 }, 4, 50);
    let stopped = w.backfill(from, to, false).await.unwrap_err();
    assert!(format!("{stopped:#}").contains("run the same command again"));
    sim.clear_list_fault();
    // Run again: a 429 with Retry-After in the middle is waited out, and the run completes.
    sim.fail_list_calls(
        webex_sim::ListFault::RateLimited {
            retry_after_secs: 1,
        },
        3,
        1,
    );
    let c = w.backfill(from, to, false).await.unwrap();
    assert!(c.units > 0 && c.units < 10, "{c:?}");
    // 122 days: five windows of at most 30 days, on each of the two sites.
    let id = shared::ids::ConnectionId::parse(&w.tenant.connection).unwrap();
    let range =
        shared::backfill::DateRange::parse(from, Some(to), Utc::now().date_naive()).unwrap();
    let run = shared::backfill::BackfillStore::load(&w.catalog, &id, &range)
        .await
        .unwrap();
    assert_eq!((run.done.len(), run.counts.found), (10, 5), "{run:?}");
    let asked = sim.list_requests();
    assert!(asked.iter().any(|r| r.status == 429), "the fault was hit");
    let mut first_pages: BTreeMap<(Option<String>, Option<chrono::DateTime<Utc>>), usize> =
        BTreeMap::new();
    for r in asked
        .iter()
        .filter(|r| r.meeting_id.is_none() && !r.had_cursor && r.status == 200)
    {
        *first_pages.entry((r.site_url.clone(), r.from)).or_default() += 1;
    }
    assert_eq!(first_pages.len(), 10, "{first_pages:?}");
    assert!(
        first_pages.values().filter(|n| **n > 1).count() <= 1,
        "finished windows were listed again: {first_pages:?}"
    );
    for r in asked.iter().filter(|r| r.meeting_id.is_none()) {
        let (f, t) = (r.from.unwrap(), r.to.unwrap());
        assert!(t - f <= chrono::Duration::days(30), "{r:?}");
    }
    let sites: BTreeSet<Option<&str>> = asked
        .iter()
        .filter(|r| r.meeting_id.is_none())
        .map(|r| r.site_url.as_deref())
        .collect();
    assert!(sites.contains(&Some(law.as_str())), "{sites:?}");

    let queued = w.drain().await;
    assert_eq!(
        queued.len(),
        meetings.len(),
        "one message per meeting instance"
    );
    let created = w.ingest(queued).await;
    let want: usize = meetings
        .iter()
        .flat_map(|m| m.recordings.iter())
        .map(|r| r.files.len())
        .sum();
    assert_eq!(created, want, "every segment's files, once");

    let again = w.backfill(from, to, false).await.unwrap();
    assert_eq!(again, shared::backfill::Counts::default());
    assert!(w.drain().await.is_empty());
}

type AwsReconciler = reconciler::handler::Reconciler<
    DynamoConfig,
    DynamoCatalog,
    shared::zoom::api::HttpZoomConnections,
    shared::webex::HttpWebexConnections,
    shared::aws::secrets::SecretsManager,
    SqsQueue,
>;

impl World {
    fn reconciler(&self) -> AwsReconciler {
        let ddb = aws_sdk_dynamodb::Client::new(&self.conf);
        reconciler::handler::Reconciler {
            config: DynamoConfig::new(ddb, &self.res["ConfigTable"]),
            catalog: self.catalog.clone(),
            vendors: shared::vendors::Vendors {
                zoom: shared::aws::zoom_connections(&self.conf),
                webex: shared::aws::webex_connections(&self.conf),
            },
            secrets: shared::aws::secrets::SecretsManager::new(
                aws_sdk_secretsmanager::Client::new(&self.conf),
            ),
            events: SqsQueue::new(
                aws_sdk_sqs::Client::new(&self.conf),
                &self.res["EventsQueue"],
            ),
            rules: reconciler::handler::Rules { days: 3 },
        }
    }

    async fn reconcile(&self) -> reconciler::handler::Report {
        let one = serde_json::json!({ "connection": self.tenant.connection });
        self.reconciler()
            .handle(one, &Invocation::now())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn reconcile_queues_a_zoom_recording_whose_webhook_never_came_and_counts_it_once() {
    let sim = ZoomSim::start().await.unwrap();
    let w = World::zoom(&sim, "rc").await;
    let ann = sim.add_user(UserSpec::realistic(&unique("ann")));
    let mut spec = RecordingSpec::realistic(&unique("silent"), 2048)
        .hosted_by(&ann)
        .starting_at(Utc::now() - chrono::Duration::hours(20));
    spec.account_id = sim.s2s_app().account_id;
    let silent = sim.add_recording(spec);

    let report = w.reconcile().await;
    assert_eq!((report.missed, report.errors), (1, 0), "{report:?}");
    let c = &report.connections[0];
    assert!(c.warning.as_deref().unwrap().contains("event subscription"));
    let queued = w.drain().await;
    assert_eq!(queued.len(), 1);
    assert!(queued[0].body.contains(&silent.uuid));
    assert_eq!(w.ingest(queued).await, silent.files().len());

    // Known now (still downloading): queued again for what is missing, but not counted as missed.
    let report = w.reconcile().await;
    assert_eq!(report.missed, 0, "{report:?}");
    assert_eq!(w.ingest(w.drain().await).await, 0, "nothing created twice");
}

#[tokio::test]
async fn reconcile_reactivates_an_inactive_webex_webhook_and_queues_a_missed_meeting() {
    let sim = webex_sim::WebexSim::start().await.unwrap();
    let host = format!("{}@uni.example.edu", unique("prof"));
    let w = World::webex(&sim, &host, "rcw").await;
    let cli = archiver_admin::Cli {
        config_table: w.res["ConfigTable"].clone(),
        catalog_table: w.res["CatalogTable"].clone(),
        owner_queue_url: String::new(),
        media_bucket: String::new(),
        events_queue_url: w.res["EventsQueue"].clone(),
        command: archiver_admin::Command::WebexWebhooks {
            action: archiver_admin::WebhookAction::Ensure {
                connection: w.tenant.connection.clone(),
                webhook_base_url: "https://hooks.example.test/webhooks".into(),
            },
        },
    };
    assert_eq!(archiver_admin::run(cli).await.unwrap(), 0);
    let hooks = sim.webhooks();
    let rec_hook = hooks.iter().find(|h| h.resource == "recordings").unwrap();
    // Webex gave up on it after failed deliveries.
    sim.set_webhook_status(&rec_hook.id, "inactive");
    let m = sim.add_meeting(webex_sim::MeetingSpec::realistic(
        "Missed seminar",
        &host,
        Utc::now() - chrono::Duration::hours(30),
        2048,
    ));

    let report = w.reconcile().await;
    assert_eq!((report.missed, report.errors), (1, 0), "{report:?}");
    let c = &report.connections[0];
    assert!(
        c.webhooks.iter().any(|l| l.contains("reactivated")),
        "{:?}",
        c.webhooks
    );
    assert!(sim.webhooks().iter().all(|h| h.status == "active"));
    assert!(
        sim.webhook_updates()
            .iter()
            .any(|u| u.webhook_id == rec_hook.id && u.status_after.as_deref() == Some("active"))
    );
    let queued = w.drain().await;
    assert_eq!(queued.len(), 1);
    assert!(queued[0].body.contains(&m.recordings[0].id));
    // Everything fine now: nothing to repair.
    let report = w.reconcile().await;
    assert!(report.connections[0].webhooks.is_empty(), "{report:?}");
}

#[tokio::test]
async fn filters_skip_a_recording_with_its_reason_and_the_sweep_does_not_queue_it_again() {
    let sim = ZoomSim::start().await.unwrap();
    let mut w = World::zoom(&sim, "flt").await;
    w.tenant.config.connections[0].filters = shared::config::Filters {
        exclude_topics: vec!["^test call".into()],
        ..Default::default()
    };
    DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&w.conf),
        &w.res["ConfigTable"],
    )
    .apply(&w.tenant.config)
    .await
    .unwrap();
    let ann = sim.add_user(UserSpec::realistic(&unique("ann")));
    let mut recs = Vec::new();
    for topic in ["Test call (please ignore)", "CHEM 101 Lecture 4"] {
        let mut spec = RecordingSpec::realistic(&unique("f"), 2048)
            .hosted_by(&ann)
            .starting_at(Utc::now() - chrono::Duration::hours(5));
        spec.account_id = sim.s2s_app().account_id;
        spec.topic = topic.into();
        recs.push(sim.add_recording(spec));
    }
    let report = w.reconcile().await;
    assert_eq!(report.missed, 2);
    let created = w.ingest(w.drain().await).await;
    assert_eq!(created, recs[1].files().len(), "only the lecture's files");
    let key = |r: &zoom_sim::SimRecording| shared::model::RecordingKey {
        vendor: shared::ids::Vendor::Zoom,
        account: shared::ids::AccountId::parse(&r.account_id).unwrap(),
        instance: shared::ids::InstanceId::parse(&r.uuid).unwrap(),
    };
    let skipped = w
        .catalog
        .get_recording(&key(&recs[0]))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(skipped.state, shared::model::RecordingState::Skipped);
    assert_eq!(
        skipped.skip_reason.as_deref(),
        Some("topic matches exclude_topics \"^test call\"")
    );
    let listed = w
        .catalog
        .list_by_state(&skipped.tenant, shared::model::RecordingState::Skipped, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1, "list --state skipped shows it");
    // The next sweep counts it as skipped and does not queue it again.
    let c = w.reconcile().await.connections[0].counts;
    assert_eq!((c.found, c.skipped, c.new), (2, 1, 0), "{c:?}");
    let again = w.drain().await;
    assert!(again.iter().all(|m| !m.body.contains(&recs[0].uuid)));
}

type AwsBackfiller = backfiller::handler::Backfiller<
    DynamoConfig,
    DynamoCatalog,
    DynamoCatalog,
    shared::zoom::api::HttpZoomConnections,
    shared::webex::HttpWebexConnections,
    SqsQueue,
    SqsQueue,
>;

impl World {
    /// The backfill function as deployed, with pages of one item.
    fn backfiller(&self) -> AwsBackfiller {
        let (ddb, sqs) = (
            aws_sdk_dynamodb::Client::new(&self.conf),
            aws_sdk_sqs::Client::new(&self.conf),
        );
        backfiller::handler::Backfiller {
            config: DynamoConfig::new(ddb, &self.res["ConfigTable"]),
            catalog: self.catalog.clone(),
            runs: self.catalog.clone(),
            vendors: shared::vendors::Vendors {
                zoom: shared::aws::zoom_connections(&self.conf).with_page_size(1),
                webex: shared::aws::webex_connections(&self.conf).with_page_size(1),
            },
            events: SqsQueue::new(sqs.clone(), &self.res["EventsQueue"]),
            backfills: SqsQueue::new(sqs, &self.res["BackfillQueue"]),
            rules: backfiller::handler::Rules {
                margin: std::time::Duration::from_secs(300),
            },
        }
    }
}

/// What the deployment did for one run: invocations, and the failures that were retried.
#[derive(Debug, Default)]
struct Deployment {
    invocations: usize,
    retried: Vec<String>,
    waiting_seen: Vec<String>,
}

/// Plays Lambda's SQS event source for the backfill queue: takes each message, invokes the function with one
/// second left (so each invocation walks one unit and continues itself), deletes it on success and makes it
/// visible again on a retry, until the queue stays empty.
async fn deploy(w: &World, f: &AwsBackfiller) -> Deployment {
    let sqs = aws_sdk_sqs::Client::new(&w.conf);
    let queue = &w.res["BackfillQueue"];
    let mut d = Deployment::default();
    let mut empty = 0;
    while empty < 3 && d.invocations < 100 {
        let got = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(1)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        let Some(m) = got.into_iter().next() else {
            empty += 1;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        empty = 0;
        d.invocations += 1;
        let req: shared::backfill::BackfillRequest =
            serde_json::from_str(m.body().unwrap()).unwrap();
        let soon = Invocation {
            now: Utc::now(),
            deadline: Some(Utc::now() + chrono::Duration::seconds(1)),
        };
        let handle = m.receipt_handle().unwrap();
        match f.handle(req.clone(), &soon).await {
            Ok(_) => {
                sqs.delete_message()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .unwrap();
            }
            Err(o) => {
                assert!(o.is_retry(), "{o:?}");
                d.retried.push(format!("{o:?}"));
                let run =
                    shared::backfill::BackfillStore::load(&w.catalog, &req.connection, &req.range)
                        .await
                        .unwrap();
                d.waiting_seen.push(format!(
                    "{} {}",
                    run.state.as_str(),
                    run.reason.unwrap_or_default()
                ));
                // Lambda would wait for the Retry-After; the simulator's fault is spent already.
                sqs.change_message_visibility()
                    .queue_url(queue)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
    d
}

#[tokio::test]
async fn a_remote_backfill_runs_in_the_deployment_continuing_itself_waits_out_the_daily_limit_and_the_cli_shows_it()
 {
    let sim = ZoomSim::start().await.unwrap();
    let w = World::zoom(&sim, "bfr").await;
    let ann = sim.add_user(UserSpec::realistic(&unique("ann")));
    let bob = sim.add_user(UserSpec::realistic(&unique("bob")).with_status(UserStatus::Inactive));
    let recs = past_recordings(
        &sim,
        "far",
        &[
            (&ann, "2026-09-03T09:00:00Z"),
            (&bob, "2026-09-28T12:00:00Z"),
            (&ann, "2026-10-30T16:00:00Z"),
        ],
    );
    let (from, to) = ("2026-09-01", "2026-10-31");
    let opts = archiver_admin::backfill::Options {
        remote: true,
        backfill_queue_url: w.res["BackfillQueue"].clone(),
        ..w.options(from, to)
    };

    // An earlier run of this range from the CLI stopped; the deployment is asked now.
    let id = shared::ids::ConnectionId::parse(&w.tenant.connection).unwrap();
    let range =
        shared::backfill::DateRange::parse(from, Some(to), Utc::now().date_naive()).unwrap();
    let earlier = shared::backfill::RunUpdate {
        state: shared::backfill::RunState::Stopped,
        units: None,
        reason: Some("Zoom refused the credentials (run from the CLI)".into()),
    };
    shared::backfill::BackfillStore::update(&w.catalog, &id, &range, &earlier)
        .await
        .unwrap();

    // The CLI hands the run over: one message, nothing listed by the CLI itself; the record says queued
    // (the earlier stop and its reason gone, so that the watch waits for the function).
    let listed_before = sim.list_requests().len();
    let archiver_admin::backfill::Handed::Queued(req) =
        archiver_admin::backfill::hand_over(&w.conf, w.places(), &opts)
            .await
            .unwrap()
    else {
        panic!("a new run is queued");
    };
    assert_eq!(sim.list_requests().len(), listed_before);
    let run = shared::backfill::BackfillStore::load(&w.catalog, &req.connection, &req.range)
        .await
        .unwrap();
    assert_eq!(
        (run.state, run.reason),
        (shared::backfill::RunState::Queued, None)
    );

    // Zoom's daily limit strikes on the fourth list call: the run waits, and the deployment tries again.
    sim.fail_list_calls(ApiFault::DailyLimit { times: 1 }, 4);
    let f = w.backfiller();
    let watcher = archiver_admin::backfill::watch(
        &w.catalog,
        &req,
        std::time::Duration::from_millis(50),
        Some(std::time::Duration::from_secs(60)),
    );
    let (d, seen) = tokio::join!(deploy(&w, &f), watcher);
    let seen = seen.unwrap();
    assert_eq!(
        seen.state,
        shared::backfill::RunState::Finished,
        "{seen:?} {d:?}"
    );
    assert_eq!(seen.progress(), (4, 4), "2 users × 2 months");
    assert_eq!(d.retried.len(), 1, "{d:?}");
    assert!(
        d.retried[0].contains("RetryAfter"),
        "the daily limit's Retry-After: {d:?}"
    );
    assert!(d.waiting_seen[0].starts_with("waiting "), "{d:?}");
    assert_eq!(
        d.invocations, 5,
        "one unit each, and the retried one: {d:?}"
    );
    assert_eq!(
        seen.reason, None,
        "the reason is cleared once the run goes on"
    );
    assert_eq!(seen.counts.queued, 3);

    // Each recording queued once, for enqueue; no unit listed twice but the one the limit cut.
    let queued = w.drain().await;
    let uuids: BTreeSet<String> = queued
        .iter()
        .map(|m| {
            serde_json::from_str::<serde_json::Value>(&m.body).unwrap()["uuid"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        (queued.len(), uuids),
        (3, recs.iter().map(|r| r.uuid.clone()).collect())
    );
    let first_pages = sim.list_requests()[listed_before..]
        .iter()
        .filter(|r| r.endpoint == ListEndpoint::UserRecordings && !r.had_token && r.status == 200)
        .count();
    assert_eq!(first_pages, 4);

    // Asked again, a finished run is not handed over a second time.
    let again = archiver_admin::backfill::hand_over(&w.conf, w.places(), &opts)
        .await
        .unwrap();
    assert!(
        matches!(again, archiver_admin::backfill::Handed::AlreadyFinished(ref r) if r.counts.queued == 3),
        "{again:?}"
    );
    let line = archiver_admin::backfill::status_line(&seen);
    assert!(line.starts_with("finished: found 3"), "{line}");

    // A run the deployment cannot do (the connection was removed since) stops with the reason, which the
    // CLI shows; the message is dropped, not retried for ever.
    let gone = shared::backfill::BackfillRequest {
        connection: shared::ids::ConnectionId::parse("zoom-removed").unwrap(),
        range: req.range,
    };
    let o = f
        .handle(gone.clone(), &Invocation::now())
        .await
        .unwrap_err();
    assert!(matches!(o, shared::batch::Outcome::Dropped(_)), "{o:?}");
    let stopped = archiver_admin::backfill::watch(
        &w.catalog,
        &gone,
        std::time::Duration::from_millis(50),
        Some(std::time::Duration::from_secs(5)),
    )
    .await
    .unwrap();
    assert_eq!(stopped.state, shared::backfill::RunState::Stopped);
    assert!(
        archiver_admin::backfill::status_line(&stopped).contains("no connection zoom-removed"),
        "{stopped:?}"
    );
}
