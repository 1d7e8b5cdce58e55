//! The sweeper over moto: its DynamoDB query for stuck recordings, the dead-letter adapter and the upload
//! listing, through the real SDK against the template's resources.

use archiver_tests::{apply_tenant, provision, unique};
use shared::aws::catalog::DynamoCatalog;
use shared::aws::config::DynamoConfig;
use shared::aws::dlq::SqsDeadLetters;
use shared::aws::s3::S3Uploads;
use shared::aws::sqs::SqsQueue;
use shared::batch::{Handler, Invocation};
use shared::catalog::{IngestCatalog, RecordingEntry};
use shared::fakes::contract::{sample_file, sample_recording};
use shared::ids::{AccountId, ConnectionId, InstanceId, TenantId, Vendor};
use shared::messages::DownloadMessage;
use shared::model::{FileState, RecordingKey, RecordingState};
use std::time::Duration;
use sweeper::handler::{Rules, Sweeper};

#[tokio::test]
async fn a_killed_transfer_a_dead_letter_and_an_abandoned_upload_are_swept() {
    let (conf, res) = provision(&unique("sw")).await.unwrap();
    let r = |id: &str| res[id].clone();
    // A fresh config table: the sample events' account is this tenant's alone.
    let account = shared::fakes::ZOOM_ACCOUNT.to_owned();
    let tenant = apply_tenant(
        &conf,
        &r("ConfigTable"),
        &account,
        None,
        serde_json::json!({"mode": "retain"}),
    )
    .await
    .unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let s3 = shared::aws::s3_client(&conf);
    let catalog = DynamoCatalog::new(ddb.clone(), r("CatalogTable"));
    let conn = ConnectionId::parse(&tenant.connection).unwrap();

    // A recording that started 7 hours ago, whose only file was being downloaded by a run that was killed
    // (its lease ran out an hour ago).
    let key = RecordingKey {
        vendor: Vendor::Zoom,
        account: AccountId::parse(&account).unwrap(),
        instance: InstanceId::parse(unique("inst")).unwrap(),
    };
    let mut rec: RecordingEntry = sample_recording(&key, RecordingState::Archiving, &["f1"], false);
    rec.tenant = TenantId::parse(&tenant.tenant).unwrap();
    rec.connection_id = conn.clone();
    rec.start_time = chrono::Utc::now() - chrono::Duration::hours(7);
    let ids = [shared::ids::FileId::parse("f1").unwrap()];
    catalog.upsert_recording(&rec, &ids).await.unwrap();
    // The entry is created `pending_owner`; the owner was set since (as the resolver would).
    let owner = shared::ids::UserId::parse("media-team").unwrap();
    shared::catalog::OwnerCatalog::set_owner(
        &catalog,
        &key,
        &shared::catalog::Placement::new(owner, "test", &rec.s3_prefix),
    )
    .await
    .unwrap();
    let killed = sample_file(
        "f1",
        FileState::Downloading,
        Some(chrono::Utc::now().timestamp_millis() - 3_600_000),
    );
    catalog.create_file(&key, &killed).await.unwrap();
    // Its job had also reached the DLQ.
    let job = serde_json::to_string(&DownloadMessage {
        connection_id: conn.clone(),
        recording: key.clone(),
        file_id: ids[0].clone(),
        continuation: 0,
    })
    .unwrap();
    sqs.send_message()
        .queue_url(r("DownloadDLQ"))
        .message_body(&job)
        .send()
        .await
        .unwrap();
    // And an upload nobody will finish.
    s3.create_multipart_upload()
        .bucket(r("MediaBucket"))
        .key("tenants/x/abandoned.mp4")
        .send()
        .await
        .unwrap();

    let dlq = |name: &str, dlq: &str, src: &str| -> Box<dyn shared::ports::DeadLetters> {
        Box::new(SqsDeadLetters::new(sqs.clone(), name, r(dlq), r(src)))
    };
    let sweeper = Sweeper {
        config: DynamoConfig::new(ddb, r("ConfigTable")),
        catalog,
        owners: SqsQueue::new(sqs.clone(), r("OwnerQueue")),
        downloads: SqsQueue::new(sqs.clone(), r("DownloadQueue")),
        download_dlq: dlq("download", "DownloadDLQ", "DownloadQueue"),
        other_dlqs: vec![dlq("events", "EventsDLQ", "EventsQueue")],
        uploads: S3Uploads::new(s3.clone(), r("MediaBucket")),
        rules: Rules {
            // The entry changed moments ago (the owner was set): with no wait, it counts as stuck; the
            // rule's hours are the unit tests' (functions/sweeper).
            stuck_after: Duration::ZERO,
            // Every upload counts as abandoned here (moto cannot date one two days back).
            abandoned_after: Duration::ZERO,
            max_attempts: 50,
            max_redrives: 3,
            batch: 100,
            lease: Duration::from_secs(60),
        },
    };
    let report = sweeper
        .handle(
            serde_json::json!({"source": "aws.scheduler"}),
            &Invocation::now(),
        )
        .await
        .unwrap();
    assert_eq!(report.recordings_checked, 1, "{report:?}");
    assert_eq!(report.downloads_redriven, 1, "{report:?}");
    assert_eq!(report.dead_letters_redriven, 1, "{report:?}");
    assert_eq!(report.uploads_aborted, 1, "{report:?}");
    // Two jobs for the file are on the download queue (the lease makes one of them a no-op)…
    let mut jobs = Vec::new();
    for _ in 0..5 {
        let out = sqs
            .receive_message()
            .queue_url(r("DownloadQueue"))
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        jobs.extend(out.messages.unwrap_or_default());
        if jobs.len() >= 2 {
            break;
        }
    }
    assert_eq!(jobs.len(), 2);
    for m in &jobs {
        let msg: DownloadMessage = serde_json::from_str(m.body().unwrap()).unwrap();
        assert_eq!(msg.file_id, ids[0]);
    }
    assert!(
        jobs.iter().any(|m| m
            .message_attributes()
            .and_then(|a| a.get("sweep-redrives"))
            .and_then(|v| v.string_value())
            == Some("1")),
        "the re-driven dead letter is counted"
    );
    // …the DLQ is empty and the abandoned upload gone.
    let left = sqs
        .receive_message()
        .queue_url(r("DownloadDLQ"))
        .send()
        .await
        .unwrap();
    assert!(left.messages.unwrap_or_default().is_empty());
    let uploads = s3
        .list_multipart_uploads()
        .bucket(r("MediaBucket"))
        .send()
        .await
        .unwrap();
    assert!(uploads.uploads.unwrap_or_default().is_empty());
}
