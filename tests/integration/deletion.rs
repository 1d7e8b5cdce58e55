//! The deletion sweep's adapters over moto: the sparse due index (`by-due`), claims and settlements that are
//! conditional on the entry's revision, the replan rule, write-once audit records, and the S3 evidence (size
//! and `sha256` tag re-read from the bucket).

use archiver_tests::{provision, unique};
use chrono::{DateTime, Utc};
use shared::aws::catalog::DynamoCatalog;
use shared::aws::s3::S3Sink;
use shared::catalog::{DeleterCatalog, DeletionCatalog, DeletionStatus, IngestCatalog};
use shared::config::{DeleteAction, DeletePlan};
use shared::deletion::{self, AuditRecord, Settlement, StoredEvidence};
use shared::fakes::contract::sample_recording;
use shared::ids::{AccountId, ConnectionId, FileId, InstanceId, Vendor};
use shared::model::{RecordingKey, RecordingState};
use shared::ports::{ObjectSink, ObjectTarget, StoredObjects};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

#[tokio::test]
async fn the_due_index_claims_settlements_and_audit_hold_in_dynamodb() {
    let (conf, res) = provision(&unique("del")).await.unwrap();
    let catalog = DynamoCatalog::new(
        aws_sdk_dynamodb::Client::new(&conf),
        res["CatalogTable"].clone(),
    );
    let conn = ConnectionId::parse(unique("zoom")).unwrap();
    let mut keys = Vec::new();
    // Three archived recordings due at 10:00, 11:00 and in 400 days.
    for (i, due) in [
        "2026-03-02T10:00:00Z",
        "2026-03-02T11:00:00Z",
        "2027-04-06T10:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let key = RecordingKey {
            vendor: Vendor::Zoom,
            account: AccountId::parse(shared::fakes::ZOOM_ACCOUNT).unwrap(),
            instance: InstanceId::parse(unique(&format!("i{i}"))).unwrap(),
        };
        let mut rec = sample_recording(&key, RecordingState::Archived, &["f"], true);
        rec.connection_id = conn.clone();
        catalog
            .upsert_recording(&rec, &[FileId::parse("f").unwrap()])
            .await
            .unwrap();
        let mut d = deletion::plan(
            &DeletePlan::after_days(1, DeleteAction::Trash),
            t("2026-03-01T10:00:00Z"),
            t("2026-03-01T10:00:00Z"),
            t("2026-03-01T10:00:00Z"),
            |_| Default::default(),
        );
        d.due_at = Some(t(due));
        assert!(catalog.set_deletion(&key, &d, None).await.unwrap());
        assert!(
            !catalog.set_deletion(&key, &d, None).await.unwrap(),
            "planned already"
        );
        keys.push(key);
    }
    let due = |at: &'static str| {
        let catalog = catalog.clone();
        let conn = conn.clone();
        async move {
            catalog
                .due(&conn, t(at), 10)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.key())
                .collect::<Vec<_>>()
        }
    };
    assert!(due("2026-03-02T09:59:59Z").await.is_empty());
    assert_eq!(due("2026-03-02T10:00:00Z").await, vec![keys[0].clone()]);
    assert_eq!(due("2026-03-02T12:00:00Z").await, keys[..2].to_vec());
    assert_eq!(
        due("2027-04-06T10:00:00Z").await,
        keys,
        "no look-back window"
    );
    assert_eq!(
        catalog
            .due(&conn, t("2030-01-01T00:00:00Z"), 1)
            .await
            .unwrap()
            .len(),
        1,
        "bounded"
    );

    // A claim is a conditional write on the revision read: a second claim from the same read loses.
    let now = t("2026-03-02T10:00:00Z");
    let d0 = catalog.due(&conn, now, 10).await.unwrap()[0]
        .deletion
        .clone()
        .unwrap();
    let claimed = deletion::claim(&d0, now, deletion::CLAIM).unwrap();
    assert!(
        catalog
            .update_deletion(&keys[0], d0.rev, &claimed)
            .await
            .unwrap()
    );
    assert!(
        !catalog
            .update_deletion(&keys[0], d0.rev, &claimed)
            .await
            .unwrap()
    );
    // While claimed it is in the index until the claim ends; a replan may not take it over.
    assert!(
        due("2026-03-02T10:14:00Z")
            .await
            .iter()
            .all(|k| k != &keys[0])
    );
    assert!(due("2026-03-02T10:16:00Z").await.contains(&keys[0]));
    assert!(
        !catalog
            .set_deletion(&keys[0], &d0, Some(claimed.rev))
            .await
            .unwrap()
    );
    assert!(
        !catalog
            .set_deletion(&keys[0], &d0, Some(d0.rev))
            .await
            .unwrap()
    );
    // A pending one is replanned only from the revision read: a stale read loses.
    let d1 = DeleterCatalog::get_recording(&catalog, &keys[1])
        .await
        .unwrap()
        .unwrap()
        .deletion
        .unwrap();
    let mut replanned = d1.clone();
    replanned.rev = d1.rev + 1;
    assert!(
        catalog
            .set_deletion(&keys[1], &replanned, Some(d1.rev))
            .await
            .unwrap()
    );
    assert!(
        !catalog
            .set_deletion(&keys[1], &replanned, Some(d1.rev))
            .await
            .unwrap()
    );

    let audit = AuditRecord {
        recording: keys[0].clone(),
        tenant: shared::ids::TenantId::parse("uni").unwrap(),
        connection_id: conn.clone(),
        at: now,
        attempt: claimed.attempts,
        by: "test".into(),
        plan: claimed.plan.clone(),
        evidence: vec![],
        vendor: Some(deletion::VendorListing::Gone),
        calls: vec![],
        settlement: Settlement::AlreadyGone,
        status: DeletionStatus::AlreadyGone,
    };
    catalog.put_audit(&audit).await.unwrap();
    assert!(catalog.put_audit(&audit).await.is_err(), "write-once");
    let settled = deletion::settle(&claimed, &Settlement::AlreadyGone, now);
    assert!(
        catalog
            .update_deletion(&keys[0], claimed.rev, &settled)
            .await
            .unwrap()
    );
    // Settled: out of the index for good, never replanned, its audit kept.
    assert!(
        due("2030-01-01T00:00:00Z")
            .await
            .iter()
            .all(|k| k != &keys[0])
    );
    assert!(
        !catalog
            .set_deletion(&keys[0], &d0, Some(settled.rev))
            .await
            .unwrap()
    );
    let stored = catalog.audit(&keys[0]).await.unwrap();
    assert_eq!(stored, vec![audit]);
    assert!(catalog.audit(&keys[1]).await.unwrap().is_empty());
    let entry = DeleterCatalog::get_recording(&catalog, &keys[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.deletion.unwrap().status, DeletionStatus::AlreadyGone);
    // The files query is not confused by audit items in the same partition.
    assert!(
        DeleterCatalog::list_files(&catalog, &keys[0])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn evidence_is_read_from_the_object_and_its_tag_not_from_the_catalog() {
    let (conf, res) = provision(&unique("ev")).await.unwrap();
    let s3 = shared::aws::s3_client(&conf);
    let sink = S3Sink::new(s3.clone(), res["MediaBucket"].clone());
    let key = format!("{}/a.mp4", unique("k"));
    s3.put_object()
        .bucket(sink.bucket())
        .key(&key)
        .body(vec![7u8; 1234].into())
        .send()
        .await
        .unwrap();
    assert_eq!(
        sink.evidence(&key).await.unwrap(),
        Some(StoredEvidence {
            bytes: 1234,
            sha256: None
        }),
        "no tag yet"
    );
    let target = ObjectTarget {
        key: key.clone(),
        content_type: "video/mp4".into(),
        metadata: vec![],
        tags: vec![],
    };
    sink.record_sha256(&target, &"ab".repeat(32)).await.unwrap();
    assert_eq!(
        sink.evidence(&key).await.unwrap().unwrap().sha256,
        Some("ab".repeat(32))
    );
    assert_eq!(sink.evidence("missing/key").await.unwrap(), None);
}
