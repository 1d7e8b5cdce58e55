//! Owner resolver: decides who owns a recording, records it (with the meeting's people where the vendor
//! lists them), and sends one download job per file.

use shared::batch::{Outcome, require};
use shared::catalog::{OwnerCatalog, RecordingEntry};
use shared::config::Connection;
use shared::error::Class;
use shared::messages::{DownloadMessage, ResolveOwnerMessage};
use shared::model::FileState;
use shared::owner::{AttendeeSource, OwnerRule, resolve, resolve_co_users};
use shared::ports::{ConfigStore, Queue, UserDirectory, send_json};

pub struct OwnerResolver<C, K, Q, A> {
    /// Connections and the user directory.
    pub config: C,
    pub catalog: K,
    pub downloads: Q,
    pub rules: Vec<Box<dyn OwnerRule>>,
    /// The meeting's people at the vendor (Webex participants).
    pub attendees: A,
}

impl<C: ConfigStore + UserDirectory, K: OwnerCatalog, Q: Queue, A: AttendeeSource>
    OwnerResolver<C, K, Q, A>
{
    /// Returns how many download jobs were sent.
    pub async fn handle(&self, msg: ResolveOwnerMessage) -> Result<usize, Outcome> {
        let conn = require(
            self.config.connection(&msg.connection_id).await?,
            format!("connection {}", msg.connection_id),
        )?;
        let rec = require(
            self.catalog.get_recording(&msg.recording).await?,
            format!("recording {}", msg.recording),
        )?;
        let mut rec = rec;
        let owner = match &rec.owner {
            Some(o) => o.clone(),
            None => {
                self.load_attendees(&conn, &mut rec).await?;
                let found = resolve(&self.rules, &rec, &conn, &self.config).await?;
                let found =
                    found.ok_or_else(|| Outcome::Dropped("no owner rule matched".into()))?;
                tracing::info!(recording = %msg.recording, owner = %found.owner, rule = found.rule, "owner resolved");
                if let Some(mut people) = rec.attendees.clone() {
                    resolve_co_users(&mut people, &conn, Some(&found.owner), &self.config).await?;
                    self.catalog.set_attendees(&msg.recording, &people).await?;
                }
                self.catalog
                    .set_owner(&msg.recording, &found.owner, found.rule)
                    .await?;
                found.owner
            }
        };
        if rec.owner.is_some() {
            // Idempotent: moves a recording left in `pending_owner` on.
            let rule = rec.owner_rule.clone().unwrap_or_default();
            self.catalog
                .set_owner(&msg.recording, &owner, &rule)
                .await?;
        }
        let mut sent = 0;
        for file_id in &msg.file_ids {
            let Some(file) = self.catalog.get_file(&msg.recording, file_id).await? else {
                continue;
            };
            if file.state != FileState::Planned {
                continue;
            }
            // Send first, then mark: a crash in between repeats the job, which the downloader's lease absorbs;
            // the other order could lose it.
            send_json(
                &self.downloads,
                &DownloadMessage {
                    connection_id: conn.id.clone(),
                    recording: msg.recording.clone(),
                    file_id: file_id.clone(),
                },
            )
            .await?;
            self.catalog.mark_queued(&msg.recording, file_id).await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// Fetches the meeting's people once. A vendor refusal (no scope, personal room) is logged and skipped: the
    /// owner rules still work without it.
    async fn load_attendees(
        &self,
        conn: &Connection,
        rec: &mut RecordingEntry,
    ) -> Result<(), Outcome> {
        if rec.attendees.is_some() {
            return Ok(());
        }
        match self.attendees.attendees(conn, rec).await {
            Ok(found) => rec.attendees = found,
            Err(e) if e.class() == Class::Permanent => {
                tracing::warn!(recording = %rec.key(), error = %e, "meeting participants unavailable; resolving without them");
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }
}
