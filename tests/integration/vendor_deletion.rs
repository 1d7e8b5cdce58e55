//! The deleter against the Zoom simulator, with its catalog in DynamoDB and the archived objects in S3
//! (moto): recordings archived through the catalog's own steps and planned by the deletion scheduler, then
//! swept. The simulator records every DELETE it receives.

use archiver_tests::{apply_tenant_with_zoom_api, provision, unique};
use deleter::handler::{Deleter, Report, Rules};
use deletion_scheduler::handler::DeletionScheduler;
use shared::aws::catalog::DynamoCatalog;
use shared::aws::config::DynamoConfig;
use shared::aws::s3::S3Sink;
use shared::aws::sqs::SqsQueue;
use shared::batch::{Handler, Invocation};
use shared::catalog::{
    DeleterCatalog, DeletionEntry, DeletionStatus, FileEntry, IngestCatalog, Lease, RecordingEntry,
    StoredObject, TransferCatalog,
};
use shared::ids::{ConnectionId, TenantId};
use shared::messages::ArchivedMessage;
use shared::model::{Recording, RecordingKey};
use shared::ports::{ObjectSink, ObjectTarget};
use shared::vendors::Vendors;
use shared::zoom::api::{HttpZoomConnections, RetryPolicy};
use std::sync::Arc;
use std::time::Duration;
use zoom_sim::{DeleteFault, FileSpec, RecordingSpec, RetryAfter, SimRecording, ZoomSim};

type ZoomDeleter = Deleter<
    DynamoConfig,
    DynamoCatalog,
    S3Sink,
    Vendors<HttpZoomConnections, shared::webex::HttpWebexConnections>,
    SqsQueue,
>;

type MotoSweeper =
    sweeper::handler::Sweeper<DynamoConfig, DynamoCatalog, SqsQueue, shared::aws::s3::S3Uploads>;

struct World {
    sim: ZoomSim,
    /// The sweeper over the same tables and bucket: it expires quarantines.
    sweeper: MotoSweeper,
    config: DynamoConfig,
    sqs: aws_sdk_sqs::Client,
    events_queue: String,
    deleter: ZoomDeleter,
    scheduler: DeletionScheduler<DynamoConfig, DynamoCatalog>,
    catalog: DynamoCatalog,
    sink: S3Sink,
    tenant: TenantId,
    conn: ConnectionId,
}

async fn world() -> World {
    let sim = ZoomSim::start().await.unwrap();
    let (conf, res) = provision(&unique("vd")).await.unwrap();
    let t = apply_tenant_with_zoom_api(
        &conf,
        &res["ConfigTable"],
        &sim,
        None,
        serde_json::json!({"mode": "delete_after", "hours": 0, "late_file_hours": 0, "action": "trash"}),
    )
    .await
    .unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let catalog = DynamoCatalog::new(ddb.clone(), res["CatalogTable"].clone());
    let config = DynamoConfig::new(ddb.clone(), res["ConfigTable"].clone());
    let sink = S3Sink::new(shared::aws::s3_client(&conf), res["MediaBucket"].clone());
    let secrets = Arc::new(shared::aws::secrets::SecretsManager::new(
        aws_sdk_secretsmanager::Client::new(&conf),
    ));
    let retry = RetryPolicy {
        max_attempts: 3,
        max_wait: Duration::from_secs(5),
        backoff: Duration::from_millis(20),
    };
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let dlq = |name: &str, dlq: &str, src: &str| -> Box<dyn shared::ports::DeadLetters> {
        Box::new(shared::aws::dlq::SqsDeadLetters::new(
            sqs.clone(),
            name,
            res[dlq].clone(),
            res[src].clone(),
        ))
    };
    let sweeper = sweeper::handler::Sweeper {
        config: config.clone(),
        catalog: catalog.clone(),
        owners: SqsQueue::new(sqs.clone(), &res["OwnerQueue"]),
        downloads: SqsQueue::new(sqs.clone(), &res["DownloadQueue"]),
        download_dlq: dlq("download", "DownloadDLQ", "DownloadQueue"),
        other_dlqs: vec![],
        uploads: shared::aws::s3::S3Uploads::new(
            shared::aws::s3_client(&conf),
            res["MediaBucket"].clone(),
        ),
        rules: sweeper::handler::Rules {
            stuck_after: Duration::from_secs(3600),
            abandoned_after: Duration::from_secs(2 * 86_400),
            max_attempts: 5,
            max_redrives: 3,
            batch: 50,
            lease: Duration::from_secs(60),
        },
    };
    World {
        sweeper,
        config: config.clone(),
        deleter: Deleter {
            config: config.clone(),
            catalog: catalog.clone(),
            objects: sink.clone(),
            vendors: Vendors {
                zoom: HttpZoomConnections::new(secrets, retry),
                webex: shared::aws::webex_connections(&conf),
            },
            events: SqsQueue::new(aws_sdk_sqs::Client::new(&conf), &res["EventsQueue"]),
            rules: Rules {
                batch: 20,
                by: "test".into(),
            },
        },
        scheduler: DeletionScheduler {
            config,
            catalog: catalog.clone(),
        },
        catalog,
        sink,
        sqs: aws_sdk_sqs::Client::new(&conf),
        events_queue: res["EventsQueue"].clone(),
        tenant: TenantId::parse(&t.tenant).unwrap(),
        conn: ConnectionId::parse(&t.connection).unwrap(),
        sim,
    }
}

impl World {
    fn recording(&self, name: &str) -> SimRecording {
        let mut spec = RecordingSpec::realistic(&unique(name), 4096);
        spec.account_id = self.sim.s2s_app().account_id;
        self.sim.add_recording(spec)
    }

    /// What a webhook body announces, archived through the catalog's own steps (objects in S3 with their
    /// `sha256` tag), then planned by the deletion scheduler.
    async fn archive(&self, body: &str) -> RecordingKey {
        let rec: Recording = shared::zoom::event::normalise(body.as_bytes()).unwrap();
        self.archive_recording(rec).await
    }

    /// [`World::archive`] of a normalised recording; files archived already are left as they are.
    async fn archive_recording(&self, rec: Recording) -> RecordingKey {
        self.archive_placed(rec, None).await
    }

    /// [`World::archive_recording`], in quarantine until `quarantine` if given (listed in the quarantine
    /// index, filed under the quarantine folder, held by the default owner), as the owner resolver does it.
    async fn archive_placed(
        &self,
        rec: Recording,
        quarantine: Option<chrono::DateTime<chrono::Utc>>,
    ) -> RecordingKey {
        let key = RecordingKey::of(&rec);
        let entry = RecordingEntry::new(
            &rec,
            self.tenant.clone(),
            self.conn.clone(),
            chrono::Utc::now(),
        );
        let ids: Vec<_> = rec.files.iter().map(|f| f.id.clone()).collect();
        let stored = self.catalog.upsert_recording(&entry, &ids).await.unwrap();
        let mut folder = stored.s3_prefix.clone();
        if stored.state == shared::model::RecordingState::PendingOwner {
            let owner = shared::ids::UserId::parse("media-team").unwrap();
            let mut placement = shared::catalog::Placement::new(owner, "test", &stored.s3_prefix);
            if let Some(until) = quarantine {
                placement.rule = shared::owner::QUARANTINE.into();
                placement.s3_prefix = shared::keys::quarantine_folder(&self.tenant, &folder);
                placement.quarantine_until = Some(until);
                shared::catalog::OwnerCatalog::hold_quarantine(
                    &self.catalog,
                    &shared::catalog::QuarantineHold {
                        recording: key.clone(),
                        connection_id: self.conn.clone(),
                        until,
                    },
                )
                .await
                .unwrap();
            }
            folder = placement.s3_prefix.clone();
            shared::catalog::OwnerCatalog::set_owner(&self.catalog, &key, &placement)
                .await
                .unwrap();
        }
        for f in &rec.files {
            let file = FileEntry::new(f, &folder);
            if !self.catalog.create_file(&key, &file).await.unwrap() {
                continue;
            }
            let Lease::Acquired(_) = self.catalog.acquire(&key, &f.id, 0, 60_000).await.unwrap()
            else {
                panic!("lease");
            };
            let size = f.expected_size.unwrap();
            let sha = self.sim.file_sha256(f.id.as_str()).unwrap();
            self.put(&file.s3_key, size, &sha).await;
            let object = StoredObject {
                bucket: self.sink.bucket().to_owned(),
                key: file.s3_key.clone(),
                bytes: size,
                sha256: sha,
                etag: "\"e\"".into(),
                part_size: size,
                parts: 1,
                started_at: chrono::Utc::now(),
                finished_at: chrono::Utc::now(),
                duration_ms: 1,
            };
            self.catalog.complete(&key, &f.id, &object).await.unwrap();
            self.catalog.mark_done(&key, &f.id).await.unwrap();
        }
        assert!(
            self.catalog
                .mark_archived(&key, chrono::Utc::now())
                .await
                .unwrap()
        );
        let msg = ArchivedMessage {
            connection_id: self.conn.clone(),
            recording: key.clone(),
            archived_at_ms: chrono::Utc::now().timestamp_millis(),
        };
        self.scheduler
            .handle(msg, &Invocation::now())
            .await
            .unwrap();
        key
    }

    async fn put(&self, key: &str, size: u64, sha: &str) {
        let s3 = shared::aws::s3_client(&archiver_tests::aws().await.unwrap());
        s3.put_object()
            .bucket(self.sink.bucket())
            .key(key)
            .body(vec![0u8; size as usize].into())
            .send()
            .await
            .unwrap();
        let target = ObjectTarget {
            key: key.into(),
            content_type: "application/octet-stream".into(),
            metadata: vec![],
            tags: vec![],
        };
        self.sink.record_sha256(&target, sha).await.unwrap();
    }

    async fn sweep(&self) -> Report {
        // Due times are to the second; sweep a moment later.
        self.sweep_at(chrono::Utc::now() + chrono::Duration::seconds(2))
            .await
    }

    async fn sweep_at(&self, at: chrono::DateTime<chrono::Utc>) -> Report {
        self.deleter
            .handle(serde_json::json!({}), &Invocation::at(at))
            .await
            .unwrap()
    }

    async fn deletion(&self, key: &RecordingKey) -> DeletionEntry {
        DeleterCatalog::get_recording(&self.catalog, key)
            .await
            .unwrap()
            .unwrap()
            .deletion
            .unwrap()
    }

    fn calls_for(&self, rec: &SimRecording) -> Vec<(Option<String>, Option<String>, u16)> {
        self.sim
            .deletions()
            .into_iter()
            .filter(|d| d.uuid == rec.uuid)
            .map(|d| (d.file_id, d.action, d.status))
            .collect()
    }
}

#[tokio::test]
async fn zoom_copies_are_deleted_once_verified_and_never_otherwise() {
    let w = world().await;

    // Archived without its transcript, which Zoom already lists: refused (not deleted) until the late
    // transcript is archived too; then one trash call.
    let late = w.recording("late");
    let key = w.archive(&late.recording_completed_body()).await;
    w.sweep().await;
    let d = w.deletion(&key).await;
    assert_eq!(d.status, DeletionStatus::Refused, "{d:?}");
    assert!(
        d.reason.as_deref().unwrap().contains("not archived"),
        "{d:?}"
    );
    assert!(w.calls_for(&late).is_empty());
    w.archive(&late.transcript_completed_body()).await;
    assert_eq!(
        w.deletion(&key).await.status,
        DeletionStatus::Scheduled,
        "replanned by the archive"
    );
    let report = w.sweep().await;
    assert_eq!(report.ended.get("deleted"), Some(&1), "{report:?}");
    assert_eq!(w.calls_for(&late), vec![(None, Some("trash".into()), 204)]);
    // Repeated sweeps: still one call.
    w.sweep().await;
    w.sweep().await;
    assert_eq!(w.calls_for(&late).len(), 1);
    let audit = w.catalog.audit(&key).await.unwrap();
    assert_eq!(
        audit.iter().map(|a| a.status).collect::<Vec<_>>(),
        [DeletionStatus::Refused, DeletionStatus::Deleted]
    );
    assert_eq!(audit[1].evidence.len(), late.files().len());
    assert_eq!(audit[1].calls[0].status, Some(204));

    // Our object shorter, or with another checksum: no call, the reason on the entry.
    let short = w.recording("short");
    let key = w.archive(&short.recording_completed_body()).await;
    w.archive(&short.transcript_completed_body()).await;
    let f = &short.files()[0];
    let s3_key = FileEntry::new(
        &shared::zoom::event::normalise(short.recording_completed_body().as_bytes())
            .unwrap()
            .files[0],
        &DeleterCatalog::get_recording(&w.catalog, &key)
            .await
            .unwrap()
            .unwrap()
            .s3_prefix,
    )
    .s3_key;
    w.put(&s3_key, f.size - 1, &w.sim.file_sha256(&f.id).unwrap())
        .await;
    let other = w.recording("other-sum");
    let other_key = w.archive(&other.recording_completed_body()).await;
    w.archive(&other.transcript_completed_body()).await;
    let g = &other.files()[0];
    let other_s3 = FileEntry::new(
        &shared::zoom::event::normalise(other.recording_completed_body().as_bytes())
            .unwrap()
            .files[0],
        &DeleterCatalog::get_recording(&w.catalog, &other_key)
            .await
            .unwrap()
            .unwrap()
            .s3_prefix,
    )
    .s3_key;
    w.put(&other_s3, g.size, &"0".repeat(64)).await;
    w.sweep().await;
    let d = w.deletion(&key).await;
    assert_eq!(d.status, DeletionStatus::Refused);
    assert!(
        d.reason
            .unwrap()
            .contains(&format!("has {} bytes", f.size - 1))
    );
    let d = w.deletion(&other_key).await;
    assert!(d.reason.unwrap().contains("SHA-256"), "other checksum");
    assert!(w.calls_for(&short).is_empty() && w.calls_for(&other).is_empty());

    // Changed at Zoom after we copied it (a file grew, a file was added): no call.
    let grown = w.recording("grown");
    let key = w.archive(&grown.recording_completed_body()).await;
    w.archive(&grown.transcript_completed_body()).await;
    w.sim
        .set_file_size(&grown.files()[0].id, grown.files()[0].size + 10);
    let added = w.recording("added");
    let added_key = w.archive(&added.recording_completed_body()).await;
    w.archive(&added.transcript_completed_body()).await;
    let mut extra: FileSpec = added.spec().files[0].clone();
    extra.id = unique("extra-file");
    w.sim.add_file(&added.uuid, extra);
    w.sweep().await;
    assert!(
        w.deletion(&key)
            .await
            .reason
            .unwrap()
            .contains("bytes, our copy")
    );
    let refused = w.deletion(&added_key).await;
    assert_eq!(refused.status, DeletionStatus::Refused);
    assert!(refused.reason.unwrap().contains("not archived"));
    assert!(w.calls_for(&grown).is_empty() && w.calls_for(&added).is_empty());
    // The added file: what Zoom lists now went back to the events queue; archived from it, the recording is
    // planned again and then deleted, once.
    // (The late transcript's recording, refused the same way at first, was queued too, and so was the grown
    // one: its new version is archived beside the first by enqueue, as the end-to-end test shows.)
    let queued: Vec<shared::messages::IngestMessage> = w
        .sqs
        .receive_message()
        .queue_url(&w.events_queue)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect();
    let mine: Vec<_> = queued
        .iter()
        .filter(|m| m.body.contains(&added.files()[0].id))
        .collect();
    let grown_queued = queued
        .iter()
        .filter(|m| m.body.contains(&grown.files()[0].id))
        .count();
    assert_eq!(
        (queued.len(), mine.len(), grown_queued),
        (3, 1, 1),
        "late, added and grown queued once each"
    );
    let msg = mine[0];
    assert_eq!(msg.event, shared::zoom::ingest::API_RECORDING);
    let listed = shared::zoom::ingest::api_recording(
        msg.body.as_bytes(),
        &shared::ids::AccountId::parse(&added.account_id).unwrap(),
        msg.received_at_ms,
    )
    .unwrap();
    assert_eq!(
        listed.files.len(),
        added.files().len() + 1,
        "the added file with the others"
    );
    assert!(
        listed.files.iter().all(|f| matches!(
            &f.source,
            shared::model::DownloadSource::ZoomUrl { token: Some(_), .. }
        )),
        "each with a fresh download token"
    );
    w.archive_recording(listed).await;
    assert_eq!(
        w.deletion(&added_key).await.status,
        DeletionStatus::Scheduled
    );
    w.sweep().await;
    assert_eq!(w.deletion(&added_key).await.status, DeletionStatus::Deleted);
    assert_eq!(w.calls_for(&added).len(), 1);
    assert!(
        w.calls_for(&grown).is_empty(),
        "a grown file is never deleted unseen"
    );
}

#[tokio::test]
async fn zoom_answers_404_is_done_429_is_retried_500_is_not_done() {
    let w = world().await;
    let archive = |name: &'static str| {
        let w = &w;
        async move {
            let r = w.recording(name);
            let key = w.archive(&r.recording_completed_body()).await;
            w.archive(&r.transcript_completed_body()).await;
            (r, key)
        }
    };

    let (gone, key) = archive("gone").await;
    w.sim.fail_deletes(DeleteFault::NotFound, 1);
    w.sweep().await;
    let d = w.deletion(&key).await;
    assert_eq!(d.status, DeletionStatus::AlreadyGone);
    assert!(d.reason.unwrap().contains("nothing left"));
    assert_eq!(w.calls_for(&gone), vec![(None, Some("trash".into()), 404)]);

    let (throttled, key) = archive("throttled").await;
    w.sim
        .fail_deletes(DeleteFault::RateLimited(RetryAfter::Secs(1)), 1);
    w.sweep().await;
    assert_eq!(w.deletion(&key).await.status, DeletionStatus::Deleted);
    let statuses: Vec<u16> = w.calls_for(&throttled).into_iter().map(|c| c.2).collect();
    assert_eq!(statuses, [429, 204], "waited as told, then deleted");

    let (broken, key) = archive("broken").await;
    w.sim.fail_deletes(DeleteFault::InternalError, 100);
    w.sweep().await;
    let d = w.deletion(&key).await;
    assert_eq!(d.status, DeletionStatus::Retrying, "{d:?}");
    assert!(d.settled_at.is_none() && d.due_at.unwrap() > chrono::Utc::now());
    assert!(w.calls_for(&broken).iter().all(|c| c.2 == 500));
    w.sim.clear_delete_fault();
    let audit = w.catalog.audit(&key).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].calls[0].status, Some(500));

    // A deletion whose answer was lost (Zoom deleted, then failed): the next attempt finds it gone.
    let (lost, key) = archive("lost").await;
    w.sim
        .fail_deletes(DeleteFault::InternalErrorAfterApplying, 1);
    w.sweep().await;
    let d = w.deletion(&key).await;
    assert_eq!(d.status, DeletionStatus::AlreadyGone, "{d:?}");
    assert_eq!(w.calls_for(&lost)[0].2, 500);
    assert_eq!(w.calls_for(&lost).last().unwrap().2, 404);
}

/// Quarantine over moto and the simulator: while in quarantine the vendor copy is held; an owner assigned in
/// time keeps our copy and lets the planned deletion go ahead; a quarantine that runs out removes our copy,
/// and only it (not the assigned recording's, not a recording filed elsewhere, not the vendor's).
#[tokio::test]
async fn quarantine_holds_the_vendor_copy_an_assigned_owner_keeps_ours_an_expired_one_removes_only_ours()
 {
    use shared::catalog::CatalogReader;
    let w = world().await;
    let s3 = shared::aws::s3_client(&archiver_tests::aws().await.unwrap());
    let until = chrono::Utc::now() + chrono::Duration::hours(1);
    let normalised = |r: &SimRecording| {
        shared::zoom::event::normalise(r.recording_completed_body().as_bytes()).unwrap()
    };
    let (kept, expiring, filed) = (
        w.recording("q-kept"),
        w.recording("q-exp"),
        w.recording("filed"),
    );
    let kept_key = w.archive_placed(normalised(&kept), Some(until)).await;
    let exp_key = w.archive_placed(normalised(&expiring), Some(until)).await;
    let filed_key = w.archive_placed(normalised(&filed), None).await;
    for r in [&kept, &expiring, &filed] {
        // The late transcript goes where its recording is (in quarantine or not).
        w.archive(&r.transcript_completed_body()).await;
    }
    let objects = |key: RecordingKey| {
        let catalog = w.catalog.clone();
        async move {
            CatalogReader::list_files(&catalog, &key)
                .await
                .unwrap()
                .into_iter()
                .map(|f| f.s3_key)
                .collect::<Vec<_>>()
        }
    };
    let exists = |k: String| {
        let s3 = s3.clone();
        let bucket = w.sink.bucket().to_owned();
        async move { s3.head_object().bucket(bucket).key(k).send().await.is_ok() }
    };
    let exp_objects = objects(exp_key.clone()).await;
    assert!(
        exp_objects.iter().all(|k| k.contains("/quarantine/")),
        "{exp_objects:?}"
    );

    // Due at once: the filed recording is deleted at Zoom, the two in quarantine are held.
    let report = w.sweep().await;
    assert_eq!(
        (report.ended.get("deleted"), report.ended.get("retrying")),
        (Some(&1), Some(&2)),
        "{report:?}"
    );
    assert_eq!(w.calls_for(&filed).len(), 1);
    assert!(w.calls_for(&kept).is_empty() && w.calls_for(&expiring).is_empty());
    assert!(
        w.deletion(&kept_key)
            .await
            .reason
            .unwrap()
            .contains("in quarantine"),
        "the hold says why"
    );

    // An admin assigns an owner to one in time.
    let conn = shared::ports::ConfigStore::connection(&w.config, &w.conn)
        .await
        .unwrap()
        .unwrap();
    let owner = shared::ids::UserId::parse("media-team").unwrap();
    let lines = archiver_admin::quarantine::assign_owner(
        &w.catalog,
        &w.config,
        &w.sink,
        &conn,
        &kept_key,
        &owner,
        chrono::Utc::now(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(lines[0].starts_with("assigned: media-team"), "{lines:?}");
    let kept_objects = objects(kept_key.clone()).await;
    assert_eq!(
        lines[1],
        format!("owner tag set on {} object(s)", kept_objects.len())
    );
    for k in &kept_objects {
        let tags = s3
            .get_object_tagging()
            .bucket(w.sink.bucket())
            .key(k)
            .send()
            .await
            .unwrap();
        let tag = |n: &str| {
            tags.tag_set()
                .iter()
                .find(|t| t.key() == n)
                .map(|t| t.value().to_owned())
        };
        assert_eq!(tag("owner").as_deref(), Some("media-team"), "{k}");
        assert!(tag("sha256").is_some(), "the other tags are kept: {k}");
    }

    // The quarantine runs out: the sweeper expires the other one.
    let later = until + chrono::Duration::seconds(10);
    let swept = w
        .sweeper
        .handle(serde_json::json!({}), &Invocation::at(later))
        .await
        .unwrap();
    assert_eq!(
        (swept.quarantine_expired, swept.objects_removed),
        (1, exp_objects.len()),
        "{swept:?}"
    );
    for k in exp_objects {
        assert!(!exists(k.clone()).await, "{k} removed");
    }
    for k in objects(kept_key.clone())
        .await
        .into_iter()
        .chain(objects(filed_key.clone()).await)
    {
        assert!(exists(k.clone()).await, "{k} kept");
    }
    let exp = CatalogReader::get_recording(&w.catalog, &exp_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (exp.state, exp.owner_rule.as_deref(), exp.deletion.is_none()),
        (
            shared::model::RecordingState::Skipped,
            Some("quarantine_expired"),
            true
        )
    );
    assert!(
        CatalogReader::list_files(&w.catalog, &exp_key)
            .await
            .unwrap()
            .iter()
            .all(|f| f.state == shared::model::FileState::Planned),
        "its files wait for the vendor copy again"
    );
    let again = w
        .sweeper
        .handle(serde_json::json!({}), &Invocation::at(later))
        .await
        .unwrap();
    assert_eq!(
        (again.quarantine_expired, again.objects_removed),
        (0, 0),
        "{again:?}"
    );

    // The assigned one is deleted at Zoom as planned; the expired one's vendor copy is never touched.
    let report = w.sweep_at(later).await;
    assert_eq!(report.ended.get("deleted"), Some(&1), "{report:?}");
    assert_eq!(w.calls_for(&kept).len(), 1);
    assert!(
        w.calls_for(&expiring).is_empty(),
        "the vendor copy of the expired one is kept"
    );
}
