//! Deletion scheduler: records what happens to the vendor copy of an archived recording. Executing the
//! deletion (after verifying the archived copy) is a later stage; nothing is deleted here.

use shared::batch::{Outcome, require};
use shared::catalog::{DeletionCatalog, DeletionEntry};
use shared::messages::ArchivedMessage;
use shared::ports::ConfigStore;

pub struct DeletionScheduler<C, K> {
    pub config: C,
    pub catalog: K,
}

impl<C: ConfigStore, K: DeletionCatalog> DeletionScheduler<C, K> {
    pub async fn handle(
        &self,
        msg: ArchivedMessage,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<DeletionEntry, Outcome> {
        let conn = require(
            self.config.connection(&msg.connection_id).await?,
            format!("connection {}", msg.connection_id),
        )?;
        let rec = require(
            self.catalog.get_recording(&msg.recording).await?,
            format!("recording {}", msg.recording),
        )?;
        let archived_at = rec.archived_at.unwrap_or(now);
        let plan = shared::deletion::plan(
            &conn.delete_plan,
            &rec,
            &conn.api_base_url,
            archived_at,
            now,
        );
        self.catalog.set_deletion(&msg.recording, &plan).await?;
        tracing::info!(recording = %msg.recording, status = plan.status, due_at = ?plan.due_at, "deletion planned");
        Ok(plan)
    }
}
