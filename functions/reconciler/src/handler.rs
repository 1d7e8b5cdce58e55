//! Reconcile (scheduled): webhooks go missing. Zoom stops retrying after about 85 minutes, a Webex webhook
//! turns `inactive` after failed deliveries, and a deploy window or an expired secret drops events. For every
//! enabled connection this lists the last `days` days of the vendor's recordings with the backfill's own walk
//! (`shared::backfill::walk`, without a record: it looks again every run) and queues what the catalog lacks:
//! the same message a webhook would have brought, so nothing is created twice.
//!
//! What it found is logged per connection and written as CloudWatch metrics in the embedded metric format
//! (`RecordingArchiver` / `ReconcileFound`, `ReconcileMissed`, by `Connection`), so a silent webhook outage
//! shows on a graph and can raise an alarm. For Webex connections it also repairs the org webhooks
//! (`webex::webhooks::ensure`: recreates a missing one, reactivates an inactive one); a connection whose
//! webhooks left recordings to the sweep is flagged in the report and the log.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use shared::backfill::{Counts, DateRange, Quiet, Walk};
use shared::batch::{Handler, Invocation};
use shared::catalog::CatalogReader;
use shared::config::Connection;
use shared::error::{Error, Kind};
use shared::ids::{ConnectionId, Vendor};
use shared::ports::{ConnectionList, Queue, SecretStore};
use shared::vendors::Vendors;
use shared::webex::WebexConnections;
use shared::zoom::api::ZoomConnections;

/// How far back a run looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// Days listed, today included.
    pub days: u32,
}

/// What to reconcile: every enabled connection (the schedule's empty input), or one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Request {
    #[serde(default)]
    pub connection: Option<ConnectionId>,
}

/// What a run found for one connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionReport {
    pub connection: ConnectionId,
    pub vendor: Vendor,
    pub counts: Counts,
    /// What was done to the Webex webhooks (`created`, `reactivated`, …); empty when all were fine.
    pub webhooks: Vec<String>,
    /// Recordings the webhooks had not brought, and what to check.
    pub warning: Option<String>,
    /// Why the connection could not be reconciled (the next run tries again).
    pub error: Option<String>,
}

/// What one run did (logged, and the function's result).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub connections: Vec<ConnectionReport>,
    /// Disabled connections, not listed.
    pub disabled: usize,
    /// Recordings the catalog did not know (no webhook brought them), over all connections; queued now.
    pub missed: u64,
    pub errors: usize,
}

pub struct Reconciler<C, K, Z, W, S, Q> {
    pub config: C,
    pub catalog: K,
    pub vendors: Vendors<Z, W>,
    /// The Webex webhook secrets, to repair a webhook with ours.
    pub secrets: S,
    /// The events queue enqueue reads.
    pub events: Q,
    pub rules: Rules,
}

#[async_trait]
impl<C, K, Z, W, S, Q> Handler for Reconciler<C, K, Z, W, S, Q>
where
    C: ConnectionList,
    K: CatalogReader,
    Z: ZoomConnections,
    W: WebexConnections,
    S: SecretStore,
    Q: Queue,
{
    type Input = serde_json::Value;
    type Output = Result<Report, Error>;

    async fn handle(&self, event: serde_json::Value, at: &Invocation) -> Result<Report, Error> {
        let req: Request = shared::batch::scheduled_input(event, "reconciler")?;
        let mut conns = self.config.connections().await?;
        if let Some(id) = &req.connection {
            conns.retain(|c| &c.id == id);
            if conns.is_empty() {
                return Err(Error::permanent(format!("no connection {id}")).kind_of(Kind::NotFound));
            }
        }
        let range = DateRange::last_days(self.rules.days, at.now.date_naive());
        let mut report = Report::default();
        for conn in conns {
            if !conn.enabled {
                report.disabled += 1;
                continue;
            }
            let r = self.connection(&conn, range, at).await;
            report.missed += r.counts.new;
            report.errors += usize::from(r.error.is_some());
            println!("{}", metrics_line(&r, at));
            tracing::info!(
                connection = %r.connection, found = r.counts.found, archived = r.counts.archived,
                missed = r.counts.new, queued = r.counts.queued, unreadable = r.counts.unreadable,
                webhooks = r.webhooks.join("; "), error = r.error.as_deref().unwrap_or(""),
                "reconciled the last {} days", self.rules.days
            );
            if let Some(w) = &r.warning {
                tracing::warn!(connection = %r.connection, "{w}");
            }
            report.connections.push(r);
        }
        Ok(report)
    }
}

impl<C, K, Z, W, S, Q> Reconciler<C, K, Z, W, S, Q>
where
    C: ConnectionList,
    K: CatalogReader,
    Z: ZoomConnections,
    W: WebexConnections,
    S: SecretStore,
    Q: Queue,
{
    async fn connection(
        &self,
        conn: &Connection,
        range: DateRange,
        at: &Invocation,
    ) -> ConnectionReport {
        let mut r = ConnectionReport {
            connection: conn.id.clone(),
            vendor: conn.vendor,
            counts: Counts::default(),
            webhooks: vec![],
            warning: None,
            error: None,
        };
        let mut errors = Vec::new();
        if conn.vendor == Vendor::Webex {
            match self.repair_webhooks(conn).await {
                Ok(done) => r.webhooks = done,
                Err(e) => errors.push(format!("webhooks: {e}")),
            }
        }
        let walk = Walk {
            connection: conn.id.clone(),
            range,
            dry_run: false,
            until: None,
        };
        match self.vendors.lister(conn).await {
            Ok(lister) => {
                match shared::backfill::walk(
                    lister.as_ref(),
                    &self.catalog,
                    None,
                    &self.events,
                    &walk,
                    &Quiet,
                )
                .await
                {
                    Ok(w) => r.counts = w.counts,
                    Err(e) => errors.push(format!("listing: {e}")),
                }
            }
            Err(e) => errors.push(format!("API client: {e}")),
        }
        if r.counts.new > 0 {
            let check = match conn.vendor {
                Vendor::Zoom => {
                    "check the app's event subscription (recording.completed, recording.transcript_completed) and its secret token"
                }
                Vendor::Webex => "see `webhooks` for what was repaired",
            };
            r.warning = Some(format!(
                "{} recording(s) of {} had not reached the catalog through the webhooks (queued at {}): the \
                 webhooks may have stopped arriving; {check}",
                r.counts.new,
                range.id(),
                at.now.format("%Y-%m-%d %H:%M UTC")
            ));
        }
        if !errors.is_empty() {
            r.error = Some(errors.join("; "));
        }
        r
    }

    /// Repairs the connection's Webex webhooks as `webex-webhooks ensure` does (reactivates an inactive one,
    /// recreates a missing one, puts our secret back), at the URL its existing webhooks point to (ours end in
    /// `/webex/<connection>`); what was done (nothing when all were fine).
    async fn repair_webhooks(&self, conn: &Connection) -> Result<Vec<String>, Error> {
        let api = self.vendors.webex.api(conn).await?;
        let suffix = format!("/webex/{}", conn.id);
        let Some(target) = api
            .webhooks()
            .await?
            .into_iter()
            .map(|w| w.target_url)
            .find(|t| t.ends_with(&suffix))
        else {
            return Ok(vec![
                "no webhook of this connection at Webex: run archiver-admin webex-webhooks ensure"
                    .into(),
            ]);
        };
        let secret = self.secrets.secret(&conn.webhook_secret_ref).await?;
        let done = shared::webex::webhooks::ensure(api.as_ref(), conn, &target, &secret).await?;
        Ok(done
            .into_iter()
            .filter(|d| d.action != "ok")
            .map(|d| format!("{}.{} {}: {}", d.resource, d.event, d.id, d.action))
            .collect())
    }
}

/// One CloudWatch embedded-metric-format line: found and missed recordings of a connection.
pub fn metrics_line(r: &ConnectionReport, at: &Invocation) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": at.now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": "RecordingArchiver",
                "Dimensions": [["Connection"]],
                "Metrics": [
                    {"Name": "ReconcileFound", "Unit": "Count"},
                    {"Name": "ReconcileMissed", "Unit": "Count"},
                    {"Name": "ReconcileErrors", "Unit": "Count"},
                ],
            }],
        },
        "Connection": r.connection.as_str(),
        "Vendor": r.vendor.to_string(),
        "ReconcileFound": r.counts.found,
        "ReconcileMissed": r.counts.new,
        "ReconcileErrors": u64::from(r.error.is_some()),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::fakes::{
        FakeWebex, FakeZoom, MemoryCatalog, MemoryConfig, MemoryQueue, MemorySecrets, connection,
    };

    type Subject =
        Reconciler<MemoryConfig, MemoryCatalog, FakeZoom, FakeWebex, MemorySecrets, MemoryQueue>;

    fn reconciler(zoom: FakeZoom) -> Subject {
        Reconciler {
            config: MemoryConfig {
                connections: vec![connection(Vendor::Zoom)],
                users: vec![],
            },
            catalog: MemoryCatalog::default(),
            vendors: Vendors {
                zoom,
                webex: FakeWebex::default(),
            },
            secrets: MemorySecrets::default(),
            events: MemoryQueue::default(),
            rules: Rules { days: 3 },
        }
    }

    /// A Zoom account with one user and a recording of hers from yesterday that no webhook brought.
    fn zoom_with_a_missed_recording(at: &Invocation) -> FakeZoom {
        let zoom = FakeZoom::default();
        zoom.users
            .lock()
            .unwrap()
            .push(shared::zoom::api::ZoomUser {
                id: "u-ann".into(),
                email: Some("ann@uni.example.edu".into()),
                status: Some("active".into()),
                ..Default::default()
            });
        let raw = include_str!("../../../events/zoom/recording.completed.json");
        let event: serde_json::Value = serde_json::from_str(raw).unwrap();
        let mut listed = event["payload"]["object"].clone();
        listed["host_id"] = "u-ann".into();
        listed["start_time"] = (at.now - chrono::Duration::days(1)).to_rfc3339().into();
        zoom.listed.lock().unwrap().push(listed);
        zoom
    }

    #[tokio::test]
    async fn a_recording_no_webhook_brought_is_queued_counted_and_flagged_once_per_run() {
        let at = Invocation::now();
        let r = reconciler(zoom_with_a_missed_recording(&at));
        let report = r.handle(serde_json::json!({}), &at).await.unwrap();
        assert_eq!((report.missed, report.errors), (1, 0), "{report:?}");
        let c = &report.connections[0];
        assert_eq!((c.counts.found, c.counts.new, c.counts.queued), (1, 1, 1));
        assert!(
            c.warning
                .as_deref()
                .unwrap()
                .contains("had not reached the catalog")
        );
        let sent = r.events.bodies();
        assert_eq!(sent.len(), 1);
        let msg: shared::messages::IngestMessage = serde_json::from_str(&sent[0]).unwrap();
        assert_eq!(msg.event, shared::zoom::ingest::API_RECORDING);
        let line: serde_json::Value = serde_json::from_str(&metrics_line(c, &at)).unwrap();
        assert_eq!(line["ReconcileMissed"], 1);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "RecordingArchiver"
        );
    }

    #[tokio::test]
    async fn disabled_connections_are_skipped_a_vendor_failure_is_reported_and_bad_input_refused() {
        let at = Invocation::now();
        let mut r = reconciler(zoom_with_a_missed_recording(&at));
        r.config.connections[0].enabled = false;
        let report = r.handle(serde_json::Value::Null, &at).await.unwrap();
        assert_eq!((report.disabled, report.connections.len()), (1, 0));
        r.config.connections[0].enabled = true;
        *r.vendors.zoom.fail.lock().unwrap() =
            Some((shared::error::Class::Retryable, Kind::Status(503)));
        let report = r.handle(serde_json::json!({}), &at).await.unwrap();
        assert_eq!(report.errors, 1);
        assert!(
            report.connections[0]
                .error
                .as_deref()
                .unwrap()
                .contains("listing")
        );
        assert!(r.events.bodies().is_empty());
        let e = r
            .handle(serde_json::json!({"connection": "no such"}), &at)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), Kind::Data);
        let e = r
            .handle(serde_json::json!({"connection": "zoom-other"}), &at)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), Kind::NotFound);
    }
}
