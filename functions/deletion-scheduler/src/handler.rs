//! Deletion scheduler: records what happens to the vendor copy of an archived recording. The deletion sweep
//! (`functions/deleter`) executes the plan once it is due, after verifying the archived copy; nothing is
//! deleted here. When is the domain's rule (`shared::deletion::plan`); the exact calls are each vendor's
//! (`deletion::calls`).

use async_trait::async_trait;
use shared::batch::{Handler, Invocation, Outcome, require};
use shared::catalog::{DeletionCatalog, DeletionEntry};
use shared::ids::Vendor;
use shared::messages::ArchivedMessage;
use shared::ports::ConfigStore;

pub struct DeletionScheduler<C, K> {
    pub config: C,
    pub catalog: K,
}

#[async_trait]
impl<C: ConfigStore, K: DeletionCatalog> Handler for DeletionScheduler<C, K> {
    type Input = ArchivedMessage;
    type Output = Result<DeletionEntry, Outcome>;

    async fn handle(
        &self,
        msg: ArchivedMessage,
        at: &Invocation,
    ) -> Result<DeletionEntry, Outcome> {
        let conn = require(
            self.config.connection(&msg.connection_id).await?,
            format!("connection {}", msg.connection_id),
        )?;
        let rec = require(
            self.catalog.get_recording(&msg.recording).await?,
            format!("recording {}", msg.recording),
        )?;
        // The downloader announces a recording just before marking it archived; what matters here is that
        // every known file is stored. A late file reopened it: its own archive sends a new announcement.
        if !rec.all_done() {
            return Err(Outcome::Dropped(format!(
                "recording {} has files not archived yet; its next archive announces it again",
                msg.recording
            )));
        }
        // The announcement may overtake the catalog's `archived_at`; both carry the same instant.
        let archived_at = rec
            .archived_at
            .or_else(|| chrono::DateTime::from_timestamp_millis(msg.archived_at_ms))
            .unwrap_or(at.now);
        // A deletion a sweep holds or settled as gone is not planned again (a redelivered announcement, or a
        // late file of a recording whose vendor copy is being deleted): the entry keeps what the sweep wrote.
        if let Some(d) = rec.deletion.as_ref().filter(|d| !d.status.may_replan()) {
            return Err(Outcome::Dropped(format!(
                "recording {}: deletion is {}; not planned again",
                msg.recording,
                d.status.as_str()
            )));
        }
        let prev = rec.deletion.as_ref().map(|d| d.rev);
        let mut plan = shared::deletion::plan(
            &conn.delete_plan,
            archived_at,
            rec.created_at,
            at.now,
            |action| match rec.vendor {
                Vendor::Zoom => shared::zoom::deletion::calls(&rec, &conn.api_base_url, action),
                Vendor::Webex => shared::webex::deletion::calls(&rec, &conn.api_base_url, action),
            },
        );
        // A new revision, so that a sweep that read the old plan cannot claim the new one.
        plan.rev = prev.map_or(0, |r| r + 1);
        if !self
            .catalog
            .set_deletion(&msg.recording, &plan, prev)
            .await?
        {
            return Err(Outcome::Retry(format!(
                "recording {}: its deletion entry changed while it was planned; planning again",
                msg.recording
            )));
        }
        tracing::info!(recording = %msg.recording, status = plan.status.as_str(), due_at = ?plan.due_at, "deletion planned");
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::catalog::DeletionStatus;
    use shared::config::{DeleteAction, DeletePlan};
    use shared::fakes::contract::{sample_key, sample_recording};
    use shared::fakes::{MemoryCatalog, MemoryConfig, connection};
    use shared::model::RecordingState;

    fn scheduler(plan: DeletePlan) -> DeletionScheduler<MemoryConfig, MemoryCatalog> {
        let mut conn = connection(Vendor::Zoom);
        conn.delete_plan = plan;
        DeletionScheduler {
            config: MemoryConfig {
                connections: vec![conn],
                users: vec![],
            },
            catalog: MemoryCatalog::default(),
        }
    }

    fn archived(s: &DeletionScheduler<MemoryConfig, MemoryCatalog>) -> ArchivedMessage {
        let key = sample_key("archived-1");
        let mut rec = sample_recording(&key, RecordingState::Archived, &["a"], true);
        rec.created_at = "2026-03-01T11:00:00Z".parse().unwrap();
        rec.archived_at = Some("2026-03-01T12:00:00Z".parse().unwrap());
        s.catalog.put_recording(rec);
        ArchivedMessage {
            connection_id: connection(Vendor::Zoom).id,
            recording: key,
            archived_at_ms: 0,
        }
    }

    #[tokio::test]
    async fn the_plan_is_due_after_the_catalogs_archive_time_with_the_vendors_call() {
        let s = scheduler(DeletePlan::after_days(10, DeleteAction::Delete));
        let msg = archived(&s);
        let plan = s.handle(msg.clone(), &Invocation::now()).await.unwrap();
        assert_eq!(plan.status, DeletionStatus::Scheduled);
        assert_eq!(plan.due_at, Some("2026-03-11T12:00:00Z".parse().unwrap()));
        assert!(plan.vendor_calls[0].starts_with("DELETE https://api.zoom.us/v2/meetings/"));
        assert!(plan.vendor_calls[0].ends_with("action=delete"));
        let stored = s.catalog.entry(&msg.recording).unwrap();
        assert_eq!(stored.deletion, Some(plan));
    }

    #[tokio::test]
    async fn a_recording_archived_soon_after_it_was_announced_waits_for_late_files() {
        let s = scheduler(DeletePlan::DeleteAfter {
            days: 0,
            hours: 1,
            action: DeleteAction::Trash,
            scope: shared::config::DeleteScope::Recording,
            late_file_hours: 24,
        });
        let msg = archived(&s);
        let plan = s.handle(msg, &Invocation::now()).await.unwrap();
        assert_eq!(plan.due_at, Some("2026-03-02T11:00:00Z".parse().unwrap()));
    }

    #[tokio::test]
    async fn a_deletion_in_progress_or_done_is_not_planned_again() {
        let s = scheduler(DeletePlan::after_days(0, DeleteAction::Trash));
        let msg = archived(&s);
        let first = s.handle(msg.clone(), &Invocation::now()).await.unwrap();
        let mut done = first.clone();
        done.status = DeletionStatus::Deleted;
        let mut rec = s.catalog.entry(&msg.recording).unwrap();
        rec.deletion = Some(done.clone());
        s.catalog.put_recording(rec);
        assert!(matches!(
            s.handle(msg.clone(), &Invocation::now()).await,
            Err(Outcome::Dropped(why)) if why.contains("deleted")
        ));
        assert_eq!(
            s.catalog.entry(&msg.recording).unwrap().deletion,
            Some(done)
        );
    }

    #[tokio::test]
    async fn retain_plans_nothing_a_missing_recording_is_dropped_an_outage_retried() {
        let s = scheduler(DeletePlan::Retain);
        let msg = archived(&s);
        let plan = s.handle(msg.clone(), &Invocation::now()).await.unwrap();
        assert_eq!(
            (plan.status, plan.vendor_calls.len()),
            (DeletionStatus::Retained, 0)
        );
        s.catalog.fail("set_deletion");
        assert!(matches!(
            s.handle(msg.clone(), &Invocation::now()).await,
            Err(Outcome::Retry(_))
        ));
        let mut gone = msg;
        gone.recording = sample_key("never-archived");
        assert!(matches!(
            s.handle(gone, &Invocation::now()).await,
            Err(Outcome::Dropped(_))
        ));
    }
}
