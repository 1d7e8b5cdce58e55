//! `archiver-admin backfill`: imports a connection's back catalogue. The walk is `shared::backfill::walk`
//! (the same code a deployed function runs); this module builds its parts for one connection and shows its
//! progress: units (a Zoom user or Webex site over one window), recordings found, already archived, queued,
//! and the bytes queued.

use anyhow::{Context, Result, bail};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use shared::aws::catalog::DynamoCatalog;
use shared::aws::config::DynamoConfig;
use shared::backfill::{
    BackfillRequest, BackfillRun, BackfillStore, Counts, DateRange, Observer, RunState, RunUpdate,
    Walk,
};
use shared::ids::ConnectionId;
use std::sync::Arc;

/// What to import.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The connection to import (its id in the tenant file).
    #[arg(long)]
    pub connection: String,
    /// First day (YYYY-MM-DD, UTC).
    #[arg(long)]
    pub from: String,
    /// Last day, included (default: today).
    #[arg(long)]
    pub to: Option<String>,
    /// List and count (recordings, already archived, would be queued, bytes) without queuing or
    /// recording anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Items per list page (default: the vendor's largest, 300 for Zoom and 100 for Webex).
    #[arg(long)]
    pub page_size: Option<u32>,
    /// At most this many vendor API requests a second, to leave room for everything else that shares
    /// the account's API quota (Zoom's and Webex's own limits and Retry-After are always honoured).
    #[arg(long)]
    pub max_rate: Option<f64>,
    /// Hand the run to the deployment (the backfill function, over the backfill queue) and show its progress
    /// here: for large imports, which then proceed in the account whether or not this command keeps running.
    /// The function's pace is the stack's `BackfillMaxRate` parameter.
    #[arg(long, conflicts_with_all = ["dry_run", "page_size", "max_rate"])]
    pub remote: bool,
    /// With `--remote`: hand the run over and return without showing progress.
    #[arg(long, requires = "remote")]
    pub detach: bool,
    /// Only show the progress of the run over this range (one handed to the deployment, or a CLI run in
    /// another shell) until it finishes or stops.
    #[arg(long, conflicts_with_all = ["dry_run", "page_size", "max_rate", "remote"])]
    pub watch: bool,
    /// The backfill queue (stack output `BackfillQueueUrl`), for `--remote`.
    #[arg(long, env = "BACKFILL_QUEUE_URL", default_value = "")]
    pub backfill_queue_url: String,
    /// With `--remote` or `--watch`: seconds between two looks at the run's record.
    #[arg(long, default_value_t = 2.0)]
    pub poll_secs: f64,
}

impl Options {
    /// The run these options name: the connection and range as typed (checked, not looked up).
    pub fn request(&self) -> Result<BackfillRequest> {
        Ok(BackfillRequest {
            connection: ConnectionId::parse(&self.connection)?,
            range: DateRange::parse(
                &self.from,
                self.to.as_deref(),
                chrono::Utc::now().date_naive(),
            )?,
        })
    }

    /// `backfill --connection C --from F [--to T]`, every other option at its default.
    pub fn new(connection: &str, from: &str, to: Option<&str>) -> Self {
        Self {
            connection: connection.into(),
            from: from.into(),
            to: to.map(Into::into),
            dry_run: false,
            page_size: None,
            max_rate: None,
            remote: false,
            detach: false,
            watch: false,
            backfill_queue_url: String::new(),
            poll_secs: 2.0,
        }
    }
}

/// The tables and queue a backfill works with.
pub struct Places<'a> {
    pub config_table: &'a str,
    pub catalog_table: &'a str,
    /// Where found recordings go: the events queue enqueue reads (not needed for a dry run).
    pub events_queue_url: &'a str,
}

/// The progress bar, and the notes printed above it.
struct Bar(ProgressBar);

impl Observer for Bar {
    fn begin(&self, units: u64, done: u64) {
        self.0.set_length(units);
        self.0.set_position(done);
        if done > 0 {
            self.0.println(format!(
                "continuing: {done} of {units} units were done by an earlier run"
            ));
        }
    }
    fn unit(&self, _unit: &str, _counts: &Counts, totals: &Counts) {
        self.0.inc(1);
        self.0.set_message(counts_line(totals));
    }
    fn note(&self, line: &str) {
        self.0.suspend(|| eprintln!("unreadable: {line}"));
    }
}

/// `found 12, already archived 3, queued 9 (1.2 GiB)`.
pub fn counts_line(c: &Counts) -> String {
    let mut line = format!(
        "found {}, already archived {}, queued {} ({})",
        c.found,
        c.archived,
        c.queued,
        HumanBytes(c.bytes_queued)
    );
    if c.skipped > 0 {
        line.push_str(&format!(", skipped by filters {}", c.skipped));
    }
    if c.unreadable > 0 {
        line.push_str(&format!(", unreadable {}", c.unreadable));
    }
    line
}

/// The connection and range of a run, as the admin typed them, checked against the stored configuration.
async fn checked_request(
    aws: &aws_config::SdkConfig,
    places: &Places<'_>,
    opts: &Options,
) -> Result<(shared::config::Connection, DateRange)> {
    let BackfillRequest {
        connection: id,
        range,
    } = opts.request()?;
    let config = DynamoConfig::new(aws_sdk_dynamodb::Client::new(aws), places.config_table);
    let Some(conn) = shared::ports::ConfigStore::connection(&config, &id).await? else {
        bail!("no connection {id}");
    };
    if !conn.enabled {
        bail!("connection {id} is disabled; apply its tenant file to reconnect it first");
    }
    Ok((conn, range))
}

/// Runs the backfill here; what this run counted. A dry run lists everything and queues and records nothing.
pub async fn run(
    aws: &aws_config::SdkConfig,
    places: Places<'_>,
    opts: &Options,
) -> Result<Counts> {
    let (conn, range) = checked_request(aws, &places, opts).await?;
    let id = conn.id.clone();
    let ddb = aws_sdk_dynamodb::Client::new(aws);
    if !opts.dry_run && places.events_queue_url.is_empty() {
        bail!("--events-queue-url (or EVENTS_QUEUE_URL) is required unless --dry-run");
    }
    let pacer = shared::http::Pacer::per_second(opts.max_rate);
    let (mut zoom, mut webex) = (
        shared::aws::zoom_connections(aws).with_pacer(pacer.clone()),
        shared::aws::webex_connections(aws).with_pacer(pacer),
    );
    if let Some(n) = opts.page_size {
        (zoom, webex) = (zoom.with_page_size(n), webex.with_page_size(n));
    }
    let lister = shared::vendors::Vendors { zoom, webex }
        .lister(&conn)
        .await?;
    let catalog = DynamoCatalog::new(ddb, places.catalog_table);
    let queue =
        shared::aws::sqs::SqsQueue::new(aws_sdk_sqs::Client::new(aws), places.events_queue_url);
    let walk = Walk {
        connection: id.clone(),
        range,
        dry_run: opts.dry_run,
        until: None,
    };
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} units  {msg}  [{elapsed}, ETA {eta}]")
            .context("progress style")?,
    );
    let observer = Arc::new(Bar(bar.clone()));
    let walked = shared::backfill::walk(
        lister.as_ref(),
        &catalog,
        Some(&catalog),
        &queue,
        &walk,
        observer.as_ref(),
    )
    .await;
    bar.finish_and_clear();
    match walked {
        Ok(w) => Ok(w.counts),
        Err(e) => {
            let context = format!(
                "backfill of {id} over {} stopped; finished units are recorded, run the same command again to continue",
                range.id()
            );
            if !opts.dry_run {
                // Nothing retries a run of the CLI by itself: whoever watches it reads that it stopped.
                let stop = RunUpdate {
                    state: RunState::Stopped,
                    units: None,
                    reason: Some(format!(
                        "{e} (run from the CLI: run the same command again)"
                    )),
                };
                if let Err(u) = catalog.update(&id, &range, &stop).await {
                    tracing::warn!(error = %u, "could not record that the run stopped");
                }
            }
            Err(anyhow::Error::new(e).context(context))
        }
    }
}

/// Hands the run to the deployment: one message on the backfill queue, which the backfill function walks
/// (continuing itself before its deadline). A run already finished is not asked for again; its record is
/// returned instead.
pub async fn hand_over(
    aws: &aws_config::SdkConfig,
    places: Places<'_>,
    opts: &Options,
) -> Result<Handed> {
    if opts.backfill_queue_url.is_empty() {
        bail!(
            "--backfill-queue-url (or BACKFILL_QUEUE_URL; stack output BackfillQueueUrl) is required with --remote"
        );
    }
    let (conn, range) = checked_request(aws, &places, opts).await?;
    let catalog = DynamoCatalog::new(aws_sdk_dynamodb::Client::new(aws), places.catalog_table);
    let run = catalog.load(&conn.id, &range).await?;
    if run.state == RunState::Finished {
        return Ok(Handed::AlreadyFinished(run));
    }
    // Asked for again (after a stop, say): queued until a walk takes it, the old reason gone, so that the
    // watch does not end on the stop before the function has begun.
    catalog
        .update(&conn.id, &range, &RunUpdate::state(RunState::Queued, None))
        .await?;
    let queue =
        shared::aws::sqs::SqsQueue::new(aws_sdk_sqs::Client::new(aws), &opts.backfill_queue_url);
    let req = BackfillRequest {
        connection: conn.id.clone(),
        range,
    };
    shared::ports::send_json(&queue, &req).await?;
    Ok(Handed::Queued(req))
}

/// What [`hand_over`] did.
#[derive(Debug)]
pub enum Handed {
    Queued(BackfillRequest),
    AlreadyFinished(BackfillRun),
}

/// Shows a run's progress from its record until it finishes or stops (or, with `patience`, until that long
/// passed without any change); its last record. Watching changes nothing: Ctrl-C leaves the run going.
pub async fn watch(
    store: &dyn BackfillStore,
    req: &BackfillRequest,
    poll: std::time::Duration,
    patience: Option<std::time::Duration>,
) -> Result<BackfillRun> {
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} units  {msg}  [{elapsed}]")
            .context("progress style")?,
    );
    let mut last = (std::time::Instant::now(), None::<BackfillRun>);
    loop {
        let run = store.load(&req.connection, &req.range).await?;
        bar.set_length(run.units);
        bar.set_position(run.done.len() as u64);
        bar.set_message(status_line(&run));
        if run.state.is_final() {
            bar.finish_and_clear();
            return Ok(run);
        }
        if last.1.as_ref() != Some(&run) {
            last = (std::time::Instant::now(), Some(run));
        } else if patience.is_some_and(|p| last.0.elapsed() >= p) {
            bar.finish_and_clear();
            return Ok(run);
        }
        tokio::time::sleep(poll).await;
    }
}

/// `running: found 12, already archived 3, queued 9 (1.2 GiB)`, and why it waits or stopped.
pub fn status_line(run: &BackfillRun) -> String {
    let mut line = format!("{}: {}", run.state.as_str(), counts_line(&run.counts));
    match (run.state, &run.reason) {
        (RunState::Queued, _) => line.push_str(" (waiting for the backfill function to take it)"),
        (RunState::Waiting, Some(r)) => {
            line.push_str(&format!(" (waiting to try again by itself: {r})"))
        }
        (_, Some(r)) => line.push_str(&format!(" ({r})")),
        _ => {}
    }
    line
}
