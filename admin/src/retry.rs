//! `archiver-admin retry`: failed files are reopened (`failed` → `planned`) and handed to the owner resolver
//! again, through the owner queue — the same path a webhook's files take, so nothing is reached around. A
//! recording skipped for want of an owner (`owner.unmatched: skip`) goes back to owner resolution the same
//! way, with its planned files (once its host is in the directory, it is archived).

use shared::catalog::{CatalogReader, IngestCatalog};
use shared::config::Connection;
use shared::error::Error;
use shared::ids::{FileId, InstanceId};
use shared::messages::ResolveOwnerMessage;
use shared::model::{FileState, RecordingKey, RecordingState};
use shared::ports::{Queue, send_json};

/// What to retry: every failed file of the connection, every failed file of one recording, or one file.
#[derive(Debug, Clone)]
pub struct Scope {
    pub instance: Option<InstanceId>,
    pub file: Option<FileId>,
    /// At most this many failed recordings are looked at (whole connection only).
    pub limit: i32,
}

/// One file looked at, and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retried {
    pub recording: RecordingKey,
    pub file: FileId,
    /// `reopened`, or why not (`archived`, `downloading`, …).
    pub outcome: String,
}

/// Reopens the failed files in `scope` and hands each recording's reopened files over again.
pub async fn retry<K: IngestCatalog + CatalogReader>(
    catalog: &K,
    owners: &dyn Queue,
    conn: &Connection,
    scope: &Scope,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<Retried>, Error> {
    let keys: Vec<RecordingKey> = match &scope.instance {
        Some(instance) => vec![RecordingKey {
            vendor: conn.vendor,
            account: conn.account_id.clone(),
            instance: instance.clone(),
        }],
        None => {
            let mut keys = Vec::new();
            for state in [RecordingState::Failed, RecordingState::Skipped] {
                keys.extend(
                    catalog
                        .list_by_state(&conn.tenant, state, scope.limit)
                        .await?
                        .into_iter()
                        .filter(|r| r.connection_id == conn.id)
                        .filter(|r| state == RecordingState::Failed || r.skipped_at_owner())
                        .map(|r| r.key()),
                );
            }
            keys
        }
    };
    let mut report = Vec::new();
    for key in keys {
        let mut reopened = Vec::new();
        let rec = catalog.get_recording(&key).await?;
        if let Some(rec) = rec.filter(|r| r.skipped_at_owner()) {
            let files = catalog.list_files(&key).await?;
            // An expired quarantine whose sweep died half way still has archived files (objects removed or
            // not): the next sweep finishes it first.
            let unfinished = rec.owner_rule.as_deref() == Some(shared::routing::QUARANTINE_EXPIRED)
                && files.iter().any(|f| f.state == FileState::Archived);
            let planned: Vec<FileId> = files
                .into_iter()
                .filter(|f| f.state == FileState::Planned)
                .filter(|f| scope.file.as_ref().is_none_or(|id| *id == f.file_id))
                .map(|f| f.file_id)
                .collect();
            let outcome = if unfinished {
                "its quarantine's expiry is not finished yet (the next sweep finishes it); not reopened"
            } else if catalog.retry_owner(&rec.key(), now).await? {
                reopened = planned.clone();
                "reopened (owner resolution again)"
            } else {
                "changed meanwhile; not reopened"
            };
            report.extend(planned.iter().map(|file| Retried {
                recording: key.clone(),
                file: file.clone(),
                outcome: outcome.to_owned(),
            }));
            hand_over(owners, conn, &key, reopened).await?;
            continue;
        }
        for f in catalog.list_files(&key).await? {
            if scope.file.as_ref().is_some_and(|id| *id != f.file_id) {
                continue;
            }
            let outcome = if f.state != FileState::Failed {
                format!("not failed ({})", f.state.as_str())
            } else if catalog.reopen_file(&key, &f.file_id, None, now).await? {
                reopened.push(f.file_id.clone());
                "reopened".to_owned()
            } else {
                "changed meanwhile; not reopened".to_owned()
            };
            report.push(Retried {
                recording: key.clone(),
                file: f.file_id,
                outcome,
            });
        }
        hand_over(owners, conn, &key, reopened).await?;
    }
    Ok(report)
}

/// Hands a recording's reopened files to the owner resolver (nothing if there are none).
async fn hand_over(
    owners: &dyn Queue,
    conn: &Connection,
    key: &RecordingKey,
    file_ids: Vec<FileId>,
) -> Result<(), Error> {
    if file_ids.is_empty() {
        return Ok(());
    }
    let msg = ResolveOwnerMessage {
        connection_id: conn.id.clone(),
        recording: key.clone(),
        file_ids,
    };
    send_json(owners, &msg).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::fakes::contract::{sample_file, sample_key, sample_recording};
    use shared::fakes::{MemoryCatalog, MemoryQueue, connection};
    use shared::ids::Vendor;

    fn failed_recording(
        catalog: &MemoryCatalog,
        name: &str,
        files: &[(&str, FileState)],
    ) -> RecordingKey {
        let conn = connection(Vendor::Zoom);
        let mut key = sample_key(name);
        key.account = conn.account_id.clone();
        let ids: Vec<&str> = files.iter().map(|(id, _)| *id).collect();
        let mut rec = sample_recording(&key, RecordingState::Failed, &ids, false);
        rec.connection_id = conn.id.clone();
        rec.tenant = conn.tenant.clone();
        rec.failed_ids = files
            .iter()
            .filter(|(_, s)| *s == FileState::Failed)
            .map(|(id, _)| id.to_string())
            .collect();
        catalog.put_recording(rec);
        for (id, state) in files {
            catalog.put_file(&key, sample_file(id, *state, None));
        }
        key
    }

    #[tokio::test]
    async fn every_failed_file_of_a_connection_is_reopened_and_handed_over_once() {
        let catalog = MemoryCatalog::default();
        let owners = MemoryQueue::default();
        let conn = connection(Vendor::Zoom);
        let a = failed_recording(
            &catalog,
            "retry-a",
            &[("v1", FileState::Failed), ("v2", FileState::Archived)],
        );
        let b = failed_recording(&catalog, "retry-b", &[("t1", FileState::Failed)]);
        let scope = Scope {
            instance: None,
            file: None,
            limit: 50,
        };
        let report = retry(&catalog, &owners, &conn, &scope, chrono::Utc::now())
            .await
            .unwrap();
        let reopened: Vec<_> = report.iter().filter(|r| r.outcome == "reopened").collect();
        assert_eq!(reopened.len(), 2, "{report:?}");
        assert!(report.iter().any(|r| r.outcome == "not failed (archived)"));
        for key in [&a, &b] {
            assert_eq!(
                catalog.entry(key).unwrap().state,
                RecordingState::PendingOwner
            );
        }
        let sent: Vec<ResolveOwnerMessage> = owners
            .bodies()
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect();
        assert_eq!(sent.len(), 2);
        // Nothing failed is left: a second run reopens nothing and sends nothing.
        let again = retry(&catalog, &owners, &conn, &scope, chrono::Utc::now())
            .await
            .unwrap();
        assert!(again.iter().all(|r| r.outcome != "reopened"), "{again:?}");
        assert_eq!(owners.bodies().len(), 2);
    }

    #[tokio::test]
    async fn a_recording_skipped_for_want_of_an_owner_goes_back_to_owner_resolution_with_its_planned_files()
     {
        let catalog = MemoryCatalog::default();
        let owners = MemoryQueue::default();
        let conn = connection(Vendor::Zoom);
        let key = failed_recording(
            &catalog,
            "unowned",
            &[("v1", FileState::Planned), ("t1", FileState::Planned)],
        );
        let mut rec = catalog.entry(&key).unwrap();
        (rec.state, rec.failed_ids) = (RecordingState::PendingOwner, Default::default());
        catalog.put_recording(rec);
        let trace = ["unmatched_skip: nobody".to_owned()];
        assert!(
            shared::catalog::OwnerCatalog::skip_at_owner(
                &catalog,
                &key,
                shared::owner::UNMATCHED_SKIP,
                "no owner",
                &trace
            )
            .await
            .unwrap()
        );
        // A recording the filters skipped is not retried: a delivery the filters let through archives it.
        let mut filtered = sample_recording(
            &sample_key("filtered"),
            RecordingState::PendingOwner,
            &[],
            false,
        );
        (filtered.connection_id, filtered.tenant) = (conn.id.clone(), conn.tenant.clone());
        filtered.account_id = conn.account_id.clone();
        assert!(
            IngestCatalog::record_skip(&catalog, &filtered, "topic matches")
                .await
                .unwrap()
        );
        let scope = Scope {
            instance: None,
            file: None,
            limit: 50,
        };
        let report = retry(&catalog, &owners, &conn, &scope, chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(report.len(), 2, "{report:?}");
        assert!(report.iter().all(|r| r.outcome.starts_with("reopened")));
        let rec = catalog.entry(&key).unwrap();
        assert_eq!(
            (rec.state, rec.skip_reason),
            (RecordingState::PendingOwner, None)
        );
        let sent: Vec<ResolveOwnerMessage> = owners
            .bodies()
            .iter()
            .map(|b| serde_json::from_str(b).unwrap())
            .collect();
        assert_eq!((sent.len(), sent[0].file_ids.len()), (1, 2));
        let again = retry(&catalog, &owners, &conn, &scope, chrono::Utc::now())
            .await
            .unwrap();
        assert!(again.is_empty(), "not skipped any more: {again:?}");
    }

    #[tokio::test]
    async fn one_file_is_retried_alone_and_the_recording_waits_for_its_other_failed_file() {
        let catalog = MemoryCatalog::default();
        let owners = MemoryQueue::default();
        let conn = connection(Vendor::Zoom);
        let key = failed_recording(
            &catalog,
            "retry-one",
            &[("v1", FileState::Failed), ("v2", FileState::Failed)],
        );
        let scope = Scope {
            instance: Some(key.instance.clone()),
            file: Some(FileId::parse("v1").unwrap()),
            limit: 1,
        };
        let report = retry(&catalog, &owners, &conn, &scope, chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].outcome, "reopened");
        let rec = catalog.entry(&key).unwrap();
        assert_eq!(rec.state, RecordingState::Failed, "v2 is still failed");
        assert_eq!(rec.failed_ids.len(), 1);
        assert_eq!(owners.bodies().len(), 1);
    }
}
