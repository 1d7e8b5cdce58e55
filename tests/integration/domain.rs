//! The domain's rules against the real adapters on moto: the DynamoDB catalog takes every step from every
//! state exactly as `shared::state` says (the same contract the in-memory catalog passes), keeps what a
//! degraded Zoom event says, and one vendor account cannot be applied to two tenants.

use archiver_tests::{provision, unique};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use shared::aws::catalog::DynamoCatalog;
use shared::catalog::{FileEntry, RecordingEntry};
use shared::error::{Error, Kind};
use shared::fakes::contract::{Seed, check};
use shared::model::RecordingKey;
use std::collections::HashMap;

/// Raw writes for seeding states, beside the DynamoDB catalog under test.
struct Seeded {
    catalog: DynamoCatalog,
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl Seeded {
    async fn put(&self, pk: String, sk: String, body: &impl serde::Serialize) -> Result<(), Error> {
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(body).map_err(Error::data)?;
        self.put_item(pk, sk, item).await
    }

    async fn put_item(
        &self,
        pk: String,
        sk: String,
        mut item: HashMap<String, AttributeValue>,
    ) -> Result<(), Error> {
        item.insert("pk".into(), AttributeValue::S(pk));
        item.insert("sk".into(), AttributeValue::S(sk));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| shared::aws::error::sdk_error("PutItem(seed)", e))?;
        Ok(())
    }
}

#[async_trait]
impl Seed for Seeded {
    async fn seed_recording(&self, entry: &RecordingEntry) -> Result<(), Error> {
        // The adapter keeps id sets as DynamoDB string sets (ADD); serde would write lists.
        let mut item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(entry).map_err(Error::data)?;
        for (name, ids) in [
            ("file_ids", &entry.file_ids),
            ("done_ids", &entry.done_ids),
            ("failed_ids", &entry.failed_ids),
            ("vendor_recording_ids", &entry.vendor_recording_ids),
            ("ingest_notes", &entry.ingest_notes),
        ] {
            item.remove(name);
            if !ids.is_empty() {
                item.insert(
                    name.into(),
                    AttributeValue::Ss(ids.iter().cloned().collect()),
                );
            }
        }
        self.put_item(entry.key().partition_key(), "META".into(), item)
            .await
    }
    async fn seed_file(&self, key: &RecordingKey, file: &FileEntry) -> Result<(), Error> {
        self.put(key.partition_key(), format!("FILE#{}", file.file_id), file)
            .await
    }
}

#[tokio::test]
async fn the_dynamodb_catalog_follows_the_domains_state_machine() {
    let (conf, res) = provision(&unique("contract")).await.unwrap();
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let table = res["CatalogTable"].clone();
    let seeded = Seeded {
        catalog: DynamoCatalog::new(client.clone(), &table),
        client,
        table,
    };
    let disagreements = check(&seeded.catalog, &seeded).await;
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

/// Zoom's docs example (a participant audio file with the mixed audio's id) with `edit` applied to its object,
/// normalised into an entry of tenant `uni` and its file ids.
fn docs_example(
    edit: impl FnOnce(&mut serde_json::Value),
) -> (
    shared::model::Recording,
    RecordingEntry,
    Vec<shared::ids::FileId>,
) {
    let raw = include_bytes!("../../events/zoom/recording.completed.docs-example.json");
    let mut v: serde_json::Value = serde_json::from_slice(raw).unwrap();
    edit(&mut v["payload"]["object"]);
    let rec = shared::zoom::event::normalise(&serde_json::to_vec(&v).unwrap()).unwrap();
    let entry = RecordingEntry::new(
        &rec,
        shared::ids::TenantId::parse("uni").unwrap(),
        shared::ids::ConnectionId::parse("zoom-main").unwrap(),
        chrono::Utc::now(),
    );
    let ids = rec.files.iter().map(|f| f.id.clone()).collect();
    (rec, entry, ids)
}

#[tokio::test]
async fn a_degraded_zoom_event_keeps_its_files_and_notes_in_dynamodb() {
    use shared::catalog::{CatalogReader, IngestCatalog};
    let (conf, res) = provision(&unique("notes")).await.unwrap();
    let catalog = DynamoCatalog::new(aws_sdk_dynamodb::Client::new(&conf), &res["CatalogTable"]);
    let (rec, entry, ids) = docs_example(|o| o["host_email"] = "jdoe@localhost".into());
    assert_eq!(entry.ingest_notes.len(), 2, "{:?}", entry.ingest_notes);
    let stored = catalog.upsert_recording(&entry, &ids).await.unwrap();
    assert_eq!(stored.file_ids.len(), 3);
    assert_eq!(stored.ingest_notes, entry.ingest_notes);
    assert!(
        stored.s3_prefix.contains("/2026/03/16/"),
        "{}",
        stored.s3_prefix
    );
    assert_eq!(stored.start_time.to_rfc3339(), "2026-02-02T15:00:00+00:00");
    for f in &rec.files {
        assert!(
            catalog
                .create_file(&entry.key(), &FileEntry::new(f, &stored.s3_prefix))
                .await
                .unwrap()
        );
    }
    // Another delivery with another odd field: the notes are merged, the first delivery's stay, none twice.
    let (_, again, ids) = docs_example(|o| {
        o["host_email"] = "jdoe@localhost".into();
        o["duration"] = serde_json::json!(57.5);
    });
    let stored = catalog.upsert_recording(&again, &ids).await.unwrap();
    let want: std::collections::BTreeSet<String> = entry
        .ingest_notes
        .union(&again.ingest_notes)
        .cloned()
        .collect();
    assert_eq!(want.len(), 3);
    assert_eq!(stored.ingest_notes, want);
    assert_eq!(stored.file_ids.len(), 3);
    let files = catalog.list_files(&entry.key()).await.unwrap();
    let keys: std::collections::BTreeSet<_> = files.iter().map(|f| &f.s3_key).collect();
    assert_eq!(keys.len(), 3);
    let participant = files.iter().find(|f| f.file_name.is_some()).unwrap();
    assert_eq!(
        participant.file_name.as_deref(),
        Some("Audio only - Student Example")
    );
    assert_eq!(participant.recording_type.as_deref(), Some("audio_only"));
    assert_eq!(participant.status.as_deref(), Some("completed"));
}

#[tokio::test]
async fn one_vendor_account_belongs_to_one_tenant() {
    let (conf, res) = provision(&unique("claim")).await.unwrap();
    let store = shared::aws::config::DynamoConfig::new(
        aws_sdk_dynamodb::Client::new(&conf),
        &res["ConfigTable"],
    );
    let tenant = |t: &str, conn: &str| {
        let file: shared::config_file::ConfigFile = serde_json::from_value(serde_json::json!({
            "tenant": {"id": t, "name": t},
            "connections": [{"id": conn, "vendor": "zoom", "account_id": "SHARED-ACCT",
                "webhook_secret_ref": "archiver/x", "default_owner": "media"}],
            "users": [{"id": "media", "email": "media@example.edu"}]
        }))
        .unwrap();
        file.validate("archiver/", |_| None).unwrap()
    };
    let a = unique("uni-a");
    let b = unique("uni-b");
    store
        .apply(&tenant(&a, &format!("{a}-zoom")))
        .await
        .unwrap();
    // Applying the same tenant again (or renaming its connection) is fine.
    store
        .apply(&tenant(&a, &format!("{a}-zoom2")))
        .await
        .unwrap();
    let err = store
        .apply(&tenant(&b, &format!("{b}-zoom")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Kind::Config);
    use shared::ports::ConfigStore;
    let refused = shared::ids::ConnectionId::parse(format!("{b}-zoom")).unwrap();
    assert!(
        store.connection(&refused).await.unwrap().is_none(),
        "nothing of tenant b was written"
    );
}
