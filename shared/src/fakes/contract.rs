//! The catalog contract: takes every file step from every file state, and every recording step from every
//! recording state, through a catalog's ports, and reports where the catalog disagrees with the domain's
//! state machine ([`crate::state`]). Run against the in-memory catalog (unit test) and the DynamoDB adapter
//! on moto (integration test), it shows that both implement the same rules.

use crate::catalog::*;
use crate::error::Error;
use crate::ids::{AccountId, FileId, InstanceId, TenantId, Vendor};
use crate::model::{DownloadSource, FileState, RecordingKey, RecordingState};
use crate::state::{self, FileFacts, FileStep, RecordingStep, StepInput};
use async_trait::async_trait;
use chrono::Utc;
use std::collections::BTreeSet;

/// Writes entries as given, whatever their state, so a step can start from any state.
#[async_trait]
pub trait Seed: Send + Sync {
    async fn seed_recording(&self, entry: &RecordingEntry) -> Result<(), Error>;
    async fn seed_file(&self, key: &RecordingKey, file: &FileEntry) -> Result<(), Error>;
}

#[async_trait]
impl Seed for super::MemoryCatalog {
    async fn seed_recording(&self, entry: &RecordingEntry) -> Result<(), Error> {
        self.put_recording(entry.clone());
        Ok(())
    }
    async fn seed_file(&self, key: &RecordingKey, file: &FileEntry) -> Result<(), Error> {
        self.put_file(key, file.clone());
        Ok(())
    }
}

const NOW_MS: i64 = 1_800_000_000_000;
const LIVE_LEASE: i64 = NOW_MS + 60_000;
const EXPIRED_LEASE: i64 = NOW_MS - 60_000;
const STORED_ISSUED: i64 = 100;
const FRESH_ISSUED: i64 = 200;

/// A recording key of the sample Zoom account with the given instance.
pub fn sample_key(instance: &str) -> RecordingKey {
    RecordingKey {
        vendor: Vendor::Zoom,
        account: AccountId::parse(super::ZOOM_ACCOUNT).unwrap(),
        instance: InstanceId::parse(instance).unwrap(),
    }
}

/// A recording entry of tenant `uni` for `key`, in `state`, with these file ids (all done or not).
pub fn sample_recording(
    key: &RecordingKey,
    state: RecordingState,
    files: &[&str],
    all_done: bool,
) -> RecordingEntry {
    let raw = include_bytes!("../../../events/zoom/recording.completed.json");
    let mut rec = crate::zoom::event::normalise(raw).expect("sample event");
    rec.instance = key.instance.clone();
    let mut e = RecordingEntry::new(
        &rec,
        TenantId::parse("uni").unwrap(),
        super::connection(Vendor::Zoom).id,
        Utc::now(),
    );
    e.state = state;
    e.file_ids = files.iter().map(|f| f.to_string()).collect();
    e.done_ids = if all_done {
        e.file_ids.clone()
    } else {
        BTreeSet::new()
    };
    e
}

/// A file entry `id` in `state`, with a lease until `lease` and a source issued at [`STORED_ISSUED`].
pub fn sample_file(id: &str, state: FileState, lease: Option<i64>) -> FileEntry {
    let raw = include_bytes!("../../../events/zoom/recording.completed.json");
    let rec = crate::zoom::event::normalise(raw).expect("sample event");
    let mut f = FileEntry::new(&rec.files[0], "tenants/uni/test");
    f.file_id = FileId::parse(id).unwrap();
    f.state = state;
    f.lease_until_ms = lease;
    f.source_issued_at_ms = STORED_ISSUED;
    f
}

/// A stored object's record (the contract's, and other tests').
pub fn stored() -> StoredObject {
    StoredObject {
        bucket: "b".into(),
        key: "k".into(),
        bytes: 1,
        sha256: "00".into(),
        etag: "\"e\"".into(),
        part_size: 1,
        parts: 1,
        started_at: Utc::now(),
        finished_at: Utc::now(),
        duration_ms: 0,
    }
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        upload_id: "u-1".into(),
        part_size: 8 * 1024 * 1024,
        parts: vec![PartDone {
            etag: "\"e1\"".into(),
            crc32: Some("AAAAAA==".into()),
            bytes: 8 * 1024 * 1024,
        }],
        offset: 8 * 1024 * 1024,
        size: Some(20 * 1024 * 1024),
        sha256_state: "c3RhdGU=".into(),
        updated_at_ms: NOW_MS,
    }
}

/// Where a file starts: absent, or a state with its lease.
fn file_starts() -> Vec<Option<(FileState, Option<i64>)>> {
    vec![
        None,
        Some((FileState::Planned, None)),
        Some((FileState::Queued, None)),
        Some((FileState::Downloading, Some(LIVE_LEASE))),
        Some((FileState::Downloading, Some(EXPIRED_LEASE))),
        Some((FileState::Retrying, None)),
        Some((FileState::Archived, None)),
        Some((FileState::Failed, None)),
    ]
}

/// Runs every step from every state; returns one line per disagreement (empty: the catalog follows the rules).
pub async fn check<C, S>(catalog: &C, seed: &S) -> Vec<String>
where
    C: IngestCatalog + OwnerCatalog + TransferCatalog + QuarantineCatalog,
    S: Seed,
{
    let mut wrong = Vec::new();
    let run = Utc::now().timestamp_micros();
    for (n, (step, start)) in FileStep::ALL
        .into_iter()
        .flat_map(|s| file_starts().into_iter().map(move |st| (s, st)))
        .enumerate()
    {
        let key = sample_key(&format!("contract-{run}-file-{n}"));
        let id = FileId::parse("f1").unwrap();
        let case = format!("{} from {start:?}", step.operation());
        if let Err(e) = seed_file_case(seed, &key, start).await {
            wrong.push(format!("{case}: seeding failed: {e}"));
            continue;
        }
        let applied = match take_file_step(catalog, &key, &id, step).await {
            Ok(a) => a,
            Err(e) => {
                wrong.push(format!("{case}: {e}"));
                continue;
            }
        };
        let facts = start.map(|(state, lease)| FileFacts {
            state,
            lease_until_ms: lease,
            source_issued_at_ms: STORED_ISSUED,
        });
        let input = StepInput {
            now_ms: NOW_MS,
            issued_at_ms: FRESH_ISSUED,
            lease_until_ms: LIVE_LEASE,
        };
        let expected = state::file_allows(step, facts.as_ref(), input);
        let after = IngestCatalog::get_file(catalog, &key, &id)
            .await
            .ok()
            .flatten()
            .map(|f| f.state);
        let expected_state = if expected {
            step.to().or(start.map(|s| s.0))
        } else {
            start.map(|s| s.0)
        };
        if applied != expected || after != expected_state {
            wrong.push(format!(
                "{case}: rules say allowed={expected} → {expected_state:?}; catalog applied={applied} → {after:?}"
            ));
        }
    }
    let starts = [
        None,
        Some(RecordingState::PendingOwner),
        Some(RecordingState::Archiving),
        Some(RecordingState::Archived),
        Some(RecordingState::Failed),
    ];
    let mut n = 0;
    for step in RecordingStep::ALL {
        for start in starts {
            for all_done in [true, false] {
                n += 1;
                let key = sample_key(&format!("contract-{run}-rec-{n}"));
                let case = format!("{:?} from {start:?} (all done: {all_done})", step);
                if let Some(st) = start
                    && let Err(e) = seed
                        .seed_recording(&sample_recording(&key, st, &["a"], all_done))
                        .await
                {
                    wrong.push(format!("{case}: seeding failed: {e}"));
                    continue;
                }
                // Errors are allowed (e.g. an owner for a recording that does not exist); states are not.
                let _ = take_recording_step(catalog, seed, &key, step).await;
                let after = OwnerCatalog::get_recording(catalog, &key)
                    .await
                    .ok()
                    .flatten()
                    .map(|r| r.state);
                let expected = expected_recording_state(step, start, all_done);
                if after != expected {
                    wrong.push(format!(
                        "{case}: rules say {expected:?}; catalog has {after:?}"
                    ));
                }
            }
        }
    }
    wrong
}

async fn seed_file_case<C: Seed>(
    catalog: &C,
    key: &RecordingKey,
    start: Option<(FileState, Option<i64>)>,
) -> Result<(), Error> {
    catalog
        .seed_recording(&sample_recording(
            key,
            RecordingState::Archiving,
            &["f1"],
            false,
        ))
        .await?;
    if let Some((state, lease)) = start {
        catalog
            .seed_file(key, &sample_file("f1", state, lease))
            .await?;
    }
    Ok(())
}

/// Takes one file step through the ports; `true` if the catalog reports or shows it applied.
async fn take_file_step<C>(
    catalog: &C,
    key: &RecordingKey,
    id: &FileId,
    step: FileStep,
) -> Result<bool, Error>
where
    C: IngestCatalog + OwnerCatalog + TransferCatalog + QuarantineCatalog,
{
    Ok(match step {
        FileStep::Create => {
            catalog
                .create_file(key, &sample_file("f1", FileState::Planned, None))
                .await?
        }
        FileStep::RefreshSource => {
            let source = DownloadSource::ZoomUrl {
                url: "https://x.zoom.us/f".into(),
                token: Some("fresh".into()),
                issued_at_ms: FRESH_ISSUED,
            };
            catalog
                .refresh_source(key, id, &source, FRESH_ISSUED)
                .await?
        }
        FileStep::Queue => {
            let moved = format!("tenants/uni/moved/{id}.mp4");
            let done = catalog.mark_queued(key, id, &moved).await?;
            if done {
                let f = OwnerCatalog::get_file(catalog, key, id).await?;
                assert_eq!(f.map(|f| f.s3_key), Some(moved), "queued under its folder");
            }
            done
        }
        FileStep::Acquire => matches!(
            catalog.acquire(key, id, NOW_MS, 1_000).await?,
            Lease::Acquired(_)
        ),
        FileStep::Checkpoint => {
            let cp = checkpoint();
            let applied = catalog.checkpoint(key, id, LIVE_LEASE, &cp).await?;
            let stored = IngestCatalog::get_file(catalog, key, id).await?;
            applied && stored.is_some_and(|f| f.checkpoint == Some(cp))
        }
        FileStep::Complete => {
            catalog.complete(key, id, &stored()).await?;
            IngestCatalog::get_file(catalog, key, id)
                .await?
                .is_some_and(|f| f.state == FileState::Archived && f.stored.is_some())
        }
        FileStep::RetryLater => {
            catalog.retry_later(key, id, "contract", NOW_MS).await?;
            IngestCatalog::get_file(catalog, key, id)
                .await?
                .is_some_and(|f| {
                    f.state == FileState::Retrying && f.last_error.as_deref() == Some("contract")
                })
        }
        FileStep::Reopen => catalog.reopen_file(key, id, None, Utc::now()).await?,
        FileStep::Supersede => {
            let read = sample_file("f1", FileState::Archived, None);
            let mut next = sample_file("f1", FileState::Planned, None);
            next.s3_key = crate::keys::versioned(&read.s3_key, 2);
            next.superseded = vec![stored()];
            // Another version than the one stored is never superseded.
            let stale = catalog
                .supersede_file(key, "not/the/stored/key", &next, Utc::now())
                .await?;
            let applied = catalog
                .supersede_file(key, &read.s3_key, &next, Utc::now())
                .await?;
            let now = IngestCatalog::get_file(catalog, key, id).await?;
            !stale && applied && now.is_some_and(|f| f.s3_key == next.s3_key)
        }
        FileStep::Expire => {
            let applied = catalog.expire_file(key, id).await?;
            let now = IngestCatalog::get_file(catalog, key, id).await?;
            applied
                && now.is_some_and(|f| {
                    f.state == FileState::Planned && f.stored.is_none() && f.last_error.is_none()
                })
        }
        FileStep::Fail => {
            catalog.fail(key, id, "contract").await?;
            IngestCatalog::get_file(catalog, key, id)
                .await?
                .is_some_and(|f| {
                    f.state == FileState::Failed && f.last_error.as_deref() == Some("contract")
                })
        }
    })
}

async fn take_recording_step<C, S>(
    catalog: &C,
    seed: &S,
    key: &RecordingKey,
    step: RecordingStep,
) -> Result<(), Error>
where
    C: IngestCatalog + OwnerCatalog + TransferCatalog + QuarantineCatalog,
    S: Seed,
{
    match step {
        RecordingStep::Create => {
            let entry = sample_recording(key, RecordingState::PendingOwner, &[], false);
            catalog.upsert_recording(&entry, &[]).await?;
        }
        RecordingStep::Reopen => {
            let entry = sample_recording(key, RecordingState::PendingOwner, &[], false);
            catalog
                .upsert_recording(&entry, &[FileId::parse("late").unwrap()])
                .await?;
        }
        RecordingStep::Skip => {
            let entry = sample_recording(key, RecordingState::PendingOwner, &[], false);
            catalog.record_skip(&entry, "contract").await?;
        }
        RecordingStep::Unskip => {
            let entry = sample_recording(key, RecordingState::PendingOwner, &[], false);
            catalog.upsert_recording(&entry, &[]).await?;
        }
        RecordingStep::OwnerSet => {
            let placement = crate::catalog::Placement {
                owner: crate::ids::UserId::parse("media").unwrap(),
                rule: "test".into(),
                trace: vec!["default_owner: media (chosen)".to_owned()],
                categories: vec![crate::ids::Category::parse("Lectures").unwrap()],
                s3_prefix: "tenants/uni/Lectures/media/".into(),
                titled: Some(crate::naming::Titled {
                    title: "CHEM 101 – 2026-03-16".into(),
                    description: "Lectures, by media".into(),
                }),
                quarantine_until: Some("2026-03-17T09:00:00Z".parse().unwrap()),
            };
            catalog.set_owner(key, &placement).await?;
            let rec = OwnerCatalog::get_recording(catalog, key).await?;
            if let Some(rec) = rec.filter(|r| r.owner.is_some()) {
                assert_eq!(
                    Placement::recorded(&rec).as_ref(),
                    Some(&placement),
                    "every part of the placement is stored"
                );
            }
        }
        RecordingStep::Archive => {
            catalog.mark_archived(key, Utc::now()).await?;
        }
        RecordingStep::Fail => {
            let f = sample_file("a", FileState::Downloading, Some(LIVE_LEASE));
            seed.seed_file(key, &f).await?;
            catalog.fail(key, &f.file_id, "contract").await?;
        }
        RecordingStep::Retry => {
            let f = sample_file("a", FileState::Failed, None);
            seed.seed_file(key, &f).await?;
            catalog
                .reopen_file(key, &f.file_id, None, Utc::now())
                .await?;
        }
        RecordingStep::OwnerSkip => {
            let trace = ["opt_out_group: contract".to_owned()];
            let done = catalog
                .skip_at_owner(key, crate::routing::OPT_OUT_GROUP, "contract", &trace)
                .await?;
            if done {
                let rec = OwnerCatalog::get_recording(catalog, key).await?;
                let rec = rec.expect("skipped, so present");
                assert_eq!(
                    (rec.skip_reason.as_deref(), rec.owner_trace.as_slice()),
                    (Some("contract"), trace.as_slice())
                );
                assert!(rec.skipped_at_owner());
            }
        }
        RecordingStep::QuarantineExpire => {
            // In a quarantine ending at `until`: another end (an owner assigned, then held again) is refused.
            let until: chrono::DateTime<Utc> = "2026-03-17T09:00:00Z".parse().unwrap();
            let Some(mut rec) = OwnerCatalog::get_recording(catalog, key).await? else {
                return Ok(());
            };
            rec.quarantine_until = Some(until);
            rec.owner = Some(crate::ids::UserId::parse("media").unwrap());
            seed.seed_recording(&rec).await?;
            let other = until + chrono::Duration::hours(1);
            assert!(
                !catalog
                    .expire_quarantine(key, other, "contract", Utc::now())
                    .await?,
                "another quarantine is not expired"
            );
            if catalog
                .expire_quarantine(key, until, "contract", Utc::now())
                .await?
            {
                let rec = OwnerCatalog::get_recording(catalog, key).await?;
                let rec = rec.expect("expired, so present");
                assert_eq!(
                    (
                        rec.owner.as_ref(),
                        rec.quarantine_until,
                        rec.skip_reason.as_deref(),
                        rec.deletion.as_ref(),
                        rec.done_ids.len()
                    ),
                    (None, None, Some("contract"), None, 0)
                );
                assert!(rec.skipped_at_owner(), "retry archives it again");
            }
        }
        RecordingStep::OwnerRetry => {
            if catalog.retry_owner(key, Utc::now()).await? {
                let rec = OwnerCatalog::get_recording(catalog, key).await?;
                assert_eq!(rec.and_then(|r| r.skip_reason), None, "the reason goes");
            }
        }
    }
    Ok(())
}

/// The state the rules say a recording is in after the operation of `step`.
fn expected_recording_state(
    step: RecordingStep,
    start: Option<RecordingState>,
    all_done: bool,
) -> Option<RecordingState> {
    match (step, start) {
        // An upsert creates what is absent; on an existing entry it only adds ids (and may reopen).
        (RecordingStep::Create | RecordingStep::Reopen | RecordingStep::Unskip, None) => {
            Some(RecordingStep::Create.to())
        }
        (RecordingStep::Skip, None) => Some(RecordingStep::Skip.to()),
        (RecordingStep::Skip, Some(s)) => Some(s),
        (RecordingStep::Create | RecordingStep::Unskip, Some(s)) => {
            Some(state::after_delivery(s, all_done).map_or(s, RecordingStep::to))
        }
        // A late file is never done yet.
        (RecordingStep::Reopen, Some(s)) => {
            Some(state::after_delivery(s, false).map_or(s, RecordingStep::to))
        }
        (_, None) => None,
        (step, Some(s)) if state::recording_allows(step, Some(s), all_done) => Some(step.to()),
        (_, Some(s)) => Some(s),
    }
}
