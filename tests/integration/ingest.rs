//! The handlers wired to their real AWS adapters on moto, driven in-process: idempotent enqueue under
//! concurrent duplicates, late transcripts, owner resolution, failures recorded, deletion planned.

use archiver_tests::{TestTenant, apply_tenant, provision, unique};
use aws_sdk_sqs::Client as Sqs;
use deletion_scheduler::handler::DeletionScheduler;
use downloader::handler::Downloader;
use enqueue::handler::Enqueue;
use futures_util::future::join_all;
use owner_resolver::handler::OwnerResolver;
use shared::aws::{catalog::DynamoCatalog, config::DynamoConfig, s3::S3Sink, sqs::SqsQueue};
use shared::batch::{Handler, Invocation, Outcome};
use shared::catalog::CatalogReader;
use shared::ids::{AccountId, ConnectionId, InstanceId, Vendor};
use shared::messages::IngestMessage;
use shared::model::{FileState, RecordingKey, RecordingState};
use shared::ports::ConfigStore;
use std::collections::BTreeMap;
use std::time::Duration;
use zoom_sim::{Fault, RecordingSpec, SimRecording, ZoomSim};

const MIB: u64 = 1024 * 1024;

type Zoom = std::sync::Arc<shared::zoom::api::HttpZoomConnections>;
type Webex = std::sync::Arc<shared::webex::HttpWebexConnections>;

struct Pipeline {
    res: BTreeMap<String, String>,
    tenant: TestTenant,
    sqs: Sqs,
    s3: aws_sdk_s3::Client,
    catalog: DynamoCatalog,
    enqueue: Enqueue<DynamoConfig, DynamoCatalog, SqsQueue, Webex, DynamoConfig>,
    owner: OwnerResolver<
        DynamoConfig,
        DynamoCatalog,
        SqsQueue,
        shared::vendors::Vendors<Zoom, Webex>,
        shared::zoom::hosts::ZoomHosts<Zoom>,
        DynamoConfig,
    >,
    downloader: Downloader<DynamoConfig, DynamoCatalog, S3Sink, SqsQueue, Webex, Zoom>,
    deletion: DeletionScheduler<DynamoConfig, DynamoCatalog>,
}

impl Pipeline {
    async fn new(rec: &SimRecording, delete_plan: serde_json::Value) -> Pipeline {
        let (conf, res) = provision(&unique("it")).await.unwrap();
        let r = |id: &str| res[id].clone();
        let tenant = apply_tenant(
            &conf,
            &r("ConfigTable"),
            &rec.account_id,
            Some((&rec.host_id, &rec.host_email)),
            delete_plan,
        )
        .await
        .unwrap();
        let ddb = aws_sdk_dynamodb::Client::new(&conf);
        let sqs = Sqs::new(&conf);
        let s3 = shared::aws::s3_client(&conf);
        let config = DynamoConfig::new(ddb.clone(), r("ConfigTable"));
        let catalog = DynamoCatalog::new(ddb, r("CatalogTable"));
        let webex: Webex = std::sync::Arc::new(shared::aws::webex_connections(&conf));
        let zoom: Zoom = std::sync::Arc::new(shared::aws::zoom_connections(&conf));
        Pipeline {
            enqueue: Enqueue {
                config: config.clone(),
                catalog: catalog.clone(),
                owners: SqsQueue::new(sqs.clone(), r("OwnerQueue")),
                webex: webex.clone(),
                switch: config.clone(),
            },
            owner: OwnerResolver {
                config: config.clone(),
                directory: config.clone(),
                catalog: catalog.clone(),
                downloads: SqsQueue::new(sqs.clone(), r("DownloadQueue")),
                attendees: shared::vendors::Vendors {
                    zoom: zoom.clone(),
                    webex: webex.clone(),
                },
                hosts: shared::zoom::hosts::ZoomHosts(zoom.clone()),
            },
            downloader: Downloader {
                config: config.clone(),
                catalog: std::sync::Arc::new(catalog.clone()),
                sink: S3Sink::new(s3.clone(), r("MediaBucket")),
                archived: SqsQueue::new(sqs.clone(), r("ArchivedQueue")),
                downloads: SqsQueue::new(sqs.clone(), r("DownloadQueue")),
                lease: Duration::from_secs(900),
                read_timeout: Duration::from_secs(30),
                deadline_margin: Duration::from_secs(30),
                redelivery: Duration::from_secs(5400),
                transfer: shared::transfer::Settings::default(),
                webex,
                zoom,
            },
            deletion: DeletionScheduler {
                config,
                catalog: catalog.clone(),
            },
            catalog,
            res,
            tenant,
            sqs,
            s3,
        }
    }

    fn message(&self, event: &str, body: String) -> IngestMessage {
        IngestMessage {
            vendor: Vendor::Zoom,
            connection_id: ConnectionId::parse(&self.tenant.connection).unwrap(),
            event: event.into(),
            received_at_ms: 0,
            body,
        }
    }

    /// Runs enqueue on one delivery, as the events queue would.
    async fn ingest(&self, event: &str, body: String) -> enqueue::handler::Summary {
        self.enqueue
            .handle(self.message(event, body), &Invocation::now())
            .await
            .unwrap()
    }

    /// The catalog entry, which must exist.
    async fn entry(&self, key: &RecordingKey) -> shared::catalog::RecordingEntry {
        CatalogReader::get_recording(&self.catalog, key)
            .await
            .unwrap()
            .unwrap()
    }

    /// Delivers queued messages to the handlers until every queue is empty.
    async fn drain(&self) {
        let mut idle_rounds = 0;
        while idle_rounds < 2 {
            let mut handled = 0;
            for q in ["OwnerQueue", "DownloadQueue", "ArchivedQueue"] {
                let out = self
                    .sqs
                    .receive_message()
                    .queue_url(&self.res[q])
                    .max_number_of_messages(10)
                    .send()
                    .await
                    .unwrap();
                for m in out.messages.unwrap_or_default() {
                    handled += 1;
                    let body = m.body.clone().unwrap_or_default();
                    let outcome = match q {
                        "OwnerQueue" => match self
                            .owner
                            .handle(serde_json::from_str(&body).unwrap(), &Invocation::now())
                            .await
                        {
                            Ok(_) => Outcome::Done,
                            Err(o) => o,
                        },
                        "DownloadQueue" => {
                            match self
                                .downloader
                                .handle(serde_json::from_str(&body).unwrap(), &Invocation::now())
                                .await
                            {
                                Ok(()) => Outcome::Done,
                                Err(o) => o,
                            }
                        }
                        _ => match self
                            .deletion
                            .handle(serde_json::from_str(&body).unwrap(), &Invocation::now())
                            .await
                        {
                            Ok(_) => Outcome::Done,
                            Err(o) => o,
                        },
                    };
                    if let Outcome::Retry(reason) = outcome {
                        panic!("unexpected retry from {q}: {reason}");
                    }
                    self.sqs
                        .delete_message()
                        .queue_url(&self.res[q])
                        .receipt_handle(m.receipt_handle.unwrap())
                        .send()
                        .await
                        .unwrap();
                }
            }
            idle_rounds = if handled == 0 { idle_rounds + 1 } else { 0 };
        }
    }
}

fn key_of(rec: &SimRecording) -> RecordingKey {
    RecordingKey {
        vendor: Vendor::Zoom,
        account: AccountId::parse(&rec.account_id).unwrap(),
        instance: InstanceId::parse(&rec.uuid).unwrap(),
    }
}

#[tokio::test]
async fn concurrent_duplicates_create_each_file_once_and_one_object_each() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("dup"), MIB));
    let p = Pipeline::new(&rec, serde_json::json!({"mode": "retain"})).await;
    let bodies: Vec<String> = (0..20)
        .map(|i| {
            if i % 2 == 0 {
                rec.recording_completed_body()
            } else {
                rec.with_fresh_token().recording_completed_body()
            }
        })
        .collect();
    let at = Invocation::now();
    let results = join_all(
        bodies
            .into_iter()
            .map(|b| p.enqueue.handle(p.message("recording.completed", b), &at)),
    )
    .await;
    let created: usize = results.iter().map(|r| r.as_ref().unwrap().created).sum();
    let n = rec.media_files().len();
    assert_eq!(created, n, "each file is created by exactly one delivery");
    p.drain().await;
    let key = key_of(&rec);
    let entry = p.entry(&key).await;
    assert_eq!(entry.state, RecordingState::Archived);
    assert_eq!(entry.file_ids.len(), n);
    let files = p.catalog.list_files(&key).await.unwrap();
    assert_eq!(files.len(), n);
    for f in &files {
        let sim_file = rec.file(f.file_id.as_str()).unwrap();
        let stored = f.stored.as_ref().expect("stored");
        assert_eq!(
            (stored.sha256.as_str(), stored.bytes),
            (sim_file.sha256.as_str(), sim_file.size)
        );
        assert!(
            f.source.is_none(),
            "the download token is dropped once archived"
        );
        assert_eq!(
            sim.stats(&f.file_id.to_string()).complete_bodies,
            1,
            "downloaded exactly once"
        );
    }
    let objects =
        p.s3.list_objects_v2()
            .bucket(&p.res["MediaBucket"])
            .send()
            .await
            .unwrap()
            .contents
            .unwrap_or_default();
    assert_eq!(objects.len(), n);
    assert!(objects.iter().all(|o| {
        o.key()
            .unwrap()
            .starts_with(&format!("tenants/{}/zoom/", p.tenant.tenant))
    }));
}

/// `owner.unmatched: create` over moto: the stranger host becomes a directory user (with their e-mail and Zoom
/// user id as aliases) and owns the recording; their next recording finds them by their Zoom id.
#[tokio::test]
async fn a_host_not_in_the_directory_under_unmatched_create_becomes_a_user_who_owns_the_recording()
{
    use shared::ports::UserDirectory;
    let sim = ZoomSim::start().await.unwrap();
    let first = sim.add_recording(RecordingSpec::realistic(&unique("newhost"), MIB));
    let p = Pipeline::new(&first, serde_json::json!({"mode": "retain"})).await;
    let store = p.owner.config.clone();
    let mut cfg = p.tenant.config.clone();
    cfg.connections[0].owner.unmatched = shared::config::Unmatched::Create;
    let host_user = cfg
        .users
        .iter()
        .position(|u| u.id.as_str() == "host-user")
        .unwrap();
    let host = cfg.users.remove(host_user);
    let plan = shared::changes::plan(&store.snapshot(&cfg.tenant.id).await.unwrap(), &cfg);
    store.apply_plan(&cfg, &plan, true).await.unwrap();

    p.ingest("recording.completed", first.recording_completed_body())
        .await;
    p.drain().await;
    let rec = p.entry(&key_of(&first)).await;
    let made = shared::ids::UserId::from_name(host.email.as_str()).unwrap();
    assert_eq!(
        (rec.state, rec.owner.as_ref(), rec.owner_rule.as_deref()),
        (RecordingState::Archived, Some(&made), Some("created"))
    );
    let user = store
        .by_email(&cfg.tenant.id, &host.email)
        .await
        .unwrap()
        .expect("the host is in the directory now");
    assert_eq!(user.id, made);
    let zoom_id = &host.vendor_ids[0].id;
    assert_eq!(
        store
            .by_vendor_id(&cfg.tenant.id, shared::ids::Vendor::Zoom, zoom_id)
            .await
            .unwrap()
            .map(|u| u.id),
        Some(made.clone())
    );
    // The next recording of the same host: found, not created again.
    let mut spec = RecordingSpec::realistic(&unique("newhost2"), MIB);
    spec.account_id = first.account_id.clone();
    spec.host_id = first.host_id.clone();
    spec.host_email = first.host_email.clone();
    let second = sim.add_recording(spec);
    p.ingest("recording.completed", second.recording_completed_body())
        .await;
    p.drain().await;
    let rec = p.entry(&key_of(&second)).await;
    assert_eq!(
        (rec.owner.as_ref(), rec.owner_rule.as_deref()),
        (Some(&made), Some("host_vendor_id"))
    );
}

#[tokio::test]
async fn a_host_not_in_the_directory_under_unmatched_skip_is_skipped_with_its_reason_then_archived_on_retry()
 {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("unowned"), MIB));
    let p = Pipeline::new(&rec, serde_json::json!({"mode": "retain"})).await;
    let store = p.owner.config.clone();
    // The connection skips strangers, and the host is not in the directory (yet).
    let full = p.tenant.config.clone();
    let mut strict = full.clone();
    strict.connections[0].owner.unmatched = shared::config::Unmatched::Skip;
    let host_user = strict
        .users
        .iter()
        .position(|u| u.id.as_str() == "host-user")
        .unwrap();
    strict.users.remove(host_user);
    let plan = shared::changes::plan(&store.snapshot(&strict.tenant.id).await.unwrap(), &strict);
    store.apply_plan(&strict, &plan, true).await.unwrap();

    p.ingest("recording.completed", rec.recording_completed_body())
        .await;
    p.drain().await;
    let key = key_of(&rec);
    let skipped = p.entry(&key).await;
    assert_eq!(
        (skipped.state, skipped.owner.clone()),
        (RecordingState::Skipped, None)
    );
    assert!(
        skipped
            .skip_reason
            .as_deref()
            .unwrap()
            .contains("owner.unmatched: skip")
    );
    assert!(
        skipped
            .owner_trace
            .iter()
            .any(|l| l.starts_with("unmatched_skip")),
        "{:?}",
        skipped.owner_trace
    );
    let files = CatalogReader::list_files(&p.catalog, &key).await.unwrap();
    assert!(
        files.iter().all(|f| f.state == FileState::Planned),
        "nothing downloaded"
    );
    for f in rec.files() {
        assert_eq!(sim.stats(&f.id).complete_bodies, 0);
    }

    // The host joins the directory; the admin's retry sends the recording through owner resolution again.
    let mut back = full.clone();
    back.connections[0].owner.unmatched = shared::config::Unmatched::Skip;
    let plan = shared::changes::plan(&store.snapshot(&back.tenant.id).await.unwrap(), &back);
    store.apply_plan(&back, &plan, false).await.unwrap();
    let conn = store
        .connection(&ConnectionId::parse(&p.tenant.connection).unwrap())
        .await
        .unwrap()
        .unwrap();
    let scope = archiver_admin::retry::Scope {
        instance: None,
        file: None,
        limit: 50,
    };
    let owners = SqsQueue::new(p.sqs.clone(), &p.res["OwnerQueue"]);
    let report =
        archiver_admin::retry::retry(&p.catalog, &owners, &conn, &scope, chrono::Utc::now())
            .await
            .unwrap();
    assert_eq!(report.len(), files.len(), "{report:?}");
    p.drain().await;
    let archived = p.entry(&key).await;
    assert_eq!(archived.state, RecordingState::Archived);
    assert_eq!(
        (
            archived.owner.unwrap().as_str(),
            archived.owner_rule.as_deref(),
            archived.skip_reason
        ),
        ("host-user", Some("host_vendor_id"), None)
    );
}

#[tokio::test]
async fn a_late_transcript_joins_the_entry_and_the_owner_is_the_host() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("late"), MIB));
    let p = Pipeline::new(
        &rec,
        serde_json::json!({"mode": "delete_after", "days": 14}),
    )
    .await;
    p.ingest("recording.completed", rec.recording_completed_body())
        .await;
    p.drain().await;
    let key = key_of(&rec);
    let first = p.entry(&key).await;
    assert_eq!(first.state, RecordingState::Archived);
    assert_eq!(first.owner.as_ref().map(|o| o.as_str()), Some("host-user"));
    assert_eq!(first.owner_rule.as_deref(), Some("host_vendor_id"));
    // The decision's trace is stored on the entry in DynamoDB, for `explain`.
    assert!(
        first
            .owner_trace
            .last()
            .is_some_and(|l| l.starts_with("host_vendor_id: zoom user id ")
                && l.ends_with("→ host-user (chosen)")),
        "{:?}",
        first.owner_trace
    );
    let deletion = first.deletion.clone().expect("deletion planned");
    assert_eq!(deletion.status.as_str(), "scheduled");
    assert_eq!(
        deletion.due_at,
        first.archived_at.map(|a| a + chrono::Duration::days(14))
    );

    p.ingest(
        "recording.transcript_completed",
        rec.transcript_completed_body(),
    )
    .await;
    p.drain().await;
    let after = p.entry(&key).await;
    assert_eq!(after.state, RecordingState::Archived);
    assert_eq!(after.file_ids.len(), rec.files().len());
    let files = p.catalog.list_files(&key).await.unwrap();
    let t = rec.transcript_file().unwrap();
    let tf = files
        .iter()
        .find(|f| f.file_id.as_str() == t.id)
        .expect("transcript on the same entry");
    assert_eq!(tf.stored.as_ref().unwrap().sha256, t.sha256);
    let segments: std::collections::BTreeSet<_> = files.iter().map(|f| f.segment_start).collect();
    assert!(segments.len() >= 2);
}

#[tokio::test]
async fn an_html_page_is_recorded_as_a_failure_with_nothing_stored() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("html"), MIB));
    let bad = rec.media_files()[0].id.clone();
    sim.set_fault(&bad, Fault::Html200);
    let p = Pipeline::new(&rec, serde_json::json!({"mode": "retain"})).await;
    p.ingest("recording.completed", rec.recording_completed_body())
        .await;
    p.drain().await;
    let key = key_of(&rec);
    let entry = p.entry(&key).await;
    assert_eq!(entry.state, RecordingState::Failed);
    let files = p.catalog.list_files(&key).await.unwrap();
    let f = files.iter().find(|f| f.file_id.as_str() == bad).unwrap();
    assert_eq!(f.state, FileState::Failed);
    assert!(
        f.last_error
            .as_deref()
            .unwrap()
            .starts_with("html_instead_of_media")
    );
    let listed =
        p.s3.list_objects_v2()
            .bucket(&p.res["MediaBucket"])
            .prefix(&f.s3_key)
            .send()
            .await
            .unwrap();
    assert_eq!(listed.key_count, Some(0));
    let uploads =
        p.s3.list_multipart_uploads()
            .bucket(&p.res["MediaBucket"])
            .send()
            .await
            .unwrap();
    assert!(uploads.uploads.unwrap_or_default().is_empty());
    let failed = p
        .catalog
        .list_by_state(&entry.tenant, RecordingState::Failed, 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
}

#[tokio::test]
async fn a_fresher_token_replaces_the_pending_one_and_an_older_one_does_not() {
    let sim = ZoomSim::start().await.unwrap();
    let rec = sim.add_recording(RecordingSpec::realistic(&unique("tok"), MIB));
    let p = Pipeline::new(&rec, serde_json::json!({"mode": "retain"})).await;
    let with = |token: &str, event_ts: i64| {
        let mut v: serde_json::Value =
            serde_json::from_str(&rec.recording_completed_body()).unwrap();
        v["download_token"] = token.into();
        v["event_ts"] = event_ts.into();
        v.to_string()
    };
    let n = rec.media_files().len();
    let first = p
        .enqueue
        .handle(
            p.message("recording.completed", with("token-1", 1_000)),
            &Invocation::now(),
        )
        .await
        .unwrap();
    assert_eq!((first.created, first.refreshed), (n, 0));
    let newer = p
        .enqueue
        .handle(
            p.message("recording.completed", with(&rec.download_token, 2_000)),
            &Invocation::now(),
        )
        .await
        .unwrap();
    assert_eq!((newer.created, newer.refreshed), (0, n));
    let older = p
        .enqueue
        .handle(
            p.message("recording.completed", with("token-0", 500)),
            &Invocation::now(),
        )
        .await
        .unwrap();
    assert_eq!((older.created, older.refreshed), (0, 0));
    let key = key_of(&rec);
    for f in p.catalog.list_files(&key).await.unwrap() {
        match f.source {
            Some(shared::model::DownloadSource::ZoomUrl {
                token,
                issued_at_ms,
                ..
            }) => {
                assert_eq!(
                    (token.as_deref(), issued_at_ms),
                    (Some(rec.download_token.as_str()), 2_000)
                );
            }
            other => panic!("{other:?}"),
        }
    }
    // Once archived, a file keeps no token and takes none.
    p.drain().await;
    let entry = p.entry(&key).await;
    assert_eq!(
        entry.state,
        RecordingState::Archived,
        "downloaded with the refreshed token"
    );
    let again = p
        .enqueue
        .handle(
            p.message("recording.completed", with("token-3", 3_000)),
            &Invocation::now(),
        )
        .await
        .unwrap();
    assert_eq!(
        (again.created, again.refreshed, again.handed_over),
        (0, 0, 0)
    );
}
