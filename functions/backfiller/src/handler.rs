//! Backfill in the deployment: `archiver-admin backfill --remote` puts one [`BackfillRequest`] (a connection
//! and a date range) on the backfill queue, and this function walks it with the CLI's own code
//! (`shared::backfill::walk`, recording each finished unit in the catalog table), so that a 50,000-recording
//! import runs in the account while the CLI only shows the run's record.
//!
//! A Lambda invocation lasts at most 15 minutes, an import may take hours: the walk begins no unit after the
//! invocation's deadline less `margin` (the time one unit may take), and then sends the same request to this
//! queue again, which continues with the next unit not done. A crash or timeout mid-unit loses nothing
//! either: the message comes back, and the unit is listed again (enqueue's keys make a second queuing
//! harmless). A failure that heals (throttling past every retry, an outage) leaves the run `waiting` and the
//! message is retried (after its `Retry-After` when the vendor named one, else after [`RETRY_DELAY`]; after
//! five receives it goes to the dead-letter queue, which the sweeper re-drives); one that cannot (the connection is gone or disabled, credentials refused) marks
//! the run `stopped` with the reason and drops the message: the admin mends the cause and asks again.

use async_trait::async_trait;
use shared::backfill::{BackfillRequest, BackfillStore, Quiet, RunState, RunUpdate, Walk, Walked};
use shared::batch::{Handler, Invocation, Outcome};
use shared::catalog::CatalogReader;
use shared::error::Error;
use shared::ports::{ConfigStore, Queue};
use shared::vendors::Vendors;
use shared::webex::WebexConnections;
use shared::zoom::api::ZoomConnections;
use std::time::Duration;

/// When a walk that failed in a way that heals, without a `Retry-After`, is tried again.
pub const RETRY_DELAY: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Time kept before the deadline for the unit under way: no unit begins later than that.
    pub margin: Duration,
}

pub struct Backfiller<C, K, R, Z, W, Q, B> {
    pub config: C,
    pub catalog: K,
    /// Where runs are recorded (the catalog table).
    pub runs: R,
    pub vendors: Vendors<Z, W>,
    /// The events queue enqueue reads: where found recordings go.
    pub events: Q,
    /// The backfill queue (this function's input): where a walk that reached its deadline continues.
    pub backfills: B,
    pub rules: Rules,
}

#[async_trait]
impl<C, K, R, Z, W, Q, B> Handler for Backfiller<C, K, R, Z, W, Q, B>
where
    C: ConfigStore,
    K: CatalogReader,
    R: BackfillStore,
    Z: ZoomConnections,
    W: WebexConnections,
    Q: Queue,
    B: Queue,
{
    type Input = BackfillRequest;
    type Output = Result<Walked, Outcome>;

    async fn handle(&self, req: BackfillRequest, at: &Invocation) -> Result<Walked, Outcome> {
        let walked = self.walk(&req, at).await;
        let w = match walked {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(connection = %req.connection, range = %req.range.id(), error = %e, "backfill walk failed");
                self.record(&req, &RunUpdate::failed(&e)).await;
                // The queue's visibility timeout is 90 minutes (six times the function's): a walk that failed
                // without a Retry-After is tried again after a few minutes instead.
                return Err(match Outcome::from(e) {
                    Outcome::Retry(reason) => Outcome::retry_after(reason, RETRY_DELAY),
                    other => other,
                });
            }
        };
        tracing::info!(
            connection = %req.connection, range = %req.range.id(), units = w.units, done = w.done,
            found = w.counts.found, queued = w.counts.queued, finished = w.finished, "backfill walked"
        );
        if !w.finished {
            // Sent before this message is deleted: a crash in between leaves two requests for the run, and
            // the second finds the units done (each is recorded once).
            shared::ports::send_json(&self.backfills, &req)
                .await
                .map_err(Outcome::from)?;
        }
        Ok(w)
    }
}

impl<C, K, R, Z, W, Q, B> Backfiller<C, K, R, Z, W, Q, B>
where
    C: ConfigStore,
    K: CatalogReader,
    R: BackfillStore,
    Z: ZoomConnections,
    W: WebexConnections,
    Q: Queue,
    B: Queue,
{
    async fn walk(&self, req: &BackfillRequest, at: &Invocation) -> Result<Walked, Error> {
        let id = &req.connection;
        let conn = self
            .config
            .connection(id)
            .await?
            .ok_or_else(|| Error::permanent(format!("no connection {id}")))?;
        if !conn.enabled {
            return Err(Error::permanent(format!(
                "connection {id} is disabled; apply its tenant file to reconnect it, then ask again"
            )));
        }
        let lister = self.vendors.lister(&conn).await?;
        let margin = chrono::Duration::from_std(self.rules.margin).unwrap_or_default();
        let walk = Walk {
            connection: id.clone(),
            range: req.range,
            dry_run: false,
            until: at.deadline.map(|d| d - margin),
        };
        shared::backfill::walk(
            lister.as_ref(),
            &self.catalog,
            Some(&self.runs),
            &self.events,
            &walk,
            &Quiet,
        )
        .await
    }

    /// Records where a failed run stands; a failure to record is logged (the message's outcome stands).
    async fn record(&self, req: &BackfillRequest, update: &RunUpdate) {
        if let Err(e) = self.runs.update(&req.connection, &req.range, update).await {
            tracing::warn!(connection = %req.connection, error = %e, "could not record the run's state");
        }
        if update.state == RunState::Stopped {
            tracing::error!(connection = %req.connection, range = %req.range.id(), reason = update.reason.as_deref().unwrap_or(""), "backfill stopped; ask again once mended");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::backfill::DateRange;
    use shared::error::{Class, Kind};
    use shared::fakes::{
        FakeWebex, FakeZoom, MemoryBackfill, MemoryCatalog, MemoryConfig, MemoryQueue, connection,
    };
    use shared::ids::Vendor;

    type Subject = Backfiller<
        MemoryConfig,
        MemoryCatalog,
        MemoryBackfill,
        FakeZoom,
        FakeWebex,
        MemoryQueue,
        MemoryQueue,
    >;

    /// A Zoom account of two users with one recording each, in January and in March.
    fn backfiller() -> Subject {
        let zoom = FakeZoom::default();
        let raw = include_str!("../../../events/zoom/recording.completed.json");
        let event: serde_json::Value = serde_json::from_str(raw).unwrap();
        for (user, uuid, start) in [
            ("u-ann", "ann-jan==", "2026-01-12T10:00:00Z"),
            ("u-bob", "bob-mar==", "2026-03-03T10:00:00Z"),
        ] {
            zoom.users
                .lock()
                .unwrap()
                .push(shared::zoom::api::ZoomUser {
                    id: user.into(),
                    email: Some(format!("{user}@uni.example.edu")),
                    status: Some("active".into()),
                    ..Default::default()
                });
            let mut listed = event["payload"]["object"].clone();
            (listed["host_id"], listed["uuid"], listed["start_time"]) =
                (user.into(), uuid.into(), start.into());
            zoom.listed.lock().unwrap().push(listed);
        }
        Backfiller {
            config: MemoryConfig {
                connections: vec![connection(Vendor::Zoom)],
                users: vec![],
            },
            catalog: MemoryCatalog::default(),
            runs: MemoryBackfill::default(),
            vendors: Vendors {
                zoom,
                webex: FakeWebex::default(),
            },
            events: MemoryQueue::default(),
            backfills: MemoryQueue::default(),
            rules: Rules {
                margin: Duration::from_secs(300),
            },
        }
    }

    fn request() -> BackfillRequest {
        BackfillRequest {
            connection: connection(Vendor::Zoom).id,
            range: DateRange {
                from: "2026-01-01".parse().unwrap(),
                to: "2026-03-31".parse().unwrap(),
            },
        }
    }

    #[tokio::test]
    async fn a_walk_near_its_deadline_continues_itself_until_every_unit_is_done() {
        let b = backfiller();
        // One second left and five minutes kept for a unit: every invocation walks one unit only.
        let soon = Invocation {
            now: chrono::Utc::now(),
            deadline: Some(chrono::Utc::now() + chrono::Duration::seconds(1)),
        };
        let mut invocations = 0;
        let mut next = Some(request());
        while let Some(req) = next.take() {
            invocations += 1;
            let w = b.handle(req, &soon).await.unwrap();
            assert_eq!(
                w.counts.units, 1,
                "one unit per invocation this close to the deadline"
            );
            let sent = b
                .backfills
                .sent
                .lock()
                .unwrap()
                .drain(..)
                .collect::<Vec<_>>();
            assert_eq!(
                sent.len(),
                usize::from(!w.finished),
                "a continuation unless finished"
            );
            next = sent.first().map(|s| serde_json::from_str(s).unwrap());
        }
        assert_eq!(invocations, 6, "two users over three months");
        assert_eq!(b.events.bodies().len(), 2, "each recording queued once");
        let run = b
            .runs
            .load(&request().connection, &request().range)
            .await
            .unwrap();
        assert_eq!(
            (run.state, run.progress(), run.counts.queued),
            (RunState::Finished, (6, 6), 2)
        );
        // Outside Lambda (no deadline) one invocation walks everything.
        let b = backfiller();
        let w = b.handle(request(), &Invocation::now()).await.unwrap();
        assert!(w.finished && b.backfills.bodies().is_empty());
        assert_eq!(w.counts.units, 6);
    }

    #[tokio::test]
    async fn a_failure_that_heals_waits_and_is_retried_one_that_cannot_stops_the_run_with_its_reason()
     {
        let b = backfiller();
        let (conn, range) = (request().connection, request().range);
        *b.vendors.zoom.fail.lock().unwrap() = Some((Class::Retryable, Kind::Status(429)));
        let o = b.handle(request(), &Invocation::now()).await.unwrap_err();
        assert!(
            matches!(o, Outcome::RetryAfter(_, d) if d == RETRY_DELAY),
            "tried again in minutes, not after the queue's 90: {o:?}"
        );
        let run = b.runs.load(&conn, &range).await.unwrap();
        assert_eq!(run.state, RunState::Waiting);
        assert!(run.reason.is_some());
        *b.vendors.zoom.fail.lock().unwrap() = None;
        b.handle(request(), &Invocation::now()).await.unwrap();
        let run = b.runs.load(&conn, &range).await.unwrap();
        assert_eq!((run.state, run.reason), (RunState::Finished, None));

        let mut b = backfiller();
        b.config.connections[0].enabled = false;
        let o = b.handle(request(), &Invocation::now()).await.unwrap_err();
        assert!(matches!(o, Outcome::Dropped(_)), "{o:?}");
        let run = b.runs.load(&conn, &range).await.unwrap();
        assert_eq!(run.state, RunState::Stopped);
        assert!(run.reason.unwrap().contains("is disabled"));
        b.config.connections.clear();
        let o = b.handle(request(), &Invocation::now()).await.unwrap_err();
        assert!(
            matches!(&o, Outcome::Dropped(r) if r.contains(&format!("no connection {conn}"))),
            "{o:?}"
        );
        assert!(b.events.bodies().is_empty() && b.backfills.bodies().is_empty());
    }
}
